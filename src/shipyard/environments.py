"""An environment a task works on (the sandbox's boxes, `local`, or a folder of inventory/), made
ready in one way: for the sandbox, the Docker engine, the apt cache and the inventory of the
running boxes; for a real environment, before a task that changes the app (deploy, rollback), the
preflight checks. And the tasks that make one: `inv up` (a sandbox box, provisioned, the app
deployed) and `inv provision`."""

from __future__ import annotations

from . import ansible, boxes, host, playbooks, preflight
from .shell import ShipyardError


def is_sandbox(env: str) -> bool:
    return env in ("", "local")


def boxes_ready() -> list[boxes.Box]:
    """Docker, the apt cache and an up-to-date box inventory; return the running boxes."""
    host.ensure_docker()
    host.ensure_apt_cache()
    running = boxes.running()
    boxes.write_inventory(running)
    return running


def ready(env: str, changes_hosts: bool = False) -> None:
    """Make `env` ready for a task: the sandbox's boxes (at least one running), or for a real
    environment whose hosts the task changes, every preflight check (vault password, SSH key,
    pinned host keys, every host answering with its pinned key)."""
    if is_sandbox(env):
        if not boxes_ready():
            raise ShipyardError("no sandbox box is running: start one with `inv up`")
    elif changes_hosts:
        preflight.check(env)


def up(os_name: str, name: str = "", db: str = "", provision: bool = True) -> boxes.Box:
    """Start a sandbox box; provision it and deploy the sample app unless told not to."""
    host.ensure_docker()
    host.ensure_apt_cache()
    box = boxes.start(name or os_name, os_name)
    if db:
        boxes.set_db_engine(box.name, db)
    boxes.write_inventory(boxes.running())
    if provision:
        ansible.playbook(playbooks.command("provision", "local", limit=box.name))
        ansible.playbook(playbooks.command("deploy", "local", limit=box.name))
    print(f"\nBox {box.name} ({box.os}) is up. SSH in with:\n  {box.ssh_command()}")
    if provision:
        print(
            f"The sample app: {box.url()}api/  (HTTP http://localhost:{box.http_port}/ redirects"
            " there; the certificate is self-signed: curl -k, or accept it in the browser)"
        )
    return box


def provision(env: str, here: bool, check: bool, limit: str, tags: str, verbose: int) -> None:
    """`inv provision`: the provision playbook on an environment's hosts, or this machine."""
    if not here:
        ready(env)
    ansible.playbook(
        playbooks.command(
            "provision", env, here=here, check=check, limit=limit, tags=tags, verbose=verbose
        )
    )
