"""Remote operations that are not configuration (database dumps...), over SSH with Fabric.

Hosts and their connection settings come from the same inventories Ansible uses, read with
`ansible-inventory`, so `-e ENV` means the same thing for every task.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from fabric import Connection

from . import ROOT, playbooks
from .shell import ShipyardError


@dataclass(frozen=True)
class DbHost:
    name: str
    address: str
    port: int
    user: str | None
    key_file: str | None
    engine: str
    database: str


def db_hosts(env: str) -> list[DbHost]:
    """The hosts of `env`'s db group, with what is needed to reach them and their database."""
    inventory = playbooks.inventory(env)
    proc = subprocess.run(
        ["ansible-inventory", "-i", str(inventory), "--list"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        raise ShipyardError(f"cannot read inventory {inventory}: {proc.stderr.strip()[-500:]}")
    data = json.loads(proc.stdout)
    hostvars = data.get("_meta", {}).get("hostvars", {})
    hosts = []
    for name in data.get("db", {}).get("hosts", []):
        v = hostvars.get(name, {})
        hosts.append(
            DbHost(
                name=name,
                address=str(v.get("ansible_host", name)),
                port=int(v.get("ansible_port", 22)),
                user=v.get("ansible_user"),
                key_file=v.get("ansible_ssh_private_key_file"),
                engine=str(v.get("db_engine", "postgresql")),
                database=str(v.get("app_db_name", "app")),
            )
        )
    return hosts


def pick(env: str, host: str = "") -> DbHost:
    hosts = db_hosts(env)
    names = ", ".join(h.name for h in hosts) or "none"
    if host:
        for h in hosts:
            if h.name == host:
                return h
        raise ShipyardError(f"--host {host!r} is not in the db group of -e {env} (it has: {names})")
    if len(hosts) != 1:
        raise ShipyardError(f"-e {env} has {len(hosts)} db hosts ({names}): choose one with --host")
    return hosts[0]


def connect(h: DbHost) -> Connection:
    kwargs = {"key_filename": h.key_file} if h.key_file else {}
    return Connection(h.address, user=h.user, port=h.port, connect_kwargs=kwargs)


def backup(env: str, host: str = "", output: str = "") -> Path:
    """Dump the app database on the db host to a local file, with the role's helper."""
    h = pick(env, host)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    suffix = "dump" if h.engine == "postgresql" else "sql"
    target = (
        Path(output)
        if output
        else ROOT / "backups" / f"{env}-{h.name}-{h.database}-{stamp}.{suffix}"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    remote = f"/tmp/shipyard-backup-{stamp}.{suffix}"
    with connect(h) as c:
        try:
            c.sudo(
                f"sh -c {shlex.quote(f'umask 077; shipyard-db-backup {h.database} > {remote}')}",
                hide=True,
            )
            c.sudo(f"chown {c.user} {remote}", hide=True)
            c.get(remote, str(target))
        finally:
            c.sudo(f"rm -f {remote}", hide=True, warn=True)
    return target


def restore(env: str, dump: str, host: str = "", database: str = "") -> DbHost:
    """Load a dump made by `backup` into the app database (or `database`) on the db host."""
    path = Path(dump)
    if not path.is_file():
        raise ShipyardError(f"no dump file {dump!r}: give the path `inv db.backup` printed")
    h = pick(env, host)
    db = database or h.database
    remote = f"/tmp/shipyard-restore-{time.strftime('%Y%m%d-%H%M%S')}"
    with connect(h) as c:
        try:
            c.put(str(path), remote)
            c.sudo(f"sh -c {shlex.quote(f'shipyard-db-restore {db} < {remote}')}", hide=True)
        finally:
            c.sudo(f"rm -f {remote}", hide=True, warn=True)
    return h
