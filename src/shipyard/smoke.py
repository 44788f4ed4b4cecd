"""The smoke test after a deploy (`inv smoke -e ENV --commit SHA`): the live site's health, the
release id against the commit, and one authenticated API round trip."""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from pathlib import Path

from . import ROOT, ansible
from .shell import ShipyardError, git

SMOKE_USER, SMOKE_PASSWORD = "SHIPYARD_SMOKE_USER", "SHIPYARD_SMOKE_PASSWORD"


def site_url(hostvars: Mapping[str, object]) -> str:
    """The HTTPS address the deploy's summary line prints, from the first web host's variables."""
    names = hostvars.get("django_app_hosts") or ["localhost"]
    port = int(hostvars.get("nginx_https_port", 443) or 443)
    return f"https://{names[0]}{'' if port == 443 else f':{port}'}"


def release_matches(release: str, commit: str) -> bool:
    """A release id ends with the short commit it was built from (`<time>-<commit>[-dirty]`)."""
    short = release.split("-")[1] if release.count("-") >= 1 else ""
    return len(short) >= 7 and commit.startswith(short) and not release.endswith("-dirty")


def same_code(source: Path, release: str, commit: str) -> bool:
    """Whether the release's commit and `commit` hold the same tree in the app's folder: a deploy
    of a commit that changed nothing there keeps the live release (and its id) as it is."""
    parts = release.split("-")
    if len(parts) != 2:  # a -dirty release is never the commit's code
        return False

    def tree(rev: str) -> str:
        return git(source, "rev-parse", f"{rev}:./", check=False)

    live = tree(parts[1])
    return bool(live) and live == tree(commit)


class Site:
    """HTTPS requests to the live site. The self-signed default certificate cannot be verified;
    a certificate the user supplies (nginx_tls_certificate_file) is."""

    def __init__(self, url: str, verify: bool):
        self.url = url.rstrip("/")
        self.context = ssl.create_default_context()
        if not verify:
            self.context.check_hostname = False
            self.context.verify_mode = ssl.CERT_NONE

    def request(self, method: str, path: str, body=None, token: str = "") -> tuple[int, object]:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Token {token}"
        req = urllib.request.Request(self.url + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(req, context=self.context, timeout=20) as resp:
                raw, status = resp.read(), resp.status
        except urllib.error.HTTPError as err:
            raw, status = err.read(), err.code
        except (urllib.error.URLError, OSError) as err:
            raise ShipyardError(f"{method} {self.url}{path}: {err}") from err
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")[:200]


def check(env: str, commit: str, environ: Mapping[str, str] = os.environ) -> list[str]:
    """Health, the release id against `commit`, and one authenticated API round trip (create,
    read, delete) when the inventory names an API (shipyard_smoke_api). Returns what passed."""
    data = ansible.inventory(env, environ)
    web = data.get("web", {}).get("hosts", [])
    if not web:
        raise ShipyardError("the environment has no host in the web group: nothing to test")
    hv = data["_meta"]["hostvars"][web[0]]
    site = Site(str(environ.get("SHIPYARD_SMOKE_URL") or site_url(hv)),
                verify=bool(hv.get("nginx_tls_certificate_file")))  # fmt: skip
    passed: list[str] = []
    health = str(hv.get("django_app_health_path", "/healthz"))
    status, body = site.request("GET", health)
    if status != 200 or not isinstance(body, dict):
        raise ShipyardError(f"smoke: GET {site.url}{health} answered {status}: {body}")
    passed.append(f"GET {health}: 200")
    release = str(body.get("release", ""))
    source = ROOT / str(hv.get("django_app_source", "app"))
    if release_matches(release, commit):
        passed.append(f"release {release} is commit {commit[:12]}")
    elif same_code(source, release, commit):
        passed.append(
            f"release {release} runs commit {commit[:12]}'s code (the app's folder is the same"
            " in both commits: the deploy restarted nothing)"
        )
    else:
        raise ShipyardError(f"smoke: the live release is {release!r}, not commit {commit[:12]}")
    api = hv.get("shipyard_smoke_api")
    if not api:
        passed.append("no API round trip: shipyard_smoke_api is not set for this environment")
        return passed
    user, password = environ.get(SMOKE_USER), environ.get(SMOKE_PASSWORD)
    if not user or not password:
        raise ShipyardError(
            f"smoke: set {SMOKE_USER} and {SMOKE_PASSWORD} (an account of the app kept for the"
            " smoke test; CircleCI: the shipyard-deploy context)"
        )
    token_path = str(hv.get("shipyard_smoke_token_path", "/api/auth/token/"))
    status, body = site.request("POST", token_path, {"username": user, "password": password})
    if status != 200 or not isinstance(body, dict) or "token" not in body:
        raise ShipyardError(f"smoke: POST {token_path} as {user} answered {status}")
    token = body["token"]
    title = f"shipyard smoke {uuid.uuid4().hex[:8]}"
    status, note = site.request("POST", api, {"title": title, "body": commit}, token)
    if status != 201 or not isinstance(note, dict) or "id" not in note:
        raise ShipyardError(f"smoke: POST {api} answered {status}: {note}")
    item = f"{api.rstrip('/')}/{note['id']}/"
    status, got = site.request("GET", item, token=token)
    if status != 200 or not isinstance(got, dict) or got.get("title") != title:
        raise ShipyardError(f"smoke: GET {item} answered {status}: {got}")
    status, _ = site.request("DELETE", item, token=token)
    if status != 204:
        raise ShipyardError(f"smoke: DELETE {item} answered {status}")
    passed.append(f"API round trip as {user}: POST, GET, DELETE {api}")
    return passed
