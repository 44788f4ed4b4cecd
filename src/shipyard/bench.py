"""Provisioning benchmark: cold run, idempotent re-run, and the apt floor, on fresh boxes."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import ROOT, boxes
from .shell import run

RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+).*failed=(?P<failed>\d+)", re.M
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def manual_packages(container: str) -> set[str]:
    """Packages apt marks as installed on request (what a provisioning run asked for)."""
    return set(run("docker", "exec", container, "apt-mark", "showmanual").stdout.split())


@dataclass
class Recap:
    ok: int
    changed: int
    failed: int


def parse_recap(output: str) -> dict[str, Recap]:
    """The PLAY RECAP counts per host from ansible-playbook output."""
    text = ANSI.sub("", output)
    return {
        m["host"]: Recap(int(m["ok"]), int(m["changed"]), int(m["failed"]))
        for m in RECAP.finditer(text)
    }


def timed(*cmd: str, **kw) -> tuple[float, subprocess.CompletedProcess]:
    started = time.monotonic()
    proc = run(*cmd, **kw)
    return time.monotonic() - started, proc


def provision_box(
    name: str, *extra: str, check: bool = True
) -> tuple[float, subprocess.CompletedProcess]:
    """Time `inv provision --limit name` (the command a user runs) and return its output."""
    inv = str(Path(ROOT / ".venv/bin/inv")) if (ROOT / ".venv/bin/inv").exists() else "inv"
    return timed(inv, "provision", "--limit", name, *extra, cwd=str(ROOT), check=check)


def apt_floor(name: str, os_name: str, packages: list[str], apt_proxy: str) -> float:
    """Seconds for one `apt-get update && apt-get install PACKAGES` in a fresh box `name`,
    through the same apt proxy the provisioning uses."""
    box = boxes.start(name, os_name)
    proxy = f"-o Acquire::http::Proxy={apt_proxy}" if apt_proxy else ""
    script = (
        f"set -e; export DEBIAN_FRONTEND=noninteractive; apt-get {proxy} update -qq && "
        f"apt-get {proxy} install -y -qq {' '.join(packages)} >/dev/null"
    )
    try:
        seconds, _ = timed("docker", "exec", box.container, "sh", "-c", script)
    finally:
        boxes.remove(name)
    return seconds


@dataclass
class DeployRun:
    name: str
    seconds: float
    served: int
    failed: int
    goal: str


def _inv() -> str:
    return str(ROOT / ".venv/bin/inv") if (ROOT / ".venv/bin/inv").exists() else "inv"


def deploy_runs(box: boxes.Box, project: Path) -> list[DeployRun]:
    """Time a first deploy, a code-only deploy, the same ref again and a rollback of `project` on
    `box`, each under a steady HTTPS client through nginx (the commands a user runs)."""
    from .deploy import commit
    from .traffic import SteadyClient

    health = project / "notesapi" / "health.py"  # the sample app's; any file would do
    steps = [
        ("first deploy (new virtualenv)", ["deploy"], "(nothing served before: 503s expected)"),
        ("code-only deploy", ["deploy"], "goal < 15 s, 0 failed"),
        ("same ref again", ["deploy"], "nothing restarted, 0 failed"),
        ("rollback", ["rollback"], "goal < 3 s, 0 failed"),
    ]
    runs = []
    for n, (name, cmd, goal) in enumerate(steps):
        if n == 1:
            changed = health.read_text() + "\n# changed\n"
            commit(project, "A one-line change", {"notesapi/health.py": changed})
        extra = ["--source", str(project)] if cmd == ["deploy"] else []
        with SteadyClient(box.https_port) as client:
            seconds, _ = timed(_inv(), *cmd, *extra, "--limit", box.name, cwd=str(ROOT))
        runs.append(DeployRun(name, seconds, client.tally.served, client.tally.failed, goal))
    return runs
