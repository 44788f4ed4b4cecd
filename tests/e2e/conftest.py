"""End-to-end fixtures: real sandbox boxes, driven through the same `inv` commands users type.

`inv test` runs this tier on three workers (pytest-xdist, `--dist loadgroup`), one per
xdist_group: every test is marked with the group of the boxes it uses, the database engine's
(`postgresql`, `mysql`) or the fleet's (`fleet`, tests/e2e/test_fleet.py), so each worker makes its
boxes and runs their tests in file order; the tests with boxes of their own are placed to even the
workers' load. Each worker has its own state folder (below), so their boxes never meet. Run
without xdist (plain pytest), the same tests run one after another on the same boxes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

# A state folder of the test run's own, outside the checkout, set before shipyard is imported: its
# boxes, SSH key, secrets and facts are apart from a developer's (`inv` subprocesses inherit it),
# and each xdist worker makes its own.
os.environ["SHIPYARD_STATE"] = tempfile.mkdtemp(prefix="shipyard-e2e-")

from shipyard import ROOT, boxes

INV = str(Path(sys.executable).parent / "inv")


def inv(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run `inv ARGS` in the project, as a user would; output is captured for assertions."""
    proc = subprocess.run([INV, *args], cwd=ROOT, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"inv {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
        )
    return proc


def warnings_in(proc: subprocess.CompletedProcess) -> list[str]:
    """Ansible's warnings in a run's output ([WARNING], [DEPRECATION WARNING]): a normal run prints
    none, because their causes are gone (ansible.cfg leaves warnings on)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    return [line for line in text.splitlines() if "WARNING]" in line]


# What changes on a box on its own, never because of a run: temporary files, the private /tmp
# systemd makes for a sandboxed service while it runs (timedated, exits when idle), PostgreSQL's
# relation cache files (its background processes rewrite them) and fail2ban's database.
TRANSIENT = ("/tmp", "/var/tmp/systemd-private-")
TRANSIENT_NAMES = ("pg_internal.init", "fail2ban.sqlite3")


# Written by the services themselves while they run, whatever a run does: the journal and logs,
# the databases' data, systemd's timer stamps, Ansible's own temporary files of a connection.
# Their paths still count (a file appearing or vanishing there is seen); not their contents.
LIVE_DATA = ("/var/log/", "/var/lib/postgresql/", "/var/lib/mysql/", "/var/lib/systemd/",
             "/var/cache/", "/home/admin/.ansible/", "/root/.ansible/")  # fmt: skip


def _docker_diff(box: boxes.Box) -> set[str]:
    """Every file the box changed relative to its image, transient paths aside, with the size
    and modification time of each regular file: a file that a run rewrote stays `C /path` in
    `docker diff`, so the paths alone cannot show it."""
    out = subprocess.run(
        ["docker", "diff", box.container], capture_output=True, text=True, check=True
    )
    lines = {
        line
        for line in out.stdout.splitlines()
        if not line.split()[-1].startswith(TRANSIENT)
        and not line.split()[-1].endswith(TRANSIENT_NAMES)
    }
    files = [ln.split(maxsplit=1)[1] for ln in lines if ln[0] in "AC"]
    files = [f for f in files if not f.startswith(LIVE_DATA)]
    stat = subprocess.run(
        ["docker", "exec", "-i", box.container, "xargs", "-0", "stat",
         "--printf=%n\t%F\t%s\t%.9Y\n"],
        input="\0".join(files), capture_output=True, text=True,
    )  # fmt: skip
    return lines | {f"stat {ln}" for ln in stat.stdout.splitlines() if "\tregular" in ln}


APT_TIMERS = ("apt-daily.timer", "apt-daily-upgrade.timer")


@contextmanager
def no_file_changes(box: boxes.Box, deadline: float = 600):
    """Assert that the block changes no file on the box (`docker diff` against its image, before
    and after). Debian's apt timers update lists and upgrade packages on their own (they fire at
    boot, and once the base role turns automatic upgrades on): a CI run caught such an upgrade
    between the two snapshots. So the timers are paused for the block and a run already under
    way is waited for; both are put back as they were afterwards."""

    def box_sh(script: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["docker", "exec", box.container, "sh", "-c", script], capture_output=True, text=True
        )

    active = [t for t in APT_TIMERS if box_sh(f"systemctl is-active -q {t}").returncode == 0]
    if active:
        box_sh("systemctl stop " + " ".join(active))
    busy = "systemctl show -p ActiveState --value apt-daily.service apt-daily-upgrade.service"
    give_up = time.monotonic() + deadline
    while set(box_sh(busy).stdout.split()) - {"inactive", "failed"}:
        assert time.monotonic() < give_up, "the box's apt jobs are still running"
        time.sleep(2)
    try:
        before = _docker_diff(box)
        yield
        after = _docker_diff(box)
        assert after == before, f"the box's files changed: {sorted(after ^ before)[:20]}"
    finally:
        if active:
            box_sh("systemctl start " + " ".join(active))


@pytest.fixture(scope="session")
def fresh_box():
    """Factory: a just-started, unprovisioned box; all are removed at the end of the session."""
    started: list[str] = []

    def make(name: str, os_name: str = "debian12", share: str = "") -> boxes.Box:
        boxes.remove(name)
        started.append(name)
        inv(
            "up",
            "--name",
            name,
            "--os",
            os_name,
            "--no-provision",
            *(["--share", share] if share else []),
        )
        return next(b for b in boxes.running() if b.name == name)

    yield make
    for name in started:
        boxes.remove(name)
    boxes.write_inventory(boxes.running())


# The owner of the folder the app boxes share: an ordinary user of this machine, not root.
DEVELOPER_UID = 1234


class AppBoxes:
    """The box of each database engine, provisioned from bare and with the sample app deployed, as
    `inv up --db ENGINE` leaves it: one per engine for the whole session, shared by the database,
    deploy and provisioning tests (only the cold `inv up` itself is about provisioning: its output
    is kept for them)."""

    def __init__(self, fresh_box):
        self.fresh_box = fresh_box
        self.made: dict[str, boxes.Box] = {}
        self.up_runs: dict[str, subprocess.CompletedProcess] = {}

    def __call__(self, engine: str) -> boxes.Box:
        if engine not in self.made:
            # A developer's box: a copy of the sample app shared from this machine, its folder an
            # ordinary user's (DEVELOPER_UID), as `inv up --share` is used (test_workspace.py).
            share = Path(tempfile.mkdtemp(prefix=f"shipyard-share-{engine}-")) / "notes"
            shutil.copytree(
                ROOT / "app",
                share,
                ignore=shutil.ignore_patterns(".venv", "*.sqlite3", "__pycache__"),
            )
            subprocess.run(
                ["chown", "-R", f"{DEVELOPER_UID}:{DEVELOPER_UID}", str(share.parent)], check=True
            )
            name = self.fresh_box(f"e2e-{engine}", share=str(share)).name
            self.up_runs[engine] = inv("up", "--name", name, "--db", engine)
            self.made[engine] = next(b for b in boxes.running() if b.name == name)
        return self.made[engine]

    def up_run(self, engine: str) -> subprocess.CompletedProcess:
        """The `inv up` that made the engine's box from bare (made now if it is not yet)."""
        self(engine)
        return self.up_runs[engine]


@pytest.fixture(scope="session")
def app_box(fresh_box) -> AppBoxes:
    return AppBoxes(fresh_box)


def provision_with(box: boxes.Box, *args: str) -> subprocess.CompletedProcess:
    """ansible-playbook provisioning `box` with raw command-line arguments, as a user would type
    them (`inv provision` takes no -e)."""
    from shipyard import STATE, playbooks

    argv = playbooks.command("provision", "local", limit=box.name) + list(args)
    argv[0] = str(Path(sys.executable).parent / "ansible-playbook")
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(STATE / "facts"),
    }
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env)
