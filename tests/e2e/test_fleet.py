"""A fleet on real boxes: `inv up --web 2` starts a db box, two web boxes and a load balancer on a
private Docker network of their own, provisions them and deploys the sample app. Through the load
balancer (the only box that publishes HTTP and HTTPS here), a steady client runs through a
rolling deploy, a rolling rollback and the faults: it must see no failed request and answers from
both web hosts. Then what each host lets in, the shared uploads, and the fleet commands.

The fleet has a state folder of its own: the sandbox holds lone boxes or one fleet, and this
worker's lone box (the deploy tests') lives in the e2e state folder. One fleet serves every test
here (the tests run in file order; each leaves the fleet on one release).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shlex
import socket
import ssl
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import INV
from test_backups import FleetHandle, disaster
from test_deploy import assert_zero_downtime

from shipyard import ROOT
from shipyard.app import commit, sample_project
from shipyard.bench import ANSI, parse_recap
from shipyard.shell import git
from shipyard.traffic import SteadyClient

pytestmark = pytest.mark.xdist_group("fleet")

STATE = Path(tempfile.mkdtemp(prefix="shipyard-fleet-")).resolve()
SCOPE = hashlib.sha256(str(STATE).encode()).hexdigest()[:6]
MEDIA_FILE = "/srv/app/shared/media/fleet.txt"
TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE


def fleet_env() -> dict[str, str]:
    """The environment of an `inv` command against the fleet: its own state folder, and plain
    output to parse (the suite forces Ansible's colours on for its own log, which would put escape
    codes around every host name in a recap)."""
    env = {**os.environ, "SHIPYARD_STATE": str(STATE), "ANSIBLE_NOCOLOR": "1"}
    env.pop("ANSIBLE_FORCE_COLOR", None)
    return env


def finv(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`inv ARGS` against the fleet."""
    proc = subprocess.run([INV, *args], cwd=ROOT, capture_output=True, text=True, env=fleet_env())
    if check and proc.returncode != 0:
        raise AssertionError(
            f"inv {' '.join(args)} failed:\n{proc.stdout[-5000:]}\n{proc.stderr[-2000:]}"
        )
    return proc


def on(name: str, command: str, check: bool = True) -> subprocess.CompletedProcess:
    """A shell command inside fleet box `name`."""
    proc = subprocess.run(
        ["docker", "exec", f"shipyard-{SCOPE}-{name}", "bash", "-c", command],
        capture_output=True, text=True,
    )  # fmt: skip
    assert not check or proc.returncode == 0, proc.stderr
    return proc


def reaches(name: str, address: str, port: int) -> bool:
    """Whether box `name` opens a TCP connection to address:port within 3 s."""
    return on(name, f"timeout 3 bash -c '</dev/tcp/{address}/{port}'", check=False).returncode == 0


@dataclass
class Fleet:
    up: subprocess.CompletedProcess
    https_port: int
    address: dict[str, str]  # private addresses by box name

    def get(self, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPSConnection("localhost", self.https_port, timeout=15, context=TLS)
        try:
            conn.request("GET", path, headers={"Connection": "close"})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def health(self) -> dict:
        status, body = self.get("/healthz")
        assert status == 200, body
        return json.loads(body)

    def serving(self) -> dict[str, str]:
        """What each web host's `current` link names (its live release)."""
        return {h: self.serving_of(h) for h in ("web1", "web2")}

    @staticmethod
    def serving_of(host: str) -> str:
        return on(host, "basename $(readlink /srv/app/current)").stdout.strip()


@pytest.fixture(scope="module")
def fleet():
    up = finv("up", "--web", "2")
    lb = subprocess.run(
        ["docker", "port", f"shipyard-{SCOPE}-lb1", "443/tcp"], capture_output=True, text=True
    ).stdout.split()[0]
    address = {}
    for name in ("db1", "web1", "web2", "lb1"):
        fmt = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
        address[name] = subprocess.run(
            ["docker", "inspect", "-f", fmt, f"shipyard-{SCOPE}-{name}"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    yield Fleet(up, int(lb.rsplit(":", 1)[1]), address)
    finv("down", check=False)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return sample_project(tmp_path_factory.mktemp("fleet-project") / "notes")


def deploy(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return finv("deploy", "--source", str(project), *args, check=check)


def test_inv_up_web_2_prints_the_load_balancers_url_which_serves_the_api(fleet):
    url = re.search(r"through the load balancer: (https://localhost:(\d+)/api/)", fleet.up.stdout)
    assert url, fleet.up.stdout[-2000:]
    assert int(url[2]) == fleet.https_port
    status, _ = fleet.get("/api/")
    assert status == 401, "the API answers through the balancer and asks for a token"
    status, _ = fleet.get("/static/rest_framework/css/bootstrap.min.css")
    assert status == 200, "the web hosts' static files come through"
    published = subprocess.run(["docker", "ps", "--format", "{{.Names}} {{.Ports}}"],
                               capture_output=True, text=True).stdout  # fmt: skip
    for name in ("db1", "web1", "web2"):
        line = next(
            ln for ln in published.splitlines() if ln.startswith(f"shipyard-{SCOPE}-{name}")
        )
        assert "->80/" not in line and "->443/" not in line, f"{name} publishes web ports: {line}"


def test_the_load_balancer_spreads_requests_over_both_web_hosts(fleet):
    hosts = {fleet.health()["host"] for _ in range(20)}
    assert hosts == {"web1", "web2"}


def changed_tasks(output: str) -> list[str]:
    """`TASK name: host` for every change a playbook's output reports."""
    found, task = [], ""
    for line in ANSI.sub("", output).splitlines():
        if line.startswith("TASK ["):
            task = line.split("[", 1)[1].split("]", 1)[0]
        elif line.startswith("changed: ["):
            found.append(f"{task}: {line.split('[', 1)[1].split(']', 1)[0]}")
    return found


def test_a_second_provision_changes_nothing_on_any_host(fleet):
    out = finv("provision").stdout
    recap = parse_recap(out)  # CI's output may be coloured: parse_recap reads through that
    assert set(recap) == {"db1", "web1", "web2", "lb1", "backup1"}, out[-3000:]
    assert all(r.changed == 0 and r.failed == 0 for r in recap.values()), changed_tasks(out)


def test_a_rolling_deploy_and_rollback_drop_nothing_through_the_load_balancer(fleet, project):
    before = fleet.health()["release"]
    commit(project, "A one-line change", {"notes/CHANGE.txt": "rolled out\n"})
    with SteadyClient(fleet.https_port) as client:
        out = deploy(project).stdout
    after = fleet.health()["release"]
    assert after != before and after.endswith(git(project, "rev-parse", "HEAD")[:7])
    assert_zero_downtime(client, {before, after})
    assert set(client.tally.hosts) == {"web1", "web2"}, client.tally.hosts
    assert fleet.serving() == {"web1": after, "web2": after}
    assert f"Deployed {after}" in out and "web1: " + after in out and "web2: " + after in out
    # One host after the other: web1's switch and record come before web2's.
    assert out.index("[web1]", out.index("Switch this batch")) < out.rindex("Switch: nginx")

    status = finv("status").stdout
    for host in ("web1", "web2"):
        assert re.search(rf"^\s+{host}\s+{after}\s+\S+\s+healthy", status, re.M), status

    with SteadyClient(fleet.https_port) as client:
        finv("rollback")
    assert_zero_downtime(client, {before, after})
    assert fleet.serving() == {"web1": before, "web2": before}
    deploy(project)  # the fleet back on the newest release for the tests after this one


def test_a_release_that_fails_its_health_check_on_one_host_goes_to_no_host(fleet, project):
    serving = fleet.serving()
    health = (project / "notesapi" / "health.py").read_text()
    broken = health.replace(
        "def healthz(request):\n",
        "def healthz(request):\n"
        "    if socket.gethostname() == 'web2':  # broken on one host only\n"
        "        return JsonResponse({'status': 'broken'}, status=500)\n",
    )
    assert broken != health
    commit(project, "Healthy on web1 only", {"notesapi/health.py": broken})
    try:
        with SteadyClient(fleet.https_port) as client:
            proc = deploy(project, check=False)
        assert proc.returncode != 0
        assert "web2 did not get the release up: no host switches to it" in proc.stdout
        assert_zero_downtime(client, set(serving.values()))
        assert fleet.serving() == serving, "no host switched"
    finally:
        commit(project, "Healthy again", {"notesapi/health.py": health})


def test_a_web_host_down_stops_the_rollout_and_the_next_deploy_converges(fleet, project):
    serving = fleet.serving()
    on("web2", "systemctl stop nginx")  # web2 down for clients; the balancer leaves it out
    try:
        commit(project, "Rolled out while web2 is down", {"notes/CHANGE.txt": "web2 down\n"})
        with SteadyClient(fleet.https_port) as client:
            proc = deploy(project, check=False)
        assert proc.returncode != 0
        new = git(project, "rev-parse", "HEAD")[:7]
        assert re.search(r"stopped: web2 failed in phase switch", proc.stdout), proc.stdout[-3000:]
        now = fleet.serving()
        assert now["web1"].endswith(new) and now["web2"] == serving["web2"]
        assert f"web2: {serving['web2']}" in proc.stdout, "the report names what web2 serves"
        assert client.tally.failed == 0, dict(client.tally.errors)
        assert set(client.tally.hosts) == {"web1"}, "only web1 served while web2 was down"
    finally:
        on("web2", "systemctl start nginx")
    deploy(project)
    now = fleet.serving()
    # One commit everywhere: web1 kept its release (the same tree, nothing to do there); web2, whose
    # try was marked failed, built it again, under this run's id.
    assert now["web1"].endswith(new) and now["web2"].endswith(new), now


def test_a_web_host_gone_mid_rollout_is_named_and_the_others_stay_put(fleet, project):
    """web2 goes away (SSH and HTTP) once the rollout has begun: web1 switches, web2 is reported
    as failed in phase switch, the report still says what each host serves, and no GET fails."""
    serving = fleet.serving()
    commit(project, "Rolled out while web2 goes away", {"notes/CHANGE.txt": "web2 gone\n"})
    new = git(project, "rev-parse", "HEAD")[:7]
    env = {**fleet_env(), "PYTHONUNBUFFERED": "1"}
    try:
        with SteadyClient(fleet.https_port) as client:
            proc = subprocess.Popen(
                [INV, "deploy", "--source", str(project)], cwd=ROOT, env=env, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            )  # fmt: skip
            out = ""
            for line in proc.stdout:
                out += line
                if line.startswith("PLAY [Move traffic"):
                    # Its nginx and its SSH server stop, and Ansible's open connection with them.
                    on("web2", "systemctl stop nginx ssh && pkill -KILL -u admin; true")
            proc.wait()
        assert proc.returncode != 0
        assert "PLAY [Move traffic" in out, out[-3000:]
        assert re.search(r"stopped: web2 failed in phase switch: the host did not answer", out), (
            out[-3000:]
        )
        assert f"web2: {serving['web2']}" in out, "the report names what web2 serves"
        assert fleet.serving_of("web1").endswith(new), "web1 switched before web2 went away"
        assert client.tally.failed == 0, dict(client.tally.errors)
    finally:
        on("web2", "systemctl start ssh nginx")
    assert fleet.serving()["web2"] == serving["web2"], "web2 kept its release"
    deploy(project)
    now = fleet.serving()
    assert now["web1"].endswith(new) and now["web2"].endswith(new), now


def test_each_host_lets_in_only_the_hosts_that_need_it(fleet):
    db, web1 = fleet.address["db1"], fleet.address["web1"]
    port = 5432
    assert reaches("web1", db, port), "the app's own host reaches the database"
    assert not reaches("lb1", db, port), "the load balancer reaches the database"
    with socket.socket() as s:
        s.settimeout(3)
        assert s.connect_ex((db, port)) != 0, "this machine reaches the database"
    assert reaches("lb1", web1, 80), "the load balancer reaches a web host"
    assert not reaches("db1", web1, 80), "the db host reaches a web host's HTTP"
    with socket.socket() as s:
        s.settimeout(3)
        assert s.connect_ex((web1, 80)) != 0, "this machine reaches a web host's HTTP"
    live = on("web1", "ss -Hltn '( sport = :8001 or sport = :8002 )'").stdout
    assert "127.0.0.1:800" in live, live
    for gunicorn in (8001, 8002):
        assert not reaches("lb1", web1, gunicorn), f"gunicorn's port {gunicorn} from another host"


def test_an_upload_written_through_one_web_host_is_read_through_the_other(fleet):
    text = "written on web1\n"
    # As the app writes an upload: as its account, the file readable (Django's default 0644).
    write = f"mkdir -p /srv/app/shared/media && printf %s {shlex.quote(text)} > {MEDIA_FILE}"
    on("web1", f"sudo -u app sh -c {shlex.quote(write)} && test -s {MEDIA_FILE}")
    got = on("lb1", f"curl -sf http://{fleet.address['web2']}/media/fleet.txt").stdout
    assert got == text
    assert {fleet.get("/media/fleet.txt") for _ in range(6)} == {(200, text.encode())}


def test_inv_logs_interleaves_both_hosts_lines(fleet):
    out = finv("logs", "--lines", "5").stdout
    assert re.search(r"^web1 \| ", out, re.M) and re.search(r"^web2 \| ", out, re.M), out
    stamps = [ln.split(" | ", 1)[1][:32] for ln in out.splitlines() if " | " in ln]
    assert stamps == sorted(stamps), "merged in time order"


def test_disaster_the_db_host_is_rebuilt_and_restored_from_the_backup_host(fleet):
    """PostgreSQL's run of tests/e2e/test_backups.py's disaster: notes through the API, db1
    destroyed, a new db1 provisioned and restored from backup1, the same notes served."""
    disaster(FleetHandle(STATE, 2, "postgresql"))


def test_a_shared_mount_that_is_not_shared_is_refused(fleet):
    """Last: it takes web2's shared mount away for good (the fleet is removed after it)."""
    on("web2", "umount /srv/shared")
    proc = finv("provision", "--tags", "django_app", check=False)
    assert proc.returncode != 0
    assert "django_app_shared_mount=/srv/shared is not one shared filesystem" in proc.stdout
