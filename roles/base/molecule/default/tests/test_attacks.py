"""The base role's hardening, attacked from outside the box: from this machine (the box's gateway,
a trusted address in converge.yml) and from attacker containers on the same network."""

import json
import subprocess
import time
import uuid

import pytest

CLIENT = [
    "ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5",
]  # fmt: skip


def _inspect(name: str) -> dict:
    out = subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]


@pytest.fixture(scope="module")
def box(host):
    """The box's address on the Docker network, and its image (the attackers run it too)."""
    name = getattr(host.backend, "host", None) or host.backend.name
    info = _inspect(name)
    return {"ip": info["NetworkSettings"]["IPAddress"], "image": info["Config"]["Image"]}


@pytest.fixture(scope="module")
def key(host, tmp_path_factory):
    """A key pair on this machine, authorized for admin and for `outsider`, a user who is not in
    the SSH login group."""
    path = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    pub = path.with_suffix(".pub").read_text().strip()
    with host.sudo():
        host.run_test("id outsider || useradd -m -s /bin/bash outsider")
        for user in ("admin", "outsider"):
            home = f"/home/{user}"
            host.run_test(f"install -d -m 700 -o {user} -g {user} {home}/.ssh")
            host.run_test(f"echo '{pub}' >> {home}/.ssh/authorized_keys")
            host.run_test(f"chown {user}: {home}/.ssh/authorized_keys")
    return str(path)


def ssh(box, key, command="true", user="admin", options=()):
    return subprocess.run(
        [*CLIENT, *options, "-i", key, f"{user}@{box['ip']}", command],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_a_normal_client_logs_in_with_the_key(box, key):
    out = ssh(box, key, "id -un")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "admin"


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        (["-o", "HostKeyAlgorithms=ecdsa-sha2-nistp256"], "no matching host key type"),
        (["-o", "HostKeyAlgorithms=ssh-rsa"], "no matching host key type"),  # RSA with SHA-1
        (["-o", "Ciphers=aes128-ctr", "-o", "MACs=hmac-sha1"], "no matching MAC"),
        (["-o", "Ciphers=aes128-cbc"], "no matching cipher"),
        (["-o", "Ciphers=3des-cbc"], "no matching cipher"),
        (["-o", "KexAlgorithms=diffie-hellman-group14-sha1"], "no matching key exchange"),
    ],
)
def test_a_client_offering_only_weak_algorithms_cannot_connect(box, key, options, refusal):
    out = ssh(box, key, options=options)
    assert out.returncode == 255
    assert refusal in out.stderr


def test_the_same_client_with_a_strong_mac_connects(box, key):
    """The control for the MAC case: a non-AEAD cipher with a SHA-2 MAC is accepted."""
    out = ssh(
        box, key, options=["-o", "Ciphers=aes128-ctr", "-o", "MACs=hmac-sha2-256-etm@openssh.com"]
    )
    assert out.returncode == 0, out.stderr


def test_a_user_outside_the_login_group_is_refused_with_a_valid_key(host, box, key):
    out = ssh(box, key, user="outsider")
    assert out.returncode == 255
    assert "Permission denied" in out.stderr
    with host.sudo():
        log = host.check_output("journalctl -u ssh --no-pager -o cat -n 200")
    assert "User outsider from" in log and "AllowGroups" in log


def test_a_login_records_the_key_fingerprint(host, box, key):
    fingerprint = subprocess.run(
        ["ssh-keygen", "-lf", key + ".pub"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    assert ssh(box, key).returncode == 0
    with host.sudo():
        log = host.check_output("journalctl -u ssh --no-pager -o cat -n 200")
    assert "Accepted publickey for admin from" in log and fingerprint in log
    assert "Connection from " in log  # LogLevel VERBOSE: every connection, before any login


def test_agent_forwarding_is_refused(box, key):
    agent = subprocess.run(["ssh-agent", "-s"], capture_output=True, text=True, check=True).stdout
    env = dict(line.split(";")[0].split("=", 1) for line in agent.splitlines() if "=" in line)
    try:
        subprocess.run(["ssh-add", key], env=env, capture_output=True, check=True)
        out = subprocess.run(
            [*CLIENT, "-A", "-i", key, f"admin@{box['ip']}", 'echo "[$SSH_AUTH_SOCK]"'],
            capture_output=True, text=True, env={**env, "PATH": "/usr/bin:/bin"}, timeout=60,
        )  # fmt: skip
    finally:
        subprocess.run(["kill", env["SSH_AGENT_PID"]], check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def tunnel_answers(box, key, remote_port: int) -> tuple[bytes | None, str]:
    """Open `ssh -L` to remote_port on the box and read what comes back through it: the bytes
    (b"" when the tunnel closed at once, None when nothing came within 5 s) and ssh's stderr,
    where a server's refusal of the channel is written."""
    local = 20000 + uuid.uuid4().int % 20000
    proc = subprocess.Popen(
        [*CLIENT, "-N", "-L", f"127.0.0.1:{local}:127.0.0.1:{remote_port}", "-i", key,
         f"admin@{box['ip']}"],
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        import socket

        for _ in range(50):
            try:
                with socket.create_connection(("127.0.0.1", local), 2) as s:
                    s.settimeout(5)
                    try:
                        data = s.recv(64)
                    except TimeoutError:
                        data = None
                    except OSError:
                        data = b""
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("ssh -L never listened")
        time.sleep(0.5)  # ssh writes the channel's refusal as the tunnel closes
    finally:
        proc.terminate()
        _, err = proc.communicate()
    return data, err.decode(errors="replace")


def test_tcp_forwarding_is_refused_by_the_server_profile(box, key):
    # The box's own sshd answers on 22 with a banner: through a working tunnel it would arrive.
    # The server's refusal is positive evidence: the tunnel closes at once (not a 5 s silence)
    # and ssh reports the channel as administratively prohibited.
    data, err = tunnel_answers(box, key, 22)
    assert data == b"", data
    assert "administratively prohibited" in err, err


@pytest.fixture(scope="module")
def attackers(box):
    """Factory: a new container on the box's network, with an address of its own, not trusted.
    They all live until the module ends, so no two share an address (nor a ban or a rate count)."""
    names = []

    def make():
        name = f"shipyard-attacker-{uuid.uuid4().hex[:8]}"
        subprocess.run(
            ["docker", "run", "-d", "--rm", "--name", name, box["image"], "sleep", "900"],
            capture_output=True, check=True,
        )  # fmt: skip
        names.append(name)

        def run(script: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                ["docker", "exec", name, "bash", "-c", script], capture_output=True, text=True
            )

        run.ip = _inspect(name)["NetworkSettings"]["IPAddress"]
        return run

    yield make
    for name in names:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def connects(attacker, box) -> bool:
    """Does a TCP connection from the attacker to the box's SSH port succeed?"""
    return attacker(f"timeout 5 bash -c '</dev/tcp/{box['ip']}/22'").returncode == 0


def banned(host) -> str:
    with host.sudo():
        return host.check_output("fail2ban-client status sshd")


def test_failed_logins_ban_the_address_and_the_ban_lifts(host, box, key, attackers):
    attacker = attackers()
    client = "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o ConnectTimeout=3"
    guesses = "; ".join(
        f"{client} {user}@{box['ip']} true" for user in ("root", "oracle", "test", "ubuntu")
    )
    attacker(guesses)
    deadline = time.monotonic() + 30
    while attacker.ip not in banned(host):
        assert time.monotonic() < deadline, banned(host)
        time.sleep(1)
    # fail2ban lists the address, then its action adds the ufw rule: give that a moment.
    deadline = time.monotonic() + 15
    while connects(attacker, box):  # until refused by the ban, in ufw
        assert time.monotonic() < deadline, "banned, yet still let in"
        time.sleep(0.5)
    with host.sudo():
        rules = host.check_output("ufw status").splitlines()
    assert [r for r in rules if "REJECT" in r and attacker.ip in r.split()]  # the ban's rule
    assert ssh(box, key).returncode == 0  # the admin, from a trusted address, is not
    # converge.yml bans for 20 s. Watch from the box, not by knocking: every knock would count
    # toward ufw's rate limit, which keeps refusing a client that keeps trying.
    deadline = time.monotonic() + 120
    while attacker.ip in banned(host):
        assert time.monotonic() < deadline, "the ban never lifted"
        time.sleep(2)
    time.sleep(31)  # the rate limit's 30 s window, after the guesses and the refused knocks
    assert connects(attacker, box)
    with host.sudo():
        rules = host.check_output("ufw status").splitlines()
    assert not [r for r in rules if "REJECT" in r and attacker.ip in r.split()]


def test_the_sixth_connection_within_30_seconds_is_refused(host, box, attackers):
    attacker = attackers()
    results = [connects(attacker, box) for _ in range(8)]
    # ufw's limit: the sixth new connection within 30 s, and each one after it, is refused.
    assert results == [True] * 5 + [False] * 3, results
    assert attacker.ip not in banned(host)  # the firewall's rate limit, not a fail2ban ban


def test_trusted_address_is_not_rate_limited(box, key):
    assert all(ssh(box, key).returncode == 0 for _ in range(8))
