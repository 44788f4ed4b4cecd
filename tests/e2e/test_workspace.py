"""The developer's ways into a box, tried as a developer would on each engine's box (`inv up
--db ENGINE`): `inv ssh` by name, the SSH config an IDE reads (OpenSSH and paramiko/Fabric both
open the box by its name alone), and the admin's own database through the socket."""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import INV, inv
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
        assert conn.run("id -un", hide=True).stdout.strip() == "admin"
