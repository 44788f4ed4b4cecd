"""The CircleCI deploy job's own commands (read from .circleci/config.yml) against a sandbox box
standing in for staging, with what CircleCI would set: the built commit, the vault password from
the context, the key add_ssh_keys brings, the host key pinned. Then each missing piece: the job
fails at once, naming it, and the box sees no login."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from test_deploy import live, on_box

from shipyard import ROOT, boxes, pipeline
from shipyard.ansible import DEPLOY_KEY, VAULT_PASSWORD
from shipyard.shell import git
from shipyard.smoke import SMOKE_PASSWORD

pytestmark = pytest.mark.xdist_group("postgresql")  # the worker that has this box (conftest)


@pytest.fixture(scope="module")
def staging(app_box) -> boxes.Box:
    """The PostgreSQL box (shared with the database and deploy tests) as `staging`."""
    box = app_box("postgresql")
    pipeline.standin("staging", box)
    return box


def commit_beside_head() -> str:
    """A new commit on top of HEAD whose app folder differs (one more file), made without moving
    HEAD or touching the working tree: a commit CircleCI could be building."""
    index = ROOT / ".git" / f"shipyard-test-index-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}

    def g(*args: str, stdin: str | None = None) -> str:
        return git(ROOT, *args, env=env, input=stdin)

    try:
        g("read-tree", "HEAD")
        blob = g("hash-object", "-w", "--stdin", stdin=f"built by CI test {uuid.uuid4()}\n")
        g("update-index", "--add", "--cacheinfo", f"100644,{blob},app/CI_BUILD.txt")
        tree = g("write-tree")
        return git(ROOT, "commit-tree", tree, "-p", "HEAD", "-m", "A commit CI builds")
    finally:
        index.unlink(missing_ok=True)


@pytest.fixture
def home():
    """An empty HOME for a job, with a short path: ssh's control socket lives under it
    (~/.ansible/cp/...), and a Unix socket's path must stay under 108 bytes (pytest's tmp_path
    under xdist was too long: "unix_listener: path ... too long")."""
    folder = tempfile.mkdtemp(prefix="home-", dir="/tmp")
    yield Path(folder)
    shutil.rmtree(folder, ignore_errors=True)


def job_env(environ: dict[str, str], home) -> dict[str, str]:
    """This process's environment with nothing of this machine's SSH setup (no agent, an empty
    HOME), plus what the job sets."""
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    env.update(HOME=str(home), **environ)
    return env


def run_job(environ: dict[str, str], home) -> tuple[int, str]:
    """The deploy job's run steps, in order, as CircleCI runs them (bash, the checkout's root),
    in the job's environment (job_env)."""
    env = job_env(environ, home)
    output = ""
    for command in pipeline.job_commands("deploy", {"env": "staging", "ssh-fingerprint": ""}):
        proc = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env,
                              capture_output=True, text=True)  # fmt: skip
        output += proc.stdout + proc.stderr
        if proc.returncode != 0:
            return proc.returncode, output
    return 0, output


def logins(box: boxes.Box) -> int:
    return int(on_box(box, "journalctl -u ssh --no-pager | grep -c 'Accepted publickey' || true"))


def footprint(box: boxes.Box) -> tuple[int, str, str]:
    """What a deploy that began would leave: a login, a line in the audit log, a release."""
    return logins(box), on_box(box, "cat /srv/app/deploys.log"), live(box)


def test_the_deploy_job_delivers_the_built_commit_and_passes_its_smoke_test(staging, home):
    commit = commit_beside_head()
    environ = pipeline.job_environment("staging", commit, staging)
    rc, output = run_job(environ, home)
    assert rc == 0, output[-4000:]
    assert live(staging).endswith(f"-{commit[:7]}"), "the release id names the commit built"
    assert f"smoke: release {live(staging)} is commit {commit[:12]}" in output
    assert "smoke: API round trip as shipyard-smoke: POST, GET, DELETE /api/notes/" in output
    log = (ROOT / "deploy.log").read_text()  # the job's artifact
    assert live(staging) in log
    for secret in (environ[VAULT_PASSWORD], environ[SMOKE_PASSWORD]):
        assert secret not in output and secret not in log


@pytest.mark.parametrize(
    ("unset", "message"),
    [
        (VAULT_PASSWORD, "SHIPYARD_VAULT_PASSWORD is not set"),
        (DEPLOY_KEY, "no SSH key to log in with: set SHIPYARD_SSH_KEY_FILE"),
    ],
)
def test_a_missing_secret_stops_the_job_before_any_login(staging, home, unset, message):
    environ = pipeline.job_environment("staging", git(ROOT, "rev-parse", "HEAD"), staging)
    del environ[unset]
    before = footprint(staging)
    rc, output = run_job(environ, home)
    assert rc != 0
    assert message in output
    assert "PLAY [" not in output, "no playbook began"
    assert footprint(staging) == before


def test_a_host_key_that_is_not_the_pinned_one_stops_the_job(staging, tmp_path, home):
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    pipeline.standin(
        "staging", staging, known_key=" ".join(other.with_suffix(".pub").read_text().split()[:2])
    )
    try:
        environ = pipeline.job_environment("staging", git(ROOT, "rev-parse", "HEAD"), staging)
        before = footprint(staging)
        rc, output = run_job(environ, home)
        assert rc != 0
        assert "its host key does not match" in output and "staging/known_hosts" in output
        assert "PLAY [" not in output
        assert footprint(staging) == before
        # The fleet commands (Fabric) refuse the same key, before running anything anywhere.
        status = [str(ROOT / "shipyard"), "status", "-e", "staging"]
        env = job_env(environ, home)
        proc = subprocess.run(status, cwd=ROOT, env=env, capture_output=True, text=True)
        assert proc.returncode != 0
        assert "nothing was run on any host" in proc.stderr, proc.stderr[-2000:]
        assert f"{staging.name}: its host key does not match" in proc.stderr
        assert footprint(staging) == before, "no login: the key was refused before auth"
    finally:
        pipeline.standin("staging", staging)


@pytest.mark.parametrize(
    ("command", "expect"),
    [
        (["status"], "healthy"),
        (["releases"], "current"),
        (["logs", "--lines", "20"], "gunicorn"),
        (["manage", "--", "showmigrations", "notes"], "[X] 0001_initial"),
    ],
    ids=["status", "releases", "logs", "manage"],
)
def test_operations_read_an_environment_whose_vault_is_encrypted(staging, home, command, expect):
    """`inv status/releases/logs/manage -e staging` as a team runs them (README "Environments"):
    the vault encrypted, the password in SHIPYARD_VAULT_PASSWORD, host keys pinned and checked."""
    environ = pipeline.job_environment("staging", git(ROOT, "rev-parse", "HEAD"), staging)
    vault = pipeline.STANDINS / "staging" / "group_vars" / "all" / "vault.yml"
    assert vault.read_text().startswith("$ANSIBLE_VAULT"), "the stand-in's vault is encrypted"
    env = job_env(environ, home)
    name, *rest = command
    proc = subprocess.run([str(ROOT / "shipyard"), name, "-e", "staging", *rest], cwd=ROOT,
                          env=env, capture_output=True, text=True)  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert expect in output, output[-3000:]
    if name in ("status", "releases"):
        assert live(staging) in output, "the live release is the one the box serves"
    assert environ[VAULT_PASSWORD] not in output


def test_staging_gives_nobody_a_developers_database_role(staging, home):
    """The sandbox's inventory asks for the admin's developer role (README "Work in the box"); an
    environment set up as a team sets up staging does not: provisioning it (--check, the database
    role) would leave the role out, and take the sandbox's socket-only rule out of pg_hba."""
    environ = pipeline.job_environment("staging", git(ROOT, "rev-parse", "HEAD"), staging)
    argv = [str(ROOT / "shipyard"), "provision", "-e", "staging", "--check", "--tags", "postgresql"]
    proc = subprocess.run(argv, cwd=ROOT, env=job_env(environ, home), capture_output=True,
                          text=True)  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    # The role reads its roles and databases on every run (its modules run only on a difference).
    assert "TASK [postgresql : Read the roles, databases and grants as they are]" in output, (
        "the database role ran"
    )
    assert "Create the developer's role" not in output and "DATABASE_URL" not in output
    assert environ[VAULT_PASSWORD] not in output
