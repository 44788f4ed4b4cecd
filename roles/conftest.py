"""Shared by every role's testinfra tests (pytest loads it for tests below roles/)."""

import json
import shlex
import socket
import subprocess

import pytest


@pytest.fixture
def reachable_from_outside(host):
    """A probe: does TCP `port` on the box accept a connection from another machine (this one)
    on the box's own address? Only the box's firewall and bind addresses decide."""
    name = getattr(host.backend, "host", None) or host.backend.name  # Molecule: container name
    out = subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True)
    ip = json.loads(out.stdout)[0]["NetworkSettings"]["IPAddress"]

    def probe(port: int) -> bool:
        with socket.socket() as s:
            s.settimeout(3)
            return s.connect_ex((ip, port)) == 0

    return probe


@pytest.fixture
def as_developer(host):
    """A command as the developer's account `dev` (the database roles' scenarios make it), in a
    login shell, as `inv ssh` gives one: its ~/.bashrc has run."""

    def run(command: str):
        with host.sudo():
            return host.run(f"su - dev -c {shlex.quote(command)}")

    return run
