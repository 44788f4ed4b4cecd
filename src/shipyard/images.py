"""Base images for sandbox boxes, built locally with debootstrap (no registry is needed).

An image is tagged `shipyard/<os>:latest` and labelled with a hash of its recipe (this file, the
suite, and the CA certificates baked in); it is rebuilt only when that hash changes.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import host
from .shell import ShipyardError, run

PACKAGES = "python3,systemd,systemd-sysv,dbus,sudo,openssh-server,ca-certificates"
MIRROR = "http://deb.debian.org/debian"


@dataclass(frozen=True)
class OS:
    name: str  # what users type: debian12
    suite: str  # what debootstrap wants: bookworm


SUPPORTED = {os.name: os for os in (OS("debian12", "bookworm"), OS("debian13", "trixie"))}

SOURCES = """\
Types: deb
URIs: http://deb.debian.org/debian
Suites: {suite} {suite}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: {suite}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""

# Every box gets its own SSH host keys at first boot, not the ones baked into the image.
HOSTKEYS_DROPIN = """\
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
"""


def lookup(name: str) -> OS:
    try:
        return SUPPORTED[name]
    except KeyError:
        choices = ", ".join(SUPPORTED)
        raise ShipyardError(f"unknown --os {name!r}: choose one of {choices}") from None


def tag(os: OS) -> str:
    return f"shipyard/{os.name}:latest"


# Bump when the build steps in ensure_image change in a way the constants above do not show.
RECIPE_VERSION = 1


def recipe_hash(os: OS, ca_files: list[Path]) -> str:
    h = hashlib.sha256()
    for part in (RECIPE_VERSION, PACKAGES, MIRROR, SOURCES, HOSTKEYS_DROPIN, os.suite):
        h.update(str(part).encode() + b"\0")
    for ca in ca_files:
        h.update(ca.name.encode() + ca.read_bytes())
    return h.hexdigest()[:16]


def current_hash(os: OS) -> str | None:
    proc = run(
        "docker",
        "image",
        "inspect",
        tag(os),
        "-f",
        '{{index .Config.Labels "shipyard.recipe"}}',
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def ensure_image(os: OS, force: bool = False) -> str:
    """Build the image for `os` unless an up-to-date one exists; return its tag."""
    ca_files = host.extra_ca_files()
    want = recipe_hash(os, ca_files)
    if not force and current_hash(os) == want:
        return tag(os)
    if not shutil.which("debootstrap"):
        host._apt_install("debootstrap")
    host.ensure_apt_cache()
    started = time.monotonic()
    print(
        f"shipyard: building image {tag(os)} with debootstrap ({os.suite}), about 80 s", flush=True
    )
    with tempfile.TemporaryDirectory(prefix="shipyard-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        mirror = f"http://127.0.0.1:{host.APT_CACHE_PORT}/{MIRROR.removeprefix('http://')}"
        args = ["--variant=minbase", f"--include={PACKAGES}", os.suite, str(root), mirror]
        run("debootstrap", *args)
        (root / "etc/apt/sources.list").unlink(missing_ok=True)
        (root / "etc/apt/sources.list.d/debian.sources").write_text(SOURCES.format(suite=os.suite))
        for ca in ca_files:
            shutil.copy(ca, root / "usr/local/share/ca-certificates" / ca.name)
        run("chroot", str(root), "update-ca-certificates")
        for key in (root / "etc/ssh").glob("ssh_host_*"):
            key.unlink()
        dropin = root / "etc/systemd/system/ssh.service.d"
        dropin.mkdir(parents=True, exist_ok=True)
        (dropin / "shipyard-hostkeys.conf").write_text(HOSTKEYS_DROPIN)
        run("chroot", str(root), "apt-get", "clean")
        tar = run("tar", "-C", str(root), "-c", ".", capture_output=False, stdout=-1, text=False)
        run(
            "docker",
            "import",
            "--change",
            f"LABEL shipyard.recipe={want}",
            "--change",
            'CMD ["/lib/systemd/systemd"]',
            "-",
            tag(os),
            input=tar.stdout,
            text=False,
        )
    print(f"shipyard: built {tag(os)} in {time.monotonic() - started:.0f} s", flush=True)
    return tag(os)
