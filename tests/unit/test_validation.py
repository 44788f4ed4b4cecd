"""Bad input fails in the validation play, before Ansible connects to any host.

The host is an unreachable loopback port: good input gets past validation and then fails to
connect (proving validation passed), bad input must stop before that connection is tried.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shipyard import ROOT

PLAYBOOK = ROOT / "playbooks" / "provision.yml"
ANSIBLE = str(Path(sys.executable).parent / "ansible-playbook")
GOOD = {"app_db_password": "a-long-enough-test-password"}


def run_provision(tmp_path: Path, extra: dict) -> subprocess.CompletedProcess:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  children:\n    db:\n      hosts:\n        nowhere:\n"
        "          ansible_host: 127.0.0.1\n          ansible_port: 1\n"
        "          ansible_ssh_common_args: -o ConnectTimeout=2\n"
    )
    (tmp_path / "vars.json").write_text(json.dumps({**GOOD, **extra}))
    env = {
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [ANSIBLE, "-i", str(inventory), str(PLAYBOOK), "-e", f"@{tmp_path / 'vars.json'}"],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_good_input_passes_validation(tmp_path, engine):
    proc = run_provision(tmp_path, {"base_timezone": "Europe/Berlin", "db_engine": engine})
    assert "UNREACHABLE" in proc.stdout, proc.stdout
    assert "FAILED" not in proc.stdout


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("base_timezone", "Europe/Atlantis", "base_timezone=Europe/Atlantis is not a timezone"),
        ("base_locale", "english", "base_locale=english is not a UTF-8 locale"),
        ("base_admin_user", "root", "base_admin_user=root must be"),
        (
            "base_admin_authorized_keys",
            "ssh-ed25519 AAAA",
            "base_admin_authorized_keys must be a YAML list",
        ),
        ("base_apt_proxy", "cache:3142", "base_apt_proxy=cache:3142 must be empty or a URL"),
        ("base_apt_proxy", "http://:3142", "base_apt_proxy=http://:3142 must be empty or a URL"),
        (
            "base_extra_ca_files",
            ["/nonexistent/ca.crt"],
            "/nonexistent/ca.crt, which is not a file",
        ),
        ("base_ssh_port", "twenty-two", "base_ssh_port"),
        ("base_firewall_enabled", "maybe", "base_firewall_enabled"),
        ("python_extra_packages", "libpq-dev", "python_extra_packages must be a YAML list"),
        ("git_user_email", "nobody", "git_user_email"),
        ("git_config_extra", ["pull.rebase"], "git_config_extra"),
        ("linters_python_tools", ["ruff"], "linters_python_tools must pin each tool"),
        ("db_engine", "oracle", "db_engine=oracle is not an engine Shipyard provisions"),
        ("app_db_password", "short", "app_db_password is empty or shorter than 12"),
        ("app_db_name", "my-app", "app_db_name and app_db_user must be lower-case SQL identifiers"),
        ("postgresql_allowed_networks", ["10.0.0.0"], "10.0.0.0, which is not a CIDR network"),
    ],
)
def test_bad_input_fails_before_connecting(tmp_path, variable, value, message):
    proc = run_provision(tmp_path, {variable: value})
    assert proc.returncode != 0
    assert message in proc.stdout
    assert "UNREACHABLE" not in proc.stdout


def test_mysql_inputs_are_checked_when_mysql_is_the_engine(tmp_path):
    proc = run_provision(tmp_path, {"db_engine": "mysql", "mysql_allowed_hosts": ["%"]})
    assert proc.returncode != 0
    assert "'%' (anyone) is refused" in proc.stdout
    assert "UNREACHABLE" not in proc.stdout
