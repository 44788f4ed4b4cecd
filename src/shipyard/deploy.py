"""The app's releases on an environment's web hosts: the commands around the deploy.

`inv deploy` / `inv rollback` run playbooks (they change hosts). The read-only and interactive
commands (`inv releases`, `status`, `logs [--follow]`, `manage`) need a terminal or a plain
answer, which Ansible does not give: they run `ssh` with the connection settings Ansible resolves
from the same inventory (`ansible-inventory`), so there is still one place that says how to reach
a host. On the host they call the release tool the django_app role installs.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import ROOT, playbooks
from .shell import ShipyardError

TOOL = "/usr/local/sbin/shipyard-release"
# The deploy key a CI job brings (README "Continuous delivery"): Ansible gets it as --private-key,
# and ssh_for uses it for hosts whose inventory names no key, so both log in the same way.
DEPLOY_KEY = "SHIPYARD_SSH_KEY_FILE"


@dataclass(frozen=True)
class WebHost:
    name: str
    ssh: list[str]  # ssh argv up to and including user@host
    app: str  # django_app_name

    def command(self, *remote: str, tty: bool = False) -> list[str]:
        argv = list(self.ssh)
        if tty:
            argv.insert(1, "-t")
        # ssh joins its arguments into one string for the remote shell: quote them here.
        return [*argv, shlex.join(["sudo", "--", *remote])]

    def tool(self, *args: str, tty: bool = False) -> list[str]:
        return self.command(TOOL, "--config", f"/etc/shipyard/{self.app}.json", *args, tty=tty)


def _plain(value, what: str, host: str) -> str:
    text = str(value)
    if "{{" in text:
        raise ShipyardError(
            f"{host}: {what} is a template ({text}); `inv releases/status/logs/manage` read the"
            " inventory's plain values: set it without {{ }}"
        )
    return text


def ssh_for(name: str, hostvars: dict, deploy_key: str | None = None) -> list[str]:
    """ssh argv for a host from Ansible's connection variables (pure, unit-tested); `deploy_key`
    (default: $SHIPYARD_SSH_KEY_FILE) when they name no key."""
    argv = ["ssh", "-o", "BatchMode=yes"]
    port = hostvars.get("ansible_port")
    if port:
        argv += ["-p", _plain(port, "ansible_port", name)]
    key = hostvars.get("ansible_ssh_private_key_file")
    if key:
        argv += ["-i", _plain(key, "ansible_ssh_private_key_file", name)]
    elif deploy_key or (deploy_key is None and os.environ.get(DEPLOY_KEY)):
        argv += ["-i", deploy_key or os.environ[DEPLOY_KEY]]
    for var in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        if hostvars.get(var):
            argv += shlex.split(_plain(hostvars[var], var, name))
    user = hostvars.get("ansible_user")
    target = _plain(hostvars.get("ansible_host", name), "ansible_host", name)
    return [*argv, f"{_plain(user, 'ansible_user', name)}@{target}" if user else target]


def web_hosts(env: str = "") -> list[WebHost]:
    sources = [playbooks.SHARED, *playbooks.inventory(env)]
    argv = ["ansible-inventory", "--list"]
    for source in sources:
        argv += ["-i", str(source)]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise ShipyardError(f"ansible-inventory failed:\n{proc.stderr.strip()[-1500:]}")
    data = json.loads(proc.stdout)
    hostvars = data.get("_meta", {}).get("hostvars", {})
    names = data.get("web", {}).get("hosts", [])
    if not names:
        raise ShipyardError("the environment has no host in the web group: nothing runs the app")
    return [
        WebHost(
            n,
            ssh_for(n, hostvars.get(n, {})),
            str(hostvars.get(n, {}).get("django_app_name", "app")),
        )
        for n in names
    ]


def pick(hosts: list[WebHost], name: str) -> WebHost:
    if not name:
        return hosts[0]
    for h in hosts:
        if h.name == name:
            return h
    raise ShipyardError(
        f"--host {name}: not a web host here; choose {', '.join(h.name for h in hosts)}"
    )


def query(host: WebHost, *args: str):
    # From the project root: an environment's pinned known_hosts is a path relative to it.
    proc = subprocess.run(host.tool(*args), capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        if "command not found" in detail or "No such file" in detail:
            detail = "the app was never deployed here: run `inv deploy`"
        raise ShipyardError(f"{host.name}: {detail}")
    return json.loads(proc.stdout)


def releases_table(rows: list[dict]) -> str:
    """`inv releases`: one line per release, newest last (pure, unit-tested)."""
    if not rows:
        return "  no release yet: run `inv deploy`"
    lines = [f"  {'release':<32} {'commit':<14} {'state':<8} {'ref':<16} current"]
    for r in rows:
        lines.append(
            f"  {r.get('id', '?'):<32} {str(r.get('commit', '?'))[:12]:<14}"
            f" {r.get('state', '?'):<8} {str(r.get('ref', '-'))[:16]:<16}"
            f" {'*' if r.get('current') else ''}"
        )
    return "\n".join(lines)


def status_line(name: str, st: dict) -> str:
    if not st.get("current"):
        return f"  {name}: no release live (run `inv deploy`)"
    health = "healthy" if st.get("healthy") else "NOT HEALTHY"
    uptime = st.get("uptime_s") or 0
    return (
        f"  {name}: {st['current']} (commit {str(st.get('commit'))[:12]}), {health},"
        f" up {uptime // 3600}h{uptime % 3600 // 60:02d}m{uptime % 60:02d}s"
    )


def rollback_vars(to: str) -> dict[str, str]:
    return {"django_app_rollback_to": to} if to else {}


def deploy_vars(ref: str, allow_dirty: bool, source: str = "") -> dict[str, str]:
    extra = {"django_app_ref": ref or "HEAD"}
    if allow_dirty:
        extra["django_app_allow_dirty"] = True
    if source:
        extra["django_app_source"] = str(Path(source).resolve())
    return extra


def sample_project(dest: Path) -> Path:
    """A copy of the sample app in a git repository of its own (one commit), as a team's project
    would be: the deploy tests and `inv bench --deploy` commit changes to it and deploy it."""
    shutil.copytree(
        ROOT / "app", dest,
        ignore=shutil.ignore_patterns(".venv", "__pycache__", "*.sqlite3", "staticfiles", "media",
                                      ".pytest_cache"),
    )  # fmt: skip
    git(dest, "init", "-q")
    commit(dest, "The sample app", {})
    return dest


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=Shipyard", "-c", "user.email=dev@example.com",
         *args],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


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
