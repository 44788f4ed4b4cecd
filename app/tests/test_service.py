"""What the deploy relies on: /healthz, the schema and docs, the settings' refusals and
`check --deploy`. Some run manage.py in a subprocess, with the environment a server would give."""

import os
import re
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

APP = Path(__file__).resolve().parent.parent
PROBE = (
    "import django; django.setup(); from django.test import Client; "
    "r = Client().get('/healthz', HTTP_HOST='localhost'); print(r.status_code, r.content.decode())"
)


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py with the app's own settings and only the environment given (no test defaults)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "TLS_PROXY")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=APP,
        env={**clean, "DJANGO_SETTINGS_MODULE": "notesapi.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db
def test_healthz_reports_the_release_and_the_database(client, settings):
    settings.RELEASE_ID = "20261126-120000-abc1234"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "release": "20261126-120000-abc1234",
        "database": "ok",
        "host": socket.gethostname(),  # which web host answered, behind a load balancer
    }
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_503_when_the_database_is_unreachable():
    """A real unreachable server (nothing listens on port 1), not a mock."""
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://app:pw@127.0.0.1:1/app",
        "RELEASE_ID": "r1",
        "DJANGO_SETTINGS_MODULE": "notesapi.settings",
    }
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=APP, env=env, capture_output=True, text=True
    )
    status, body = proc.stdout.strip().split(" ", 1)
    assert status == "503", proc.stderr[-2000:]
    assert '"release": "r1"' in body and '"database": "unreachable"' in body


@pytest.mark.django_db
def test_schema_builds_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(out))
    text = out.read_text()
    assert "openapi: 3" in text
    assert "/api/notes/{id}/" in text


@pytest.mark.django_db
def test_schema_and_docs_are_served_without_a_cdn(client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "swagger-ui-dist/swagger-ui-bundle.js" in page
    # Nothing from another host: no absolute or protocol-relative URL anywhere in the page (a bare
    # "cdn" would not do: the page's random 64-character CSRF token sometimes contains it).
    assert not re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}/", page), "a URL of another host"
    assert all(
        link.startswith("/static/") for link in re.findall(r'(?:src|href)="([^"]*)"', page)
    ), "a script, style or icon from outside the app's static files"
    # The assets the page names are static files of the app's own: collectstatic gathers them
    # and nginx serves them (Django does not with DEBUG off, so no request here could fetch them).
    for asset in ("swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-dist/swagger-ui.css"):
        assert f"/static/drf_spectacular_sidecar/{asset}" in page, asset
        assert finders.find(f"drf_spectacular_sidecar/{asset}"), f"{asset} is not a static file"


def test_missing_secret_key_with_debug_off_is_an_error_naming_it():
    proc = manage("check")
    assert proc.returncode != 0
    assert "SECRET_KEY is not set" in proc.stderr


def test_a_typo_in_a_boolean_is_an_error_naming_it():
    proc = manage("check", DEBUG="ture", SECRET_KEY="x" * 60)
    assert proc.returncode != 0
    assert "DEBUG='ture' is not a boolean" in proc.stderr


def test_check_deploy_is_clean_behind_tls():
    proc = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=secrets.token_urlsafe(50),
        TLS_PROXY="1",
        ALLOWED_HOSTS="notes.example.com",
    )
    assert proc.returncode == 0, proc.stderr
    assert "System check identified no issues" in proc.stdout


def test_migrations_are_committed():
    proc = manage("makemigrations", "--check", "--dry-run", SECRET_KEY="x" * 60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_collectstatic_gathers_admin_and_docs_assets(tmp_path):
    proc = manage("collectstatic", "--noinput", SECRET_KEY="x" * 60, STATIC_ROOT=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "admin" / "css" / "base.css").exists()
    assert (
        tmp_path / "drf_spectacular_sidecar" / "swagger-ui-dist" / "swagger-ui-bundle.js"
    ).exists()
