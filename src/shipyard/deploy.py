"""The app's releases on an environment's web hosts: `inv deploy`, `rollback`, `releases`,
`status`, `logs` and `manage`.

`deploy` and `rollback` run playbooks (they change hosts). The read-only and interactive
commands need a terminal or a plain answer, which Ansible does not give: they reach each web host
as src/shipyard/hosts.py says and ask the release tool the django_app role installs there.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from . import ROOT, ansible, environments, playbooks
from .hosts import WebHost, web_hosts
from .shell import ShipyardError, run


def pick(hosts: list[WebHost], name: str) -> WebHost:
    if not name:
        return hosts[0]
    for h in hosts:
        if h.name == name:
            return h
    raise ShipyardError(
        f"--host {name}: not a web host here; choose {', '.join(h.name for h in hosts)}"
    )


def query(host: WebHost, *args: str):
    # From the project root: an environment's pinned known_hosts is a path relative to it.
    proc = run(*host.tool(*args), check=False, cwd=ROOT)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        if "command not found" in detail or "No such file" in detail:
            detail = "the app was never deployed here: run `inv deploy`"
        raise ShipyardError(f"{host.name}: {detail}")
    return json.loads(proc.stdout)


def releases_table(rows: list[dict]) -> str:
    """`inv releases`: one line per release, newest last (pure, unit-tested)."""
    if not rows:
        return "  no release yet: run `inv deploy`"
    lines = [f"  {'release':<32} {'commit':<14} {'state':<8} {'ref':<16} current"]
    for r in rows:
        lines.append(
            f"  {r.get('id', '?'):<32} {str(r.get('commit', '?'))[:12]:<14}"
            f" {r.get('state', '?'):<8} {str(r.get('ref', '-'))[:16]:<16}"
            f" {'*' if r.get('current') else ''}"
        )
    return "\n".join(lines)


def status_line(name: str, st: dict) -> str:
    if not st.get("current"):
        return f"  {name}: no release live (run `inv deploy`)"
    health = "healthy" if st.get("healthy") else "NOT HEALTHY"
    uptime = st.get("uptime_s") or 0
    return (
        f"  {name}: {st['current']} (commit {str(st.get('commit'))[:12]}), {health},"
        f" up {uptime // 3600}h{uptime % 3600 // 60:02d}m{uptime % 60:02d}s"
    )


def rollback_vars(to: str) -> dict[str, str]:
    return {"django_app_rollback_to": to} if to else {}


def deploy_vars(ref: str, allow_dirty: bool, source: str = "") -> dict[str, str]:
    extra = {"django_app_ref": ref or "HEAD"}
    if allow_dirty:
        extra["django_app_allow_dirty"] = True
    if source:
        extra["django_app_source"] = str(Path(source).resolve())
    return extra


# ---- the tasks ----------------------------------------------------------------------------------


def deploy(env: str, ref: str, allow_dirty: bool, source: str, limit: str, verbose: int) -> None:
    environments.ready(env, changes_hosts=True)
    extra = deploy_vars(ref, allow_dirty, source)
    ansible.playbook(
        playbooks.command("deploy", env, extra_vars=extra, limit=limit, verbose=verbose)
    )


def rollback(env: str, to: str, limit: str, verbose: int) -> None:
    environments.ready(env, changes_hosts=True)
    extra = rollback_vars(to)
    ansible.playbook(
        playbooks.command("rollback", env, extra_vars=extra, limit=limit, verbose=verbose)
    )


def _chosen(env: str, name: str, every: bool) -> list[WebHost]:
    environments.ready(env)
    hosts = web_hosts(env)
    return hosts if every and not name else [pick(hosts, name)]


def report(env: str, name: str, what: str) -> None:
    """`inv releases` / `status`: each web host's answer (or only `name`'s), as text."""
    for h in _chosen(env, name, every=True):
        answer = query(h, what)
        if what == "releases":
            print(f"{h.name}:\n{releases_table(answer)}")
        else:
            print(status_line(h.name, answer))


def logs(env: str, name: str, lines: int, follow: bool) -> None:
    """`inv logs`: the app's gunicorn journal (both slots) from one web host."""
    (h,) = _chosen(env, name, every=False)
    remote = ["journalctl", "--no-pager", "-u", f"{h.app}@*", "-n", str(lines)]
    # From the project root: an environment's pinned known_hosts is a path relative to it.
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends --follow
        run(*h.command(*remote, *(["-f"] if follow else []), tty=follow), capture=False, cwd=ROOT)


def manage(env: str, name: str, args: list[str]) -> None:
    """`inv manage -- ARGS`: manage.py in the live release, with this terminal."""
    if not args:
        raise ShipyardError("give the command after --, e.g. `inv manage -- showmigrations`")
    (h,) = _chosen(env, name, every=False)
    run(*h.tool("manage", *args, tty=sys.stdin.isatty()), capture=False, cwd=ROOT)
