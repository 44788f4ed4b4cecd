"""What a deploy needs before it touches a host (`inv preflight -e ENV`, and the first step of
`inv deploy` / `rollback` on a real environment).

It answers, before any change: is the vault password there (from the environment, never echoed),
is there an SSH key to log in with, are the hosts' keys pinned in inventory/ENV/known_hosts and
does the inventory check them strictly, and does every host answer with the pinned key. Each
missing piece is named with what to set.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path

from . import ROOT, ansible, playbooks
from .ansible import DEPLOY_KEY, VAULT_PASSWORD
from .hosts import route_for, try_open
from .shell import ShipyardError, ok, run


def known_hosts_file(env: str) -> Path:
    return playbooks.INVENTORIES / env / "known_hosts"


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _has_vault(env: str) -> bool:
    return any(
        p.read_text().startswith("$ANSIBLE_VAULT")
        for p in (playbooks.INVENTORIES / env).rglob("*.yml")
    )


def _ssh_key_problem(environ: Mapping[str, str]) -> str | None:
    key = environ.get(DEPLOY_KEY)
    if key:
        return None if Path(key).expanduser().is_file() else f"{DEPLOY_KEY}={key}: no such file"
    if environ.get("SSH_AUTH_SOCK") and ok("ssh-add", "-l", env=dict(environ)):
        return None
    ssh_dir = Path(environ.get("HOME", "~")).expanduser() / ".ssh"
    if any(not k.name.endswith(".pub") for k in ssh_dir.glob("id_*")):
        return None
    return (
        f"no SSH key to log in with: set {DEPLOY_KEY} to the deploy key's file, or load it into"
        " ssh-agent (CircleCI: add the key in Project Settings > SSH Keys and its fingerprint"
        " to add_ssh_keys)"
    )


def strict_pinning_problem(env: str, hostvars: Mapping[str, object]) -> str | None:
    """The host's ssh arguments must check host keys strictly against the pinned file."""
    args = set(shlex.split(str(hostvars.get("ansible_ssh_common_args", ""))))
    pinned = known_hosts_file(env)
    files = {f"UserKnownHostsFile={_shown(pinned)}", f"UserKnownHostsFile={pinned}"}
    if "StrictHostKeyChecking=yes" in args and args & files:
        return None
    return (
        f"{_shown(pinned.parent)}/group_vars/all/main.yml: set ansible_ssh_common_args to"
        f" '-o StrictHostKeyChecking=yes -o UserKnownHostsFile={_shown(pinned)}' so that Ansible"
        " and the remote commands check the pinned host keys"
    )


def _known_host(name: str, hostvars: Mapping[str, object], pinned: Path) -> str | None:
    target = str(hostvars.get("ansible_host", name))
    port = int(hostvars.get("ansible_port", 22) or 22)
    entry = target if port == 22 else f"[{target}]:{port}"
    if run("ssh-keygen", "-F", entry, "-f", str(pinned), check=False).returncode == 0:
        return None
    return (
        f"{name}: no key for {entry} in {_shown(pinned)}: add the server's host key"
        f" line, read on the server itself (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`"
        " to compare fingerprints), never from ssh-keyscan at deploy time"
    )


def check(env: str, environ: Mapping[str, str] = os.environ) -> list[str]:
    """Check everything a deploy job needs; raise naming every missing piece; return the hosts."""
    if env in ("", "local"):
        raise ShipyardError("preflight checks a real environment: give -e staging or -e production")
    playbooks.inventory(env)  # an environment that exists and lists hosts, or the fix
    problems: list[str] = []
    if _has_vault(env) and not environ.get(VAULT_PASSWORD):
        problems.append(
            f"{VAULT_PASSWORD} is not set: inventory/{env} has vault-encrypted files; put the"
            " vault password in that variable (CircleCI: the shipyard-deploy context)"
        )
    if (key := _ssh_key_problem(environ)) is not None:
        problems.append(key)
    pinned = known_hosts_file(env)
    if not pinned.is_file():
        problems.append(
            f"{_shown(pinned)} is missing: pin each server's host key there"
            " (one known_hosts line per host), so that no deploy trusts a key on first sight"
        )
    if problems:  # no point asking the inventory (it may need the vault password) or the hosts
        raise ShipyardError("the deploy cannot start:\n  - " + "\n  - ".join(problems))
    data = ansible.inventory(env, environ)
    hostvars = data.get("_meta", {}).get("hostvars", {})
    for name in sorted(hostvars):
        for problem in (strict_pinning_problem(env, hostvars[name]),
                        _known_host(name, hostvars[name], pinned)):  # fmt: skip
            if problem and problem not in problems:
                problems.append(problem)
    if problems:
        raise ShipyardError("the deploy cannot start:\n  - " + "\n  - ".join(problems))
    # Every host answers, with the pinned key, before any change (the connections the fleet
    # commands use, opened and closed again).
    routes = [route_for(n, hostvars[n], environ.get(DEPLOY_KEY, "")) for n in sorted(hostvars)]
    conns, failed = try_open(routes)
    for conn in conns:
        conn.close()
    problems += failed
    if problems:
        raise ShipyardError("the deploy cannot start:\n  - " + "\n  - ".join(problems))
    return sorted(hostvars)
