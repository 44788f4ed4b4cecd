"""The deploy job's checks before it touches a host (src/shipyard/preflight.py), how Ansible gets
the vault password (ansible.py), and the smoke test's pure parts (smoke.py). The same checks
against a real box: tests/e2e/test_pipeline.py."""

from __future__ import annotations

import subprocess

import pytest

from shipyard import ansible, hosts, playbooks, preflight, smoke
from shipyard.shell import ShipyardError

VAULTED = "$ANSIBLE_VAULT;1.1;AES256\n6231\n"


@pytest.fixture
def staging(tmp_path, monkeypatch):
    """An inventory folder `staging` with a vault-encrypted file, nothing else yet."""
    monkeypatch.setattr(playbooks, "INVENTORIES", tmp_path / "inventory")
    folder = tmp_path / "inventory" / "staging" / "group_vars" / "all"
    folder.mkdir(parents=True)
    (folder / "vault.yml").write_text(VAULTED)
    hosts = "all:\n  children:\n    web:\n      hosts:\n        web1.example.com:\n"
    (tmp_path / "inventory" / "staging" / "hosts.yml").write_text(hosts)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    return tmp_path


def test_every_missing_piece_is_named_at_once(staging):
    with pytest.raises(ShipyardError) as err:
        preflight.check("staging", {"HOME": str(staging / "home")})
    message = str(err.value)
    assert "SHIPYARD_VAULT_PASSWORD is not set" in message
    assert "no SSH key to log in with: set SHIPYARD_SSH_KEY_FILE" in message
    assert "staging/known_hosts is missing" in message


def test_a_key_file_that_does_not_exist_is_named(staging):
    env = {"HOME": str(staging / "home"), "SHIPYARD_SSH_KEY_FILE": "/nowhere/id_ed25519"}
    with pytest.raises(ShipyardError, match="SHIPYARD_SSH_KEY_FILE=/nowhere/id_ed25519: no such"):
        preflight.check("staging", env)


def test_a_key_in_the_home_folder_will_do_as_circleci_adds_it(staging):
    (staging / "home" / ".ssh" / "id_rsa_0123abcd").write_text("key")
    with pytest.raises(ShipyardError) as err:
        preflight.check("staging", {"HOME": str(staging / "home")})
    assert "SSH key" not in str(err.value)


def test_the_vault_password_is_never_in_the_message(staging):
    env = {"HOME": str(staging / "home"), "SHIPYARD_VAULT_PASSWORD": "s3cret-Pa55"}
    with pytest.raises(ShipyardError) as err:
        preflight.check("staging", env)
    assert "s3cret-Pa55" not in str(err.value)
    assert "SHIPYARD_VAULT_PASSWORD" not in str(err.value)


def test_the_sandbox_is_not_a_preflight_environment():
    with pytest.raises(ShipyardError, match="give -e staging or -e production"):
        preflight.check("local", {})


def test_an_unknown_environment_is_named_before_anything_else(staging):
    with pytest.raises(ShipyardError, match="unknown environment -e 'stagign'"):
        preflight.check("stagign", {})


def test_the_vault_password_script_prints_the_variable_only():
    out = subprocess.run(
        [str(ansible.VAULT_PASSWORD_SCRIPT)],
        env={"SHIPYARD_VAULT_PASSWORD": "a b$c'd"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == "a b$c'd\n"
    with_password = ansible.settings({"SHIPYARD_VAULT_PASSWORD": "x"})
    assert with_password["ANSIBLE_VAULT_PASSWORD_FILE"] == str(ansible.VAULT_PASSWORD_SCRIPT)
    assert "ANSIBLE_VAULT_PASSWORD_FILE" not in ansible.settings({})


@pytest.mark.parametrize(
    ("args", "ok"),
    [
        ("-o StrictHostKeyChecking=yes -o UserKnownHostsFile={pinned}", True),
        ("-o StrictHostKeyChecking=no -o UserKnownHostsFile={pinned}", False),
        ("-o StrictHostKeyChecking=yes -o UserKnownHostsFile=/dev/null", False),
        ("", False),
    ],
)
def test_the_inventory_must_check_the_pinned_keys_strictly(staging, args, ok):
    pinned = preflight.known_hosts_file("staging")
    problem = preflight.strict_pinning_problem(
        "staging", {"ansible_ssh_common_args": args.format(pinned=pinned)}
    )
    assert (problem is None) == ok
    if not ok:
        assert "set ansible_ssh_common_args" in problem


@pytest.mark.parametrize(
    ("release", "commit", "ok"),
    [
        ("20261126T155746Z-f9889ca", "f9889ca0123456789", True),
        ("20261126T155746Z-f9889ca", "abcdef0123456789", False),
        ("20261126T155746Z-f9889ca-dirty", "f9889ca0123456789", False),
        ("", "f9889ca0123456789", False),
        ("20261126T155746Z-", "f9889ca0123456789", False),
    ],
)
def test_the_release_id_must_name_the_commit(release, commit, ok):
    assert smoke.release_matches(release, commit) == ok


def test_the_site_address_follows_the_published_port():
    assert smoke.site_url({"django_app_hosts": ["app.example.com"]}) == "https://app.example.com"
    assert smoke.site_url({"nginx_https_port": 32768}) == "https://localhost:32768"


def test_the_remote_operations_read_an_inventory_whose_vault_is_encrypted(tmp_path, monkeypatch):
    """`inv status/releases/logs/manage -e ENV` read the inventory the way every Ansible run does:
    with the vault password from SHIPYARD_VAULT_PASSWORD; without it, the message names it."""
    monkeypatch.setattr(playbooks, "INVENTORIES", tmp_path / "inventory")
    folder = tmp_path / "inventory" / "staging"
    (folder / "group_vars" / "all").mkdir(parents=True)
    hosts_yml = "all:\n  children:\n    web:\n      hosts:\n        web1.example.com:\n"
    (folder / "hosts.yml").write_text(hosts_yml)
    (folder / "group_vars" / "all" / "main.yml").write_text("ansible_port: 2222\n")
    vault = folder / "group_vars" / "all" / "vault.yml"
    vault.write_text("ansible_user: deployer\n")  # a plain value only the vault holds
    ansible.vault_encrypt(vault, "s3cret-Pa55")
    assert vault.read_text().startswith("$ANSIBLE_VAULT")

    monkeypatch.delenv("SHIPYARD_VAULT_PASSWORD", raising=False)
    with pytest.raises(ShipyardError, match=r"-e staging: .*set SHIPYARD_VAULT_PASSWORD"):
        hosts.web_hosts("staging")

    monkeypatch.setenv("SHIPYARD_VAULT_PASSWORD", "s3cret-Pa55")
    (web1,) = hosts.web_hosts("staging")
    assert web1.name == "web1.example.com"
    assert web1.route.user == "deployer", "the login came out of the vault"
    assert web1.route.port == 2222
