"""Provisioning benchmark: cold run, idempotent re-run, and the apt floor, on fresh boxes."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import ROOT, boxes, host
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
    from .app import commit
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


def provisioning(os_name: str) -> str:
    """`inv bench`: the apt floor, a cold run, a re-run and --check on fresh boxes; the table."""
    from .environments import boxes_ready

    try:
        boxes_ready()
        proxy = host.apt_proxy_for_boxes()
        # Warm-up: a full run fills the apt cache and tells which packages the roles ask for.
        warm = boxes.start("bench-warmup", os_name)
        fresh = manual_packages(warm.container)
        boxes_ready()
        provision_box(warm.name)
        packages = sorted(manual_packages(warm.container) - fresh)
        boxes.remove(warm.name)
        floor = apt_floor("bench-floor", os_name, packages, proxy)
        boxes.start("bench", os_name)
        boxes_ready()
        cold, out1 = provision_box("bench")
        rerun, out2 = provision_box("bench")
        check, out3 = provision_box("bench", "--check")
    finally:
        for name in ("bench-warmup", "bench"):
            boxes.remove(name)
        boxes.write_inventory(boxes.running())
    changed = [parse_recap(o.stdout)["bench"].changed for o in (out1, out2, out3)]
    rows = [
        ("apt-get install floor (one call)", floor, "-", ""),
        ("cold provision", cold, changed[0], f"{cold / floor:.2f}x floor (goal <= 1.3x)"),
        ("idempotent re-run", rerun, changed[1], "goal < 15 s, changed=0"),
        ("--check on converged box", check, changed[2], "goal changed=0"),
    ]
    lines = [
        f"Provisioning benchmark, one {os_name} box, {len(packages)} packages requested",
        f"{'run':<34} {'seconds':>8} {'changed':>8}  note",
    ]
    lines += [f"{name:<34} {secs:>8.1f} {chg!s:>8}  {note}" for name, secs, chg, note in rows]
    return "\n".join(lines)


def deploy(os_name: str) -> str:
    """`inv bench --deploy`: a provisioned box, a copy of the sample app in a git repository of
    its own, four runs under a steady client; the table."""
    import tempfile

    from . import ansible, playbooks
    from .app import sample_project
    from .environments import boxes_ready

    name = "bench-deploy"
    try:
        boxes_ready()
        boxes.start(name, os_name)
        boxes_ready()
        ansible.playbook(playbooks.command("provision", "local", limit=name), quiet=True)
        box = next(x for x in boxes.running() if x.name == name)
        with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as tmp:
            runs = deploy_runs(box, sample_project(Path(tmp) / "notes"))
    finally:
        boxes.remove(name)
        boxes.write_inventory(boxes.running())
    lines = [
        f"Deploy benchmark, one {os_name} box (PostgreSQL, nginx), a steady HTTPS client",
        f"{'run':<32} {'seconds':>8} {'served':>7} {'failed':>7}  note",
    ]
    lines += [f"{r.name:<32} {r.seconds:>8.1f} {r.served:>7} {r.failed:>7}  {r.goal}" for r in runs]
    return "\n".join(lines)
