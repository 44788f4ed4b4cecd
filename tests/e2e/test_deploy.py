"""The deploy on real boxes: nginx, gunicorn under systemd, PostgreSQL and MariaDB.

Each engine's box is the one `inv up --db ENGINE` made (provisioned from bare, the sample app
deployed). The tests deploy a copy of the sample app kept in a git repository of their own, so they
can commit changes, breakages and fixes to it, and pass it with `inv deploy --source`, exactly as a
team deploys its own project. A steady client runs through every deploy and rollback that must
drop nothing: one HTTPS request after another via nginx, each on a new connection.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import INV, inv, warnings_in

from shipyard import ROOT, STATE, boxes, playbooks
from shipyard.app import commit, sample_project
from shipyard.hosts import tool_path
from shipyard.shell import git
from shipyard.traffic import SteadyClient

# Each engine's tests run on the worker that has its box (conftest).
ENGINES = [pytest.param(e, marks=pytest.mark.xdist_group(e)) for e in ("postgresql", "mysql")]
TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE


# ---- helpers ----------------------------------------------------------------------------------
def request(box: boxes.Box, method: str, path: str, body=None, token: str = ""):
    conn = http.client.HTTPSConnection("localhost", box.https_port, timeout=15, context=TLS)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp.status, (json.loads(raw) if raw and raw[:1] in b"[{" else raw)


def live(box: boxes.Box) -> str:
    status, body = request(box, "GET", "/healthz")
    assert status == 200, body
    return body["release"]


def deploy(box: boxes.Box, project: Path, *args: str, check: bool = True):
    return inv("deploy", "--source", str(project), "--limit", box.name, *args, check=check)


def on_box(box: boxes.Box, command: str) -> str:
    proc = subprocess.run(
        ["docker", "exec", box.container, "bash", "-c", command], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def releases(box: boxes.Box) -> list[dict]:
    return json.loads(on_box(box, f"{tool_path()} --config /etc/shipyard/app.json releases"))


def assert_zero_downtime(client: SteadyClient, allowed: set[str]) -> None:
    assert client.ran_to_end, f"the steady client stopped early: {client.crash}"
    t = client.tally
    assert t.failed == 0, f"{t.failed} failed requests of {t.served + t.failed}: {dict(t.errors)}"
    assert t.served > 20, "the client hardly ran"
    assert set(t.releases) <= allowed, f"answers from {set(t.releases) - allowed}"


# ---- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return sample_project(tmp_path_factory.mktemp("project") / "notes")


@pytest.fixture(scope="module", params=ENGINES)
def engine_box(request, app_box, project):
    """(engine, box) with the test project deployed on top of the sample app `inv up` put there."""
    box = app_box(request.param)
    before = live(box)
    with SteadyClient(box.https_port) as client:
        deploy(box, project)
    after = live(box)
    assert after != before and after.endswith(git(project, "rev-parse", "HEAD")[:7])
    assert_zero_downtime(client, {before, after})
    return request.param, box


@pytest.fixture
def postgres_box(engine_box):
    engine, box = engine_box
    if engine != "postgresql":
        # Named where it runs instead: the test's [postgresql] case.
        pytest.skip(
            "runs as this test's [postgresql] case: the behaviour does not depend on the engine"
        )
    return box


# ---- the app over HTTPS, on each engine ------------------------------------------------------
def test_inv_up_left_the_sample_app_behind_nginx(engine_box):
    _, box = engine_box
    conn = http.client.HTTPConnection("localhost", box.http_port, timeout=10)
    conn.request("GET", "/api/")
    resp = conn.getresponse()
    assert resp.status == 301
    assert resp.getheader("Location") == f"https://localhost:{box.https_port}/api/"
    status, _ = request(box, "GET", "/api/")
    assert status == 401, "the API answers through nginx and asks for a token"
    status, _ = request(box, "GET", "/static/rest_framework/css/bootstrap.min.css")
    assert status == 200, "nginx serves the release's static files"


def test_notes_crud_over_https(engine_box):
    engine, box = engine_box
    password = "correct-horse-battery-staple"
    script = (
        "from django.contrib.auth.models import User; "
        f"User.objects.filter(username='ada').delete(); "
        f"User.objects.create_user('ada', password='{password}')"
    )
    inv("manage", "--host", box.name, "--", "shell", "-c", script)
    status, body = request(
        box, "POST", "/api/auth/token/", {"username": "ada", "password": password}
    )
    assert status == 200, body
    token = body["token"]
    status, note = request(box, "POST", "/api/notes/", {"title": engine, "body": "hi"}, token)
    assert status == 201, note
    status, got = request(box, "GET", f"/api/notes/{note['id']}/", token=token)
    assert (status, got["title"]) == (200, engine)
    status, got = request(box, "PATCH", f"/api/notes/{note['id']}/", {"pinned": True}, token)
    assert (status, got["pinned"]) == (200, True)
    status, _ = request(box, "DELETE", f"/api/notes/{note['id']}/", token=token)
    assert status == 204
    status, _ = request(box, "GET", f"/api/notes/{note['id']}/", token=token)
    assert status == 404


def test_the_apps_own_tests_pass_on_the_boxs_database(engine_box):
    """The sample app's suite, run on the box against its real engine, in a throwaway venv."""
    engine, box = engine_box
    if engine == "postgresql":
        user_sql = ("runuser -u postgres -- psql -qc \"DROP ROLE IF EXISTS apptest; CREATE ROLE"
                    " apptest LOGIN CREATEDB PASSWORD 'apptest-password'\"")  # fmt: skip
        url = "postgres://apptest:apptest-password@127.0.0.1:5432/app"
        reqs = "-r requirements-dev.txt"
    else:
        user_sql = ("mysql -e \"DROP USER IF EXISTS apptest@'127.0.0.1'; CREATE USER"
                    " apptest@'127.0.0.1' IDENTIFIED BY 'apptest-password'; GRANT ALL ON"
                    " \\`test_app\\`.* TO apptest@'127.0.0.1';"
                    " GRANT SELECT ON app.* TO apptest@'127.0.0.1'\"")  # fmt: skip
        url = "mysql://apptest:apptest-password@127.0.0.1:3306/app"
        reqs = "-r requirements-dev.txt -r requirements-mysql.txt"
    out = on_box(
        box,
        f"""set -e
        {user_sql}
        rm -rf /tmp/apptests && cp -rL /srv/app/current /tmp/apptests && cd /tmp/apptests
        python3 -m venv /tmp/apptests-venv
        PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_CACHE_DIR=/var/cache/shipyard-pip \\
          /tmp/apptests-venv/bin/pip install -q --disable-pip-version-check {reqs}
        DATABASE_URL={url} /tmp/apptests-venv/bin/python -m pytest -q -p no:cacheprovider 2>&1
    """,
    )
    assert " passed" in out and "failed" not in out and "error" not in out.lower(), out


def test_a_migration_that_fails_leaves_the_database_as_it_was(engine_box, project):
    engine, box = engine_box
    before = live(box)
    columns = (
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'notes_note'"
        + (" AND table_schema = 'app'" if engine == "mysql" else "")
        + " ORDER BY 1"
    )
    query = (f"runuser -u postgres -- psql -d app -qAtc \"{columns}\"" if engine == "postgresql"
             else f"mysql -N -B -e \"{columns}\"")  # fmt: skip
    columns_before = on_box(box, query)
    migration = textwrap.dedent("""\
        from django.db import migrations, models


        def fail(apps, schema_editor):
            raise RuntimeError("this migration fails on purpose, after changing a table")


        class Migration(migrations.Migration):
            dependencies = [("notes", "0001_initial")]
            operations = [
                migrations.AddField("note", "colour", models.CharField(max_length=9, default="")),
                migrations.RunPython(fail),
            ]
        """)
    path = "notes/migrations/0002_fails.py"
    commit(project, "A migration that fails", {path: migration})
    with SteadyClient(box.https_port) as client:
        out = deploy(box, project, check=False)
    assert out.returncode != 0
    assert "failed in phase migrate" in out.stdout + out.stderr
    assert "this migration fails on purpose" in out.stdout + out.stderr
    assert_zero_downtime(client, {before})
    assert on_box(box, query) == columns_before, "the table the migration changed is unchanged"
    assert live(box) == before
    commit(project, "Remove the failing migration", {path: None})


# ---- zero downtime, rollback, same ref: on PostgreSQL only. Moving traffic between releases
# never touches the database (the migration phase has tests of its own on each engine, and the
# engine_box fixture already deploys under a steady client on each).
def test_a_code_change_deploys_with_zero_failed_requests(postgres_box, project):
    box = postgres_box
    before = live(box)
    view = project / "notesapi" / "health.py"
    head = commit(
        project, "A one-line change", {"notesapi/health.py": view.read_text() + "\n# v2\n"}
    )
    with SteadyClient(box.https_port) as client:
        out = deploy(box, project)
    after = live(box)
    assert after.endswith(head[:7]) and after != before
    assert_zero_downtime(client, {before, after})
    assert client.tally.last == after, "the new release serves at the end"
    assert (
        "Deployed " + after in out.stdout and f"https://localhost:{box.https_port}/" in out.stdout
    )
    assert "reusing virtualenv" in out.stdout, "a code-only deploy installs nothing"
    assert warnings_in(out) == []
    # The live slot, and only it, starts at boot.
    enabled = on_box(box, "for p in 8001 8002; do echo $p $(systemctl is-enabled app@$p)"
                          " $(readlink /srv/app/slots/$p); done")  # fmt: skip
    slots = {line.split()[0]: line.split()[1:] for line in enabled.splitlines()}
    assert [p for p, (state, *_) in slots.items() if state == "enabled"] == [
        p for p, (_, *link) in slots.items() if link and link[0].endswith(after)
    ], slots


def test_the_same_ref_again_restarts_nothing(postgres_box, project):
    pid = on_box(postgres_box, "systemctl show -p MainPID --value 'app@*' | grep -v '^0$'")
    out = deploy(postgres_box, project)
    assert "nothing restarted" in out.stdout
    assert on_box(postgres_box, "systemctl show -p MainPID --value 'app@*' | grep -v '^0$'") == pid


def test_rollback_and_back_drop_nothing(postgres_box):
    box = postgres_box
    newer = live(box)
    with SteadyClient(box.https_port) as client:
        out = inv("rollback", "--limit", box.name)
    older = live(box)
    assert older != newer
    assert_zero_downtime(client, {newer, older})
    assert f"Rolled back to {older} on {box.name}" in out.stdout
    assert warnings_in(out) == []
    with SteadyClient(box.https_port) as client:
        inv("rollback", "--limit", box.name, "--to", newer)
    assert live(box) == newer
    assert_zero_downtime(client, {newer, older})


@pytest.mark.parametrize("to", ["20000101T000000Z-nothere"])
def test_rollback_to_an_unknown_release_is_refused(postgres_box, to):
    before = live(postgres_box)
    out = inv("rollback", "--limit", postgres_box.name, "--to", to, check=False)
    assert out.returncode != 0
    assert f"--to {to}: no such release here" in out.stdout + out.stderr
    assert live(postgres_box) == before


# ---- faults: each leaves the old release serving, and the next good deploy works -------------
FAULTS = {
    "health check fails": (
        "notesapi/health.py",
        lambda text: text.replace('"status": "ok"', '"status": 1 / 0'),
        "failed in phase start",
    ),
    "import error": (
        "notesapi/urls.py",
        lambda text: text + "\nraise ImportError('broken on purpose')\n",
        "failed in phase build",
    ),
    "requirement cannot be installed": (
        "requirements.txt",
        lambda text: text + "shipyard-no-such-package-on-purpose==1.0\n",
        "failed in phase build",
    ),
}


# Each fault fails before the new release could serve, and none of them depends on the engine
# (the health check's fault is an exception in the view, before its query): they run on the
# PostgreSQL box (the MariaDB cases skip, saying so), which keeps the suite's time down.
@pytest.mark.parametrize("fault", FAULTS)
def test_a_broken_release_never_takes_traffic(postgres_box, project, fault):
    box = postgres_box
    rel, breaks, phase = FAULTS[fault]
    before = live(box)
    good = (project / rel).read_text()
    assert breaks(good) != good, "the fault must change the file"
    commit(project, f"Break: {fault}", {rel: breaks(good)})
    with SteadyClient(box.https_port) as client:
        out = deploy(box, project, check=False)
    text = out.stdout + out.stderr
    assert out.returncode != 0 and phase in text, text[-3000:]
    assert f"{before} still serves" in text
    assert_zero_downtime(client, {before})
    states = {r["id"]: r["state"] for r in releases(box)}
    assert "failed" in states.values(), "the broken release is marked failed"
    commit(project, f"Fix: {fault}", {rel: good})
    deploy(box, project)
    assert live(box) != before


def test_a_deploy_killed_mid_build_leaves_the_old_release_and_a_lock_that_does_not_block(
    postgres_box, project
):
    box = postgres_box
    before = live(box)
    commit(project, "Another change", {"notesapi/extra.py": "VALUE = 'killed mid-build'\n"})
    with SteadyClient(box.https_port) as client:
        proc = subprocess.Popen(
            [INV, "deploy", "--source", str(project), "--limit", box.name],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        seen = ""
        for line in proc.stdout:
            seen += line
            if "Build: unpack" in line:
                break
        time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGKILL)  # the deploy and everything it started
        proc.wait()
    assert "Build: unpack" in seen, seen[-2000:]
    assert live(box) == before
    assert_zero_downtime(client, {before})
    assert on_box(box, "cat /srv/app/deploy.lock"), "the kill left the lock behind"
    out = deploy(box, project)
    assert "taking over the deploy lock" in out.stdout
    assert live(box) != before


# ---- bad input: a clear message, nothing changed on the host ----------------------------------
def ansible(box: boxes.Box, book: str, extra: dict, *args: str) -> subprocess.CompletedProcess:
    """ansible-playbook on one box with extra variables (what `inv` does not take)."""
    argv = [*playbooks.command(book, "local", limit=box.name, extra_vars=extra), *args]
    argv[0] = str(Path(sys.executable).parent / argv[0])  # the toolkit's ansible-playbook
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env)


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ({"inv": ["-e", "nowhere"]}, "--env 'nowhere': give an environment"),
        ({"inv": ["--ref", "no-such-ref"]}, "--ref no-such-ref: no such commit"),
        (
            {"vars": {"django_app_settings_module": "notesapi.setings"}},
            "django_app_settings_module=notesapi.setings",
        ),
        ({"vars": {"django_app_secret_key": ""}}, "vault_django_app_secret_key"),
        ({"vars": {"django_app_health_path": "healthz"}}, "django_app_health_path=healthz"),
        ({"vars": {"django_app_ports": [8001, 8001]}}, "django_app_ports two different ports"),
    ],
    ids=["unknown-env", "unknown-ref", "settings-module", "vault-missing", "health-path", "ports"],
)
def test_bad_input_is_refused_before_any_change(postgres_box, project, how, message):
    before = (live(postgres_box), releases(postgres_box))
    if "inv" in how:
        out = deploy(postgres_box, project, *how["inv"], check=False)
    else:
        out = ansible(postgres_box, "deploy", {"django_app_source": str(project), **how["vars"]})
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert message in text, text[-3000:]
    assert "Traceback" not in text
    assert (live(postgres_box), releases(postgres_box)) == before


def served_certificate(box: boxes.Box) -> bytes:
    return ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("localhost", box.https_port)))


def test_your_own_certificate_with_a_vaulted_key_replaces_the_self_signed_one(
    postgres_box, tmp_path
):
    """nginx_tls_certificate_file + nginx_tls_key_file (ansible-vault encrypted), then back."""
    crt, key, secret = tmp_path / "site.crt", tmp_path / "site.key", tmp_path / "vault-pass"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(crt)],
        check=True, capture_output=True,
    )  # fmt: skip
    secret.write_text("a-test-vault-password\n")
    vault = str(Path(sys.executable).parent / "ansible-vault")
    subprocess.run([vault, "encrypt", str(key), "--vault-password-file", str(secret)], check=True,
                   capture_output=True)  # fmt: skip
    assert b"PRIVATE KEY" not in key.read_bytes()
    self_signed = served_certificate(postgres_box)
    ours = ssl.PEM_cert_to_DER_cert(crt.read_text())
    extra = {"nginx_tls_certificate_file": str(crt), "nginx_tls_key_file": str(key)}
    out = ansible(postgres_box, "provision", extra, "--tags", "nginx", "--vault-password-file",
                  str(secret))  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:]
    assert served_certificate(postgres_box) == ours
    assert live(postgres_box), "the app still answers"
    out = ansible(postgres_box, "provision", {}, "--tags", "nginx")
    assert out.returncode == 0, out.stdout[-3000:]
    assert served_certificate(postgres_box) == self_signed, "the self-signed one was kept"


# ---- secrets and retention ---------------------------------------------------------------------
def test_secrets_stay_out_of_the_verbose_output_and_env_is_private(postgres_box, project):
    commit(project, "Change for the verbose deploy", {"notesapi/extra.py": "VALUE = 2\n"})
    out = deploy(postgres_box, project, "-v")
    text = out.stdout + out.stderr
    for secret in ("django_app_secret_key", "app_db_password"):
        value = (STATE / "secrets" / secret).read_text().strip()
        assert len(value) >= 20 and value not in text, f"{secret} appears in the output"
    mode = on_box(postgres_box, "stat -c '%a %U' /srv/app/current/.env").split()
    assert mode == ["600", "app"]
    assert "app" not in on_box(postgres_box, "stat -c %U /srv/app/current/notesapi/settings.py")


def test_retention_keeps_five_good_releases_and_no_failed_one(postgres_box, project):
    for n in range(3):
        commit(project, f"Retention {n}", {"notesapi/extra.py": f"VALUE = {10 + n}\n"})
        deploy(postgres_box, project)
    states = [r["state"] for r in releases(postgres_box)]
    assert states == ["good"] * 5, states
    audit = on_box(postgres_box, "cat /srv/app/deploys.log")
    assert "result=failed phase=migrate" in audit and "action=rollback" in audit
