"""`./shipyard` picks an interpreter that ansible-core supports (3.11 or newer), newest name
first, or stops with one message naming the version and how to get it (issue: Ubuntu 22.04's
python3 is 3.10, where pip failed with a resolver message instead).

The interpreters here are stand-ins that report the version they are given (Python itself, with
sys.version_info replaced) and stop at the venv step, recording that they were chosen: nothing
is installed."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shipyard import ROOT

REAL = sys.executable  # 3.11 or newer: the toolkit's own
TOOLS = ["dirname", "readlink", "tr", "grep", "paste", "cat", "sha256sum", "cut", "basename",
         "id", "rm", "touch", "env"]  # fmt: skip

FAKE = """#!{real}
import os, sys
version = {version!r}
if version:
    sys.version_info = (*version, "final", 0)
    sys.version = ".".join(map(str, version)) + " (stand-in)"
if sys.argv[1:2] == ["-c"]:
    code, sys.argv = sys.argv[2], ["-c", *sys.argv[3:]]
    exec(compile(code, "<string>", "exec"))
elif sys.argv[1:3] == ["-m", "venv"]:
    with open({mark!r}, "w") as f:
        f.write(os.path.basename(__file__))
    sys.exit(3)  # chosen: the test stops here
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The bootstrap script with what it reads, in a folder with no virtualenv yet."""
    dest = tmp_path / "checkout"
    dest.mkdir()
    for name in ("shipyard", "pyproject.toml", "constraints.txt"):
        shutil.copy2(ROOT / name, dest / name)
    return dest


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A PATH with the shell tools the script uses and no Python but the stand-ins."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in TOOLS:
        (folder / tool).symlink_to(shutil.which(tool))
    return folder


def interpreter(bin_dir: Path, name: str, version: tuple[int, ...] | None) -> Path:
    path = bin_dir / name
    mark = bin_dir.parent / "chosen"
    path.write_text(FAKE.format(real=REAL, version=version, mark=str(mark)))
    path.chmod(0o755)
    return path


def bootstrap(checkout: Path, bin_dir: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["/bin/bash", str(checkout / "shipyard"), "--list"],
        capture_output=True, text=True, timeout=60,
        env={"PATH": str(bin_dir), "HOME": str(checkout), **env},
    )  # fmt: skip


def chosen(bin_dir: Path) -> str | None:
    mark = bin_dir.parent / "chosen"
    return mark.read_text() if mark.exists() else None


def test_an_old_python3_alone_stops_with_the_version_it_needs(checkout, bin_dir):
    interpreter(bin_dir, "python3", (3, 10, 12))
    proc = bootstrap(checkout, bin_dir)
    assert proc.returncode == 1
    assert "needs Python 3.11 or newer" in proc.stderr
    assert "python3 is 3.10.12" in proc.stderr  # what it found
    assert "sudo apt-get install python3.11 python3.11-venv" in proc.stderr  # how to get one
    assert "Traceback" not in proc.stderr and "pip" not in proc.stderr
    assert chosen(bin_dir) is None and not (checkout / ".venv").exists()


def test_no_python_at_all_is_said_plainly(checkout, bin_dir):
    proc = bootstrap(checkout, bin_dir)
    assert proc.returncode == 1
    assert "needs Python 3.11 or newer" in proc.stderr and "there is no python3" in proc.stderr


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        ({"python3": (3, 10, 12), "python3.11": (3, 11, 0)}, "python3.11"),  # Ubuntu 22.04
        (
            {"python3": (3, 10, 12), "python3.12": (3, 12, 3), "python3.11": (3, 11, 0)},
            "python3.12",
        ),
        ({"python3": (3, 12, 3)}, "python3"),  # Ubuntu 24.04, Debian 13
        ({"python3": (3, 11, 2)}, "python3"),  # Debian 12
        ({"python3": (3, 11, 2), "python3.13": (3, 9, 0)}, "python3"),  # a name that lies
    ],
)
def test_the_newest_suitable_interpreter_is_chosen(checkout, bin_dir, present, expected):
    for name, version in present.items():
        interpreter(bin_dir, name, version)
    proc = bootstrap(checkout, bin_dir)
    assert chosen(bin_dir) == expected, proc.stderr
    assert proc.returncode == 3  # the stand-in's venv step: nothing else ran


def test_shipyard_python_names_the_interpreter_outright(checkout, bin_dir, tmp_path):
    interpreter(bin_dir, "python3.12", (3, 12, 3))
    own = interpreter(bin_dir, "my-python", (3, 13, 1))
    bootstrap(checkout, bin_dir, SHIPYARD_PYTHON=str(own))
    assert chosen(bin_dir) == "my-python"


def stamp_for(checkout: Path, python: Path, version: str = "") -> str:
    """The stamp `./shipyard` writes: its pins and the interpreter's path and version (or, with
    `version`, the stamp another version of it would have written)."""
    identity = subprocess.run(
        [str(python), "-c", "import sys; print(sys.executable, sys.version)"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    if version:
        identity = identity.replace(identity.split()[1], version)
    pins = (checkout / "pyproject.toml").read_bytes() + (checkout / "constraints.txt").read_bytes()
    return ".shipyard-" + hashlib.sha256(pins + identity.encode()).hexdigest()[:16]


def venv_with_stamp(checkout: Path, stamp: str) -> None:
    venv = checkout / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / stamp).touch()
    inv = venv / "bin" / "inv"
    inv.write_text("#!/bin/sh\necho used the venv\n")
    inv.chmod(0o755)


def test_a_venv_built_by_another_interpreter_is_rebuilt(checkout, bin_dir):
    """A cache restored onto another machine: the stamp names the interpreter that built it."""
    python = interpreter(bin_dir, "python3", (3, 12, 3))
    venv_with_stamp(checkout, stamp_for(checkout, python, version="3.11.2"))
    proc = bootstrap(checkout, bin_dir)
    assert chosen(bin_dir) == "python3", proc.stdout + proc.stderr  # rebuilding, not using it


def test_a_venv_built_by_this_interpreter_is_used_as_it_is(checkout, bin_dir):
    python = interpreter(bin_dir, "python3", (3, 12, 3))
    venv_with_stamp(checkout, stamp_for(checkout, python))
    proc = bootstrap(checkout, bin_dir)
    assert (proc.returncode, proc.stdout) == (0, "used the venv\n"), proc.stderr
    assert chosen(bin_dir) is None


def ready_venv(checkout: Path, bin_dir: Path, built_by: str) -> None:
    """A venv whose readiness record names these pins and the Python version `built_by`, with a
    stand-in python of 3.12.3 inside it (its version as it answers now)."""
    venv_with_stamp(checkout, ".shipyard-unused")
    interpreter(checkout / ".venv" / "bin", "python", (3, 12, 3))
    pins = (checkout / "pyproject.toml").read_bytes() + (checkout / "constraints.txt").read_bytes()
    record = f"{hashlib.sha256(pins).hexdigest()[:16]} {built_by} (stand-in)\n"
    (checkout / ".venv" / ".shipyard-ready").write_text(record)


def test_a_ready_venv_is_used_without_searching_for_an_interpreter(checkout, bin_dir):
    """No python on PATH at all: only the venv's own answers, so nothing was searched."""
    ready_venv(checkout, bin_dir, built_by="3.12.3")
    proc = bootstrap(checkout, bin_dir)
    assert (proc.returncode, proc.stdout) == (0, "used the venv\n"), proc.stderr


def test_a_venv_whose_python_changed_version_is_not_used_as_ready(checkout, bin_dir):
    ready_venv(checkout, bin_dir, built_by="3.11.2")
    proc = bootstrap(checkout, bin_dir)
    assert proc.returncode == 1 and "needs Python 3.11 or newer" in proc.stderr, proc.stdout
