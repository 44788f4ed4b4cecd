"""What a deploy job needs before it touches a host, and the smoke test after it.

`inv preflight -e ENV` answers, before any change: is the vault password there (from the
environment, never echoed), is there an SSH key to log in with, are the hosts' keys pinned in
inventory/ENV/known_hosts and does the inventory check them strictly, and does every host answer
with the pinned key. Each missing piece is named with what to set. `inv smoke -e ENV --commit SHA`
then checks the live site: health, the release id against the commit, and one authenticated API
round trip.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from pathlib import Path

import yaml

from . import ROOT, STATE, boxes, playbooks
from .deploy import DEPLOY_KEY, WebHost, ssh_for
from .shell import ShipyardError

BIN = Path(sys.executable).parent  # the toolkit's ansible-* commands
VAULT_PASSWORD = "SHIPYARD_VAULT_PASSWORD"
SSH_KEY = DEPLOY_KEY
SMOKE_USER, SMOKE_PASSWORD = "SHIPYARD_SMOKE_USER", "SHIPYARD_SMOKE_PASSWORD"
# Ansible reads the vault password from this script, which prints the variable: the password is in
# no file, no command line and no log.
VAULT_PASSWORD_SCRIPT = ROOT / "src" / "shipyard" / "vault-password-from-env"


def ansible_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Extra environment for ansible-* commands: the vault password script, given a password."""
    return (
        {"ANSIBLE_VAULT_PASSWORD_FILE": str(VAULT_PASSWORD_SCRIPT)}
        if environ.get(VAULT_PASSWORD)
        else {}
    )


def known_hosts_file(env: str) -> Path:
    return playbooks.INVENTORIES / env / "known_hosts"


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _inventory(env: str, environ: Mapping[str, str]) -> dict:
    argv = [str(BIN / "ansible-inventory"), "--list", "-i", str(playbooks.SHARED)]
    for source in playbooks.inventory(env):
        argv += ["-i", str(source)]
    proc = subprocess.run(
        argv, capture_output=True, text=True, cwd=ROOT, env={**environ, **ansible_env(environ)}
    )
    if proc.returncode != 0:
        raise ShipyardError(f"ansible-inventory failed:\n{proc.stderr.strip()[-1500:]}")
    return json.loads(proc.stdout)


def _has_vault(env: str) -> bool:
    return any(
        p.read_text().startswith("$ANSIBLE_VAULT")
        for p in (playbooks.INVENTORIES / env).rglob("*.yml")
    )


def _ssh_key_problem(environ: Mapping[str, str]) -> str | None:
    key = environ.get(SSH_KEY)
    if key:
        return None if Path(key).expanduser().is_file() else f"{SSH_KEY}={key}: no such file"
    if environ.get("SSH_AUTH_SOCK"):
        agent = subprocess.run(["ssh-add", "-l"], capture_output=True, env=dict(environ))
        if agent.returncode == 0:
            return None
    ssh_dir = Path(environ.get("HOME", "~")).expanduser() / ".ssh"
    if any(not k.name.endswith(".pub") for k in ssh_dir.glob("id_*")):
        return None
    return (
        f"no SSH key to log in with: set {SSH_KEY} to the deploy key's file, or load it into"
        " ssh-agent (CircleCI: add the key in Project Settings > SSH Keys and its fingerprint"
        " to add_ssh_keys)"
    )


def strict_pinning_problem(env: str, hostvars: Mapping[str, object]) -> str | None:
    """The host's ssh arguments must check host keys strictly against the pinned file."""
    args = set(shlex.split(str(hostvars.get("ansible_ssh_common_args", ""))))
    pinned = known_hosts_file(env)
    files = {f"UserKnownHostsFile={_shown(pinned)}", f"UserKnownHostsFile={pinned}"}
    if "StrictHostKeyChecking=yes" in args and args & files:
        return None
    return (
        f"{_shown(pinned.parent)}/group_vars/all/main.yml: set ansible_ssh_common_args to"
        f" '-o StrictHostKeyChecking=yes -o UserKnownHostsFile={_shown(pinned)}' so that Ansible"
        " and the remote commands check the pinned host keys"
    )


def _known_host(name: str, hostvars: Mapping[str, object], pinned: Path) -> str | None:
    target = str(hostvars.get("ansible_host", name))
    port = int(hostvars.get("ansible_port", 22) or 22)
    entry = target if port == 22 else f"[{target}]:{port}"
    found = subprocess.run(["ssh-keygen", "-F", entry, "-f", str(pinned)], capture_output=True)
    if found.returncode == 0:
        return None
    return (
        f"{name}: no key for {entry} in {_shown(pinned)}: add the server's host key"
        f" line, read on the server itself (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`"
        " to compare fingerprints), never from ssh-keyscan at deploy time"
    )


def preflight(env: str, environ: Mapping[str, str] = os.environ) -> list[str]:
    """Check everything a deploy job needs; raise naming every missing piece; return the hosts."""
    if env in ("", "local"):
        raise ShipyardError("preflight checks a real environment: give -e staging or -e production")
    playbooks.inventory(env)  # an environment that exists and lists hosts, or the fix
    problems: list[str] = []
    if _has_vault(env) and not environ.get(VAULT_PASSWORD):
        problems.append(
            f"{VAULT_PASSWORD} is not set: inventory/{env} has vault-encrypted files; put the"
            " vault password in that variable (CircleCI: the shipyard-deploy context)"
        )
    if (key := _ssh_key_problem(environ)) is not None:
        problems.append(key)
    pinned = known_hosts_file(env)
    if not pinned.is_file():
        problems.append(
            f"{_shown(pinned)} is missing: pin each server's host key there"
            " (one known_hosts line per host), so that no deploy trusts a key on first sight"
        )
    if problems:  # no point asking the inventory (it may need the vault password) or the hosts
        raise ShipyardError("the deploy cannot start:\n  - " + "\n  - ".join(problems))
    data = _inventory(env, environ)
    hostvars = data.get("_meta", {}).get("hostvars", {})
    for name in sorted(hostvars):
        for problem in (strict_pinning_problem(env, hostvars[name]),
                        _known_host(name, hostvars[name], pinned)):  # fmt: skip
            if problem and problem not in problems:
                problems.append(problem)
    if problems:
        raise ShipyardError("the deploy cannot start:\n  - " + "\n  - ".join(problems))
    for name in sorted(hostvars):  # every host answers, with the pinned key, before any change
        argv = ssh_for(name, hostvars[name], environ.get(SSH_KEY, ""))
        proc = subprocess.run([*argv, "true"], capture_output=True, text=True, cwd=ROOT,
                              env=dict(environ), timeout=60)  # fmt: skip
        if proc.returncode != 0:
            err = proc.stderr.strip()
            if "Host key verification failed" in err or "IDENTIFICATION HAS CHANGED" in err:
                problems.append(
                    f"{name}: its host key does not match {_shown(pinned)}: if the"
                    " server was rebuilt, replace its line with the new key read on the server;"
                    " otherwise stop, someone may be in the middle"
                )
            else:
                last = err.splitlines()[-1] if err else f"exit {proc.returncode}"
                problems.append(f"{name}: ssh failed: {last}")
    if problems:
        raise ShipyardError("the deploy cannot start:\n  - " + "\n  - ".join(problems))
    return sorted(hostvars)


# ---- the smoke test ---------------------------------------------------------------------------


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
        proc = subprocess.run(["git", "-C", str(source), "rev-parse", f"{rev}:./"],
                              capture_output=True, text=True)  # fmt: skip
        return proc.stdout.strip() if proc.returncode == 0 else ""

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


def smoke(env: str, commit: str, environ: Mapping[str, str] = os.environ) -> list[str]:
    """Health, the release id against `commit`, and one authenticated API round trip (create,
    read, delete) when the inventory names an API (shipyard_smoke_api). Returns what passed."""
    data = _inventory(env, environ)
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


# ---- the pipeline, run locally (`inv ci`) --------------------------------------------------------

CONFIG = ROOT / ".circleci" / "config.yml"
STANDINS = STATE / "standins"  # inventories of the sandbox boxes standing in for real environments
SMOKE_ACCOUNT = "shipyard-smoke"


def pipeline() -> dict:
    return yaml.safe_load(CONFIG.read_text())


def job_commands(job: str, params: Mapping[str, str]) -> list[str]:
    """The `run` steps of a job in .circleci/config.yml, its parameters filled in: what CircleCI
    runs, for `inv ci` and the tests to run as is."""
    runs = []
    for step in pipeline()["jobs"][job]["steps"]:
        if isinstance(step, dict) and "run" in step:
            run = step["run"] if isinstance(step["run"], str) else step["run"]["command"]
            runs.append(
                re.sub(r"<<\s*parameters\.([\w-]+)\s*>>", lambda m: params[m.group(1)], run)
            )
    return runs


def _secret(name: str) -> str:
    """A sandbox secret the password lookup made (first line, salt dropped), or a new one kept."""
    path = STATE / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(24) + "\n")
        path.chmod(0o600)
    return path.read_text().split()[0]


def standin(env: str, box: boxes.Box, known_key: str = "") -> Path:
    """An inventory folder `env` under STANDINS for a sandbox box, built the way a team sets up a
    real environment: its secrets in a vault-encrypted vault.yml, its host key pinned in
    known_hosts (read inside the box, or `known_key` to test a wrong one), strict checking, and no
    SSH key named (the deploy job brings it, as CircleCI's add_ssh_keys does)."""
    folder = STANDINS / env
    (folder / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
    hostvars = boxes.host_vars(box)
    hosts = {"all": {"children": {"web": {"hosts": {box.name: hostvars}},
                                  "db": {"hosts": {box.name: None}}}}}  # fmt: skip
    (folder / "hosts.yml").write_text("---\n" + yaml.safe_dump(hosts, sort_keys=False))
    pinned = folder / "known_hosts"
    if not known_key:
        read = subprocess.run(["docker", "exec", box.container, "cat",
                               "/etc/ssh/ssh_host_ed25519_key.pub"],
                              capture_output=True, text=True, check=True)  # fmt: skip
        known_key = " ".join(read.stdout.split()[:2])
    pinned.write_text(f"[127.0.0.1]:{box.ssh_port} {known_key}\n")
    main = {
        "ansible_user": boxes.LOGIN_USER,
        "ansible_ssh_common_args": f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={pinned}",
        "app_db_password": "{{ vault_app_db_password }}",
        "django_app_secret_key": "{{ vault_django_app_secret_key }}",
    }
    (folder / "group_vars" / "all" / "main.yml").write_text(
        "---\n# A sandbox box standing in for "
        + env
        + " (`inv ci` writes this).\n"
        + yaml.safe_dump(main, sort_keys=False)
    )
    vault = folder / "group_vars" / "all" / "vault.yml"
    vault.write_text("---\n" + yaml.safe_dump({
        "vault_app_db_password": _secret("app_db_password"),
        "vault_django_app_secret_key": _secret("django_app_secret_key"),
    }))  # fmt: skip
    with_password = {VAULT_PASSWORD: vault_password()}
    subprocess.run(
        [str(BIN / "ansible-vault"), "encrypt", str(vault)], check=True, capture_output=True,
        cwd=ROOT, env={**os.environ, **ansible_env(with_password), **with_password},
    )  # fmt: skip
    return folder


def vault_password() -> str:
    return _secret("ci_vault_password")


def smoke_account(box: boxes.Box) -> tuple[str, str]:
    """The app account the smoke test logs in as on a stand-in box, made or reset through
    `manage shell` (its password goes on stdin, never on a command line)."""
    password = _secret("smoke_password")
    host = WebHost(box.name, boxes.ssh_args(box), "app")
    script = (
        "from django.contrib.auth import get_user_model\n"
        "import sys\n"
        f"u, _ = get_user_model().objects.get_or_create(username={SMOKE_ACCOUNT!r})\n"
        "u.set_password(sys.stdin.readline().strip()); u.save()\n"
    )
    proc = subprocess.run(
        host.tool("manage", "shell", "-c", script), input=password + "\n",
        capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        raise ShipyardError(f"{box.name}: could not make the smoke account: {proc.stderr[-500:]}")
    return SMOKE_ACCOUNT, password


def job_environment(env: str, commit: str, box: boxes.Box) -> dict[str, str]:
    """What CircleCI would set for a deploy job (its built-ins, the context's secrets, the key
    add_ssh_keys brings), pointed at the stand-in inventories."""
    user, password = smoke_account(box)
    return {
        "CI": "true",
        "CIRCLECI": "true",
        "CIRCLE_BRANCH": "main",
        "CIRCLE_SHA1": commit,
        "CIRCLE_JOB": f"deploy-{env}",
        VAULT_PASSWORD: vault_password(),
        SSH_KEY: str(boxes.KEY),
        SMOKE_USER: user,
        SMOKE_PASSWORD: password,
        "SHIPYARD_INVENTORIES": str(STANDINS),
    }
