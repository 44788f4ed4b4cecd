"""Sandbox boxes: systemd containers that Ansible reaches over real SSH on 127.0.0.1.

A box behaves like a fresh cloud server: systemd as PID 1, sshd, and one login user (`admin`) with
the toolkit's SSH key and passwordless sudo, as cloud-init would leave it. Nothing in the roles
knows it is a container. The settings are least-privilege ones that work where `--privileged`
does not (see the README, "Sandbox boxes").
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import ROOT, STATE, host, images, playbooks
from .hosts import Route
from .shell import ShipyardError, ok, run, wait_for

LABEL = "shipyard.box"
LOGIN_USER = "admin"
KEY = STATE / "ssh" / "id_ed25519"
INVENTORY = playbooks.BOXES_INVENTORY  # the running boxes, read after inventory/local
# Boxes belong to one state folder (a checkout's .shipyard, or a test run's): its label and a short
# scope in every container name keep two checkouts, or a test run and a developer, apart.
SCOPE = hashlib.sha256(str(STATE).encode()).hexdigest()[:6]
DB_ENGINES = ("postgresql", "mysql")
SETTINGS = STATE / "boxes.yml"  # per-box choices that outlive a run: {name: {db_engine: ...}}

# docker run flags shared by every box (Molecule's platforms mirror them in molecule/ configs).
RUN_FLAGS = (
    "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN",
    "--cgroupns", "host", "--volume", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run", "--tmpfs", "/run/lock",
    "--stop-signal", "SIGRTMIN+3",
    # A server-sized limit: the database sizes its memory from it, not from the host's RAM.
    "--memory", "2g",
)  # fmt: skip

# A uid the box's image already gives an account: a shared folder's owner cannot be the admin.
UID_TAKEN = 3


def bootstrap(uid: int | None = None) -> str:
    """What cloud-init would do on a cloud server: a sudo-capable login user with our key (pure).
    With `uid` (a shared folder's owner on this machine), the user gets that uid, so that files
    keep their owner on both sides. A folder mounted below the home made the home first, and
    useradd then copies no skeleton: the skeleton's files are put in place here."""
    with_uid = f"--uid {uid} " if uid is not None else ""
    taken = (f'getent passwd {uid} >/dev/null && {{ echo "uid {uid} is the box\'s account'
             f' $(getent passwd {uid} | cut -d: -f1)" >&2; exit {UID_TAKEN}; }}\n'
             if uid is not None else "")  # fmt: skip
    return f"""set -e
if ! id {LOGIN_USER} >/dev/null 2>&1; then
{taken}useradd --create-home --shell /bin/bash {with_uid}{LOGIN_USER}
fi
for f in /etc/skel/.[!.]*; do
  [ -e "/home/{LOGIN_USER}/${{f##*/}}" ] \\
    || install -o {LOGIN_USER} -g {LOGIN_USER} -m 644 "$f" /home/{LOGIN_USER}/
done
chown {LOGIN_USER}: /home/{LOGIN_USER}
install -d -m 700 -o {LOGIN_USER} -g {LOGIN_USER} /home/{LOGIN_USER}/.ssh
cat > /home/{LOGIN_USER}/.ssh/authorized_keys
chown {LOGIN_USER}: /home/{LOGIN_USER}/.ssh/authorized_keys
echo '{LOGIN_USER} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/90-cloud-init-users
chmod 440 /etc/sudoers.d/90-cloud-init-users
"""


# A lone box publishes this port too, open in its firewall: a development server started in the
# box (`python manage.py runserver 0.0.0.0:8000`) answers on this machine.
DEV_PORT = 8000


# A fleet (`inv up --web N`): a db box, N web boxes and an lb box on a Docker network of their own
# (their private addresses), the web boxes sharing one volume at FLEET_MOUNT (the network
# filesystem a real fleet mounts for uploads). Only the lb box publishes HTTP and HTTPS.
FLEET_NETWORK = f"shipyard-{SCOPE}-fleet"
FLEET_VOLUME = f"shipyard-{SCOPE}-fleet-shared"
FLEET_MOUNT = "/srv/shared"
FLEET_GROUPS = ("db", "web", "lb", "backup")


@dataclass(frozen=True)
class Box:
    name: str
    os: str
    ssh_port: int
    http_port: int | None
    https_port: int | None = None
    group: str = ""  # a fleet box's group (db, web or lb); "" for a box that is all of them
    address: str = ""  # a fleet box's private address
    dev_port: int | None = None  # where DEV_PORT of a lone box is published on this machine
    share: str = ""  # a folder of this machine mounted in the box (`inv up --share`)

    @property
    def share_mount(self) -> str:
        return mount_point(self.share) if self.share else ""

    def url(self) -> str:
        """The app's address from this machine (nginx on the box, 443 published on loopback)."""
        return f"https://localhost:{self.https_port}/"

    @property
    def container(self) -> str:
        return container_name(self.name)

    def route(self) -> Route:
        """How Fabric reaches the box: its published SSH port, the toolkit's key, and no host
        key check (a box recreated under a reused port has a new key)."""
        return Route(self.name, "127.0.0.1", self.ssh_port, LOGIN_USER, str(KEY), check_key=False)

    def ssh_command(self) -> str:
        key = KEY.relative_to(ROOT) if KEY.is_relative_to(ROOT) else KEY
        return f"ssh -i {key} -p {self.ssh_port} {LOGIN_USER}@127.0.0.1"


def container_name(name: str) -> str:
    return f"shipyard-{SCOPE}-{name}"


def ensure_key() -> Path:
    if not KEY.exists():
        KEY.parent.mkdir(parents=True, exist_ok=True)
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "shipyard-sandbox", "-f", str(KEY))
    return KEY


def _published(container: str, port: int) -> int | None:
    proc = run("docker", "port", container, f"{port}/tcp", check=False)
    line = proc.stdout.strip().splitlines()
    return int(line[0].rsplit(":", 1)[1]) if proc.returncode == 0 and line else None


def _fleet_address(container: str) -> str:
    network = f'index .NetworkSettings.Networks "{FLEET_NETWORK}"'
    fmt = f"{{{{with {network}}}}}{{{{.IPAddress}}}}{{{{end}}}}"
    return run("docker", "inspect", "-f", fmt, container, check=False).stdout.strip()


def running() -> list[Box]:
    """The boxes Docker is running now, by name."""
    out = run(
        "docker", "ps", "--filter", f"label={LABEL}", "--filter", f"label=shipyard.state={STATE}",
        "--format", '{{.Label "shipyard.box"}} {{.Label "shipyard.os"}} {{.Names}}'
        ' g={{.Label "shipyard.group"}} s={{.Label "shipyard.share"}}',
    ).stdout  # fmt: skip
    boxes = []
    for line in sorted(out.splitlines()):
        name, os_name, container, group, share = line.split(" ", 4)  # a path may hold spaces
        group, share = group.removeprefix("g="), share.removeprefix("s=")
        ssh_port = _published(container, 22)
        if ssh_port:
            web = (_published(container, 80), _published(container, 443))
            address = _fleet_address(container) if group else ""
            dev = None if group else _published(container, DEV_PORT)
            boxes.append(Box(name, os_name, ssh_port, *web, group, address, dev, share))
    return boxes


def _systemd_up(container: str) -> bool:
    state = run("docker", "exec", container, "systemctl", "is-system-running", check=False)
    return state.stdout.strip() in ("running", "degraded")


def ssh_args(box: Box) -> list[str]:
    return [
        "ssh", "-i", str(KEY), "-p", str(box.ssh_port),
        "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5",
        f"{LOGIN_USER}@127.0.0.1",
    ]  # fmt: skip


def fleet_flags(group: str) -> list[str]:
    """docker run flags of a fleet box (pure): its network and group; the lb box publishes the
    web ports, web boxes mount the shared volume; a lone box publishes the web ports itself."""
    if not group:
        return ["--publish", "127.0.0.1::80", "--publish", "127.0.0.1::443",
                "--publish", f"127.0.0.1::{DEV_PORT}"]  # fmt: skip
    flags = ["--network", FLEET_NETWORK, "--label", f"shipyard.group={group}"]
    if group == "lb":
        flags += ["--publish", "127.0.0.1::80", "--publish", "127.0.0.1::443"]
    if group == "web":
        flags += ["--volume", f"{FLEET_VOLUME}:{FLEET_MOUNT}"]
    return flags


def ensure_fleet_network() -> None:
    if not ok("docker", "network", "inspect", FLEET_NETWORK):
        run("docker", "network", "create", "--label", f"shipyard.state={STATE}", FLEET_NETWORK,
            echo=True)  # fmt: skip


def mount_point(folder: str) -> str:
    """Where a shared folder appears in the box: in the admin's home, under its own name."""
    return f"/home/{LOGIN_USER}/{Path(folder).name}"


def share_flags(share: str) -> tuple[list[str], int | None]:
    """docker run flags that mount folder `share` of this machine in the admin's home, and the uid
    the admin must get: the folder owner's, unless that is root (the admin is never uid 0)."""
    if not share:
        return [], None
    folder = Path(share).resolve()
    owner = folder.stat().st_uid
    flags = [
        "--volume",
        f"{folder}:{mount_point(str(folder))}",
        "--label",
        f"shipyard.share={folder}",
    ]
    return flags, owner or None


def start(name: str, os_name: str, group: str = "", share: str = "") -> Box:
    """Start box `name` from a fresh image of `os_name` (in a fleet: as a `group` box; with
    `share`, a folder of this machine mounted in it), or return it if it already runs so."""
    os = images.lookup(os_name)
    folder = str(Path(share).resolve()) if share else ""
    for box in running():
        if box.name == name:
            if box.os != os.name or box.group != group:
                raise ShipyardError(
                    f"box {name!r} already runs {box.os}"
                    f"{f' as the fleet`s {box.group} box' if box.group else ''};"
                    f" `inv down --name {name}` first"
                )
            if folder and box.share != folder:
                now = f"sharing {box.share}" if box.share else "sharing no folder"
                raise ShipyardError(
                    f"box {name!r} already runs, {now}: a folder is shared when a box starts;"
                    f" `inv down --name {name}` first"
                )
            return box
    image = images.ensure_image(os)
    container = container_name(name)
    run("docker", "rm", "-f", container, check=False)
    if group:
        ensure_fleet_network()
    mount, uid = share_flags(folder)
    run(
        "docker", "run", "--detach", "--name", container, "--hostname", name,
        "--label", f"{LABEL}={name}", "--label", f"shipyard.os={os.name}",
        "--label", f"shipyard.state={STATE}",
        *RUN_FLAGS, *fleet_flags(group), *mount,
        "--publish", "127.0.0.1::22",
        image, echo=True,
    )  # fmt: skip
    wait_for(lambda: _systemd_up(container), f"systemd in box {name} did not start", 60)
    pub = ensure_key().with_suffix(".pub").read_text()
    made = run("docker", "exec", "-i", container, "sh", "-c", bootstrap(uid), input=pub,
               check=False)  # fmt: skip
    if made.returncode == UID_TAKEN:
        run("docker", "rm", "-f", container, check=False)
        raise ShipyardError(
            f"--share {folder}: its owner's uid {uid} is an account of the box's image"
            f" ({made.stderr.strip()}): share a folder owned by your own user"
        )
    if made.returncode != 0:
        raise ShipyardError(f"box {name}: making its admin user failed: {made.stderr.strip()}")
    box = Box(
        name, os.name, _published(container, 22) or 0, _published(container, 80),
        _published(container, 443), group, _fleet_address(container) if group else "",
        None if group else _published(container, DEV_PORT), folder,
    )  # fmt: skip
    wait_for(lambda: ok(*ssh_args(box), "true"), f"box {name} did not answer SSH", 30)
    host.update_box_lists(container)
    forget_facts(name)
    return box


def remove(name: str | None = None) -> list[str]:
    """Remove one box, or all of them; return the names removed."""
    removed = []
    for box in running():
        if name in (None, box.name):
            run("docker", "rm", "-f", box.container, echo=True)
            forget(box.name)
            removed.append(box.name)
    if not any(b.group for b in running()):  # the fleet's network and shared volume go with it
        run("docker", "network", "rm", FLEET_NETWORK, check=False)
        run("docker", "volume", "rm", FLEET_VOLUME, check=False)
    return removed


def forget(name: str) -> None:
    """A box removed for good: drop its cached facts and settings."""
    forget_facts(name)
    data = settings()
    if data.pop(name, None) is not None:
        SETTINGS.write_text(yaml.safe_dump(data))


def forget_facts(name: str) -> None:
    """A new box under an old name must not inherit the old one's cached facts."""
    (STATE / "facts" / name).unlink(missing_ok=True)


def settings() -> dict[str, dict]:
    """Per-box choices kept in .shipyard/boxes.yml: {name: {db_engine: ...}}."""
    return (yaml.safe_load(SETTINGS.read_text()) or {}) if SETTINGS.exists() else {}


# A box name is a container name, a host name and an inventory host: the safe subset of all three.
BOX_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,40}\Z")


def check_name(name: str) -> None:
    if not BOX_NAME.match(name):
        raise ShipyardError(
            f"--name {name!r} is not a usable box name: use lower-case letters, digits and -"
            " (at most 41 characters, starting with a letter or digit), e.g. --name web1"
        )


def check_db_engine(engine: str) -> None:
    if engine not in DB_ENGINES:
        raise ShipyardError(f"unknown --db {engine!r}: choose one of {', '.join(DB_ENGINES)}")


def set_db_engine(name: str, engine: str) -> None:
    """Remember box `name`'s database engine (postgresql or mysql) for its inventory entry."""
    check_db_engine(engine)
    data = settings()
    data.setdefault(name, {})["db_engine"] = engine
    SETTINGS.parent.mkdir(parents=True, exist_ok=True)
    SETTINGS.write_text(yaml.safe_dump(data))


def host_vars(b: Box) -> dict:
    """How Ansible reaches a box and what differs per box (also the CI stand-ins' hosts)."""
    found = {
        "ansible_host": "127.0.0.1",
        "ansible_port": b.ssh_port,
        "shipyard_secrets_dir": str(STATE / "secrets"),
    }
    if b.http_port:
        found["box_http_port"] = b.http_port
    if b.https_port:  # nginx's redirect from HTTP goes to the HTTPS port the host publishes
        found["nginx_https_port"] = b.https_port
    engine = settings().get(b.name, {}).get("db_engine")
    if engine:
        found["db_engine"] = engine
    return found


def network_gateway(network: str) -> str:
    """This machine's address on a Docker network, as the boxes on it see it."""
    fmt = "{{range .IPAM.Config}}{{.Gateway}}{{end}}"
    return run("docker", "network", "inspect", "-f", fmt, network).stdout.strip()


def inventory_groups(boxes: list[Box], gateway: str = "") -> dict:
    """The boxes' groups (pure, unit-tested): a lone box is web, db and backup host (its backups'
    copies stay in the box: README "Backups"); a fleet's boxes are
    in their own group, with their private addresses, the fleet's gateway trusted for SSH (the
    address this machine's connections come from) and the web boxes' shared mount."""
    hosts = {b.name: host_vars(b) for b in boxes}
    fleet = [b for b in boxes if b.group]
    if not fleet:
        for vars_ in hosts.values():  # the app, and a development server (DEV_PORT)
            vars_["base_firewall_allowed_tcp_ports"] = [80, 443, DEV_PORT]
        return {"web": {"hosts": hosts}, "db": {"hosts": dict.fromkeys(hosts)},
                "backup": {"hosts": dict.fromkeys(hosts)}}  # fmt: skip
    groups: dict = {g: {"hosts": {}} for g in FLEET_GROUPS}
    for b in fleet:
        hosts[b.name]["private_address"] = b.address
        if gateway:
            hosts[b.name]["base_ssh_trusted_addresses"] = [gateway]
        groups[b.group]["hosts"][b.name] = hosts[b.name]
    groups["web"]["vars"] = {"django_app_shared_mount": FLEET_MOUNT}
    return groups


def write_inventory(boxes: list[Box]) -> Path:
    """Write the boxes' inventory (read after inventory/local): a lone box is web and db host, a
    fleet's boxes are in their groups."""
    # Host vars, so that they win over inventory/shared's group_vars defaults.
    gateway = network_gateway(FLEET_NETWORK) if any(b.group for b in boxes) else ""
    web_db = inventory_groups(boxes, gateway)
    # Absolute, so that the key is found whatever the working directory.
    # This machine as the boxes see it: trusted by their SSH rate limit and fail2ban, so that the
    # toolkit's own connections are never refused (an attacker on another address still is).
    shared = {
        "ansible_ssh_private_key_file": str(KEY),
        "base_ssh_trusted_addresses": [host.docker_gateway()],
    }
    if host.apt_cache_up():  # the host's apt cache (`inv up` runs it): a fact of this machine
        shared["base_apt_proxy"] = host.apt_proxy_for_boxes()
    doc = {"all": {"children": web_db, "vars": shared}}
    header = "# Written by `inv up` / `inv down` from the running sandbox boxes; edits are lost.\n"
    INVENTORY.parent.mkdir(parents=True, exist_ok=True)
    INVENTORY.write_text(header + "---\n" + yaml.safe_dump(doc, sort_keys=False))
    from . import workspace  # imports this module: here, not at the top

    workspace.refresh_installed(boxes)  # `inv ssh-config --install`'s file, when there is one
    return INVENTORY
