"""The base role's kernel settings, core dumps, umask, journal cap and restarts after upgrades,
probed on the converged box (prepare.yml lets it write its own network sysctls, as a VM can)."""

import re
import shlex
from pathlib import Path

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[3]
SYSCTLS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())["base_sysctl_settings"]
NETWORK_SYSCTLS = {k: v for k, v in SYSCTLS.items() if k.startswith("net.")}


@pytest.mark.parametrize("name", sorted(NETWORK_SYSCTLS))
def test_network_sysctls_read_back_as_set(host, name):
    value = host.file("/proc/sys/" + name.replace(".", "/")).content_string.strip()
    assert value == str(NETWORK_SYSCTLS[name])


def test_kernel_wide_sysctls_are_left_to_the_host_in_a_container(host):
    conf = host.file("/etc/sysctl.d/60-shipyard-hardening.conf").content_string
    assert "net.ipv4.tcp_syncookies = 1" in conf
    assert "fs.suid_dumpable =" not in conf  # the host kernel's: a container must not set it


# Crash a program, and the setuid passwd (its real uid is the caller's, which lets the caller
# signal it: `kill`, not `pkill -u`, which matches the effective uid, root's), in a fresh folder;
# print how each ended and what the folder holds.
CRASH = """
set -u
cd "$(mktemp -d)" && chmod 777 .
ulimit -c unlimited 2>/dev/null && echo raised
sleep 30 & pid=$!; kill -SEGV $pid; wait $pid 2>/dev/null; echo "sleep=$?"
sleep 30 | /usr/bin/passwd >/dev/null 2>&1 & pid=$!; sleep 1
kill -SEGV $pid; wait $pid 2>/dev/null; echo "passwd=$?"
pkill -u "$(id -u)" -x sleep; wait 2>/dev/null
echo "hard=$(ulimit -Hc)"
ls -A
"""
KILLED_BY_SEGV = 128 + 11


def test_a_crash_would_leave_a_core_file_where_the_limit_allows(host):
    """The control for the test below: on this kernel a crash with the limit raised leaves a
    core file in its folder. Root through `docker exec` (no login, so no PAM limits; a hard limit
    of unlimited) can raise it; under sudo or a login it cannot (the box has no SYS_RESOURCE).
    A kernel that pipes cores to a program (core_pattern |...) leaves no file, and the test
    below could prove nothing there."""
    pattern = host.file("/proc/sys/kernel/core_pattern").content_string.strip()
    assert not pattern.startswith("|"), (
        f"core_pattern {pattern!r}: run these on a host that writes files"
    )
    out = host.run(f"bash -c {shlex.quote(CRASH)}")
    assert "raised" in out.stdout and f"sleep={KILLED_BY_SEGV}" in out.stdout, out.stdout
    assert re.search(r"^core", out.stdout, re.M), out.stdout


def test_login_sessions_cannot_write_core_dumps_even_of_setuid_programs(host):
    with host.sudo("admin"):
        out = host.run(f"bash -lc {shlex.quote(CRASH)}")
    assert out.rc == 0, out.stderr
    assert "raised" not in out.stdout  # the hard limit is 0: nobody raises it
    assert "hard=0" in out.stdout
    # Both crashes happened (killed by SIGSEGV), and neither left a dump.
    assert f"sleep={KILLED_BY_SEGV}" in out.stdout and f"passwd={KILLED_BY_SEGV}" in out.stdout, (
        out.stdout
    )
    assert not re.search(r"^core", out.stdout, re.M), out.stdout


def test_services_start_with_no_core_dumps(host):
    with host.sudo():
        out = host.check_output("systemd-run --wait --pipe --quiet sh -c 'ulimit -Hc'")
    assert out.strip() == "0"


def test_login_shells_get_the_strict_umask(host):
    with host.sudo("admin"):
        out = host.check_output("bash -lc umask")
    assert out.strip() == "0027"


def test_the_journal_is_capped(host):
    with host.sudo():
        log = host.check_output("journalctl -b -u systemd-journald --no-pager -o cat")
    # systemd 252 (Debian 12) says "max 200.0M", 257 (Debian 13) "max 200M"; the default would be
    # a share of the file system (1.1G on this box's /run).
    assert re.search(r"Journal \(\S+\) is \S+, max 200(\.0)?M,", log), log[-500:]


def test_a_service_using_an_upgraded_library_is_restarted(host):
    """needrestart, after apt replaces a library a running service has mapped (libssl here)."""
    unit = "[Service]\nExecStart=/usr/bin/python3 -c 'import ssl, time; time.sleep(1e6)'\n"
    with host.sudo():
        host.run_test(f'printf %s "{unit}" > /etc/systemd/system/nrprobe.service')
        host.run_test("systemctl daemon-reload && systemctl restart nrprobe && sleep 1")
        before = host.check_output("systemctl show -p MainPID --value nrprobe")
        lib = host.check_output(
            f"grep -o '/usr/lib/[^ ]*libssl.so[^ ]*' /proc/{before}/maps | head -1"
        )
        package = host.check_output(f"dpkg -S {lib}").split(":")[0]
        host.run_test(f"DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall {package}")
        after = host.check_output("systemctl show -p MainPID --value nrprobe")
        host.run("systemctl stop nrprobe; rm /etc/systemd/system/nrprobe.service")
    assert after not in ("0", before)
