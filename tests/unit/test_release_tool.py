"""The release tool's pure parts (roles/django_app/files/shipyard-release) on a temporary root:
the lock, the rollback target, retention. Starting units and probing are the e2e tests' job."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import time

import pytest

from shipyard import ROOT

TOOL = ROOT / "roles" / "django_app" / "files" / "shipyard-release"


def load():
    loader = importlib.machinery.SourceFileLoader("shipyard_release", str(TOOL))
    spec = importlib.util.spec_from_loader("shipyard_release", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


rt = load()


@pytest.fixture
def app(tmp_path):
    config = {"name": "app", "root": str(tmp_path), "ports": [8001, 8002], "keep": 2,
              "lock_timeout": 60, "user": "app"}  # fmt: skip
    (tmp_path / "releases").mkdir()
    return rt.App(config)


def release(app, rid: str, state: str) -> str:
    (app.releases / rid).mkdir()
    app.set_meta(rid, state=state, commit=rid[-7:])
    return rid


def make_live(app, rid: str) -> None:
    (app.root / "current").unlink(missing_ok=True)
    (app.root / "current").symlink_to(f"releases/{rid}")


OWNER = {"who": "ada", "controller": "laptop", "pid": 1, "action": "deploy"}


def test_the_lock_is_taken_once(app):
    first = app.lock(OWNER)
    assert first["locked"]
    second = app.lock({**OWNER, "who": "bob"})
    assert not second["locked"]
    assert second["holder"]["who"] == "ada"


def test_a_lock_older_than_the_timeout_is_taken_over(app, capsys):
    app.lock(OWNER)
    holder = json.loads(app.lock_file.read_text())
    holder["since"] = time.time() - 120
    app.lock_file.write_text(json.dumps(holder))
    assert app.lock({**OWNER, "who": "bob"})["locked"]
    assert "taking over the deploy lock of ada" in capsys.readouterr().out


def test_a_lock_is_taken_over_only_with_its_own_token(app):
    token = app.lock(OWNER)["token"]
    assert not app.lock(OWNER, take_over="not-the-token")["locked"]
    assert app.lock(OWNER, take_over=token)["locked"]


def test_unlock_needs_the_holders_token(app):
    token = app.lock(OWNER)["token"]
    app.unlock("someone-elses")
    assert app.lock_file.exists()
    app.unlock(token)
    assert not app.lock_file.exists()


def test_rollback_goes_to_the_release_live_before(app):
    a = release(app, "20260101T000000Z-aaaaaaa", "good")
    release(app, "20260102T000000Z-bbbbbbb", "good")
    c = release(app, "20260103T000000Z-ccccccc", "good")
    app.set_meta(c, previous=a)  # b was rolled back from before c was deployed
    make_live(app, c)
    assert rt.rollback_target(app, "") == a


def test_a_second_rollback_goes_further_back(app):
    a = release(app, "20260101T000000Z-aaaaaaa", "good")
    b = release(app, "20260102T000000Z-bbbbbbb", "good")
    c = release(app, "20260103T000000Z-ccccccc", "good")
    app.set_meta(b, previous=a)
    app.set_meta(c, previous=b)
    make_live(app, c)
    assert rt.rollback_target(app, "") == b
    make_live(app, b)  # what the switch of that rollback leaves: b keeps its own "previous"
    assert rt.rollback_target(app, "") == a


def test_rollback_skips_failed_releases(app):
    a = release(app, "20260101T000000Z-aaaaaaa", "good")
    release(app, "20260102T000000Z-bbbbbbb", "failed")
    c = release(app, "20260103T000000Z-ccccccc", "good")
    make_live(app, c)
    assert rt.rollback_target(app, "") == a


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ("20990101T000000Z-nothere", "no such release here"),
        ("20260102T000000Z-bbbbbbb", "that release is failed, not good"),
        ("20260103T000000Z-ccccccc", "already live"),
    ],
)
def test_rollback_to_an_unknown_failed_or_live_release_is_refused(app, to, message):
    release(app, "20260101T000000Z-aaaaaaa", "good")
    release(app, "20260102T000000Z-bbbbbbb", "failed")
    make_live(app, release(app, "20260103T000000Z-ccccccc", "good"))
    with pytest.raises(rt.Failure, match=message):
        rt.rollback_target(app, to)


def test_retention_keeps_the_newest_good_and_drops_failed(app):
    ids = [release(app, f"2026010{i}T000000Z-{i}{i}{i}{i}{i}{i}{i}", "good") for i in range(1, 6)]
    failed = release(app, "20260106T000000Z-fffffff", "failed")
    make_live(app, ids[2])  # rolled back to an older one: the live release is always kept
    removed = app.prune()
    assert failed in removed
    assert sorted(app.all_releases()) == sorted([ids[2], ids[3], ids[4]])


def test_env_files_read_as_systemd_reads_them(app, tmp_path):
    env = tmp_path / "x.env"
    env.write_text('# comment\nA="plain"\nB="with \\"quotes\\" and \\\\"\nC=bare\n')
    assert app.read_env(env) == {"A": "plain", "B": 'with "quotes" and \\', "C": "bare"}


def test_django_6_on_python_3_11_is_refused_before_pip(app, monkeypatch):
    rid = release(app, "20260101T000000Z-aaaaaaa", "building")
    (app.releases / rid / "requirements.txt").write_text("Django==6.0.1\n")
    app.c["requirements"] = ["requirements.txt"]
    monkeypatch.setattr(rt.sys, "version_info", (3, 11, 2))
    with pytest.raises(rt.Failure, match=r"Django 6\.x, which needs Python 3\.12"):
        app.check_python(app.releases / rid)


def test_requirements_follow_their_includes(app):
    rid = release(app, "20260101T000000Z-aaaaaaa", "building")
    folder = app.releases / rid
    (folder / "base.txt").write_text("Django==5.2.19\n")
    (folder / "requirements.txt").write_text("-r base.txt\nmysqlclient==2.3.1\n")
    app.c["requirements"] = ["requirements.txt"]
    assert [p.name for p in app.requirement_files(folder)] == ["requirements.txt", "base.txt"]
    app.c.update(gunicorn="gunicorn==23.0.0", python="/usr/bin/python3")
    key = app.venv_key(folder)
    (folder / "base.txt").write_text("Django==5.2.20\n")
    assert app.venv_key(folder) != key, "a change in an included file makes a new virtualenv"


def test_the_live_slot_and_the_nginx_locations(app):
    rid = release(app, "20260101T000000Z-aaaaaaa", "good")
    (app.root / "slots").mkdir()
    os.symlink(f"../releases/{rid}", app.root / "slots" / "8002")
    make_live(app, rid)
    assert app.live_port() == 8002
    app.c.update(static_root="staticfiles", static_url="/static/",
                 shared_dirs=[{"path": "media", "url": "/media/"}])  # fmt: skip
    conf = app.nginx_conf(rid, 8002)
    assert f"alias {app.releases / rid}/staticfiles/;" in conf
    assert f"alias {app.root}/shared/media/;" in conf
    assert "proxy_pass http://127.0.0.1:8002;" in conf
