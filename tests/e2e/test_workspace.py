"""The developer's ways into a box, tried as a developer would on each engine's box (`inv up
--db ENGINE`): `inv ssh` by name, the SSH config an IDE reads (OpenSSH and paramiko/Fabric both
open the box by its name alone), and the admin's own database through the socket."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import DEVELOPER_UID, INV, inv
from test_deploy import ENGINES

from shipyard import ROOT, host

# What the admin's shell answers, per engine: its own database through the socket, no password.
SELECT_ONE = {"postgresql": "psql -tAc 'select 1'", "mysql": "mysql -N -e 'select 1'"}
URL = {"postgresql": "postgres:///admin", "mysql": "mysql://admin@localhost/admin"}


@pytest.fixture(scope="module", params=ENGINES)  # each on the worker that has its box (conftest)
def dev_box(request, app_box):
    return request.param, app_box(request.param)


def test_inv_up_names_the_three_ways_in(dev_box, app_box):
    engine, box = dev_box
    out = app_box.up_run(engine).stdout
    assert f"./shipyard ssh --name {box.name}" in out or "./shipyard ssh\n" in out
    assert f"the host shipyard-{box.name}, after `./shipyard ssh-config --install`" in out
    assert f"the app:     {box.url()}api/" in out


def test_inv_ssh_runs_a_command_as_admin_on_its_own_database(dev_box):
    engine, box = dev_box
    out = inv("ssh", "--name", box.name, "--", SELECT_ONE[engine] + "; echo $DATABASE_URL; id -un")
    assert out.stdout.split() == ["1", URL[engine], "admin"], out.stderr
    # The command's own exit code comes back (ssh's own failure would be 255).
    assert inv("ssh", "--name", box.name, "--", "exit 3", check=False).returncode == 3


def test_inv_ssh_to_a_box_that_does_not_exist_is_refused_by_name(dev_box):
    _, box = dev_box
    proc = inv("ssh", "--name", "nosuchbox", "--", "true", check=False)
    assert proc.returncode != 0
    assert "--name nosuchbox: no such sandbox box; there are: " in proc.stderr + proc.stdout
    assert box.name in proc.stderr + proc.stdout


def test_the_installed_ssh_config_opens_the_box_by_name(dev_box, tmp_path):
    _, box = dev_box
    # A HOME of the test's own: the developer's ~/.ssh is never touched. OpenSSH reads the user's
    # config from the password database's home, not $HOME, so ssh is pointed at it with -F.
    (tmp_path / ".ssh").mkdir(mode=0o700)
    (tmp_path / ".ssh" / "config").write_text("Host elsewhere\n    Port 2200\n")
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(host.CACHE.parent)}
    proc = subprocess.run([INV, "ssh-config", "--install"], cwd=ROOT, env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    config = tmp_path / ".ssh" / "config"
    assert config.read_text().endswith("Host elsewhere\n    Port 2200\n"), "the user's own entry"
    alias = f"shipyard-{box.name}"
    ssh = subprocess.run(["ssh", "-F", str(config), "-o", "BatchMode=yes", alias, "id -un"],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert (ssh.returncode, ssh.stdout.strip()) == (0, "admin"), ssh.stderr

    # paramiko (Fabric, and IDEs with SSH clients of their own) reads the installed file's block.
    from fabric import Config, Connection

    installed = next((tmp_path / ".ssh" / "shipyard").glob("*-sandbox.conf"))
    with Connection(alias, config=Config(runtime_ssh_path=str(installed))) as conn:
        assert (conn.host, conn.port) == ("127.0.0.1", box.ssh_port)
        assert conn.run("id -un", hide=True, in_stream=False).stdout.strip() == "admin"


VENDOR = "from django.db import connection; print(connection.vendor)"
VENV = "~/.venvs/notes/bin"


@pytest.fixture(scope="module")
def project_venv(dev_box):
    """The shared project's virtualenv in the box, made as a developer makes it (in the box, over
    `inv ssh`): pip trusts the box's CAs through /etc/pip.conf, so no option is given here."""
    engine, box = dev_box
    requirements = "-r requirements-dev.txt" + (" -r requirements-mysql.txt" * (engine == "mysql"))
    script = f"""set -e
cd {shlex.quote(box.share_mount)}
python3 -m venv ~/.venvs/notes
{VENV}/pip install -q {requirements}
"""
    inv("ssh", "--name", box.name, "--", script)
    return VENV


def test_the_shared_project_runs_its_tests_on_the_boxs_own_database(dev_box, project_venv):
    # The sample app's tests are pytest-django's (Django's own runner would find none); both make
    # and drop test_<NAME> the same way.
    engine, box = dev_box
    script = f"""set -e
cd {shlex.quote(box.share_mount)}
DEBUG=1 {project_venv}/python manage.py shell -c "{VENDOR}"
{project_venv}/python -m pytest -q -p no:cacheprovider 2>&1 | tail -1
"""
    out = inv("ssh", "--name", box.name, "--", script).stdout.splitlines()
    assert out[-2] == engine, "the box's database through DATABASE_URL, not sqlite"
    assert " passed" in out[-1] and "failed" not in out[-1] and "error" not in out[-1], out[-1]


def health_on(port: int, tries: int = 30) -> dict | None:
    """/healthz on this machine's `port`, once it answers (None if it never does)."""
    for _ in range(tries):
        try:
            with urllib.request.urlopen(f"http://localhost:{port}/healthz", timeout=5) as r:
                return json.load(r)
        except OSError:
            time.sleep(1)
    return None


def test_runserver_in_the_box_answers_on_the_printed_port(dev_box, app_box, project_venv):
    engine, box = dev_box
    assert f"answers at http://localhost:{box.dev_port}/" in app_box.up_run(engine).stdout
    # The subshell's output goes to the log too: ssh returns once no process holds the session.
    server = f"DEBUG=1 exec setsid {project_venv}/python manage.py runserver 0.0.0.0:8000"
    start = f"(cd {shlex.quote(box.share_mount)} && {server}) </dev/null >/tmp/runserver.log 2>&1 &"
    inv("ssh", "--name", box.name, "--", start)
    try:
        health = health_on(box.dev_port)
        assert health is not None, "runserver never answered on the published port"
        assert (health["status"], health["database"], health["host"]) == ("ok", "ok", box.name)
    finally:
        # [.]: the pattern does not match the shell that runs pkill.
        inv("ssh", "--name", box.name, "--", "pkill -f 'manage[.]py runserver' || true")


def test_files_keep_their_owner_on_both_sides_of_the_shared_folder(dev_box):
    _, box = dev_box
    folder = Path(box.share)
    from_host = folder / "from-host.txt"
    from_host.write_text("written here\n")
    os.chown(from_host, DEVELOPER_UID, DEVELOPER_UID)  # as the developer, the folder's owner
    mount = shlex.quote(box.share_mount)
    edit = f"echo edited in the box >> {mount}/from-host.txt"
    inv("ssh", "--name", box.name, "--", f"{edit} && echo made in the box > {mount}/from-box.txt")
    assert from_host.read_text() == "written here\nedited in the box\n"
    assert (folder / "from-box.txt").stat().st_uid == DEVELOPER_UID
    assert inv("ssh", "--name", box.name, "--", "id -u").stdout.strip() == str(DEVELOPER_UID)
