"""Behaviour of the base role on a converged box (testinfra runs this on the controller)."""

import os

import pytest

WAIT_FOR_PORT = """python3 -c '
import socket, time
for _ in range(50):
    try:
        socket.create_connection(("127.0.0.1", {port}), 1)
        break
    except OSError:
        time.sleep(0.2)
else:
    raise SystemExit("nothing listens on {port}")'"""
SSH = (
    "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
    " -o ConnectTimeout=5"
)


@pytest.fixture(scope="module")
def login_key(host):
    """A key pair made inside the box, authorized for admin and (deliberately) for root. One per
    test process: the scenario's two pytest workers each make theirs on the same box, and with one
    path the second's `rm` and `ssh-keygen` replaced the key the first was logging in with."""
    key = f"/tmp/k-{os.getpid()}"
    with host.sudo():
        host.run_test(f"rm -f {key} {key}.pub && ssh-keygen -q -t ed25519 -N '' -f {key}")
        pub = host.file(f"{key}.pub").content_string.strip()
        for home in ("/home/admin", "/root"):
            host.run_test(f"install -d -m 700 {home}/.ssh")
            keys = f"{home}/.ssh/authorized_keys"
            host.run_test(f"grep -qxF '{pub}' {keys} || echo '{pub}' >> {keys}")
        host.run_test("chown -R admin: /home/admin/.ssh")
    yield key


def test_admin_logs_in_with_a_key(host, login_key):
    with host.sudo():
        out = host.run(
            f"{SSH} -i {login_key} admin@127.0.0.1 'id -un; sudo -n true && echo sudo-ok'"
        )
    assert out.rc == 0, out.stderr
    assert out.stdout.split() == ["admin", "sudo-ok"]


def test_password_login_is_refused(host):
    out = host.run(
        f"{SSH} -o PubkeyAuthentication=no"
        " -o PreferredAuthentications=password,keyboard-interactive admin@127.0.0.1 true"
    )
    assert out.rc == 255
    assert "Permission denied (publickey)" in out.stderr


def test_root_login_is_refused_even_with_an_authorized_key(host, login_key):
    with host.sudo():
        out = host.run(f"{SSH} -i {login_key} root@127.0.0.1 true")
    assert out.rc == 255
    assert "Permission denied" in out.stderr


@pytest.mark.parametrize("algo", ["3des-cbc", "aes128-cbc"])
def test_weak_ciphers_are_not_offered(host, algo):
    with host.sudo():
        ciphers = host.check_output("sshd -T | grep '^ciphers '").split()[1].split(",")
    assert algo not in ciphers
    assert "chacha20-poly1305@openssh.com" in ciphers


@pytest.fixture(scope="module")
def listeners(host):
    """Servers on an allowed (80) and an unlisted (8081) port, so only the firewall decides."""
    with host.sudo():
        for port in (80, 8081):
            host.run_test(f"systemd-run --unit=probe-{port} python3 -m http.server {port}")
            host.run_test(WAIT_FOR_PORT.format(port=port))
    yield
    with host.sudo():
        host.run("systemctl stop probe-80 probe-8081")


def test_firewall_allows_web_ports_and_denies_others(listeners, reachable_from_outside):
    assert reachable_from_outside(22)
    assert reachable_from_outside(80)
    assert not reachable_from_outside(8081)


def test_firewall_is_active_with_default_deny(host):
    with host.sudo():
        status = host.check_output("ufw status verbose")
    assert "Status: active" in status
    assert "deny (incoming)" in status


def test_timezone_and_locale(host):
    assert host.file("/etc/localtime").linked_to.endswith("Europe/Berlin")
    assert "LANG=en_US.UTF-8" in host.file("/etc/default/locale").content_string
    assert "en_US.utf8" in host.check_output("locale -a")


def test_security_upgrades_are_automatic(host):
    assert host.package("unattended-upgrades").is_installed
    conf = host.file("/etc/apt/apt.conf.d/20auto-upgrades").content_string
    assert 'APT::Periodic::Unattended-Upgrade "1";' in conf
