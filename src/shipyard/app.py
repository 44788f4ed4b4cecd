"""The sample app's own virtualenv (app/.venv), apart from the toolkit's: its pinned
requirements, installed once and again only when a requirements file changes."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from . import ROOT
from .shell import run

APP = ROOT / "app"
VENV = APP / ".venv"
REQUIREMENTS = APP / "requirements-dev.txt"  # run-time pins plus pytest-django
MYSQL_REQUIREMENTS = APP / "requirements-mysql.txt"  # mysqlclient, for DATABASE_URL=mysql://...


def _requirements() -> list[Path]:
    mysql = os.environ.get("DATABASE_URL", "").startswith("mysql")
    return [REQUIREMENTS, MYSQL_REQUIREMENTS] if mysql else [REQUIREMENTS]


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
        run(sys.executable, "-m", "venv", "--clear", str(VENV), echo=True)
        files = [arg for path in _requirements() for arg in ("-r", str(path))]
        run(str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
            *files, echo=True)  # fmt: skip
        _stamp().touch()
    return python
