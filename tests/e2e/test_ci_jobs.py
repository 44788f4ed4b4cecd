"""A CircleCI job's own steps, in containers that have what its executor has and lack what it
lacks (CircleCI's images are not reachable from here).

The MariaDB app-tests job: `cimg/python:3.11` (a Python, a compiler, git, passwordless sudo for
the `circleci` user, and no MySQL client headers nor pkg-config) beside a MariaDB service container
that shares its network, as CircleCI's docker executor does. The job's steps are read from
.circleci/config.yml and run as that user: mysqlclient must build, and the app's tests pass
against MariaDB. Before the fix pip failed there building mysqlclient (no mysqlclient.pc).

The toolkit's virtualenv is this run's own, mounted read-only where the job's restore_cache would
put it (with the interpreter it was built with): the job's subject is the app's build, not the
toolkit's install, which `./shipyard`'s own tests cover (tests/unit/test_bootstrap.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from shipyard import ROOT, boxes, host, images, pipeline

# Containers of its own: on the PostgreSQL box's worker (conftest) to even the two workers' load.
pytestmark = pytest.mark.xdist_group("postgresql")

IMAGE = images.tag(images.lookup("debian12"))  # Debian 12's python3 is 3.11, as cimg/python:3.11
EXECUTOR = pipeline.pipeline()["executors"]["mariadb"]
JOB_ENV = EXECUTOR["docker"][0]["environment"]
SERVICE_ENV = EXECUTOR["docker"][1]["environment"]
# What cimg/python has besides Python: a compiler, git, sudo (the headers it lacks stay out).
EXECUTOR_PACKAGES = ["gcc", "libc6-dev", "git", "sudo", "python3-venv"]
PREFIX = Path(sys.base_prefix)  # the interpreter the toolkit's venv was built with


def sh(container: str, script: str, user: str = "root", env: dict | None = None, cwd: str = "/"):
    flags = [f"--env={k}={v}" for k, v in (env or {}).items()]
    return subprocess.run(
        ["docker", "exec", "-u", user, "-w", cwd, *flags, container, "bash", "-c", script],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def must(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def apt(container: str, *packages: str) -> None:
    proxy = f'Acquire::http::Proxy "{host.apt_proxy_for_boxes()}";'
    with host.one_index_update_at_a_time():  # as every box's (host.py says why)
        must(sh(container, f"echo '{proxy}' > /etc/apt/apt.conf.d/01proxy && apt-get update -qq"))
    must(sh(container, "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                       f"{' '.join(packages)} >/dev/null"))  # fmt: skip


@pytest.fixture(scope="module")
def mariadb_service():
    """The service container, set up as cimg/mariadb's entry point does from its environment."""
    name = f"shipyard-{boxes.SCOPE}-ci-mariadb-{uuid.uuid4().hex[:6]}"
    must(subprocess.run(["docker", "run", "-d", "--name", name, IMAGE, "sleep", "infinity"],
                        capture_output=True, text=True))  # fmt: skip
    try:
        apt(name, "mariadb-server")
        root_pw, db = SERVICE_ENV["MYSQL_ROOT_PASSWORD"], SERVICE_ENV["MYSQL_DATABASE"]
        user, pw = SERVICE_ENV["MYSQL_USER"], SERVICE_ENV["MYSQL_PASSWORD"]
        must(sh(name, f"""set -e
            /etc/init.d/mariadb start >/dev/null
            mariadb -e "CREATE DATABASE {db}; CREATE USER '{user}'@'%' IDENTIFIED BY '{pw}';
              GRANT ALL ON {db}.* TO '{user}'@'%';
              ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket
                OR mysql_native_password USING PASSWORD('{root_pw}');"
        """))  # fmt: skip
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


@pytest.fixture(scope="module")
def job_container(mariadb_service):
    """cimg/python's equivalent on the service's network, this checkout copied in at its path."""
    if PREFIX.is_relative_to("/usr"):
        pytest.skip("the toolkit's interpreter is the system's: the image has its own")
    name = f"shipyard-{boxes.SCOPE}-ci-job-{uuid.uuid4().hex[:6]}"
    must(subprocess.run([
        "docker", "run", "-d", "--name", name, f"--network=container:{mariadb_service}",
        "-v", f"{ROOT / '.venv'}:{ROOT / '.venv'}:ro", "-v", f"{PREFIX}:{PREFIX}:ro",
        IMAGE, "sleep", "infinity",
    ], capture_output=True, text=True))  # fmt: skip
    try:
        apt(name, *EXECUTOR_PACKAGES)
        sudoers = "echo 'circleci ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/circleci"
        must(sh(name, f"useradd --create-home circleci && chmod 755 /root && {sudoers}"))
        # The checkout as it is (committed or not), without its virtualenvs and state.
        files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout  # fmt: skip
        tar = subprocess.run(["tar", "-c", "-C", str(ROOT), "-T", "-"], input=files.encode(),
                             capture_output=True, check=True).stdout  # fmt: skip
        must(sh(name, f"mkdir -p {ROOT} && chown circleci: {ROOT}"))
        subprocess.run(["docker", "exec", "-i", "-u", "circleci", name, "tar", "-x", "-C",
                        str(ROOT)], input=tar, check=True)  # fmt: skip
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def test_the_mariadb_app_tests_job_runs_where_its_executor_lacks_the_headers(job_container):
    lacks = sh(job_container, "command -v pkg-config || echo no pkg-config;"
                              " dpkg -s default-libmysqlclient-dev 2>&1 | head -1")  # fmt: skip
    assert must(lacks).splitlines()[:2] == [
        "no pkg-config",
        "dpkg-query: package 'default-libmysqlclient-dev' is not installed and no information is"
        " available",
    ], lacks.stdout
    env = {
        **JOB_ENV,
        "SHIPYARD_PYTHON": sys._base_executable,  # the interpreter the mounted venv was built with
        "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "CI": "true",
    }
    steps = ["./shipyard --list", *pipeline.job_commands("app-tests", {"engine": "mariadb"})]
    assert "./shipyard app.deps" in steps
    outputs = []
    for step in steps:
        proc = sh(job_container, step, user="circleci", env=env, cwd=str(ROOT))
        assert proc.returncode == 0, (
            f"step `{step}` failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )
        outputs.append(proc.stdout + proc.stderr)
    assert " passed" in outputs[-1] and " failed" not in outputs[-1], outputs[-1][-2000:]
    # The tests ran against the service's MariaDB, through the mysqlclient the job built.
    probe = ("import django; django.setup(); from django.db import connection;"
             " print(connection.vendor, connection.mysql_is_mariadb)")  # fmt: skip
    command = f"cd app && DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python -c '{probe}'"
    vendor = sh(job_container, command, user="circleci", env=env, cwd=str(ROOT))
    assert must(vendor).split() == ["mysql", "True"]
    assert os.path.exists(ROOT / ".venv"), "the toolkit's venv was mounted, never rebuilt"
