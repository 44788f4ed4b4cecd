"""The fleet commands around the deploy (src/shipyard/deploy.py, hosts.py): the route to a host
read from Ansible's variables, the remote command lines, the tables and the merged logs."""

from __future__ import annotations

import io
import threading

import pytest

from shipyard import deploy, hosts
from shipyard.shell import ShipyardError


def test_the_route_uses_the_inventorys_connection_settings():
    route = hosts.route_for(
        "web1",
        {
            "ansible_host": "203.0.113.5",
            "ansible_port": 2222,
            "ansible_user": "deploy",
            "ansible_ssh_private_key_file": "~/.ssh/shipyard",
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=yes"
            " -o UserKnownHostsFile=inventory/staging/known_hosts -o ControlMaster=auto",
        },
    )
    assert (route.host, route.port, route.user, route.key) == (
        "203.0.113.5", 2222, "deploy", "~/.ssh/shipyard",
    )  # fmt: skip
    assert route.known_hosts == "inventory/staging/known_hosts" and route.check_key
    assert route.jump is None


def test_a_sandbox_route_trusts_any_key_and_a_default_one_checks_the_users_file():
    sandbox = hosts.route_for(
        "box", {"ansible_ssh_common_args": "-o StrictHostKeyChecking=no"
                " -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"},
    )  # fmt: skip
    assert not sandbox.check_key
    plain = hosts.route_for("web1", {})
    assert plain.check_key and plain.known_hosts is None and plain.port == 22


def test_a_jump_host_is_reached_with_the_same_key_and_pinned_keys():
    route = hosts.route_for(
        "web1",
        {
            "ansible_user": "deploy",
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=yes -o UserKnownHostsFile=kh"
            " -o ProxyJump=ops@bastion.example.com:2200",
        },
        "/ci/key",
    )
    assert route.jump == hosts.Route(
        "bastion.example.com", "bastion.example.com", 2200, "ops", "/ci/key", "kh", True
    )
    assert hosts.route_for("web1", {"ansible_ssh_common_args": "-J bastion"}).jump.host == (
        "bastion"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("-o RemoteCommand=bash", "sets -o RemoteCommand=bash, which the fleet commands"),
        ("-4", "has '-4', which the fleet commands cannot follow"),
    ],
)
def test_an_ssh_option_the_fleet_commands_cannot_follow_is_named(args, message):
    with pytest.raises(ShipyardError, match=message):
        hosts.route_for("web1", {"ansible_ssh_common_args": args})


def test_a_templated_connection_setting_is_named():
    with pytest.raises(ShipyardError, match="ansible_host is a template"):
        hosts.route_for("web1", {"ansible_host": "{{ lookup('env', 'HOST') }}"})


def test_the_deploy_key_is_used_where_the_inventory_names_none():
    assert hosts.route_for("web1", {"ansible_user": "d"}, "/ci/key").key == "/ci/key"
    named = hosts.route_for("web1", {"ansible_ssh_private_key_file": "/box/key"}, "/ci/key")
    assert named.key == "/box/key"
    assert hosts.route_for("web1", {}, "").key is None


def test_remote_arguments_are_quoted_for_the_remote_shell():
    host = hosts.WebHost("web1", hosts.Route("web1", "web1"), "app")
    line = host.tool_command("manage", "shell", "-c", "print('a b'); import os")
    assert line.startswith("sudo -n -- /usr/local/sbin/shipyard-release --config")
    assert "'print('\"'\"'a b'\"'\"'); import os'" in line


def test_a_host_that_never_got_the_app_says_so():
    assert deploy.answer(127, "", "sudo: shipyard-release: command not found") == (
        deploy.NEVER_DEPLOYED
    )
    assert deploy.answer(0, '{"current": "r1"}', "") == {"current": "r1"}


def test_releases_table_has_every_host_and_marks_the_current_one():
    rows = [
        {"id": "20260101T000000Z-aaaaaaa", "commit": "a" * 40, "state": "good", "ref": "HEAD"},
        {"id": "20260102T000000Z-bbbbbbb", "commit": "b" * 40, "state": "good", "current": True},
    ]
    lines = deploy.releases_table({"web1": rows, "web2": deploy.NEVER_DEPLOYED}).splitlines()
    assert lines[2].startswith("  web1") and lines[2].endswith("*")
    assert not lines[1].endswith("*")
    assert lines[3].split() == ["web2", *deploy.NEVER_DEPLOYED.split()]


def test_status_table_shows_each_hosts_release_and_health():
    table = deploy.status_table(
        {
            "web1": {"current": "r1", "commit": "c" * 40, "healthy": True, "uptime_s": 3725},
            "web2": {"current": "r2", "commit": "d" * 40, "healthy": False, "uptime_s": 5},
            "web3": {"current": None},
        }
    ).splitlines()
    assert table[1].split()[:2] == ["web1", "r1"] and table[1].split()[-2:] == [
        "healthy",
        "1h02m05s",
    ]
    assert "NOT HEALTHY" in table[2]
    assert deploy.NEVER_DEPLOYED in table[3]


def test_log_lines_get_their_host_in_front_and_never_mix():
    out, lock = io.StringIO(), threading.Lock()
    web1 = deploy.PrefixedLines("web1", 5, lock, out)
    web10 = deploy.PrefixedLines("web10", 5, lock, out)
    web1.write("2026-11-30T01:00:00.000001+00:00 one ha")
    web10.write("2026-11-30T01:00:00.000002+00:00 two\n")
    web1.write("lf\n")
    web1.write("partial")
    web1.flush()
    assert out.getvalue().splitlines() == [
        "web10 | 2026-11-30T01:00:00.000002+00:00 two",
        "web1  | 2026-11-30T01:00:00.000001+00:00 one half",
        "web1  | partial",
    ]


def test_logs_of_several_hosts_merge_in_time_order():
    a = ["a | 2026-11-30T01:00:01.000000+00:00 x\n", "a | 2026-11-30T01:00:03.000000+00:00 z\n"]
    b = ["b | 2026-11-30T01:00:02.000000+00:00 y\n"]
    assert [line[0] for line in deploy.merge_by_time(a, b)] == ["a", "b", "a"]
