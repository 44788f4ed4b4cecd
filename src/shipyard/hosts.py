"""How the toolkit reaches an environment's hosts outside Ansible (the remote operations, the
preflight): `ssh` with the connection settings Ansible resolves from the same inventory
(`ansible.inventory`, the vault password included), so there is one place that says how to reach
a host. On a web host, the release tool the django_app role installs answers."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from functools import cache

import yaml

from . import ROOT, ansible
from .ansible import DEPLOY_KEY
from .shell import ShipyardError

ROLE_VARS = ROOT / "roles" / "django_app" / "vars" / "main.yml"


@cache
def tool_path() -> str:
    """Where the django_app role installs the release tool (its vars: the one definition)."""
    return yaml.safe_load(ROLE_VARS.read_text())["__django_app_tool_path"]


@dataclass(frozen=True)
class WebHost:
    name: str
    ssh: list[str]  # ssh argv up to and including user@host
    app: str  # django_app_name

    def command(self, *remote: str, tty: bool = False) -> list[str]:
        argv = list(self.ssh)
        if tty:
            argv.insert(1, "-t")
        # ssh joins its arguments into one string for the remote shell: quote them here.
        return [*argv, shlex.join(["sudo", "--", *remote])]

    def tool(self, *args: str, tty: bool = False) -> list[str]:
        return self.command(
            tool_path(), "--config", f"/etc/shipyard/{self.app}.json", *args, tty=tty
        )


def _plain(value, what: str, host: str) -> str:
    text = str(value)
    if "{{" in text:
        raise ShipyardError(
            f"{host}: {what} is a template ({text}); `inv releases/status/logs/manage` read the"
            " inventory's plain values: set it without {{ }}"
        )
    return text


def ssh_for(name: str, hostvars: dict, deploy_key: str | None = None) -> list[str]:
    """ssh argv for a host from Ansible's connection variables (pure, unit-tested); `deploy_key`
    (default: $SHIPYARD_SSH_KEY_FILE) when they name no key."""
    argv = ["ssh", "-o", "BatchMode=yes"]
    port = hostvars.get("ansible_port")
    if port:
        argv += ["-p", _plain(port, "ansible_port", name)]
    key = hostvars.get("ansible_ssh_private_key_file")
    if key:
        argv += ["-i", _plain(key, "ansible_ssh_private_key_file", name)]
    elif deploy_key or (deploy_key is None and os.environ.get(DEPLOY_KEY)):
        argv += ["-i", deploy_key or os.environ[DEPLOY_KEY]]
    for var in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        if hostvars.get(var):
            argv += shlex.split(_plain(hostvars[var], var, name))
    user = hostvars.get("ansible_user")
    target = _plain(hostvars.get("ansible_host", name), "ansible_host", name)
    return [*argv, f"{_plain(user, 'ansible_user', name)}@{target}" if user else target]


def web_hosts(env: str = "") -> list[WebHost]:
    data = ansible.inventory(env or "local")
    hostvars = data.get("_meta", {}).get("hostvars", {})
    names = data.get("web", {}).get("hosts", [])
    if not names:
        raise ShipyardError("the environment has no host in the web group: nothing runs the app")
    return [
        WebHost(
            n,
            ssh_for(n, hostvars.get(n, {})),
            str(hostvars.get(n, {}).get("django_app_name", "app")),
        )
        for n in names
    ]
