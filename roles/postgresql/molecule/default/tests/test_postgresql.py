"""Behaviour of the postgresql role against the real server in each box."""

PASSWORD = "S3cret-test-pw-4711"


def psql(host, sql, user="shop", password=PASSWORD, db="shop", addr="127.0.0.1"):
    return host.run(
        f"PGPASSWORD='{password}' psql -h {addr} -U {user} -d {db} "
        f'-v ON_ERROR_STOP=1 -qAtc "{sql}"'
    )


def test_app_user_logs_in_over_tcp_and_creates_a_table(host):
    out = psql(
        host,
        "CREATE TABLE IF NOT EXISTS t (id int); INSERT INTO t VALUES (1); "
        "SELECT count(*) > 0 FROM t",
    )
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "t"


def test_wrong_password_is_refused(host):
    out = psql(host, "SELECT 1", password="not-the-password")
    assert out.rc != 0
    assert "password authentication failed" in out.stderr


def test_superuser_cannot_log_in_over_tcp(host):
    # With a password offered, only pg_hba's reject rule gives this answer: without the rule the
    # server would ask for the password and report a failed password instead.
    out = psql(host, "SELECT 1", user="postgres", password="any-password-at-all", db="postgres")
    assert out.rc != 0
    assert 'pg_hba.conf rejects connection for host "127.0.0.1", user "postgres"' in out.stderr


def test_users_connect_only_to_databases_granted(host):
    assert psql(host, "SELECT 1", user="reporting", password="Reporting-pw-0815").rc == 0
    out = psql(host, "SELECT 1", user="reporting", password="Reporting-pw-0815", db="ledger")
    assert out.rc != 0
    assert "permission denied" in out.stderr
    assert psql(host, "SELECT 1", db="ledger").rc == 0  # its owner can


def test_passwords_are_stored_as_scram(host):
    with host.sudo("postgres"):
        out = host.check_output(
            "psql -qAtc \"SELECT rolpassword FROM pg_authid WHERE rolname = 'shop'\""
        )
    assert out.startswith("SCRAM-SHA-256$")


def test_refuses_connections_on_the_external_address(host, reachable_from_outside):
    assert psql(host, "SELECT 1").rc == 0  # it does listen, on localhost
    assert not reachable_from_outside(5432)


def test_distribution_version(host):
    major = host.system_info.release.split(".")[0]
    expected = {"12": "15", "13": "17"}[major]
    with host.sudo("postgres"):
        assert host.check_output("psql -qAtc 'SHOW server_version'").startswith(expected)


def test_backup_restores_into_a_fresh_database(host):
    assert (
        psql(
            host,
            "CREATE TABLE IF NOT EXISTS items (n int); TRUNCATE items; "
            "INSERT INTO items SELECT generate_series(1, 50)",
        ).rc
        == 0
    )
    with host.sudo():
        host.run_test("shipyard-db-backup shop > /root/shop.dump")
        host.run_test("runuser -u postgres -- dropdb --if-exists shop_copy")
        host.run_test("shipyard-db-restore shop_copy < /root/shop.dump")
    with host.sudo("postgres"):
        rows = host.check_output("psql -d shop_copy -qAtc 'SELECT count(*), sum(n) FROM items'")
        owner = host.check_output(
            "psql -d shop_copy -qAtc \"SELECT tableowner FROM pg_tables WHERE tablename = 'items'\""
        )
    assert rows == "50|1275"
    assert owner == "shop"


def test_shared_buffers_follow_the_memory_limit_not_the_host_ram(host):
    """The platforms get `memory: 2g` (.config/molecule/config.yml); /proc/meminfo in the box
    still shows the whole machine, so a quarter of the limit is what proves the sizing."""
    with host.sudo("postgres"):
        query = "SELECT setting::bigint * 8 / 1024 FROM pg_settings WHERE name = 'shared_buffers'"
        mb = host.check_output(f'psql -qAtc "{query}"')
    assert int(mb) == 2048 // 4


def superuser_sql(host, sql):
    """SQL as the postgres superuser: the server process itself does what COPY asks."""
    with host.sudo("postgres"):
        return host.run(f'psql -v ON_ERROR_STOP=1 -qAtc "{sql}"')


def test_the_server_cannot_write_system_folders(host):
    """ProtectSystem: /etc/postgresql belongs to postgres, yet the server cannot write there."""
    conf_dir = host.check_output("ls -d /etc/postgresql/*/main")
    out = superuser_sql(host, f"COPY (SELECT 1) TO '{conf_dir}/planted'")
    assert out.rc != 0
    assert "Read-only file system" in out.stderr
    assert not host.file(f"{conf_dir}/planted").exists


def test_the_server_has_a_private_tmp(host):
    out = superuser_sql(host, "COPY (SELECT 'x') TO '/tmp/shipyard-sandbox-probe'")
    assert out.rc == 0, out.stderr
    assert not host.file("/tmp/shipyard-sandbox-probe").exists


def test_programs_the_server_starts_cannot_gain_privileges(host):
    program = "grep NoNewPrivs /proc/self/status | cut -f2"
    out = superuser_sql(
        host,
        f"CREATE TEMP TABLE s (line text); COPY s FROM PROGRAM '{program}'; SELECT line FROM s",
    )
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "1"


def test_the_developer_logs_in_over_the_socket_without_a_password(as_developer):
    out = as_developer("psql -tAc 'select current_user, current_database()'")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "dev|dev"


def test_the_developers_shell_has_database_url(as_developer):
    out = as_developer('psql "$DATABASE_URL" -tAc "select 1"')
    assert out.rc == 0 and out.stdout.strip() == "1", out.stderr
    assert as_developer("echo $DATABASE_URL").stdout.strip() == "postgres:///dev"


def test_the_developer_creates_test_databases_but_is_no_superuser(as_developer):
    out = as_developer("createdb test_dev && dropdb test_dev")
    assert out.rc == 0, out.stderr
    out = as_developer(
        "psql -tAc 'select rolsuper, rolcreaterole from pg_roles where rolname = current_user'"
    )
    assert out.stdout.strip() == "f|f"


def test_the_developer_cannot_log_in_over_tcp(as_developer):
    out = as_developer("PGCONNECT_TIMEOUT=5 psql -h 127.0.0.1 -tAc 'select 1'")
    assert out.rc != 0
    assert 'pg_hba.conf rejects connection for host "127.0.0.1", user "dev"' in out.stderr
