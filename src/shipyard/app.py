"""The sample app's own virtualenv (app/.venv), apart from the toolkit's: its pinned
requirements, installed once and again only when a requirements file changes."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from . import ROOT, host
from .shell import ok, run

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
