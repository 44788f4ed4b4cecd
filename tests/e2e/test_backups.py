"""Scheduled backups and their off-host copies on real boxes: a MariaDB fleet (`inv up --web 1 --db
mysql`: db1, web1, lb1 and backup1), its own state folder. The timer fires and each backup lands
on both sides, verified; retention on both; what the backup account cannot do; a failed backup in
`inv status`; `inv db.drill` passing and failing on a damaged copy; and the disaster: db1 destroyed,
a new one provisioned and restored from backup1, the app serving the same notes.
(tests/e2e/test_fleet.py runs the same disaster on its PostgreSQL fleet.)
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shlex
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import INV

from shipyard import ROOT

pytestmark = pytest.mark.xdist_group("mysql")  # the MariaDB worker (conftest)

TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE
STORE = "/var/backups/shipyard-store/db1"
SCHEDULED = "/var/backups/shipyard/scheduled"
# backup1's SSH rate limit (the base role's ufw `limit`) refuses a 6th new connection within 30 s
# from one address, db1's too: the tests pace their connections under it (a copy is one).
RATE_WINDOW = 31


@dataclass
class FleetHandle:
    """A sandbox fleet of its own state folder, driven by `inv` as a user would."""

    state: Path
    web: int
    engine: str

    @property
    def scope(self) -> str:
        return hashlib.sha256(str(self.state).encode()).hexdigest()[:6]

    def env(self) -> dict[str, str]:
        env = {**os.environ, "SHIPYARD_STATE": str(self.state), "ANSIBLE_NOCOLOR": "1"}
        env.pop("ANSIBLE_FORCE_COLOR", None)
        return env

    def inv(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([INV, *args], cwd=ROOT, capture_output=True, text=True,
                              env=self.env())  # fmt: skip
        if check and proc.returncode != 0:
            raise AssertionError(
                f"inv {' '.join(args)} failed:\n{proc.stdout[-5000:]}\n{proc.stderr[-2000:]}"
            )
        return proc

    def provision_with(self, *extra: str) -> subprocess.CompletedProcess:
        """`inv provision` with extra ansible-playbook arguments (-e name=value)."""
        code = ("import sys; from shipyard import ansible, playbooks; ansible.playbook("
                "playbooks.command('provision', 'local') + sys.argv[1:], quiet=True)")  # fmt: skip
        return subprocess.run([sys.executable, "-c", code, *extra], cwd=ROOT, env=self.env(),
                              capture_output=True, text=True, check=True)  # fmt: skip

    def on(self, name: str, command: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            ["docker", "exec", f"shipyard-{self.scope}-{name}", "bash", "-c", command],
            capture_output=True, text=True,
        )  # fmt: skip
        assert not check or proc.returncode == 0, proc.stderr
        return proc

    def files(self, name: str, folder: str) -> list[str]:
        return self.on(name, f"ls -1 {folder} 2>/dev/null || true").stdout.split()

    def https_port(self) -> int:
        out = subprocess.run(["docker", "port", f"shipyard-{self.scope}-lb1", "443/tcp"],
                             capture_output=True, text=True).stdout  # fmt: skip
        return int(out.split()[0].rsplit(":", 1)[1])

    def request(self, method: str, path: str, body=None, token: str = ""):
        conn = http.client.HTTPSConnection("localhost", self.https_port(), timeout=15,
                                           context=TLS)  # fmt: skip
        headers = {"Content-Type": "application/json", "Connection": "close"}
        if token:
            headers["Authorization"] = f"Token {token}"
        try:
            conn.request(method, path, json.dumps(body) if body is not None else None, headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        return resp.status, (json.loads(raw) if raw and raw[:1] in b"[{" else raw)


def notes_of(h: FleetHandle, token: str) -> list[tuple]:
    status, body = h.request("GET", "/api/notes/", token=token)
    assert status == 200, body
    rows = body["results"] if isinstance(body, dict) else body
    return sorted((n["id"], n["title"], n["body"]) for n in rows)


def disaster(h: FleetHandle) -> None:
    """Notes made through the API; a backup; db1 destroyed; a new db1 box provisioned (`inv up`
    again); `inv db.restore newest --from-backup-host`; the same notes served."""
    password = "correct-horse-battery-staple"
    script = (
        "from django.contrib.auth.models import User; "
        "User.objects.filter(username='grace').delete(); "
        f"User.objects.create_user('grace', password='{password}')"
    )
    h.inv("manage", "--", "shell", "-c", script)
    status, body = h.request(
        "POST", "/api/auth/token/", {"username": "grace", "password": password}
    )
    assert status == 200, body
    token = body["token"]
    for i in range(3):
        status, _ = h.request("POST", "/api/notes/", {"title": f"kept {i}", "body": "é" * i}, token)
        assert status == 201
    before = notes_of(h, token)
    assert len(before) >= 3
    h.on("db1", "systemctl start shipyard-backup.service")  # the last backup before the loss

    started = time.monotonic()
    subprocess.run(["docker", "rm", "-f", f"shipyard-{h.scope}-db1"], check=True,
                   capture_output=True)  # fmt: skip
    h.inv("up", "--web", str(h.web), "--db", h.engine)  # a new db1: provisioned, the app deployed
    status, _ = h.request("GET", "/api/notes/", token=token)
    # The token is unknown (401), or the tables are not there (500: the deploy had nothing to do
    # when the new box kept the old address): either way the data really was lost.
    assert status in (401, 500), status
    out = " ".join(
        h.inv("db.restore", "newest", "--from-backup-host").stdout.split()
    )  # Ansible wraps lines
    restored = r"Restored \S+\.dump\.gz \(taken \S+, release \S+\) from backup1"
    assert re.search(restored, out), out[-3000:]
    assert notes_of(h, token) == before, "the same notes, ids, titles and bodies"
    print(
        f"\ndisaster ({h.engine}): destroyed to serving again in {time.monotonic() - started:.0f} s"
    )


@pytest.fixture(scope="module")
def fleet():
    h = FleetHandle(Path(tempfile.mkdtemp(prefix="shipyard-backups-")).resolve(), 1, "mysql")
    h.inv("up", "--web", "1", "--db", "mysql")
    yield h
    h.inv("down", check=False)


def newest_on(h: FleetHandle, name: str, folder: str) -> str:
    dumps = [f for f in h.files(name, folder) if f.endswith(".dump.gz")]
    return sorted(dumps)[-1] if dumps else ""


def test_the_timer_fires_and_the_backup_lands_on_both_sides_verified(fleet):
    fleet.provision_with(
        "-e", "backup_every=1min", "-e", "backup_keep_last=2", "-e", "backup_keep_daily=0",
        "-e", "backup_keep_weekly=0", "-e", "backup_store_keep_last=3",
        "-e", "backup_store_keep_daily=0", "-e", "backup_store_keep_weekly=0",
    )  # fmt: skip
    before = set(fleet.files("db1", SCHEDULED))
    give_up = time.monotonic() + 150
    while not set(fleet.files("backup1", STORE)) - before - {""}:
        assert time.monotonic() < give_up, fleet.on(
            "db1", "journalctl -u shipyard-backup -n 20"
        ).stdout
        time.sleep(3)
    fleet.on("db1", "systemctl stop shipyard-backup.timer")  # the tests below start it by hand
    new = newest_on(fleet, "backup1", STORE)
    assert new in fleet.files("db1", SCHEDULED), "the same backup is on the db host"
    assert re.fullmatch(r"mysql-app-\d{8}T\d{6}Z-\d{8}T\d{6}Z-[0-9a-f]{7}\.dump\.gz", new), new
    base = new.removesuffix(".dump.gz")
    manifest = json.loads(fleet.on("backup1", f"cat {STORE}/{base}.json").stdout)
    digest = fleet.on("backup1", f"sha256sum {STORE}/{new}").stdout.split()[0]
    assert digest == manifest["sha256"], "the copy's checksum verifies"
    assert manifest["tables"]["django_migrations"] > 0 and "notes_note" in manifest["tables"]
    journal = fleet.on("db1", "journalctl -u shipyard-backup --no-pager").stdout
    assert f"copied {new} to backup1" in journal


def test_retention_removes_the_oldest_past_the_limit_on_both_sides(fleet):
    time.sleep(RATE_WINDOW)  # the timer's copy was a connection too
    for _ in range(3):
        time.sleep(1.1)  # one backup a second at most: names carry the second
        fleet.on("db1", "systemctl start shipyard-backup.service")
    here = sorted(f for f in fleet.files("db1", SCHEDULED) if f.endswith(".dump.gz"))
    there = sorted(f for f in fleet.files("backup1", STORE) if f.endswith(".dump.gz"))
    assert len(here) == 2, here  # backup_keep_last=2
    assert len(there) == 3, there  # backup_store_keep_last=3: the backup host's own rule
    assert there[-2:] == here, "the newest are kept on both sides"
    assert len(fleet.files("backup1", STORE)) == 6, "each copy with its manifest, no stray file"


def test_the_backup_account_can_only_add_new_files(fleet):
    """From db1, with its key: read, list, delete and overwrite are refused by the account's one
    command; so are scp and a shell; the store stays as it was."""
    key = "/etc/shipyard/backup/id_ed25519"
    conf = json.loads(fleet.on("db1", "cat /etc/shipyard/backup-source.json").stdout)
    address = conf["targets"][0]["address"]
    options = f"-i {key} -o BatchMode=yes -o ConnectTimeout=10 -o HostKeyAlias=backup1"
    options += (
        " -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/etc/shipyard/backup/known_hosts"
    )
    ssh = f"ssh {options} shipyard-backup@{address}"
    stored = fleet.on("backup1", f"sha256sum {STORE}/*").stdout
    newest = newest_on(fleet, "backup1", STORE).removesuffix(".dump.gz")
    attempts = {
        "read": (f"{ssh} cat {STORE}/{newest}.dump.gz", "only takes new backups"),
        "list": (f"{ssh} ls -la {STORE}", "only takes new backups"),
        "delete": (f"{ssh} rm -f {STORE}/{newest}.dump.gz", "only takes new backups"),
        "overwrite": (f"echo '{{}}' | {ssh} put {newest}", "exists: a backup is never replaced"),
        "shell": (f"{ssh} -t bash -i", "only takes new backups"),
    }
    time.sleep(RATE_WINDOW)
    for what, (command, refusal) in attempts.items():
        proc = fleet.on("db1", command, check=False)
        # Refused by the account's one command (exit 1), not a failed connection (255).
        assert proc.returncode == 1, f"{what}: rc={proc.returncode} {proc.stderr}"
        assert refusal in proc.stderr, f"{what}: {proc.stderr}"
        assert "\x1f\x8b" not in proc.stdout and "sha256" not in proc.stdout, what
    time.sleep(RATE_WINDOW)
    scp = f"scp {options} shipyard-backup@{address}:{STORE}/{newest}.dump.gz /tmp/got"
    proc = fleet.on("db1", scp, check=False)
    # scp's SFTP session meets the same one command; not a connection that timed out.
    assert proc.returncode != 0 and "timed out" not in proc.stderr, proc.stderr
    assert fleet.on("db1", "test -e /tmp/got", check=False).returncode
    assert fleet.on("backup1", f"sha256sum {STORE}/*").stdout == stored, "the store is unchanged"
    # The key still does its one job.
    fleet.on("db1", "systemctl start shipyard-backup.service")


def test_a_failed_backup_shows_as_an_error_in_inv_status(fleet):
    fleet.on("db1", "systemctl stop mariadb")
    try:
        assert fleet.on("db1", "systemctl start shipyard-backup.service", check=False).returncode
        status = fleet.inv("status").stdout
        line = next(ln for ln in status.splitlines() if re.match(r"\s+db1\s+db\s+db1", ln))
        assert line.rstrip().endswith("ERROR"), status
        assert "the dump of app failed" in status and "journalctl -u shipyard-backup" in status
        assert re.search(r"^\s+backup1\s+copy\s+db1\s+\S+\s+\S+\s+ok$", status, re.M), status
        journal = fleet.on("db1", "journalctl -u shipyard-backup --no-pager -n 30").stdout
        assert "Failed with result" in journal or "failed" in journal.lower()
    finally:
        fleet.on("db1", "systemctl start mariadb")
    fleet.on("db1", "systemctl start shipyard-backup.service")
    status = fleet.inv("status").stdout
    assert "ERROR" not in status, status


def test_the_drill_passes_and_fails_on_a_damaged_copy_naming_it(fleet):
    out = " ".join(fleet.inv("db.drill").stdout.split())  # Ansible wraps the message's lines
    found = re.search(r"Drill passed: (\S+) from backup1 .* in ([0-9.]+) s: (\d+) tables", out)
    assert found, out[-3000:]
    print(f"\ndrill (mysql): {found[1]} restored in {found[2]} s")
    newest = newest_on(fleet, "backup1", STORE)
    assert found[1] == newest
    path = f"{STORE}/{newest}"
    fleet.on("backup1", f"cp {path} /root/good && printf '\\x00' | dd of={path} bs=1 seek=200"
             " conv=notrunc status=none")  # fmt: skip
    try:
        proc = fleet.inv("db.drill", check=False)
        assert proc.returncode != 0
        flat = " ".join(proc.stdout.split())
        assert f"{path}: its checksum is" in flat, proc.stdout[-3000:]
        assert "use an older backup" in flat
    finally:
        fleet.on("backup1", f"cp /root/good {path}")
    scratch = "SHOW DATABASES LIKE 'test_shipyard_drill'"
    assert fleet.on("db1", f"mysql -N -e {shlex.quote(scratch)}").stdout.strip() == "", (
        "the scratch database was dropped"
    )
    grants = "SELECT COUNT(*) FROM mysql.db WHERE Db = 'test_shipyard_drill'"
    assert fleet.on("db1", f"mysql -N -e {shlex.quote(grants)}").stdout.strip() == "0", (
        "the app's read of the scratch copy was taken back"
    )


def test_disaster_the_db_host_is_rebuilt_and_restored_from_the_backup_host(fleet):
    disaster(fleet)
