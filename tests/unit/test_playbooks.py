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
    assert argv[2].endswith("inventory/staging")
    assert argv[3].endswith("playbooks/provision.yml")
    assert argv[4:] == ["--check", "--diff", "--limit", "web", "--tags", "base,git"]


def test_here_uses_the_local_connection_inventory():
    argv = playbooks.command("provision", "local", here=True)
    assert argv[2].endswith("inventory/here")


def test_unknown_playbook():
    with pytest.raises(ShipyardError, match="no playbook"):
        playbooks.command("nope", "staging")
