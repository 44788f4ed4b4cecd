"""The controller's side of shipping (roles/django_app/files/ship.py) on a throwaway git repo."""

from __future__ import annotations

import importlib.util
import subprocess
import tarfile
from types import SimpleNamespace

import pytest

from shipyard import ROOT

spec = importlib.util.spec_from_file_location("ship", ROOT / "roles/django_app/files/ship.py")
ship = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ship)


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    project = tmp_path / "repo" / "site"
    (project / "mysite").mkdir(parents=True)
    (project / "mysite" / "__init__.py").write_text("")
    (project / "mysite" / "settings.py").write_text("SECRET_KEY = 'x'\n")
    (project / "mysite" / "wsgi.py").write_text("application = None\n")
    (project / "requirements.txt").write_text("Django==5.2.19\n")
    (tmp_path / "repo" / "README").write_text("outside the app's folder\n")
    git(tmp_path / "repo", "init", "-q")
    git(tmp_path / "repo", "add", "-A")
    git(tmp_path / "repo", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    return project


def args(project, **kw):
    base = dict(source=str(project), ref="HEAD", allow_dirty=False,
                requirements=["requirements.txt"], settings_module="mysite.settings",
                wsgi_app="mysite.wsgi:application")  # fmt: skip
    return SimpleNamespace(**{**base, **kw})


def test_ships_only_the_app_folder_at_the_commit(repo):
    out = ship.ship(args(repo))
    assert out["release"].endswith("-" + out["commit"][:7])
    with tarfile.open(out["archive"]) as tar:
        names = tar.getnames()
    assert "mysite/settings.py" in names
    assert not any("README" in n for n in names)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ref": "no-such-branch"}, "--ref no-such-branch: no such commit"),
        ({"settings_module": "mysite.setings"}, "django_app_settings_module=mysite.setings"),
        ({"wsgi_app": "site.wsgi:application"}, "django_app_wsgi_app=site.wsgi:application"),
        ({"requirements": ["requirements/prod.txt"]}, "django_app_requirements: requirements/prod"),
    ],
)
def test_what_cannot_be_deployed_is_refused_by_name(repo, change, message):
    with pytest.raises(ship.Refused, match=message):
        ship.ship(args(repo, **change))


def test_a_folder_outside_git_is_refused(tmp_path):
    with pytest.raises(ship.Refused, match="is not in a git checkout"):
        ship.ship(args(tmp_path))


def test_a_dirty_tree_is_refused_unless_asked_for(repo):
    (repo / "mysite" / "settings.py").write_text("SECRET_KEY = 'changed'\n")
    with pytest.raises(ship.Refused, match=r"uncommitted changes .*--allow-dirty") as refused:
        ship.ship(args(repo))
    assert "(site/mysite/settings.py)" in str(refused.value)  # whole (it lost its first letter)
    out = ship.ship(args(repo, allow_dirty=True))
    assert out["dirty"] and out["release"].endswith("-dirty")
    with tarfile.open(out["archive"]) as tar:
        assert b"changed" in tar.extractfile("mysite/settings.py").read()


def test_changes_outside_the_app_folder_do_not_count(repo):
    (repo.parent / "README").write_text("edited\n")
    assert not ship.ship(args(repo))["dirty"]


def test_an_old_archive_another_deploy_removed_meanwhile_is_no_error(tmp_path, monkeypatch):
    """Two deploys at once clean the same folder: one lists an old archive, the other removes it
    before the first reads its age. The e2e tier's parallel deploys failed on that."""
    monkeypatch.setattr(ship.tempfile, "gettempdir", lambda: str(tmp_path))
    folder = ship.archive_dir()
    gone, old = folder / "20000101T000000Z-gone.tar.gz", folder / "20000101T000000Z-old.tar.gz"
    gone.write_text("")
    old.write_text("")
    for path in (gone, old):
        subprocess.run(["touch", "-d", "2000-01-01", str(path)], check=True)
    listed = sorted(folder.glob("*.tar.gz"))  # what the other deploy saw, before removing one
    monkeypatch.setattr(type(folder), "glob", lambda self, pattern: iter(listed))
    gone.unlink()
    assert ship.archive_dir() == folder
    assert not old.exists(), "the other old archive is still removed"
