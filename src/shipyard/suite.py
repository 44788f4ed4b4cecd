"""The test suite (`inv test`): its tiers in order, cheapest first, and what each needs.

lint (yamllint, ansible-lint, ruff) -> unit (pure logic and the input checks, no box) -> app (the
sample app's tests) -> roles (a Molecule scenario per role, Debian 12 and 13) -> e2e (real boxes
driven through the `inv` commands users type). The CircleCI jobs run the same tiers one by one.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import ROOT, STATE, app, host, images
from .boxes import SCOPE
from .shell import CommandFailed, run

SUITES = ("lint", "unit", "app", "roles", "e2e")
ROLES = sorted(p.parent.parent.name for p in (ROOT / "roles").glob("*/molecule/default"))


def lint() -> None:
    """yamllint, ansible-lint (production profile), ruff (every Python file, with or without the
    .py suffix: pyproject.toml's extend-include)."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    for argv in (
        ["yamllint", "--strict", "."],
        ["ansible-lint"],
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
    ):
        run(*argv, echo=True, capture=False, cwd=ROOT, env=env)


def junit_option(folder: str, suite: str) -> list[str]:
    """pytest's option for JUnit XML results in `folder` (CircleCI shows them), or nothing."""
    if not folder:
        return []
    path = Path(folder).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return [f"--junit-xml={path / f'{suite}.xml'}"]


def app_tests(junit: str = "") -> None:
    python = app.ensure_venv()
    run(str(python), "-m", "pytest", "-q", *junit_option(junit, "app"), echo=True, capture=False,
        cwd=app.APP)  # fmt: skip


def boxes_env() -> dict[str, str]:
    """Docker, the base images and the apt cache ready; the environment Molecule and pytest need."""
    host.ensure_docker()
    host.ensure_apt_cache()
    for os_ in images.SUPPORTED.values():
        images.ensure_image(os_)
    return {**os.environ, "SHIPYARD_APT_PROXY": host.apt_proxy_for_boxes(),
            "ANSIBLE_FORCE_COLOR": "1"}  # fmt: skip


# How many roles' Molecule scenarios run at once when several are asked for (each is two
# containers, Debian 12 and 13, whose platforms are named after the role so that they never meet).
# A scenario spends most of its time waiting (apt downloads through the cache, services starting,
# the base role's attacks sleeping out a ban): three at once keep this 2-core machine busy.
ROLES_AT_ONCE = 3
# The e2e tier's xdist groups (tests/e2e/conftest.py): one worker each.
E2E_GROUPS = 3
ROLE_LOGS = STATE / "logs" / "molecule"


def molecule(role: str, os_name: str, env: dict[str, str], log: Path | None = None) -> None:
    """`molecule test` for one role, its platforms named `<scope>-<role>-debian12`/`-debian13`
    (.config/molecule/config.yml reads SHIPYARD_MOLECULE_PREFIX); its output goes to this terminal,
    or to `log` when several run at once.
    Both the platforms' names and Molecule's state folder belong to this state folder (its scope,
    as the boxes'): Molecule keys its state by the role folder's name alone, so the same role run
    from two checkouts at once (a fresh-clone check beside a developer's run) shared one state, and
    one run's destroy removed the other's containers."""
    prefix = f"{SCOPE}-{role}-"
    platform = ["--platform-name", prefix + os_name] if os_name else []
    argv = [str(Path(sys.executable).parent / "molecule"), "test", *platform]
    env = {**env, "SHIPYARD_MOLECULE_PREFIX": prefix,
           "MOLECULE_EPHEMERAL_DIRECTORY": str(STATE / "molecule" / role)}  # fmt: skip
    if log is None:
        run(*argv, echo=True, capture=False, env=env, cwd=ROOT / "roles" / role)
        return
    with log.open("w") as out:
        run(*argv, capture=False, env=env, cwd=ROOT / "roles" / role, stdout=out, stderr=out)


def roles_tier(roles: list[str], os_name: str, env: dict[str, str]) -> None:
    """Each role's scenario; several run ROLES_AT_ONCE at a time, each into its own log (a line
    when it ends; the whole log of one that failed). Every scenario runs even if one fails."""
    if len(roles) == 1:
        molecule(roles[0], os_name, env)
        return
    ROLE_LOGS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    def one(role: str) -> str | None:
        log = ROLE_LOGS / f"{role}.log"
        t0 = time.monotonic()
        try:
            molecule(role, os_name, env, log)
        except CommandFailed:
            print(f"roles: {role} FAILED after {time.monotonic() - t0:.0f} s; its log:", flush=True)
            print(log.read_text(errors="replace"), flush=True)
            return role
        print(f"roles: {role} passed in {time.monotonic() - t0:.0f} s ({log})", flush=True)
        return None

    print(f"+ molecule test, {ROLES_AT_ONCE} roles at a time: {', '.join(roles)}", flush=True)
    with ThreadPoolExecutor(ROLES_AT_ONCE) as pool:
        failed = [r for r in pool.map(one, roles) if r]
    print(f"roles: {len(roles)} scenarios in {time.monotonic() - started:.0f} s", flush=True)
    if failed:
        raise CommandFailed(("molecule", "test", *failed), 1)


def run_suites(wanted: list[str], role: str = "", os_name: str = "", junit: str = "") -> None:
    """Run the suites in `wanted` (names from SUITES), in SUITES' order; then a table of each
    tier's seconds (also when one failed: where the time went is in every log, CI's too)."""
    python = sys.executable
    timings: list[tuple[str, float, float]] = []

    def tier(name: str, step) -> None:
        started, cpu = time.monotonic(), cpu_jiffies()
        try:
            step()
        finally:
            timings.append((name, time.monotonic() - started, cpu_shares(cpu, cpu_jiffies())))

    def unit() -> None:
        # Two workers (xdist, one per core): the input checks are ansible-playbook runs, CPU-bound
        # and one core each; a module's shared run stays on one worker (its xdist_group).
        run(python, "-m", "pytest", "-q", "-n", "auto", "--dist", "loadgroup", "tests/unit",
            *junit_option(junit, "unit"), echo=True, capture=False, cwd=ROOT)  # fmt: skip

    def e2e() -> None:
        # One worker per xdist_group (tests/e2e/conftest.py): the PostgreSQL box's, the MariaDB
        # box's and the fleet's, all three from the start. With two workers the fleet ran last on
        # one of them while the other had finished: the machine half idle for its last minutes.
        # --durations=0: where the time goes, every test, in CI's log.
        run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", str(E2E_GROUPS),
            "--dist", "loadgroup", "--durations=0", "--durations-min=5", "tests/e2e",
            *junit_option(junit, "e2e"), echo=True, capture=False, env=env, cwd=ROOT)  # fmt: skip

    env: dict[str, str] = {}
    # The boxes' setup (on a fresh machine: Docker installed and started, the apt cache, two base
    # images by debootstrap, some minutes of downloads) waits on the network and the disk, while
    # the first tiers keep the CPU busy: it starts with them, in the background, and the boxes
    # tier waits for whatever is left of it.
    setup = ThreadPoolExecutor(1) if {"roles", "e2e"} & set(wanted) else None
    boxes_ready = setup.submit(boxes_env) if setup else None
    try:
        if "lint" in wanted:
            tier("lint", lint)
        if "unit" in wanted:
            tier("unit", unit)
        if "app" in wanted:
            tier("app", lambda: app_tests(junit))
        if {"roles", "e2e"} & set(wanted):
            tier("boxes (Docker, images, apt cache): the wait left",
                 lambda: env.update(boxes_ready.result()))  # fmt: skip
        if "roles" in wanted:
            tier("roles", lambda: roles_tier([role] if role else list(ROLES), os_name, env))
        if "e2e" in wanted:
            tier("e2e", e2e)
    finally:
        if setup:
            setup.shutdown(wait=False, cancel_futures=True)
        if len(timings) > 1:
            rows = [(name, seconds) for name, seconds, _ in timings]
            rows.append(("all", sum(seconds for _, seconds in rows)))
            cpu = [(f"{busy:.0%}", f"{stolen:.0%}") for _, _, (busy, stolen) in timings]
            print("\n" + timings_table(rows, "tier", cpu), flush=True)
            print(machine_speed_line(), flush=True)


def timings_table(rows: list[tuple[str, float]], what: str, cpu: list[tuple[str, str]] = ()) -> str:
    """A Markdown table of seconds, whole (the suite's tiers, the local pipeline's jobs), with how
    busy the machine's CPU was in each row and the share the hypervisor took when `cpu` is given."""
    if not cpu:
        return "\n".join([f"| {what} | seconds |", "| --- | --- |"]
                         + [f"| {name} | {seconds:.0f} |" for name, seconds in rows])  # fmt: skip
    cpu = [*cpu, *[("", "")] * (len(rows) - len(cpu))]
    head = [f"| {what} | seconds | CPU busy | CPU stolen |", "| --- | --- | --- | --- |"]
    body = [f"| {name} | {seconds:.0f} | {busy} | {stolen} |"
            for (name, seconds), (busy, stolen) in zip(rows, cpu, strict=True)]  # fmt: skip
    return "\n".join(head + body)


def cpu_jiffies() -> tuple[int, int, int]:
    """(busy, stolen, total) CPU time of the whole machine so far, from /proc/stat (zeros
    elsewhere). Stolen: time this virtual machine's CPUs wanted to run and the hypervisor ran
    another guest: the same suite takes longer on a busier host, and this says by how much."""
    try:
        fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0, 0
    # user nice system idle iowait irq softirq steal (a guest's time is counted in user already)
    fields = (fields + [0] * 8)[:8]
    idle, stolen = fields[3] + fields[4], fields[7]
    total = sum(fields)
    return total - idle - stolen, stolen, total


def cpu_shares(before: tuple[int, int, int], after: tuple[int, int, int]) -> tuple[float, float]:
    """How much of the CPU time between two cpu_jiffies() readings was busy, and how much was
    stolen: a tier near 100 % busy can only get faster by doing less; one well below it is
    waiting, and could overlap; a stolen share is a slower machine, not more work."""
    total = after[2] - before[2]
    if not total:
        return 0.0, 0.0
    return (after[0] - before[0]) / total, (after[1] - before[1]) / total


# A fixed amount of pure-Python work (the toolkit's own kind: Ansible, pytest): its seconds say how
# fast this machine's cores are, so suite times taken on different machines can be compared.
SPEED_LOOP = 20_000_000


def machine_speed() -> float:
    """Seconds this machine takes for SPEED_LOOP additions in one Python thread."""
    started, total = time.perf_counter(), 0
    for i in range(SPEED_LOOP):
        total += i
    return time.perf_counter() - started


def machine_speed_line() -> str:
    return (f"This machine: {SPEED_LOOP // 1_000_000} million Python additions in "
            f"{machine_speed():.2f} s (the same suite's seconds scale with it).")  # fmt: skip
