"""Services on the machine that runs Shipyard: the Docker engine and the apt cache for boxes.

Both are started by the toolkit itself when missing, because the machines Shipyard targets (a
fresh Debian box, a CI runner) may have no systemd to start them.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

from .shell import ShipyardError, ok, run, wait_for

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "shipyard"
# Not apt-cacher-ng's usual 3142: a system instance there has its own (maybe unreachable) mirrors.
APT_CACHE_PORT = 3143
EXTRA_CA_GLOB = "/usr/local/share/ca-certificates"


def apt_install(*packages: str) -> None:
    """Install Debian/Ubuntu packages: as root, or through passwordless sudo (CircleCI's images
    run as a user that has it); otherwise stop with the command to run."""
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if sudo and not ok("sudo", "-n", "true"):
        raise ShipyardError(
            f"{', '.join(packages)} must be installed: run "
            f"`sudo apt-get install {' '.join(packages)}` or run Shipyard as root."
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(*sudo, "apt-get", "update", "-qq", echo=True, env=env)
    run(*sudo, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq",
        *packages, echo=True, env=env)  # fmt: skip


def ensure_docker() -> None:
    """Make `docker info` work: install docker.io and start dockerd when needed."""
    if ok("docker", "info"):
        return
    if not shutil.which("dockerd"):
        apt_install("docker.io")
    if not ok("docker", "info"):  # the package may have started it where systemd runs
        log = CACHE / "dockerd.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        print(f"shipyard: starting dockerd in the background (log: {log})", flush=True)
        with log.open("ab") as out:
            subprocess.Popen(
                ["dockerd"],
                stdout=out,
                stderr=out,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        wait_for(lambda: ok("docker", "info"), "the Docker engine (dockerd) did not start", 90)


def apt_cache_up() -> bool:
    """True when something (our apt-cacher-ng) listens on the apt cache port."""
    import socket

    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", APT_CACHE_PORT)) == 0


def ensure_apt_cache() -> None:
    """Run apt-cacher-ng on the host so that boxes download each .deb once, not once per box."""
    if apt_cache_up():
        return
    if not shutil.which("apt-cacher-ng") and not Path("/usr/sbin/apt-cacher-ng").exists():
        apt_install("apt-cacher-ng")
    if apt_cache_up():  # the package's own service, where systemd runs
        return
    conf = CACHE / "apt-cacher-ng"
    for sub in ("cache", "log"):
        (conf / sub).mkdir(parents=True, exist_ok=True)
    # Plain proxy mode: no mirror remapping, so requests go to the host names boxes ask for.
    (conf / "acng.conf").write_text(
        f"CacheDir: {conf / 'cache'}\nLogDir: {conf / 'log'}\n"
        f"SupportDir: /usr/lib/apt-cacher-ng\nPort: {APT_CACHE_PORT}\nExThreshold: 4\n"
    )
    (conf / "pid").unlink(missing_ok=True)  # left by an instance that died with its session
    run("/usr/sbin/apt-cacher-ng", "-c", str(conf), "ForeGround=0", f"PidFile={conf / 'pid'}")
    wait_for(apt_cache_up, "the apt cache (apt-cacher-ng) did not start", 20)


@contextmanager
def one_index_update_at_a_time():
    """Held while a box's `apt-get update` runs through the apt cache, by every Shipyard process
    (the test suite's workers too). apt-cacher-ng refetches a suite's index (InRelease) for each
    request; two boxes asking in the same second make it collide on its own file ("File exists":
    it moves the old copy aside under a name made of the second), and a box whose request failed
    so hung in apt-get update for good (a fleet's boxes, three times, 20 minutes until killed)."""
    lock = CACHE / "apt-cacher-ng" / "index-update.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        yield


# Then the provisioning's apt tasks find the lists fresh (their cache_valid_time reads this stamp)
# and ask the cache for no index at the same time as the other boxes.
UPDATE_LISTS = (
    "apt-get -o Acquire::http::Proxy={proxy} update -qq"
    " && mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/update-success-stamp"
)


def update_box_lists(container: str) -> None:
    """A just-started box's apt lists, through the apt cache, one box at a time."""
    with one_index_update_at_a_time():
        run("docker", "exec", container, "sh", "-c",
            UPDATE_LISTS.format(proxy=apt_proxy_for_boxes()))  # fmt: skip


def docker_gateway() -> str:
    """The host's address as seen from boxes on Docker's default bridge."""
    fmt = "{{json .IPAM.Config}}"
    config = json.loads(run("docker", "network", "inspect", "bridge", "-f", fmt).stdout)[0]
    # Docker 20.10 leaves Gateway out for the default bridge; it is the subnet's first address.
    return config.get("Gateway") or str(next(ipaddress.ip_network(config["Subnet"]).hosts()))


def apt_proxy_for_boxes() -> str:
    return f"http://{docker_gateway()}:{APT_CACHE_PORT}"


def extra_ca_files() -> list[Path]:
    """The host's locally added CA certificates (a corporate proxy's, for example)."""
    return sorted(Path(EXTRA_CA_GLOB).glob("*.crt"))
