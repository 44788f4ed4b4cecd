"""End-to-end fixtures: real sandbox boxes, driven through the same `inv` commands users type."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# A state folder of the test run's own, outside the checkout, set before shipyard is imported: its
# boxes, SSH key, secrets and facts are apart from a developer's (`inv` subprocesses inherit it).
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


@pytest.fixture(scope="session")
def fresh_box():
    """Factory: a just-started, unprovisioned box; all are removed at the end of the session."""
    started: list[str] = []

    def make(name: str, os_name: str = "debian12") -> boxes.Box:
        boxes.remove(name)
        started.append(name)
        inv("up", "--name", name, "--os", os_name, "--no-provision")
        return next(b for b in boxes.running() if b.name == name)

    yield make
    for name in started:
        boxes.remove(name)
    boxes.write_inventory(boxes.running())


@pytest.fixture(scope="session")
def app_box(fresh_box):
    """Factory: the box of a database engine, provisioned from bare and with the sample app
    deployed, as `inv up --db ENGINE` leaves it. One per engine for the whole session: the database
    and deploy tests share it (their subject is not provisioning)."""
    made: dict[str, boxes.Box] = {}

    def get(engine: str) -> boxes.Box:
        if engine not in made:
            name = fresh_box(f"e2e-{engine}").name
            inv("up", "--name", name, "--db", engine)
            made[engine] = next(b for b in boxes.running() if b.name == name)
        return made[engine]

    return get
