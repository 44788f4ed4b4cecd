"""The app's releases on an environment's web hosts: `inv deploy`, `rollback`, `releases`,
`status`, `logs` and `manage`.

`deploy` and `rollback` run playbooks (they change hosts). The read-only and interactive
commands need a terminal or a plain answer, which Ansible does not give: they reach the web hosts
through Fabric, with the connections src/shipyard/hosts.py builds from the inventory, and ask the
release tool the django_app role installs there: every host at once (Fabric's ThreadingGroup) for
`status` and `releases`, every host's lines interleaved for `logs`, one host for `manage`.
"""

from __future__ import annotations

import heapq
import io
import json
import sys
import threading
from pathlib import Path

from . import ansible, environments, playbooks
from .hosts import WebHost, open_all, remote_command, run_everywhere, web_hosts
from .shell import CommandFailed, ShipyardError

NEVER_DEPLOYED = "no release yet: run `inv deploy`"


def pick(hosts: list[WebHost], name: str) -> WebHost:
    if not name:
        return hosts[0]
    for h in hosts:
        if h.name == name:
            return h
    raise ShipyardError(
        f"--host {name}: not a web host here; choose {', '.join(h.name for h in hosts)}"
    )


def answer(exited: int, stdout: str, stderr: str):
    """The release tool's JSON answer, or a sentence saying why there is none (pure)."""
    if exited == 0:
        return json.loads(stdout)
    detail = (stderr or stdout).strip()
    if "command not found" in detail or "No such file" in detail:
        return NEVER_DEPLOYED
    return detail.splitlines()[-1] if detail else f"the release tool failed (exit {exited})"


def ask_all(hosts: list[WebHost], *args: str) -> dict[str, object]:
    """Every host's answer from its release tool, asked on all hosts at once; nothing runs unless
    every host answered with its pinned key."""
    results = run_everywhere([(h.route, h.tool_command(*args)) for h in hosts])
    return {
        h.name: f"the connection failed: {r}"
        if isinstance(r, BaseException)
        else answer(r.exited, r.stdout, r.stderr)
        for h, r in zip(hosts, results, strict=True)
    }


def releases_table(by_host: dict[str, object]) -> str:
    """`inv releases`: one table, a line per release of each host, newest last (pure)."""
    width = max([4, *map(len, by_host)])
    lines = [f"  {'host':<{width}} {'release':<32} {'commit':<14} {'state':<8} {'ref':<16} current"]
    for name, rows in by_host.items():
        if isinstance(rows, str) or not rows:
            lines.append(f"  {name:<{width}} {rows or NEVER_DEPLOYED}")
            continue
        for r in rows:
            lines.append(
                f"  {name:<{width}} {r.get('id', '?'):<32} {str(r.get('commit', '?'))[:12]:<14}"
                f" {r.get('state', '?'):<8} {str(r.get('ref', '-'))[:16]:<16}"
                f" {'*' if r.get('current') else ''}".rstrip()
            )
    return "\n".join(lines)


def status_table(by_host: dict[str, object]) -> str:
    """`inv status`: a line per host: its live release, commit, health and uptime (pure)."""
    width = max([4, *map(len, by_host)])
    lines = [f"  {'host':<{width}} {'live release':<32} {'commit':<14} {'health':<12} up"]
    for name, st in by_host.items():
        if isinstance(st, str) or not st.get("current"):
            lines.append(f"  {name:<{width}} {st if isinstance(st, str) else NEVER_DEPLOYED}")
            continue
        health = "healthy" if st.get("healthy") else "NOT HEALTHY"
        up = int(st.get("uptime_s") or 0)
        lines.append(
            f"  {name:<{width}} {st['current']:<32} {str(st.get('commit'))[:12]:<14}"
            f" {health:<12} {up // 3600}h{up % 3600 // 60:02d}m{up % 60:02d}s"
        )
    return "\n".join(lines)


class PrefixedLines:
    """A stream for one host's output: each whole line printed with the host's name in front,
    under a lock shared by every host, so that lines interleave but never mix."""

    def __init__(self, name: str, width: int, lock: threading.Lock, out=None):
        self.prefix = f"{name:<{width}} | "
        self.lock, self.out, self.partial = lock, out or sys.stdout, ""

    def write(self, data: str) -> None:
        *whole, self.partial = (self.partial + data).split("\n")
        if whole:
            with self.lock:
                self.out.write("".join(f"{self.prefix}{line}\n" for line in whole))
                self.out.flush()

    def flush(self) -> None:
        if self.partial:
            self.write("\n")


def rollback_vars(to: str, batch: int = 1) -> dict:
    return {**({"django_app_rollback_to": to} if to else {}), "shipyard_batch": batch}


def deploy_vars(ref: str, allow_dirty: bool, source: str = "", batch: int = 1) -> dict:
    extra: dict = {"django_app_ref": ref or "HEAD", "shipyard_batch": batch}
    if allow_dirty:
        extra["django_app_allow_dirty"] = True
    if source:
        extra["django_app_source"] = str(Path(source).resolve())
    return extra


# ---- the tasks ----------------------------------------------------------------------------------


def deploy(
    env: str, ref: str, allow_dirty: bool, source: str, limit: str, batch: int, verbose: int
) -> None:
    environments.ready(env, changes_hosts=True)
    extra = deploy_vars(ref, allow_dirty, source, batch)
    ansible.playbook(
        playbooks.command("deploy", env, extra_vars=extra, limit=limit, verbose=verbose)
    )


def rollback(env: str, to: str, limit: str, batch: int, verbose: int) -> None:
    environments.ready(env, changes_hosts=True)
    extra = rollback_vars(to, batch)
    ansible.playbook(
        playbooks.command("rollback", env, extra_vars=extra, limit=limit, verbose=verbose)
    )


def _chosen(env: str, name: str, every: bool) -> list[WebHost]:
    environments.ready(env)
    hosts = web_hosts(env)
    return hosts if every and not name else [pick(hosts, name)]


def report(env: str, name: str, what: str) -> None:
    """`inv releases` / `status`: one table of every web host's answer (or only `name`'s)."""
    answers = ask_all(_chosen(env, name, every=True), what)
    print(releases_table(answers) if what == "releases" else status_table(answers))
    if what == "status" and not name:  # the database's backups, on each side (README "Backups")
        from . import backups

        print(backups.report(env))


def logs(env: str, name: str, lines: int, follow: bool) -> None:
    """`inv logs`: the app's gunicorn journal (both slots) from every web host (or `name`),
    each line with its host's name in front; with `follow`, as they come, until Ctrl-C."""
    hosts = _chosen(env, name, every=True)
    conns = open_all([h.route for h in hosts])
    width = max(len(h.name) for h in hosts)
    lock = threading.Lock()

    # Following: each line as it comes. Otherwise each host's recent lines are gathered, then
    # merged by their timestamps (short-iso-precise sorts as text), so the fleet reads as one log.
    kept = {h.name: io.StringIO() for h in hosts}

    def tail(h: WebHost, conn) -> None:
        journal = ["journalctl", "--no-pager", "-o", "short-iso-precise", "-u", f"{h.app}@*"]
        stream = PrefixedLines(h.name, width, lock, None if follow else kept[h.name])
        # A terminal on the host when following: closing the connection (Ctrl-C) hangs it up,
        # which ends journalctl there.
        command = remote_command(*journal, "-n", str(lines), *(["-f"] if follow else []))
        conn.run(command, out_stream=stream, err_stream=stream, pty=follow, in_stream=False,
                 warn=True)  # fmt: skip
        stream.flush()

    threads = [threading.Thread(target=tail, args=pair, daemon=True)
               for pair in zip(hosts, conns, strict=True)]  # fmt: skip
    for t in threads:
        t.start()
    try:
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(timeout=0.2)
    except KeyboardInterrupt:  # Ctrl-C ends --follow
        pass
    finally:
        for c in conns:
            c.close()
    if not follow:
        print("".join(merge_by_time(*(k.getvalue().splitlines(True) for k in kept.values()))),
              end="")  # fmt: skip


def merge_by_time(*hosts_lines: list[str]) -> list[str]:
    """Lines of several hosts (each `NAME | TIMESTAMP ...`, each host's in order) merged in time
    order (pure, unit-tested)."""
    return list(heapq.merge(*hosts_lines, key=lambda line: line.partition(" | ")[2][:32]))


def manage(env: str, name: str, args: list[str]) -> None:
    """`inv manage -- ARGS`: manage.py in the live release of one web host, with this terminal."""
    if not args:
        raise ShipyardError("give the command after --, e.g. `inv manage -- showmigrations`")
    (h,) = _chosen(env, name, every=False)
    (conn,) = open_all([h.route])
    try:
        result = conn.run(h.tool_command("manage", *args), pty=sys.stdin.isatty(), warn=True)
    finally:
        conn.close()
    if result.exited != 0:
        raise CommandFailed(("manage", *args), result.exited)
