"""Run local commands: the one way every module (and tasks.py) starts a program. Kept tiny so
that all of them follow the same conventions: echo what changes things, capture what is read,
stream what the user watches, and turn a failure into one clear error."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


class ShipyardError(Exception):
    """A problem the user can fix; the message says how. Tasks turn it into `Exit`."""


class CommandFailed(ShipyardError):
    """A command whose output the user saw failed: it said why; the task exits with its code."""

    def __init__(self, cmd: tuple[str, ...], code: int):
        super().__init__(f"`{shlex.join(cmd)}` failed (rc={code})")
        self.code = code


def run(
    *cmd: str, echo: bool = False, check: bool = True, capture: bool = True, **kw
) -> subprocess.CompletedProcess:
    """Run a command; echo it first when it changes something. With `capture` (the default) its
    output is kept (and shown in the error if it fails); without, it goes to this terminal as it
    comes (a playbook, a test run, an interactive `manage` or `logs --follow`)."""
    if echo:
        print("+ " + shlex.join(cmd), file=sys.stderr, flush=True)
    kw.setdefault("text", True)
    kw.setdefault("capture_output", capture)
    proc = subprocess.run(cmd, **kw)
    if check and proc.returncode != 0:
        if not capture:
            raise CommandFailed(cmd, proc.returncode)
        detail = (proc.stderr or proc.stdout or "").strip()[-2000:]
        raise ShipyardError(f"`{shlex.join(cmd)}` failed (rc={proc.returncode}):\n{detail}")
    return proc


def git(repo: Path, *args: str, check: bool = True, **kw) -> str:
    """git in `repo`, with an identity of its own for commits (the tests' and bench's projects);
    its output, stripped (empty when it failed and `check` is false)."""
    proc = run("git", "-C", str(repo), "-c", "user.name=Shipyard", "-c",
               "user.email=dev@example.com", *args, check=check, **kw)  # fmt: skip
    return proc.stdout.strip() if proc.returncode == 0 else ""


def ok(*cmd: str, **kw) -> bool:
    """Probe: True when the command exits 0. Never raises."""
    try:
        return subprocess.run(cmd, capture_output=True, **kw).returncode == 0
    except FileNotFoundError:
        return False


def wait_for(probe: Callable[[], bool], failure: str, timeout: float) -> None:
    """Poll `probe` until it is true; raise `failure` (a sentence) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise ShipyardError(f"{failure} within {timeout:.0f} s")
        time.sleep(0.5)
