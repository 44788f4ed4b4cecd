"""Command lines and environment names (pure logic)."""

import pytest

from shipyard import playbooks
from shipyard.shell import ShipyardError


def test_environments_are_the_inventory_folders():
    assert playbooks.environments() == ["local", "production", "staging"]


def test_unknown_environment_names_the_choices():
    with pytest.raises(
        ShipyardError, match=r"unknown environment -e 'prod'.*local, production, staging"
    ):
        playbooks.command("provision", "prod")


def test_command_for_staging_with_options():
    argv = playbooks.command("provision", "staging", check=True, limit="web", tags="base,git")
    assert argv[0] == "ansible-playbook"
    assert argv[1:5] == ["-i", str(playbooks.SHARED), "-i", str(playbooks.INVENTORIES / "staging")]
    assert argv[5].endswith("playbooks/provision.yml")
    assert argv[6:] == ["--check", "--diff", "--limit", "web", "--tags", "base,git"]


def test_here_uses_the_local_connection_inventory():
    argv = playbooks.command("provision", here=True)
    assert argv[4].endswith("inventory/here")


def test_unknown_playbook():
    with pytest.raises(ShipyardError, match="no playbook"):
        playbooks.command("nope", "staging")


@pytest.mark.parametrize("env", ["../local", "local/..", "/etc", "shared", "here", "Local", "x y"])
def test_environment_must_be_an_inventory_folder_name(env):
    with pytest.raises(ShipyardError, match=r"unknown environment -e .*choose one of local"):
        playbooks.command("provision", env)


def test_here_together_with_an_environment_is_refused():
    with pytest.raises(ShipyardError, match=r"--here provisions this machine and -e staging"):
        playbooks.command("provision", "staging", here=True)


def test_yaml_error_in_an_inventory_names_file_and_line(tmp_path, monkeypatch):
    env = tmp_path / "inventory" / "broken"
    (env / "group_vars" / "all").mkdir(parents=True)
    (env / "hosts.yml").write_text("all:\n  children:\n    web:\n      hosts:\n        w1:\n")
    (env / "group_vars" / "all" / "main.yml").write_text("---\nbase_timezone: UTC\n  bad: [\n")
    monkeypatch.setattr(playbooks, "ROOT", tmp_path)
    monkeypatch.setattr(playbooks, "INVENTORIES", tmp_path / "inventory")
    monkeypatch.setattr(playbooks, "SHARED", tmp_path / "inventory" / "shared")
    with pytest.raises(
        ShipyardError, match=r"inventory/broken/group_vars/all/main.yml:3: not valid"
    ):
        playbooks.command("provision", "broken")


def test_inventory_without_hosts_is_refused(tmp_path, monkeypatch):
    (tmp_path / "inventory" / "empty").mkdir(parents=True)
    (tmp_path / "inventory" / "empty" / "hosts.yml").write_text("all:\n  children:\n    web:\n")
    monkeypatch.setattr(playbooks, "ROOT", tmp_path)
    monkeypatch.setattr(playbooks, "INVENTORIES", tmp_path / "inventory")
    monkeypatch.setattr(playbooks, "SHARED", tmp_path / "inventory" / "shared")
    with pytest.raises(ShipyardError, match=r"inventory/empty/hosts.yml lists no host"):
        playbooks.command("provision", "empty")


def test_vault_tags_do_not_break_the_yaml_check(tmp_path):
    (tmp_path / "vault.yml").write_text("vault_x: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n")
    playbooks.check_yaml(tmp_path)
