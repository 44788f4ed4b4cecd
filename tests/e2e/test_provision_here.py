"""`./shipyard provision --here` inside a box: a developer provisioning the VM they are on."""

from __future__ import annotations

import subprocess

import pytest

from shipyard import ROOT
from shipyard.bench import parse_recap

# A box of its own: on the MariaDB box's worker (conftest) to even the two workers' load.
pytestmark = pytest.mark.xdist_group("mysql")


def box_sh(container: str, script: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", "exec", container, "bash", "-c", script],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_provision_here_converges_and_is_idempotent(fresh_box):
    box = fresh_box("e2e-here")
    # The project as a developer would have cloned it: the tracked files of this working tree,
    # symlinks kept as they are (a --transform would rewrite the links' targets too).
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    tar = subprocess.run(
        ["tar", "--null", "-T", "-", "-c"],
        cwd=ROOT,
        input=files.stdout,
        capture_output=True,
        check=True,
    )
    unpack = "mkdir -p /root/shipyard && tar -xC /root/shipyard"
    subprocess.run(
        ["docker", "exec", "-i", box.container, "sh", "-c", unpack], input=tar.stdout, check=True
    )
    first = box_sh(box.container, "cd /root/shipyard && ./shipyard provision --here")
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert parse_recap(first.stdout)["localhost"].changed > 0
    again = box_sh(box.container, "cd /root/shipyard && ./shipyard provision --here")
    assert again.returncode == 0, again.stdout[-4000:]
    assert parse_recap(again.stdout)["localhost"].changed == 0
    tools = box_sh(
        box.container, "su - admin -c 'ruff --version && git config --global init.defaultBranch'"
    )
    assert tools.returncode == 0, tools.stderr
