-- The roles, databases and CONNECT grants as they are, one JSON object (tasks/databases.yml):
-- each role's attributes and stored password secret, each database's owner and the roles that
-- may connect to it (PUBLIC for everyone; no ACL yet means the default, which lets PUBLIC in).
SELECT json_build_object(
  'roles', (SELECT coalesce(json_object_agg(rolname, json_build_object(
              'super', rolsuper, 'createdb', rolcreatedb, 'createrole', rolcreaterole,
              'password', rolpassword)), '{}'::json)
            FROM pg_authid),
  'databases', (SELECT coalesce(json_object_agg(d.datname, json_build_object(
                  'owner', pg_get_userbyid(d.datdba),
                  'connect', (SELECT coalesce(json_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                                                            ELSE pg_get_userbyid(a.grantee) END), '[]'::json)
                              FROM aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) AS a
                              WHERE a.privilege_type = 'CONNECT'))), '{}'::json)
                FROM pg_database AS d));
