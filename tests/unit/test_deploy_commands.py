"""The commands around the deploy (src/shipyard/deploy.py): ssh from Ansible's variables, tables."""

from __future__ import annotations

import pytest

from shipyard import deploy, hosts
from shipyard.shell import ShipyardError


def test_ssh_uses_the_inventorys_connection_settings():
    argv = hosts.ssh_for(
        "web1",
        {
            "ansible_host": "203.0.113.5",
            "ansible_port": 2222,
            "ansible_user": "deploy",
            "ansible_ssh_private_key_file": "~/.ssh/shipyard",
            "ansible_ssh_common_args": "-o UserKnownHostsFile=inventory/staging/known_hosts",
        },
    )
    assert argv == [
        "ssh", "-o", "BatchMode=yes", "-p", "2222", "-i", "~/.ssh/shipyard",
        "-o", "UserKnownHostsFile=inventory/staging/known_hosts", "deploy@203.0.113.5",
    ]  # fmt: skip


def test_a_templated_connection_setting_is_named():
    with pytest.raises(ShipyardError, match="ansible_host is a template"):
        hosts.ssh_for("web1", {"ansible_host": "{{ lookup('env', 'HOST') }}"})


def test_remote_arguments_are_quoted_for_the_remote_shell():
    host = hosts.WebHost("web1", ["ssh", "web1"], "app")
    argv = host.tool("manage", "shell", "-c", "print('a b'); import os")
    assert argv[:2] == ["ssh", "web1"]
    assert argv[2].startswith("sudo -- /usr/local/sbin/shipyard-release --config")
    assert "'print('\"'\"'a b'\"'\"'); import os'" in argv[2]


def test_releases_table_marks_the_current_one():
    rows = [
        {"id": "20260101T000000Z-aaaaaaa", "commit": "a" * 40, "state": "good", "ref": "HEAD"},
        {"id": "20260102T000000Z-bbbbbbb", "commit": "b" * 40, "state": "good", "current": True},
    ]
    lines = deploy.releases_table(rows).splitlines()
    assert lines[2].rstrip().endswith("*") and not lines[1].rstrip().endswith("*")


def test_status_line_says_when_nothing_is_live():
    assert "no release live" in deploy.status_line("web1", {"current": None})
    line = deploy.status_line("web1", {"current": "r1", "commit": "c" * 40, "healthy": True,
                                        "uptime_s": 3725})  # fmt: skip
    assert "healthy, up 1h02m05s" in line


def test_the_deploy_key_is_used_where_the_inventory_names_none():
    assert hosts.ssh_for("web1", {"ansible_user": "d"}, "/ci/key")[:5] == [
        "ssh", "-o", "BatchMode=yes", "-i", "/ci/key",
    ]  # fmt: skip
    named = hosts.ssh_for("web1", {"ansible_ssh_private_key_file": "/box/key"}, "/ci/key")
    assert "/box/key" in named and "/ci/key" not in named
    assert "-i" not in hosts.ssh_for("web1", {}, "")
