"""Run host commands. Kept tiny so every module uses the same conventions."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from collections.abc import Callable


class ShipyardError(Exception):
    """A problem the user can fix; the message says how. Tasks turn it into `Exit`."""


def run(*cmd: str, echo: bool = False, check: bool = True, **kw) -> subprocess.CompletedProcess:
    """Run a command and capture its output; echo it first when it changes something."""
    if echo:
        print("+ " + shlex.join(cmd), file=sys.stderr, flush=True)
    kw.setdefault("text", True)
    kw.setdefault("capture_output", True)
    proc = subprocess.run(cmd, **kw)
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout or "").strip()[-2000:]
        raise ShipyardError(f"`{shlex.join(cmd)}` failed (rc={proc.returncode}):\n{detail}")
    return proc


def ok(*cmd: str) -> bool:
    """Probe: True when the command exits 0. Never raises."""
    try:
        return subprocess.run(cmd, capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


def wait_for(probe: Callable[[], bool], failure: str, timeout: float) -> None:
    """Poll `probe` until it is true; raise `failure` (a sentence) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise ShipyardError(f"{failure} within {timeout:.0f} s")
        time.sleep(0.5)
