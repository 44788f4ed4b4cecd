"""Behaviour of the mysql role against the real MariaDB server in each box."""

PASSWORD = "S3cret-test-pw-4711"


def sql(host, query, user="shop", password=PASSWORD, db="shop", addr="127.0.0.1"):
    return host.run(f"mysql -h {addr} -u {user} -p'{password}' -D {db} -N -B -e \"{query}\"")


def root_sql(host, query):
    with host.sudo():
        return host.check_output(f'mysql -N -B -e "{query}"')


def test_app_user_logs_in_over_tcp_and_creates_a_table(host):
    out = sql(
        host,
        "CREATE TABLE IF NOT EXISTS t (id int); INSERT INTO t VALUES (1); "
        "SELECT count(*) > 0 FROM t",
    )
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "1"


def test_wrong_password_is_refused(host):
    out = sql(host, "SELECT 1", password="not-the-password")
    assert out.rc != 0
    assert "Access denied" in out.stderr


def test_root_cannot_log_in_over_tcp(host):
    out = host.run("mysql -h 127.0.0.1 -u root -N -B -e 'SELECT 1'")
    assert out.rc != 0
    assert "Access denied" in out.stderr


def test_root_logs_in_through_the_socket_only(host):
    hosts = root_sql(host, "SELECT host FROM mysql.user WHERE user = 'root'").split()
    assert hosts == ["localhost"]


def test_no_anonymous_users_and_no_test_database(host):
    assert root_sql(host, "SELECT count(*) FROM mysql.user WHERE user = ''") == "0"
    assert "test" not in root_sql(host, "SHOW DATABASES").split()


def test_users_reach_only_their_own_databases(host):
    assert (
        sql(host, "SELECT 1", user="reporting", password="Reporting-pw-0815", db="ledger").rc == 0
    )
    out = sql(host, "SELECT 1", user="reporting", password="Reporting-pw-0815", db="shop")
    assert out.rc != 0
    assert "Access denied" in out.stderr


def test_utf8mb4_by_default(host):
    out = sql(host, "SELECT @@character_set_server, @@collation_server")
    assert out.stdout.split() == ["utf8mb4", "utf8mb4_unicode_ci"]
    assert sql(host, "SELECT CHAR_LENGTH('\U0001f6a2')").stdout.strip() == "1"


def test_refuses_connections_on_the_external_address(host, reachable_from_outside):
    assert sql(host, "SELECT 1").rc == 0  # it does listen, on localhost
    assert not reachable_from_outside(3306)


def test_backup_restores_into_a_fresh_database(host):
    fill = (
        "CREATE TABLE IF NOT EXISTS items (n int); TRUNCATE items; "
        "INSERT INTO items SELECT seq FROM seq_1_to_50"
    )
    assert sql(host, fill).rc == 0
    with host.sudo():
        host.run_test("shipyard-db-backup shop > /root/shop.sql")
        host.run_test("mysql -e 'DROP DATABASE IF EXISTS shop_copy'")
        host.run_test("shipyard-db-restore shop_copy < /root/shop.sql")
    assert root_sql(host, "SELECT count(*), sum(n) FROM shop_copy.items").split() == ["50", "1275"]


def test_the_server_cannot_write_system_folders(host):
    """ProtectSystem: even where file permissions would not stop it, /etc and /usr are read-only."""
    with host.sudo():
        out = host.run("mysql -N -B -e \"SELECT 1 INTO OUTFILE '/usr/local/planted'\"")
    assert out.rc != 0
    assert "Read-only file system" in out.stderr


def test_the_server_has_a_private_tmp(host):
    root_sql(host, "SELECT 'x' INTO OUTFILE '/tmp/shipyard-sandbox-probe'")
    assert not host.file("/tmp/shipyard-sandbox-probe").exists


def test_the_server_cannot_gain_privileges(host):
    pid = host.check_output("pidof mariadbd")
    status = host.file(f"/proc/{pid}/status").content_string
    assert "NoNewPrivs:\t1" in status


def test_the_developer_logs_in_over_the_socket_without_a_password(as_developer):
    out = as_developer("mysql -N -B -e 'select current_user(); select database()' dev")
    assert out.rc == 0, out.stderr
    assert out.stdout.split() == ["dev@localhost", "dev"]


def test_the_developers_shell_has_database_url(as_developer):
    assert as_developer("echo $DATABASE_URL").stdout.strip() == "mysql://dev@localhost/dev"


def test_the_developer_creates_test_databases_only_and_is_no_superuser(host, as_developer):
    out = as_developer("mysql -e 'create database test_dev; drop database test_dev'")
    assert out.rc == 0, out.stderr
    out = as_developer("mysql -e 'create database other_db'")
    assert out.rc != 0 and "Access denied" in out.stderr
    grants = root_sql(host, "SHOW GRANTS FOR 'dev'@'localhost'")
    assert "ON *.*" not in grants.replace("GRANT USAGE ON *.*", ""), grants


def test_the_developer_cannot_log_in_over_tcp(as_developer):
    out = as_developer("mysql -h 127.0.0.1 --protocol=TCP -N -e 'select 1'")
    assert out.rc != 0
    assert "Access denied" in out.stderr
