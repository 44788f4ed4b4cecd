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


def fleet_names(web: int) -> dict[str, str]:
    """A fleet's boxes and their groups, in start order (pure). Not named like a group: Ansible
    cannot tell a host `db` from the group `db`."""
    return {"db1": "db", **{f"web{i}": "web" for i in range(1, web + 1)}, "lb1": "lb",
            "backup1": "backup"}  # fmt: skip


def _one_kind(fleet: bool) -> None:
    """A lone box is web and db host at once, so the sandbox holds either lone boxes or one fleet:
    mixed, a deploy would go to both and the app would find two database hosts."""
    other = [b.name for b in boxes.running() if bool(b.group) != fleet]
    if other:
        raise ShipyardError(
            f"{'lone boxes' if fleet else 'a fleet'} ({', '.join(other)}) already run here: the"
            " sandbox holds one or the other; `inv down` first"
        )


def up_fleet(
    os_name: str, web: int, db: str = "", provision: bool = True, name: str = "", share: str = ""
) -> None:
    """`inv up --web N`: a db box, N web boxes, an lb box and a backup box on a private network;
    provisioned
    and the sample app deployed (rolling, through the load balancer's view) unless told not to."""
    if name:
        raise ShipyardError(
            "--name names a lone box; a fleet's boxes are db1, web1..webN, lb1 and backup1"
        )
    if share:
        raise ShipyardError(
            "--share is for a developer's lone box (`inv up --share DIR`), not a fleet"
        )
    host.ensure_docker()
    host.ensure_apt_cache()
    _one_kind(fleet=True)
    started = [boxes.start(n, os_name, group) for n, group in fleet_names(web).items()]
    running = [b for b in boxes.running() if b.group]
    for extra in sorted({b.name for b in running} - {b.name for b in started}):
        boxes.remove(extra)  # a web box left over from a larger fleet
    if db:
        for b in started:
            boxes.set_db_engine(b.name, db)
    boxes.write_inventory(boxes.running())
    if provision:
        ansible.playbook(playbooks.command("provision", "local"))
        ansible.playbook(playbooks.command("deploy", "local"))
    lb = next(b for b in boxes.running() if b.group == "lb")
    print("\nThe fleet is up: " + ", ".join(f"{b.name} ({b.group}, {b.address})" for b in started))
    print("SSH into a box:")
    for b in started:
        print(f"  {b.name}: {b.ssh_command()}")
    if provision:
        print(f"The sample app, through the load balancer: {lb.url()}api/  (self-signed: curl -k)")


def up(
    os_name: str, name: str = "", db: str = "", provision: bool = True, share: str = ""
) -> boxes.Box:
    """Start a sandbox box (with `share`, a folder of this machine in the admin's home); provision
    it and deploy the sample app unless told not to."""
    host.ensure_docker()
    host.ensure_apt_cache()
    _one_kind(fleet=False)
    box = boxes.start(name or os_name, os_name, share=share)
    if db:
        boxes.set_db_engine(box.name, db)
    boxes.write_inventory(boxes.running())
    if provision:
        ansible.playbook(playbooks.command("provision", "local", limit=box.name))
        ansible.playbook(playbooks.command("deploy", "local", limit=box.name))
    print(f"\nBox {box.name} ({box.os}) is up. The ways in:")
    only = len(boxes.running()) == 1
    print(f"  a terminal:  ./shipyard ssh{'' if only else f' --name {box.name}'}")
    print(f"  an IDE (VS Code Remote-SSH, PyCharm): the host shipyard-{box.name}, after"
          " `./shipyard ssh-config --install`")  # fmt: skip
    print(f"  plain ssh:   {box.ssh_command()}")
    if box.share:
        print(f"  your folder: {box.share} is {box.share_mount} in the box (the admin has its"
              " owner's uid)")  # fmt: skip
    if box.dev_port:
        print(f"  runserver:   `python manage.py runserver 0.0.0.0:{boxes.DEV_PORT}` in the box"
              f" answers at http://localhost:{box.dev_port}/")  # fmt: skip
    if provision:
        print(
            f"  the app:     {box.url()}api/  (HTTP http://localhost:{box.http_port}/ redirects"
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
