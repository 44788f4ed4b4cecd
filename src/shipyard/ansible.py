"""How every Ansible command runs, in one place.

From the project root (ansible.cfg applies), with the state folder's fact cache, the vault
password when SHIPYARD_VAULT_PASSWORD holds it (through a script: the password is in no file, no
command line and no log), and the deploy key a CI job brings (SHIPYARD_SSH_KEY_FILE). The
playbooks, `ansible-inventory` (which the remote operations and the pipeline read) and
`ansible-vault` all start here, so none of them can miss a setting the others have.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from . import ROOT, STATE, playbooks
from .shell import ShipyardError, run

BIN = Path(sys.executable).parent  # the toolkit's ansible-* commands
VAULT_PASSWORD = "SHIPYARD_VAULT_PASSWORD"
DEPLOY_KEY = "SHIPYARD_SSH_KEY_FILE"
# Ansible reads the vault password from this script, which prints the variable.
VAULT_PASSWORD_SCRIPT = ROOT / "src" / "shipyard" / "vault-password-from-env"


def settings(environ: Mapping[str, str]) -> dict[str, str]:
    """What Shipyard adds to the environment of an ansible-* command (pure, unit-tested)."""
    added = {
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(STATE / "facts"),
    }
    if environ.get(VAULT_PASSWORD):
        added["ANSIBLE_VAULT_PASSWORD_FILE"] = str(VAULT_PASSWORD_SCRIPT)
    return added


def environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    environ = os.environ if environ is None else environ
    return {**environ, **settings(environ)}


def playbook(argv: list[str], environ: Mapping[str, str] | None = None, quiet: bool = False):
    """Run an ansible-playbook argv (playbooks.command builds it), its output shown as it comes
    (or kept, with `quiet`, and shown only on failure)."""
    environ = os.environ if environ is None else environ
    if environ.get(DEPLOY_KEY):
        argv = [*argv, "--private-key", environ[DEPLOY_KEY]]
    env = environment(environ)
    if sys.stdout.isatty():
        env["ANSIBLE_FORCE_COLOR"] = "1"
    return run(*argv, echo=True, capture=quiet, cwd=ROOT, env=env)


def inventory(env: str, environ: Mapping[str, str] | None = None) -> dict:
    """The environment's inventory as Ansible resolves it (`ansible-inventory --list`)."""
    argv = [str(BIN / "ansible-inventory"), "--list"]
    for source in [playbooks.SHARED, *playbooks.inventory(env)]:
        argv += ["-i", str(source)]
    proc = run(*argv, check=False, cwd=ROOT, env=environment(environ))
    if proc.returncode != 0 and "no vault secrets" in proc.stderr:
        raise ShipyardError(
            f"-e {env}: its inventory has vault-encrypted files: set {VAULT_PASSWORD} to the"
            " vault password (it is read from there, never from a file or the command line)"
        )
    if proc.returncode != 0:
        raise ShipyardError(f"ansible-inventory failed:\n{proc.stderr.strip()[-1500:]}")
    return json.loads(proc.stdout)


def vault_encrypt(path: Path, password: str) -> None:
    """Encrypt a file in place with `password` (given the way every Ansible run gets it)."""
    with_password = {**os.environ, VAULT_PASSWORD: password}
    run(str(BIN / "ansible-vault"), "encrypt", str(path), cwd=ROOT,
        env=environment(with_password))  # fmt: skip
