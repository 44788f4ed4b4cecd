"""The hardening on a sandbox box (the developer profile), from this machine. The server profile
is attacked in roles/base/molecule (algorithms, bans, rate limit, login group, forwarding)."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest

from shipyard import boxes

pytestmark = pytest.mark.xdist_group("postgresql")  # the worker that has this box (conftest)

# PostgreSQL's SSLRequest: a server answers with one byte, S or N; nothing else does.
SSL_REQUEST = bytes.fromhex("0000000804d2162f")


def first_free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_admin_tunnels_to_the_database_on_a_developer_box(app_box):
    """`ssh -L` to PostgreSQL, as a developer reaches the box's database from their laptop."""
    box = app_box("postgresql")
    local = first_free_port()
    args = boxes.ssh_args(box)
    tunnel = subprocess.Popen(
        [*args[:-1], "-N", "-o", "ExitOnForwardFailure=yes", "-L",
         f"127.0.0.1:{local}:127.0.0.1:5432", args[-1]],
    )  # fmt: skip
    try:
        answer = b""
        for _ in range(50):
            try:
                with socket.create_connection(("127.0.0.1", local), 2) as s:
                    s.settimeout(5)
                    s.sendall(SSL_REQUEST)
                    answer = s.recv(1)
                break
            except OSError:
                time.sleep(0.2)
        assert answer in (b"S", b"N"), "no PostgreSQL answer through the tunnel"
    finally:
        tunnel.terminate()
        tunnel.wait()


def test_provisioning_a_container_skips_the_kernel_settings_it_cannot_set(app_box):
    """A box's /proc/sys is read-only: the run went through, and the host kernel's settings
    (fs.suid_dumpable...) were not even written for it."""
    box = app_box("postgresql")
    conf = subprocess.run(
        ["docker", "exec", box.container, "cat", "/etc/sysctl.d/60-shipyard-hardening.conf"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "net.ipv4.tcp_syncookies = 1" in conf
    settings = [line for line in conf.splitlines() if not line.startswith("#")]
    assert not [line for line in settings if line.startswith(("fs.", "kernel."))]
