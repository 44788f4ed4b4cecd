"""`inv up` / `inv provision` against a real box over SSH, as the README promises.

The box is the MariaDB one the database and deploy tests share: the cold provision checked here is
the `inv up --db mysql` that made it from bare (the README's first command), and the rest run on
it once it is converged. Each test that changes a setting puts it back."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from conftest import inv, no_file_changes, warnings_in
from conftest import provision_with as provision_box

from shipyard import boxes
from shipyard.bench import ANSI, parse_recap

ENGINE = "mysql"
BOX = f"e2e-{ENGINE}"
pytestmark = pytest.mark.xdist_group(ENGINE)  # the worker that has this box (conftest)


@pytest.fixture(scope="module")
def box(app_box):
    return app_box(ENGINE)


def box_file(box: boxes.Box, path: str) -> str:
    out = subprocess.run(["docker", "exec", box.container, "cat", path], capture_output=True)
    return out.stdout.decode()


def provision_with(*args: str) -> subprocess.CompletedProcess:
    """ansible-playbook on the box with raw command-line arguments, as a user would type them."""
    return provision_box(next(b for b in boxes.running() if b.name == BOX), *args)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("base_timezone", "Mars/Olympus_Mons", "base_timezone=Mars/Olympus_Mons is not a timezone"),
        (
            "base_firewall_allowed_tcp_ports",
            "80,443",
            "base_firewall_allowed_tcp_ports='80,443' must be a YAML list",
        ),
        ("base_ssh_port", "twenty-two", "base_ssh_port"),
        ("linters_python_tools", ["ruff"], "linters_python_tools must pin each tool"),
    ],
)
def test_bad_variable_fails_before_any_change(box, tmp_path, variable, value, message):
    bad = tmp_path / "bad.yml"
    bad.write_text("---\n" + yaml.safe_dump({variable: value}))
    with no_file_changes(box):
        proc = provision_with("-e", f"@{bad}")
    assert proc.returncode != 0
    assert message in proc.stdout
    assert "Provision every host" not in proc.stdout  # the play that changes things never began


def test_cold_provision_succeeds(app_box):
    proc = app_box.up_run(ENGINE)  # `inv up`: a cold provision, then the sample app's deploy
    provision_output, deploy_output = ANSI.sub("", proc.stdout).split("PLAYBOOK RECAP", 1)
    assert "Deployed " in deploy_output, "the deploy came after the provision"
    recap = parse_recap(provision_output)[BOX]
    assert recap.failed == 0
    assert recap.changed > 0
    assert warnings_in(proc) == []


# A second run changing nothing, for each engine: test_database.py's
# test_rerun_is_idempotent_and_never_shows_the_password (one full re-run of this box is enough).


def test_check_mode_on_converged_box_reports_no_change(box):
    proc = inv("provision", "--limit", BOX, "--check")
    assert parse_recap(proc.stdout)[BOX].changed == 0
    assert warnings_in(proc) == []


def test_generated_key_logs_in_and_password_is_refused(box):
    ok = subprocess.run([*boxes.ssh_args(box), "id -un"], capture_output=True, text=True)
    assert (ok.returncode, ok.stdout.strip()) == (0, "admin")
    no_key = ["-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password"]
    pw = subprocess.run(
        [*boxes.ssh_args(box)[:-1], *no_key, f"{boxes.LOGIN_USER}@127.0.0.1", "true"],
        capture_output=True,
        text=True,
    )
    assert pw.returncode == 255
    assert "Permission denied (publickey)" in pw.stderr


def test_command_line_false_turns_features_off(box):
    """`-e flag=false` arrives as a string; before the fix it left both features on. Both features
    are the base role's: its tag is enough, here and to put them back."""
    off = provision_with(
        "--tags", "base",
        "-e", "base_unattended_upgrades=false", "-e", "base_admin_passwordless_sudo=false",
    )  # fmt: skip
    try:
        assert off.returncode == 0, off.stdout[-3000:]
        upgrades = box_file(box, "/etc/apt/apt.conf.d/20auto-upgrades")
        assert 'Unattended-Upgrade "0"' in upgrades
        sudoers = box_file(box, f"/etc/sudoers.d/50-shipyard-{boxes.LOGIN_USER}")
        assert "NOPASSWD" not in sudoers
    finally:
        inv("provision", "--limit", BOX, "--tags", "base")
    assert 'Unattended-Upgrade "1"' in box_file(box, "/etc/apt/apt.conf.d/20auto-upgrades")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-e", "app_db_user=postgres"], "app_db_user=postgres: database and user names"),
        (["-e", "db_engine=mysql", "-e", "app_db_user=root"], "app_db_user=root: database"),
        (["-e", "db_engine=mysql", "-e", "app_db_name=mysql"], "app_db_name=mysql: database"),
    ],
)
def test_reserved_database_names_are_refused_on_a_real_box(box, args, message):
    with no_file_changes(box):
        proc = provision_with(*args)
    assert proc.returncode != 0
    assert message in proc.stdout


def ufw_rules(box: boxes.Box) -> str:
    out = subprocess.run(["docker", "exec", box.container, "ufw", "status"], capture_output=True)
    return out.stdout.decode()


def test_a_port_removed_from_the_list_is_closed(box):
    """The firewall is the base role's: its tag is enough, here and to put the list back."""
    ports = '{"base_firewall_allowed_tcp_ports": [80, 443, 8443]}'
    opened = provision_with("--tags", "base", "-e", ports)
    assert opened.returncode == 0, opened.stdout[-3000:]
    assert "8443/tcp" in ufw_rules(box)
    inv("provision", "--limit", BOX, "--tags", "base")  # the inventory's list again: 80 and 443
    rules = ufw_rules(box)
    assert "8443/tcp" not in rules
    assert "443/tcp" in rules and "22/tcp" in rules


def box_sql(box: boxes.Box, sql: str) -> str:
    """A query as MariaDB's root (the unix socket, as the role connects), its rows as text."""
    out = subprocess.run(
        ["docker", "exec", box.container, "mysql", "--batch", "--skip-column-names", "-e", sql],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


def test_insecure_defaults_put_back_are_removed_again(box):
    """The role counts what is left of the insecure defaults in one query and skips the removals
    when nothing is: put some back, and the next run must still find and remove them."""
    left = (
        "SELECT COUNT(*) FROM mysql.user WHERE user = '' OR (user = 'root' AND host = '%')"
        " UNION ALL SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'test'"
    )
    box_sql(box, "CREATE USER ''@'localhost'; CREATE USER 'root'@'%'; CREATE DATABASE test")
    assert box_sql(box, left).split() == ["2", "1"]
    again = provision_with("--tags", "mysql")
    assert again.returncode == 0, again.stdout[-3000:]
    assert box_sql(box, left).split() == ["0", "0"]


def box_sh(box: boxes.Box, script: str) -> str:
    out = subprocess.run(["docker", "exec", box.container, "bash", "-c", script],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return out.stdout


def test_drift_from_a_converged_box_is_put_back(box):
    """A converged run reads the box in one probe per role and skips what matches: drift the
    probes must see (a file's content, a file's mode, the timezone, the admin's sudo, a locale)
    is put back by the next run, and only the base role's tag is needed for all of it."""
    sudoers = f"/etc/sudoers.d/50-shipyard-{boxes.LOGIN_USER}"
    box_sh(
        box,
        f"""set -e
        echo LANG=C > /etc/default/locale
        chmod 0644 {sudoers}
        ln -sf /usr/share/zoneinfo/Europe/Paris /etc/localtime
        gpasswd -d {boxes.LOGIN_USER} sudo
        sed -i 's/^en_US.UTF-8/# en_US.UTF-8/' /etc/locale.gen && locale-gen""",
    )
    assert "en_US.utf8" not in box_sh(box, "locale -a")
    again = provision_with("--tags", "base")
    assert again.returncode == 0, again.stdout[-3000:]
    assert "LANG=en_US.UTF-8" in box_file(box, "/etc/default/locale")
    assert box_sh(box, f"stat -c %a {sudoers}").strip() == "440"
    assert box_sh(box, "readlink /etc/localtime").strip().endswith("/zoneinfo/Etc/UTC")
    assert "sudo" in box_sh(box, f"id -nG {boxes.LOGIN_USER}").split()
    assert "en_US.utf8" in box_sh(box, "locale -a").split()
