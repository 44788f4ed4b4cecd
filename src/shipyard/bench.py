"""The benchmarks (`inv bench`): provisioning (the apt floor, a cold run, a re-run, --check, on
fresh boxes) and the deploy (code-only, same ref, rollback under a steady client; a rolling
deploy to 1 and to 3 web hosts of a fleet). Single runs on
this kind of machine vary by 2-6 s, so each figure is taken `runs` times and shown as its median
and its spread (lowest-highest): one run cannot show a 1 s gain."""

from __future__ import annotations

import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import ROOT, boxes, host
from .shell import ShipyardError, run

RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+).*failed=(?P<failed>\d+)", re.M
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def manual_packages(container: str) -> set[str]:
    """Packages apt marks as installed on request (what a provisioning run asked for)."""
    return set(run("docker", "exec", container, "apt-mark", "showmanual").stdout.split())


RUNS = 3  # samples per figure by default (`inv bench --runs N`)


@dataclass
class Figure:
    """One benchmark figure: its samples in seconds, and what else each run counted."""

    name: str
    goal: str = ""
    seconds: list[float] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    served: int = 0
    failed: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def spread(self) -> str:
        """`median (lowest-highest)`, or the one value when there is one sample."""
        if len(self.seconds) == 1:
            return f"{self.seconds[0]:.1f}"
        return f"{self.median:.1f} ({min(self.seconds):.1f}-{max(self.seconds):.1f})"


def table(title: str, figures: list[Figure], counts: str) -> str:
    """A Markdown table (the README's Speed section takes it as it is): each figure's median and
    spread, its runs, the counts named by `counts` ("changed" or "served/failed"), the goal."""
    rows = [title, "", f"| run | seconds: median (spread) | runs | {counts} | goal |",
            "| --- | --- | --- | --- | --- |"]  # fmt: skip
    for f in figures:
        if counts == "changed":
            count = ",".join(str(c) for c in sorted(set(f.changed))) or "-"
        else:
            count = f"{f.served}/{f.failed}"
        rows.append(f"| {f.name} | {f.spread()} | {len(f.seconds)} | {count} | {f.goal} |")
    return "\n".join(rows)


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


def _inv() -> str:
    return str(ROOT / ".venv/bin/inv") if (ROOT / ".venv/bin/inv").exists() else "inv"


def deploy_runs(box: boxes.Box, project: Path, runs: int) -> list[Figure]:
    """Time a first deploy, then `runs` each of a code-only deploy (a new commit each), the same ref
    again and a rollback of `project` on `box`, each under a steady HTTPS client through nginx: the
    commands a user runs. After each rollback an untimed `rollback --to` puts the newest release
    back, so every sample is the same step (and retention never runs out of older releases)."""
    from .app import commit
    from .traffic import SteadyClient

    health = project / "notesapi" / "health.py"  # the sample app's; any file would do
    first = Figure("first deploy (new virtualenv)", "nothing served before: 503s expected")
    code = Figure("code-only deploy", "< 15 s, 0 failed")
    same = Figure("same ref again", "nothing restarted, 0 failed")
    back = Figure("rollback", "<= 2.5 s, 0 failed")
    steps = [(first, "deploy")] + [(code, "deploy")] * runs + [(same, "deploy")] * runs
    newest = ""
    for figure, cmd in steps + [(back, "rollback")] * runs:
        if figure is code:
            changed = health.read_text() + f"\n# change {len(code.seconds) + 1}\n"
            commit(project, "A one-line change", {"notesapi/health.py": changed})
        extra = ["--source", str(project)] if cmd == "deploy" else []
        with SteadyClient(box.https_port) as client:
            seconds, _ = timed(_inv(), cmd, *extra, "--limit", box.name, cwd=str(ROOT))
        figure.seconds.append(seconds)
        figure.served += client.tally.served
        figure.failed += client.tally.failed
        if figure is back:
            run(_inv(), "rollback", "--to", newest, "--limit", box.name, cwd=str(ROOT))
        else:
            newest = client.tally.last  # the release that answered last: the live one
    return [first, code, same, back]


def provisioning(os_name: str, runs: int = RUNS) -> str:
    """`inv bench`: the apt floor and a cold run, each on `runs` fresh boxes; `runs` re-runs and
    `--check` runs on the last of them; the table."""
    from .environments import boxes_ready

    floor = Figure("apt-get install floor (one call)")
    cold = Figure("cold provision")
    rerun = Figure("idempotent re-run", "<= 10 s, changed=0")
    check = Figure("--check on the converged box", "<= 10 s, changed=0")
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
        for n in range(runs):
            floor.seconds.append(apt_floor("bench-floor", os_name, packages, proxy))
            if n:
                boxes.remove("bench")
            boxes.start("bench", os_name)
            boxes_ready()
            _sample(cold, provision_box("bench"))
        for _ in range(runs):
            _sample(rerun, provision_box("bench"))
            _sample(check, provision_box("bench", "--check"))
    finally:
        for name in ("bench-warmup", "bench-floor", "bench"):
            boxes.remove(name)
        boxes.write_inventory(boxes.running())
    ratio = cold.median / floor.median
    cold.goal = f"<= 1.3x the floor: {ratio:.2f}x ({'met' if ratio <= 1.3 else 'not met'})"
    for figure in (rerun, check):
        figure.goal += " (met)" if figure.median <= 10 else " (not met)"
    title = (f"Provisioning, one {os_name} box per cold run, {len(packages)} packages asked of "
             f"apt, {runs} runs of each figure")  # fmt: skip
    return table(title, [floor, cold, rerun, check], "changed")


def _sample(figure: Figure, timed_run: tuple[float, subprocess.CompletedProcess]) -> None:
    seconds, proc = timed_run
    figure.seconds.append(seconds)
    figure.changed.append(parse_recap(proc.stdout)["bench"].changed)


def deploy(os_name: str, runs: int = RUNS) -> str:
    """`inv bench --deploy`: a provisioned box, a copy of the sample app in a git repository of
    its own, a first deploy and `runs` of each other figure under a steady client; the table."""
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
            figures = deploy_runs(box, sample_project(Path(tmp) / "notes"), runs)
    finally:
        boxes.remove(name)
        boxes.write_inventory(boxes.running())
    figures[-1].goal += " (met)" if figures[-1].median <= 2.5 else " (not met)"
    title = (f"Deploy, one {os_name} box (PostgreSQL, nginx), a steady HTTPS client through nginx, "
             f"{runs} runs of each figure after the first deploy")  # fmt: skip
    return table(title, figures, "served/failed")


def rolling_deploy(os_name: str, runs: int = RUNS) -> str:
    """The rolling deploy's rows of `inv bench --deploy`: a fleet of a db box, 3 web boxes and a
    load balancer (`inv up --web 3`, in a state folder of its own, so a developer's boxes are left
    alone), then `runs` code-only deploys to 1 web host (`--limit web1`) and to all 3, each under a
    steady HTTPS client through the load balancer; the table."""
    from .app import commit, sample_project
    from .traffic import SteadyClient

    one = Figure("rolling deploy, code-only, 1 web host (--limit web1)", "0 failed")
    three = Figure("rolling deploy, code-only, 3 web hosts", "<= 1.5x the 1-host deploy, 0 failed")
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-fleet-") as state:
        env = {**os.environ, "SHIPYARD_STATE": state}
        scope = hashlib.sha256(str(Path(state).resolve()).encode()).hexdigest()[:6]
        try:
            run(_inv(), "up", "--web", "3", "--os", os_name, cwd=str(ROOT), env=env)
            lb = run("docker", "port", f"shipyard-{scope}-lb1", "443/tcp").stdout.split()[0]
            port = int(lb.rsplit(":", 1)[1])
            project = sample_project(Path(state) / "notes")
            health = project / "notesapi" / "health.py"
            run(_inv(), "deploy", "--source", str(project), cwd=str(ROOT), env=env)
            for figure, limit in [(one, ["--limit", "web1"]), (three, [])] * runs:
                changed = health.read_text() + f"\n# change {len(one.seconds + three.seconds)}\n"
                commit(project, "A one-line change", {"notesapi/health.py": changed})
                with SteadyClient(port) as client:
                    seconds, _ = timed(_inv(), "deploy", "--source", str(project), *limit,
                                       cwd=str(ROOT), env=env)  # fmt: skip
                figure.seconds.append(seconds)
                figure.served += client.tally.served
                figure.failed += client.tally.failed
        finally:
            run(_inv(), "down", cwd=str(ROOT), env=env, check=False)
    ratio = three.median / one.median
    three.goal = f"<= 1.5x the 1-host deploy: {ratio:.2f}x ({'met' if ratio <= 1.5 else 'not met'})"
    title = (f"Rolling deploy, a fleet of {os_name} boxes (db, 3 web, lb), a steady HTTPS client "
             f"through the load balancer, {runs} runs of each figure")  # fmt: skip
    return table(title, [one, three], "served/failed")


FLEET_SIZES = (1, 10, 30)
# Hosts nobody answers at (port 1 of this machine): a run checks every input, then stops at the
# first task that needs a host, so what it times is the controller's work before any remote call.
UNREACHABLE = {
    "ansible_host": "127.0.0.1",
    "ansible_port": 1,
    "ansible_ssh_common_args": "-o ConnectTimeout=2",
    "vault_app_db_password": "bench-password-0123456789",
    "vault_django_app_secret_key": "s" * 40,
    "django_app_shared_mount": "/mnt/shared",  # the web hosts' uploads: one store for all
}


def checks_run(hosts: int) -> float:
    """Seconds for `provision.yml` over `hosts` web and db hosts with equal, valid inputs and a
    fact cache of its own (so no host's checks are skipped as passed before)."""
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-fleet-") as tmp:
        names = {f"web{n}": {} for n in range(hosts)}
        groups = {"db": {"hosts": names}, "web": {"hosts": names}}
        inventory = {"all": {"vars": UNREACHABLE, "children": groups}}
        (Path(tmp) / "hosts.yml").write_text(json.dumps(inventory))
        env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
               "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(Path(tmp) / "facts")}  # fmt: skip
        playbook = str(Path(sys.executable).parent / "ansible-playbook")
        seconds, proc = timed(
            playbook, "-i", str(ROOT / "inventory" / "shared"), "-i", tmp,
            str(ROOT / "playbooks" / "provision.yml"),
            cwd=str(ROOT), env=env, check=False,
        )  # fmt: skip
    unreachable = proc.stdout.count("UNREACHABLE!")
    if unreachable != hosts:  # a check refused the inputs: the figure would time something else
        raise RuntimeError(f"{hosts} hosts, {unreachable} unreachable:\n{proc.stdout[-3000:]}")
    return seconds


def fleet_checks(runs: int = RUNS) -> str:
    """`inv bench --fleet`: the input checks before the first remote call, for 1, 10 and 30 hosts
    that share their inputs, `runs` times each; the table, with the seconds per added host."""
    figures = []
    for hosts in FLEET_SIZES:
        figure = Figure(f"{hosts} host{'s' if hosts > 1 else ''}")
        figure.seconds = [checks_run(hosts) for _ in range(runs)]
        figures.append(figure)
    per_host = (figures[-1].median - figures[0].median) / (FLEET_SIZES[-1] - FLEET_SIZES[0])
    figures[-1].goal = f"{per_host:.2f} s per added host: {'met' if per_host <= 0.2 else 'not met'}"
    figures[0].goal = "<= 0.2 s per added host"
    title = f"Input checks before the first remote call, valid equal inputs, {runs} runs each"
    return table(title, figures, "changed")


def measure(os_name: str, of_deploy: bool, of_fleet: bool, runs: int) -> str:
    """`inv bench`: the one benchmark asked for (provisioning unless told), its table."""
    if of_deploy and of_fleet:
        raise ShipyardError("--deploy and --fleet are two benchmarks: run one, then the other")
    if of_fleet:
        return fleet_checks(runs)
    if of_deploy:
        return deploy(os_name, runs) + "\n\n" + rolling_deploy(os_name, runs)
    return provisioning(os_name, runs)
