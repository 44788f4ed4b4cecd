"""Box names and a fleet's shape: checked before Docker is installed or started, and the
inventory a fleet's boxes get (pure logic)."""

import os
import subprocess

import pytest

from shipyard import boxes, host
from shipyard.shell import ShipyardError


@pytest.mark.parametrize("name", ["web 1", "Web1", "-web", "web_1", "a" * 42, "box;id", ""])
def test_bad_box_names_are_refused_by_name(name):
    with pytest.raises(ShipyardError, match=r"--name .* is not a usable box name"):
        boxes.check_name(name)


@pytest.mark.parametrize("name", ["debian12", "e2e-main", "web1", "a" * 41])
def test_good_box_names_pass(name):
    boxes.check_name(name)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Bad Name"}, "--name 'Bad Name': give a box name"),
        ({"os": "ubuntu"}, "--os 'ubuntu': give an operating system: debian12, debian13"),
        ({"db": "oracle"}, "--db 'oracle': give a database engine: postgresql, mysql"),
        ({"web": "10"}, "--web '10': give a number of web boxes from 1 to 9"),
        ({"web": "2", "name": "mine"}, "--name names a lone box"),
    ],
)
def test_inv_up_checks_its_arguments_before_touching_docker(monkeypatch, kwargs, message):
    from invoke import Context, Exit

    import tasks

    def touched(*_a, **_k):
        raise AssertionError(
            "Docker or the apt cache was touched before the arguments were checked"
        )

    monkeypatch.setattr(host, "ensure_docker", touched)
    monkeypatch.setattr(host, "ensure_apt_cache", touched)
    with pytest.raises(Exit, match=message):
        tasks.up(Context(), **kwargs)


def test_a_fleet_is_a_db_box_web_boxes_a_load_balancer_and_a_backup_box():
    from shipyard import environments

    assert environments.fleet_names(2) == {
        "db1": "db", "web1": "web", "web2": "web", "lb1": "lb", "backup1": "backup",
    }  # fmt: skip


def test_only_the_load_balancer_of_a_fleet_publishes_the_web_ports():
    web_ports = ["--publish", "127.0.0.1::80", "--publish", "127.0.0.1::443"]
    dev_port = ["--publish", f"127.0.0.1::{boxes.DEV_PORT}"]
    assert boxes.fleet_flags("") == web_ports + dev_port, (
        "a lone box serves the app (and runserver)"
    )
    lb, web, db = (boxes.fleet_flags(g) for g in ("lb", "web", "db"))
    assert lb[-4:] == web_ports and "--network" in lb
    assert "127.0.0.1::80" not in web + db and "127.0.0.1::443" not in web + db
    assert f"127.0.0.1::{boxes.DEV_PORT}" not in lb + web + db, "no development server in a fleet"
    assert f"{boxes.FLEET_VOLUME}:{boxes.FLEET_MOUNT}" in web, "the web boxes share the uploads"
    assert "--volume" not in db


def test_a_fleets_inventory_puts_each_box_in_its_group_with_its_private_address(monkeypatch):
    monkeypatch.setattr(boxes, "settings", dict)
    fleet = [
        boxes.Box("db1", "debian12", 2201, None, None, "db", "172.20.0.2"),
        boxes.Box("web1", "debian12", 2202, None, None, "web", "172.20.0.3"),
        boxes.Box("web2", "debian12", 2203, None, None, "web", "172.20.0.4"),
        boxes.Box("lb1", "debian12", 2204, 8080, 8443, "lb", "172.20.0.5"),
        boxes.Box("backup1", "debian12", 2205, None, None, "backup", "172.20.0.6"),
    ]
    groups = boxes.inventory_groups(fleet, "172.20.0.1")
    assert {g: list(groups[g]["hosts"]) for g in ("db", "web", "lb", "backup")} == {
        "db": ["db1"], "web": ["web1", "web2"], "lb": ["lb1"], "backup": ["backup1"],
    }  # fmt: skip
    web1 = groups["web"]["hosts"]["web1"]
    assert web1["private_address"] == "172.20.0.3" and web1["ansible_port"] == 2202
    assert web1["base_ssh_trusted_addresses"] == ["172.20.0.1"]
    assert "nginx_https_port" not in web1
    assert groups["lb"]["hosts"]["lb1"]["nginx_https_port"] == 8443
    assert groups["web"]["vars"] == {"django_app_shared_mount": boxes.FLEET_MOUNT}


def test_a_lone_box_is_web_db_and_backup_host(monkeypatch):
    monkeypatch.setattr(boxes, "settings", dict)
    groups = boxes.inventory_groups([boxes.Box("debian12", "debian12", 2201, 8080, 8443)])
    assert set(groups) == {"web", "db", "backup"} and "private_address" not in str(groups)
    # Its firewall lets the app and a development server in (a fleet's boxes: the shared layer's).
    ports = groups["web"]["hosts"]["debian12"]["base_firewall_allowed_tcp_ports"]
    assert ports == [80, 443, boxes.DEV_PORT]


def test_a_shared_folder_is_mounted_in_the_admins_home_with_its_owners_uid(tmp_path):
    folder = tmp_path / "my project"
    folder.mkdir()
    os.chown(folder, 1234, 1234)
    flags, uid = boxes.share_flags(str(folder))
    assert flags == ["--volume", f"{folder}:/home/admin/my project",
                     "--label", f"shipyard.share={folder}"]  # fmt: skip
    assert uid == 1234
    os.chown(folder, 0, 0)
    assert boxes.share_flags(str(folder))[1] is None, "never uid 0 for the admin"
    assert boxes.share_flags("") == ([], None)
    script = boxes.bootstrap(1234)
    assert "useradd --create-home --shell /bin/bash --uid 1234 admin" in script
    assert f"exit {boxes.UID_TAKEN}" in script and "--uid" not in boxes.bootstrap()


def test_the_admin_gets_the_uid_in_a_real_shell_or_a_taken_uid_is_refused(tmp_path):
    # The bootstrap script run by sh against a stand-in passwd: useradd and friends recorded.
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    log = tmp_path / "log"
    for tool, body in {
        "id": "exit 1",  # no admin yet
        "getent": 'grep -q "^x:$2$" "$PASSWD" && echo "daemon:x:$2" || exit 2',
        "useradd": f'echo "useradd $*" >> {log}',
        "install": "true", "chown": "true", "cat": "true", "chmod": "true",
    }.items():  # fmt: skip
        (bin_ / tool).write_text(f"#!/bin/sh\n{body}\n")
        (bin_ / tool).chmod(0o755)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    script = (
        boxes.bootstrap(1234)
        .replace("/etc/sudoers.d/90-cloud-init-users", "/dev/null")
        .replace("/home/admin", str(home))
    )
    env = {"PATH": f"{bin_}:/usr/bin:/bin", "PASSWD": str(tmp_path / "passwd")}
    (tmp_path / "passwd").write_text("x:1\n")
    done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "--uid 1234 admin" in log.read_text()
    (tmp_path / "passwd").write_text("x:1234\n")
    taken = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True)
    assert taken.returncode == boxes.UID_TAKEN and "uid 1234 is the box's account" in taken.stderr


@pytest.mark.parametrize(
    ("kwargs", "called"),
    [({}, "up"), ({"web": "2"}, "up_fleet")],
    ids=["lone box by default", "a fleet with --web"],
)
def test_inv_up_with_its_defaults_passes_its_checks(monkeypatch, kwargs, called):
    """Typed as a user types it, the defaults pass the argument kinds too (a default --web 0 once
    did not: plain `./shipyard up` stopped at once)."""
    import invoke

    import tasks
    from shipyard import environments

    reached = []
    monkeypatch.setattr(environments, "up", lambda *a, **k: reached.append("up"))
    monkeypatch.setattr(environments, "up_fleet", lambda *a, **k: reached.append("up_fleet"))
    argv = ["inv", "up", *(f"--{k}={v}" for k, v in kwargs.items())]
    invoke.Program(namespace=tasks.ns, version="test").run(argv, exit=False)
    assert reached == [called]


def test_a_share_that_is_not_a_folder_is_refused_before_anything_starts(
    monkeypatch, capsys, tmp_path
):
    import invoke

    import tasks
    from shipyard import environments

    reached = []
    monkeypatch.setattr(environments, "up", lambda *a, **k: reached.append(a))
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder\n")
    for share in (str(tmp_path / "nothere"), str(a_file)):
        with pytest.raises(SystemExit) as ended:
            invoke.Program(namespace=tasks.ns, version="test").run(
                ["inv", "up", "--share", share], exit=True
            )
        assert ended.value.code == 2
        refusal = capsys.readouterr().err
        assert f"--share {share!r}: give an existing folder: there is no folder" in refusal
    assert reached == [], "nothing started"
    with pytest.raises(ShipyardError, match="--share is for a developer's lone box"):
        environments.up_fleet("debian12", 2, share=str(tmp_path))
