"""The CircleCI pipeline, run on this machine (`inv ci`): the jobs of .circleci/config.yml in
their order (the tests, staging, the approval, production), with sandbox boxes standing in for the
servers. A stand-in is set up the way a team sets up a real environment (an encrypted vault, pinned
host keys, no SSH key in the inventory), and each deploy job runs its own `run` steps, read from
the config, with what CircleCI would set."""

from __future__ import annotations

import os
import re
import secrets
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import yaml

from . import ROOT, STATE, ansible, boxes
from .ansible import DEPLOY_KEY, VAULT_PASSWORD
from .hosts import WebHost, run_on
from .shell import ShipyardError, git, run
from .smoke import SMOKE_PASSWORD, SMOKE_USER

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
        read = run("docker", "exec", box.container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub")
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
    ansible.vault_encrypt(vault, vault_password())
    return folder


def vault_password() -> str:
    return _secret("ci_vault_password")


def smoke_account(box: boxes.Box) -> tuple[str, str]:
    """The app account the smoke test logs in as on a stand-in box, made or reset through
    `manage shell` (its password goes on stdin, never on a command line)."""
    password = _secret("smoke_password")
    host = WebHost(box.name, box.route(), "app")
    script = (
        "from django.contrib.auth import get_user_model\n"
        "import sys\n"
        f"u, _ = get_user_model().objects.get_or_create(username={SMOKE_ACCOUNT!r})\n"
        "u.set_password(sys.stdin.readline().strip()); u.save()\n"
    )
    result = run_on(host.route, host.tool_command("manage", "shell", "-c", script), password + "\n")
    if result.exited != 0:
        raise ShipyardError(f"{box.name}: could not make the smoke account: {result.stderr[-500:]}")
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
        DEPLOY_KEY: str(boxes.KEY),
        SMOKE_USER: user,
        SMOKE_PASSWORD: password,
        "SHIPYARD_INVENTORIES": str(STANDINS),
    }


# Sandbox boxes stand in for the servers, one per environment (the two database engines).
STANDIN_ENGINES = (("staging", "postgresql"), ("production", "mysql"))


def approved(ask=input, tty: bool | None = None) -> bool:
    """CircleCI's hold job: a person approves the production deploy. Here: asked on a terminal;
    without one (a script, a CI machine) approved, and said so."""
    if tty if tty is not None else sys.stdin.isatty():
        return ask("hold: deploy to production? [y/N] ").strip().lower() == "y"
    print("hold: approved (no terminal to ask; CircleCI waits for a person here)")
    return True


def run_locally(skip_tests: bool = False, approve: bool = False) -> list[tuple[str, float]]:
    """`inv ci`: the tests (the suites of `inv test`), then each deploy job against its stand-in
    box, production after the approval. Returns (job, seconds) rows, the pipeline last."""
    from . import environments, suite

    timings: list[tuple[str, float]] = []
    started = time.monotonic()
    if not skip_tests:
        suite.run_suites(list(suite.SUITES))
        timings.append(("lint, unit, app-tests, roles, e2e", time.monotonic() - started))
    commit = git(ROOT, "rev-parse", "HEAD")
    for env, engine in STANDIN_ENGINES:
        if env == "production" and not approve and not approved():
            raise ShipyardError("hold: not approved; production stays as it is")
        begin = time.monotonic()
        name = f"ci-{env}"
        if not any(b.name == name for b in boxes.running()):
            environments.up("debian12", name=name, db=engine)
        box = next(b for b in boxes.running() if b.name == name)
        standin(env, box)
        job_env = {**os.environ, **job_environment(env, commit, box)}
        print(f"\n== deploy-{env} (box {box.name} standing in; CIRCLE_SHA1={commit[:12]})")
        for command in job_commands("deploy", {"env": env, "ssh-fingerprint": ""}):
            run("bash", "-c", command, echo=True, capture=False, cwd=ROOT, env=job_env)
        timings.append((f"deploy-{env}", time.monotonic() - begin))
    timings.append(("pipeline", time.monotonic() - started))
    return timings
