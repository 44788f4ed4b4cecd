"""`inv db.backup` / `inv db.restore`: names checked before any host is reached (defect: a
database name reached a root shell unquoted)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shipyard import ROOT, remote
from shipyard.shell import ShipyardError

INJECTIONS = [
    "x; touch /tmp/p",
    "x' OR '1'='1",
    "$(id)",
    "`id`",
    "app\n",
    "x y",
    "../etc",
    "postgres",
    "mysql",
    "pg_catalog",
    "App",
    "a" * 64,
]


@pytest.mark.parametrize("name", INJECTIONS)
def test_restore_refuses_names_that_are_not_plain_identifiers(tmp_path, name):
    dump = tmp_path / "app.dump"
    dump.write_text("-- dump")
    with pytest.raises(ShipyardError, match=r"--database .*: give a lower-case SQL identifier"):
        remote.restore_command("staging", str(dump), "", name)


@pytest.mark.parametrize("name", INJECTIONS[:4])
def test_backup_refuses_them_too(name):
    with pytest.raises(ShipyardError, match=r"--database"):
        remote.backup_command("staging", "", name, "")


def test_a_plain_name_builds_a_playbook_run_with_the_name_as_data(tmp_path):
    dump = tmp_path / "app.dump"
    dump.write_text("-- dump")
    argv = remote.restore_command("staging", str(dump), "db1", "app_copy")
    assert argv[5].endswith("playbooks/db-restore.yml")
    assert argv[argv.index("--limit") + 1] == "db1"
    extra = json.loads(argv[argv.index("-e") + 1])
    assert extra["shipyard_database"] == "app_copy"
    assert extra["shipyard_dump"] == str(dump)


def test_the_playbook_checks_the_name_again_before_connecting(tmp_path):
    """Someone running the playbook by hand gets the same refusal, and no host is contacted."""
    (tmp_path / "hosts.yml").write_text(
        "all:\n  children:\n    db:\n      hosts:\n        nowhere:\n"
        "          ansible_host: 127.0.0.1\n          ansible_port: 1\n"
    )
    dump = tmp_path / "app.dump"
    dump.write_text("-- dump")
    extra = {"shipyard_database": "x; touch /tmp/p", "shipyard_dump": str(dump)}
    extra["shipyard_stamp"] = "now"
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path),
         str(ROOT / "playbooks" / "db-restore.yml"), "-e", json.dumps(extra)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "PATH": "/usr/bin:/bin",
             "ANSIBLE_NOCOLOR": "1"},
    )  # fmt: skip
    assert proc.returncode != 0
    assert "--database x; touch /tmp/p: give a lower-case SQL identifier" in proc.stdout
    assert "UNREACHABLE" not in proc.stdout


@pytest.mark.parametrize(
    ("dump", "from_backup_host", "backup_host", "message"),
    [
        ("nonsense", True, "", "with --from-backup-host, give `newest` or a backup's name"),
        ("newest; rm -rf /", True, "", "give `newest` or a backup's name"),
        ("/no/such.dump", False, "", "no dump file '/no/such.dump'"),
        ("/no/such.dump", False, "backup1", "--backup-host goes with --from-backup-host"),
    ],
)
def test_restore_arguments_are_refused_before_any_environment_is_reached(
    dump, from_backup_host, backup_host, message
):
    with pytest.raises(ShipyardError, match=re.escape(message)):
        remote.check_restore(dump, "", from_backup_host, backup_host)
    remote.check_restore("newest", "", True, "")  # the one word that names the newest copy
