"""The developer's ways in (src/shipyard/workspace.py): the OpenSSH options of a route, the config
blocks, the ssh command line, the choice of host, and the install into ~/.ssh. OpenSSH itself reads
what is written here in tests/e2e/test_workspace.py."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from shipyard import ROOT, boxes, workspace
from shipyard.hosts import Route, openssh_options
from shipyard.shell import ShipyardError

BOX = Route("debian12", "127.0.0.1", 32771, "admin", "/state/ssh/id_ed25519", check_key=False)
PINNED = Route(
    "web1", "10.0.0.5", 22, "deploy", "~/.ssh/deploy", known_hosts="inventory/staging/known_hosts",
    jump=Route("bastion", "bastion.example.org", 2222, "deploy"),
)  # fmt: skip


def test_a_sandbox_box_records_no_host_key_so_none_goes_stale():
    opts = dict(openssh_options(BOX))
    assert opts["HostName"] == "127.0.0.1" and opts["Port"] == "32771" and opts["User"] == "admin"
    assert opts["IdentityFile"] == "/state/ssh/id_ed25519" and opts["IdentitiesOnly"] == "yes"
    assert opts["StrictHostKeyChecking"] == "no" and opts["UserKnownHostsFile"] == "/dev/null"


def test_a_real_host_is_checked_against_the_environments_pinned_keys():
    opts = dict(openssh_options(PINNED))
    assert opts["StrictHostKeyChecking"] == "yes"
    # Absolute: the block is read from ~/.ssh, the command runs from any folder.
    assert opts["UserKnownHostsFile"] == str(ROOT / "inventory/staging/known_hosts")
    assert opts["IdentityFile"].endswith("/.ssh/deploy") and not opts["IdentityFile"].startswith(
        "~"
    )
    assert opts["ProxyJump"] == "deploy@bastion.example.org:2222"


def test_the_blocks_name_each_host_and_end_back_at_every_host():
    text = workspace.config_text({"debian12": BOX, "pg": BOX})
    assert text.startswith("Host shipyard-debian12\n    HostName 127.0.0.1\n")
    assert "\nHost shipyard-pg\n" in text
    assert text.rstrip().endswith("Match all"), "lines after the Include apply to every host"
    assert "Host shipyard-staging-web1\n" in workspace.config_text({"web1": PINNED}, "staging")


def test_ssh_gets_the_blocks_options_and_the_command_after_two_dashes():
    argv = workspace.ssh_argv("shipyard-debian12", BOX, ["psql", "-c", "select 1"])
    assert argv[0] == "ssh" and argv[-5:] == ["shipyard-debian12", "--", "psql", "-c", "select 1"]
    assert argv[argv.index("Port=32771") - 1] == "-o"
    assert workspace.ssh_argv("shipyard-debian12", BOX, [])[-1] == "shipyard-debian12"


def test_the_host_is_named_or_the_only_one_and_a_wrong_name_lists_the_others():
    found = {"pg": BOX, "my": BOX}
    assert workspace.pick({"pg": BOX}, "") is BOX
    assert workspace.pick(found, "my") is BOX
    with pytest.raises(
        ShipyardError, match=r"--name nosuchbox: no such sandbox box; there are: pg, my"
    ):
        workspace.pick(found, "nosuchbox")
    with pytest.raises(
        ShipyardError, match=r"^2 sandbox boxes run: choose one with --name \(pg, my\)"
    ):
        workspace.pick(found, "")
    with pytest.raises(ShipyardError, match=r"^2 hosts are in -e staging: choose one with --host"):
        workspace.pick({"web1": PINNED, "web2": PINNED}, "", "staging")
    with pytest.raises(ShipyardError, match=r"start one with `inv up`"):
        workspace.pick({}, "")
    with pytest.raises(ShipyardError, match=r"--host db9: no such host of -e staging"):
        workspace.pick({"web1": PINNED}, "db9", "staging")


def test_install_adds_one_include_at_the_top_and_keeps_the_users_lines(tmp_path):
    ssh = tmp_path / ".ssh"
    ssh.mkdir()
    (ssh / "config").write_text("ServerAliveInterval 60\n\nHost work\n    User me\n")
    path = workspace.install("Host shipyard-x\n", home=tmp_path)
    path = workspace.install("Host shipyard-y\n", home=tmp_path)  # a second install: no new line
    config = (ssh / "config").read_text()
    include = f"Include {ssh}/shipyard/*.conf"
    assert config.count(include) == 1
    assert config.index(include) < config.index("ServerAliveInterval 60")
    assert config.endswith("ServerAliveInterval 60\n\nHost work\n    User me\n")
    assert path == ssh / "shipyard" / f"{boxes.SCOPE}-sandbox.conf"
    assert path.read_text() == "Host shipyard-y\n"
    assert {oct(p.stat().st_mode & 0o777) for p in (ssh / "config", path)} == {"0o600"}


def test_openssh_reads_the_installed_blocks_by_name(tmp_path):
    # `ssh -G` prints what ssh would use for a host, without connecting.
    workspace.install(workspace.config_text({"debian12": BOX}), home=tmp_path)
    (tmp_path / ".ssh" / "config").write_text(
        (tmp_path / ".ssh" / "config").read_text() + "Host other\n    Port 2200\n"
    )

    def resolved(host: str) -> dict[str, str]:
        out = subprocess.run(["ssh", "-G", "-F", str(tmp_path / ".ssh" / "config"), host],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)

    box = resolved("shipyard-debian12")
    assert (box["hostname"], box["port"], box["user"]) == ("127.0.0.1", "32771", "admin")
    assert box["userknownhostsfile"] == "/dev/null"
    other = resolved("other")
    assert other["port"] == "2200" and other["hostname"] == "other", "the user's own entry"


def test_the_installed_sandbox_file_follows_the_running_boxes(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    workspace.refresh_installed([])  # nothing installed: nothing written
    assert not workspace.install_path().exists()
    workspace.install("Host shipyard-old\n")
    box = boxes.Box("pg", "debian12", 40022, 40080, 40443)
    workspace.refresh_installed([box])
    text = workspace.install_path().read_text()
    assert "Host shipyard-pg\n" in text and "Port 40022" in text and "shipyard-old" not in text


def test_the_developers_database_role_is_on_the_sandbox_only():
    # Staging and production never get one: their inventories leave it to the roles' default.
    for role in ("postgresql", "mysql"):
        defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
        assert defaults[f"{role}_developer_user"] == ""
    for env in ("staging", "production", "shared"):
        for path in (ROOT / "inventory" / env).rglob("*.yml"):
            assert "_developer_user" not in path.read_text(), path
    local = (ROOT / "inventory" / "local" / "group_vars" / "all" / "main.yml").read_text()
    assert 'postgresql_developer_user: "{{ base_admin_user }}"' in local
