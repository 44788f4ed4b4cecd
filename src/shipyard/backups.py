"""The scheduled backups as `inv status` shows them: each db host's newest good backup and each
backup host's newest copy of it, their age, and an error when the last run failed or the newest is
older than the schedule allows. Asked through Fabric, every host at once, from the tool the backup
role installs (roles/backup/files/shipyard-backups `status`)."""

from __future__ import annotations

import json
from functools import cache

import yaml

from . import ROOT, ansible
from .hosts import Route, remote_command, route_for, run_everywhere

ROLE_VARS = ROOT / "roles" / "backup" / "vars" / "main.yml"
NOT_SET_UP = "no backups set up here: run `inv provision`"


@cache
def tool_path() -> str:
    """Where the backup role installs its tool (its vars: the one definition)."""
    return yaml.safe_load(ROLE_VARS.read_text())["__backup_tool"]


def hosts_of(env: str) -> tuple[list[tuple[str, Route]], bool]:
    """The db and backup hosts, each once, in the inventory's order; and whether the environment
    has a backup host at all."""
    data = ansible.inventory(env or "local")
    hostvars = data.get("_meta", {}).get("hostvars", {})
    backup = data.get("backup", {}).get("hosts", [])
    names = list(dict.fromkeys(data.get("db", {}).get("hosts", []) + backup))
    return [(n, route_for(n, hostvars.get(n, {}))) for n in names], bool(backup)


def answer_of(result) -> list[dict] | str:
    """One host's answer: its sides, or why there is none (pure)."""
    if isinstance(result, BaseException):
        return f"the connection failed: {result}"
    if result.exited != 0:
        detail = (result.stderr or result.stdout).strip()
        if "command not found" in detail or "No such file" in detail:
            return NOT_SET_UP
        return detail.splitlines()[-1] if detail else f"the backup tool failed ({result.exited})"
    return json.loads(result.stdout)


def ask(env: str) -> tuple[dict[str, list[dict] | str], bool]:
    targets, has_backup_host = hosts_of(env)
    command = remote_command(tool_path(), "status")
    results = run_everywhere([(route, command) for _, route in targets])
    return {n: answer_of(r) for (n, _), r in zip(targets, results, strict=True)}, has_backup_host


def age(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 86400:
        return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def table(by_host: dict[str, list[dict] | str], has_backup_host: bool) -> str:
    """`inv status`'s backups: a line per side of each host (the db host's own backups, each
    backup host's copies of one db host), an error's reason under it (pure)."""
    width = max([7, *map(len, by_host)])
    lines = [f"  {'backups':<{width}} {'side':<5} {'of':<{width}} {'newest':<58} {'age':<8} state"]
    for name, sides in by_host.items():
        if isinstance(sides, str):
            lines.append(f"  {name:<{width}} {sides}")
            continue
        for s in sides:
            state = "ERROR" if s["state"] == "error" else s["state"]
            lines.append(
                f"  {name:<{width}} {s['side']:<5} {s['name']:<{width}} {s['newest'] or '-':<58}"
                f" {age(s['age_s']):<8} {state}"
            )
            if s["why"] and s["state"] == "error":
                lines.append(f"  {'':<{width}}   {s['why']}")
    if not has_backup_host:
        lines.append(
            "  WARNING: no backup host: the backups stay on the db host only; put a host in the"
            ' backup group of hosts.yml (README "Backups")'
        )
    return "\n".join(lines)


def report(env: str) -> str:
    return table(*ask(env))
