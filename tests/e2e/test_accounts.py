"""A name the roles would take (the app's system user, group and units; the admin) that is already
another account's, group's or unit's on the host is refused there, before any change. The
controller refuses the names it can know (tests/unit/test_validation.py); these exist only on
this box, made by the test."""

from __future__ import annotations

import subprocess

import pytest
from conftest import no_file_changes, provision_with

from shipyard import boxes

pytestmark = pytest.mark.xdist_group("postgresql")  # the worker that has this box (conftest)

CASES = {
    "a person's account": (
        "useradd --create-home bob",
        "userdel --remove bob",
        ["-e", "django_app_name=bob"],
        "django_app_name=bob is the existing account bob on this host",
    ),
    "a group": (
        "groupadd billing",
        "groupdel billing",
        ["-e", "django_app_name=billing"],
        "django_app_name=billing is the existing group billing on this host",
    ),
    "a package's unit template": (
        "test -e /lib/systemd/system/pg_dump@.service",  # PostgreSQL's
        "true",
        ["-e", "django_app_name=pg_dump"],
        "the app's units would be pg_dump@.service",
    ),
    "a system account as the admin": (
        "useradd --system reports",
        "userdel reports",
        ["-e", "base_admin_user=reports"],
        "base_admin_user=reports is the system account reports on this host",
    ),
}


def on_box(box: boxes.Box, command: str) -> str:
    proc = subprocess.run(
        ["docker", "exec", box.container, "sh", "-c", command], capture_output=True, text=True
    )
    assert proc.returncode == 0, (command, proc.stderr)
    return proc.stdout


@pytest.mark.parametrize("case", CASES)
def test_a_name_the_host_already_uses_is_refused_before_any_change(app_box, case):
    make, remove, args, message = CASES[case]
    box = app_box("postgresql")
    on_box(box, make)
    try:
        accounts = on_box(box, "cat /etc/passwd /etc/group /etc/shadow")
        with no_file_changes(box):
            proc = provision_with(box, *args)
        assert proc.returncode != 0
        assert message in proc.stdout, proc.stdout[-3000:]
        assert "Nothing was changed on this host" in proc.stdout
        assert on_box(box, "cat /etc/passwd /etc/group /etc/shadow") == accounts
    finally:
        on_box(box, remove)
