"""The sample app's own virtualenv (app/.venv), apart from the toolkit's: its pinned
requirements, installed once and again only when a requirements file changes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
from pathlib import Path

from . import ROOT, host
from .shell import git, ok, run

APP = ROOT / "app"
VENV = APP / ".venv"
REQUIREMENTS = APP / "requirements-dev.txt"  # run-time pins plus pytest-django
MYSQL_REQUIREMENTS = APP / "requirements-mysql.txt"  # mysqlclient, for DATABASE_URL=mysql://...
# mysqlclient builds from source: pkg-config finds the client library's headers (and a compiler,
# which Python images have). CircleCI's cimg/python lacks both packages.
MYSQL_BUILD_PACKAGES = ("pkg-config", "default-libmysqlclient-dev")


def _mysql() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith("mysql")


def build_packages() -> list[str]:
    """The system packages the requirements in use build from."""
    return list(MYSQL_BUILD_PACKAGES) if _mysql() else []


def ensure_build_packages() -> None:
    """Install them unless there (as root, or with sudo: `inv app.deps`, and before pip)."""
    needed = build_packages()
    if needed and not ok("pkg-config", "--exists", "mysqlclient"):
        host.apt_install(*needed)


def _requirements() -> list[Path]:
    return [REQUIREMENTS, MYSQL_REQUIREMENTS] if _mysql() else [REQUIREMENTS]


def _stamp() -> Path:
    digest = hashlib.sha256()
    for path in _requirements():
        digest.update(path.name.encode() + path.read_bytes())
    return VENV / f".shipyard-{digest.hexdigest()[:16]}"


def ensure_venv() -> Path:
    """The app's Python, with its requirements installed; (re)built when they changed."""
    python = VENV / "bin" / "python"
    if not _stamp().exists():
        print(f"shipyard: installing the sample app's pinned packages into {VENV} (once)")
        ensure_build_packages()
        run(sys.executable, "-m", "venv", "--clear", str(VENV), echo=True)
        files = [arg for path in _requirements() for arg in ("-r", str(path))]
        run(str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
            *files, echo=True)  # fmt: skip
        _stamp().touch()
    return python


def sample_project(dest: Path) -> Path:
    """A copy of the sample app in a git repository of its own (one commit), as a team's project
    would be: the deploy tests and `inv bench --deploy` commit changes to it and deploy it."""
    shutil.copytree(
        APP, dest,
        ignore=shutil.ignore_patterns(".venv", "__pycache__", "*.sqlite3", "staticfiles", "media",
                                      ".pytest_cache"),
    )  # fmt: skip
    git(dest, "init", "-q")
    commit(dest, "The sample app", {})
    return dest


def commit(repo: Path, message: str, files: dict[str, str | None]) -> str:
    """Write (or delete, for None) files in the repository and commit them; return the commit."""
    for rel, text in files.items():
        path = repo / rel
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


def serve(port: int) -> None:
    """`inv app.serve`: migrate the local sqlite database, then Django's development server."""
    python = str(ensure_venv())
    env = {**os.environ, "DEBUG": "1"}
    run(python, "manage.py", "migrate", "--noinput", echo=True, capture=False, cwd=APP, env=env)
    print(
        f"\nThe sample app: http://127.0.0.1:{port}/api/ (docs: /api/docs/, admin: /admin/)\n"
        'A user for it, in another terminal (README, "The sample app"):\n'
        "  cd app && DEBUG=1 DJANGO_SUPERUSER_PASSWORD=change-me-please .venv/bin/python "
        "manage.py createsuperuser --noinput --username ada --email ada@example.com\n",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops the server
        run(python, "manage.py", "runserver", f"127.0.0.1:{port}", capture=False, cwd=APP,
            env=env)  # fmt: skip
