"""Shipyard's tasks: `inv --list` (or `./shipyard --list`) shows them.

Thin wrappers: the logic lives in src/shipyard, where it is unit-tested.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from invoke import Collection, Context, Exit, task

from shipyard import ROOT, boxes, host, images, playbooks
from shipyard.shell import ShipyardError

# The tools (ansible-playbook, molecule, ruff...) live beside the interpreter running `inv`.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def _fail(err: ShipyardError) -> Exit:
    return Exit(f"shipyard: {err}", code=2)


def _ansible(c: Context, argv: list[str], **kw):
    """Run Ansible from the project root so ansible.cfg applies."""
    env = {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "1"}
    with c.cd(str(ROOT)):
        return c.run(" ".join(_quote(a) for a in argv), env=env, echo=True, pty=sys.stdout.isatty(), **kw)


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def _local_boxes_ready() -> str:
    """Docker, the apt cache and an up-to-date local inventory; return the apt proxy URL."""
    host.ensure_docker()
    host.ensure_apt_cache()
    proxy = host.apt_proxy_for_boxes()
    boxes.write_inventory(boxes.running(), apt_proxy=proxy)
    return proxy


@task(
    help={
        "os": f"Operating system of the box: {', '.join(images.SUPPORTED)}.",
        "name": "Box name (default: the --os value).",
        "provision": "Provision the box after starting it (default: yes).",
    }
)
def up(c, os="debian12", name="", provision=True):  # noqa: A002 (the flag users type)
    """Start a sandbox box, provision it, and print how to SSH in."""
    try:
        host.ensure_docker()
        host.ensure_apt_cache()
        box = boxes.start(name or os, os)
        _local_boxes_ready()
        if provision:
            _ansible(c, playbooks.command("provision", "local", limit=box.name))
    except ShipyardError as err:
        raise _fail(err) from err
    print(f"\nBox {box.name} ({box.os}) is up. SSH in with:\n  {box.ssh_command()}")


@task(help={"name": "Remove only this box (default: all sandbox boxes)."})
def down(c, name=""):
    """Remove sandbox boxes."""
    try:
        removed = boxes.remove(name or None)
        boxes.write_inventory(boxes.running())
    except ShipyardError as err:
        raise _fail(err) from err
    print(f"removed: {', '.join(removed) or 'nothing'}")


@task(
    help={
        "env": "Environment (a folder of inventory/): local, staging, production.",
        "here": "Provision the machine this runs on, over a local connection (run as root).",
        "check": "Dry run: report what would change, change nothing.",
        "limit": "Only these hosts or groups (ansible --limit).",
        "tags": "Only these roles or purposes (ansible --tags), e.g. base,git.",
        "verbose": "Ansible verbosity (repeat: -v -v).",
    },
    incrementable=["verbose"],
)
def provision(c, env="local", here=False, check=False, limit="", tags="", verbose=0):
    """Provision an environment's hosts (or this machine with --here)."""
    try:
        if env == "local" and not here:
            _local_boxes_ready()
        argv = playbooks.command(
            "provision", env, here=here, check=check, limit=limit, tags=tags, verbose=verbose
        )
    except ShipyardError as err:
        raise _fail(err) from err
    _ansible(c, argv)


@task(help={"force": "Rebuild even when the cached image matches its recipe."})
def images_(c, force=False):
    """Build the sandbox base images (Debian 12 and 13) unless cached."""
    try:
        host.ensure_docker()
        for os_ in images.SUPPORTED.values():
            print(f"{images.ensure_image(os_, force=force)} ready")
    except ShipyardError as err:
        raise _fail(err) from err


@task
def lint(c):
    """Lint everything: yamllint, ansible-lint (production profile), ruff."""
    with c.cd(str(ROOT)):
        c.run("yamllint --strict .", echo=True)
        c.run("ansible-lint", echo=True, env={"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")})
        c.run("ruff check .", echo=True)
        c.run("ruff format --check .", echo=True)


ns = Collection(up, down, provision, lint)
ns.add_task(images_, name="images")
