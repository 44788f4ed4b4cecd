"""The database a box gets from `inv up --db ENGINE`, as the README shows it, for each engine."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from conftest import inv, warnings_in
from test_deploy import ENGINES

from shipyard import ROOT, STATE, boxes
from shipyard.bench import parse_recap

SECRET = STATE / "secrets" / "app_db_password"


def password() -> str:
    """The sandbox's app_db_password, made by Ansible's password lookup on first use."""
    return SECRET.read_text().strip()


def client(engine: str, sql: str, password: str) -> str:
    """The app user's login over TCP on the box, as an app would connect."""
    if engine == "mysql":
        return f"mysql -h 127.0.0.1 -u app -p'{password}' -D app -N -B -e \"{sql}\""
    return f"PGPASSWORD='{password}' psql -h 127.0.0.1 -U app -d app -qAtc \"{sql}\""


REACHED = "shipyard-test: the box ran the command"


def on_box(box: boxes.Box, command: str) -> subprocess.CompletedProcess:
    """`command` on the box over SSH, its own exit code kept. A failure of ssh itself (exit code
    255, also a possible code of a command) fails the test here: the marker proves the box's
    shell ran the command, so "it failed" never stands for "the box was not reached"."""
    wrapped = f"{command}\nrc=$?; echo '{REACHED}' >&2; exit $rc"
    proc = subprocess.run([*boxes.ssh_args(box), wrapped], capture_output=True, text=True)
    assert REACHED in proc.stderr, f"ssh to {box.name} failed (rc={proc.returncode}): {proc.stderr}"
    proc.stderr = proc.stderr.replace(REACHED + "\n", "")
    return proc


@pytest.fixture(scope="module", params=ENGINES)  # each on the worker that has its box (conftest)
def db_box(request, app_box):
    return request.param, app_box(request.param)


def test_app_user_logs_in_and_creates_a_table(db_box):
    engine, box = db_box
    sql = "CREATE TABLE notes (n int); INSERT INTO notes VALUES (1), (2), (3); "
    sql += "SELECT count(*) FROM notes"
    out = on_box(box, client(engine, sql, password()))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["3"]


# What each engine says when it refuses the app user's password (not just any failure).
REFUSED = {
    "postgresql": 'password authentication failed for user "app"',
    "mysql": "Access denied for user 'app'@",
}


def test_wrong_password_is_refused(db_box):
    engine, box = db_box
    out = on_box(box, client(engine, "SELECT 1", "not-the-password"))
    assert out.returncode != 0
    assert REFUSED[engine] in out.stderr, out.stderr


def test_rerun_is_idempotent_and_never_shows_the_password(db_box):
    """The README's promise for each engine's whole stack: a second run changes nothing and prints
    no warning (deprecated options, sources), and even -v never shows the password."""
    _, box = db_box
    proc = inv("provision", "--limit", box.name, "-v")
    recap = parse_recap(proc.stdout)[box.name]
    assert (recap.failed, recap.changed) == (0, 0)
    assert warnings_in(proc) == []
    assert password() not in proc.stdout


def test_backup_then_restore_into_a_fresh_database(db_box, tmp_path):
    engine, box = db_box
    dump = tmp_path / "app.dump"
    inv("db.backup", "--host", box.name, "--output", str(dump))
    assert dump.stat().st_size > 0
    inv("db.restore", "--host", box.name, "--database", "app_copy", str(dump))
    count = "SELECT count(*) FROM notes"
    if engine == "mysql":
        cmd = f"sudo mysql -N -B -D app_copy -e '{count}'"
    else:
        cmd = f"sudo -u postgres psql -d app_copy -qAtc '{count}'"
    copy = on_box(box, f"cd /tmp && {cmd}")
    original = on_box(box, client(engine, count, password()))
    assert copy.returncode == 0, copy.stderr
    assert copy.stdout.split() == original.stdout.split() == ["3"]


def test_changing_the_password_applies_it(db_box):
    engine, box = db_box
    old = password()
    new = old[::-1] + "x"  # same length and alphabet, a different password
    SECRET.write_text(new)
    try:
        out = inv("provision", "--limit", box.name, "-v").stdout
        assert parse_recap(out)[box.name].changed > 0
        assert new not in out and old not in out
        assert on_box(box, client(engine, "SELECT 1", new)).returncode == 0
        refused = on_box(box, client(engine, "SELECT 1", old))
        assert refused.returncode != 0 and REFUSED[engine] in refused.stderr, refused.stderr
    finally:
        SECRET.write_text(old)
        inv("provision", "--limit", box.name, "--tags", "database")


# Drift each role's one probe must see, made behind Ansible's back as root; the PostgreSQL
# lines undo what the role's one read of roles, databases and grants decides to skip.
DRIFT = {
    "any": f"""set -e
        systemctl stop nginx
        echo '[drift]' >> ~{boxes.LOGIN_USER}/.gitconfig
        echo ruff==0.0.1 > /opt/shipyard/linters/shipyard-tools.txt
        rm /usr/local/bin/ruff
        usermod -s /bin/bash app
        sed -i '/^export DATABASE_URL=/d' ~{boxes.LOGIN_USER}/.bashrc""",
    "postgresql": """
        runuser -u postgres -- psql -XAtq -c "ALTER ROLE app PASSWORD 'drifted';
          GRANT CONNECT ON DATABASE app TO PUBLIC; REVOKE CONNECT ON DATABASE app FROM app;
          ALTER ROLE admin NOCREATEDB"
        systemctl stop postgresql""",
    "mysql": "",
}
PG_GRANTS = (
    "SELECT has_database_privilege('public', 'app', 'CONNECT'),"
    " has_database_privilege('app', 'app', 'CONNECT'),"
    " (SELECT rolcreatedb FROM pg_roles WHERE rolname = 'admin')"
)


def test_drift_behind_the_probes_is_put_back(db_box):
    """A converged run skips each module whose part the role's probe found as wanted (services
    running, the app's account, the git configuration, the developer's DATABASE_URL, the linters'
    stamp and links, PostgreSQL's roles, databases and grants): drift in each is put back by one
    run, which reports it."""
    engine, box = db_box
    root = ["docker", "exec", box.container, "bash", "-c"]
    gitconfig = f"~{boxes.LOGIN_USER}/.gitconfig"
    before = subprocess.run([*root, f"cat {gitconfig}"], capture_output=True, text=True).stdout
    subprocess.run([*root, DRIFT["any"] + DRIFT[engine]], check=True)
    out = inv("provision", "--limit", box.name).stdout
    assert parse_recap(out)[box.name].changed >= 5
    state = "; ".join([
        "systemctl is-active nginx", "getent passwd app | cut -d: -f7", f"cat {gitconfig}",
        f"grep -c '^export DATABASE_URL=' ~{boxes.LOGIN_USER}/.bashrc",
        "cat /opt/shipyard/linters/shipyard-tools.txt", "readlink /usr/local/bin/ruff",
    ])  # fmt: skip
    after = subprocess.run([*root, state], capture_output=True, text=True).stdout
    assert after.startswith("active\n/usr/sbin/nologin\n" + before + "1\n")
    tools = yaml.safe_load((ROOT / "roles/linters/defaults/main.yml").read_text())
    assert after.endswith(
        "\n".join(tools["linters_python_tools"]) + "\n/opt/shipyard/linters/bin/ruff\n"
    )
    assert on_box(box, client(engine, "SELECT 1", password())).returncode == 0
    if engine == "postgresql":
        grants = on_box(box, f'sudo -u postgres psql -qAtc "{PG_GRANTS}"')
        assert grants.stdout.strip() == "f|t|t", grants.stderr
    again = inv("provision", "--limit", box.name).stdout
    assert parse_recap(again)[box.name].changed == 0


def test_restore_with_a_shell_string_as_name_runs_nothing_on_the_host(db_box, tmp_path):
    _, box = db_box
    dump = tmp_path / "app.dump"
    dump.write_text("-- not used")
    proc = inv("db.restore", "--host", box.name, "--database", "x; touch /tmp/pwned", str(dump),
               check=False)  # fmt: skip
    assert proc.returncode != 0
    assert "give a lower-case SQL identifier" in proc.stdout + proc.stderr
    assert on_box(box, "test -e /tmp/pwned").returncode != 0
