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

from . import STATE, host
from .shell import ShipyardError, run

PACKAGES = "python3,systemd,systemd-sysv,dbus,sudo,openssh-server,ca-certificates"
MIRROR = "http://deb.debian.org/debian"
# Debian's archive key: present on Debian; on Ubuntu (CircleCI's machine images) its package
# debian-archive-keyring brings it, and debootstrap must be told to use it.
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
# `inv images` also saves each image here (`docker save`), and a missing image is loaded from here
# before it is built: CircleCI's cache keeps this folder between jobs (docker's store it cannot).
ARCHIVES = STATE / "images"


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


def _archive(os: OS, recipe: str) -> Path:
    return ARCHIVES / f"{os.name}-{recipe}.tar"


def ensure_image(os: OS, force: bool = False, save: bool = False) -> str:
    """Build the image for `os` unless an up-to-date one exists (in Docker, or saved in
    ARCHIVES); return its tag. `save`: keep it in ARCHIVES too, for a CI cache."""
    ca_files = host.extra_ca_files()
    want = recipe_hash(os, ca_files)
    archive = _archive(os, want)
    if not force and current_hash(os) != want and archive.exists():
        run("docker", "load", "-q", "-i", str(archive), echo=True)
    if force or current_hash(os) != want:
        _build(os, want, ca_files)
    if save and not archive.exists():
        ARCHIVES.mkdir(parents=True, exist_ok=True)
        for old in ARCHIVES.glob(f"{os.name}-*.tar"):
            old.unlink()
        run("docker", "save", "-o", str(archive), tag(os), echo=True)
        archive.chmod(0o644)  # docker writes 0600; a CI cache step may run as another user
    return tag(os)


def build_all(force: bool = False) -> list[str]:
    """`inv images`: every supported OS's image, built unless cached, and saved for a CI cache."""
    host.ensure_docker()
    return [ensure_image(os, force=force, save=True) for os in SUPPORTED.values()]


def _build(os: OS, want: str, ca_files: list[Path]) -> None:
    missing = [] if shutil.which("debootstrap") else ["debootstrap"]
    missing += [] if KEYRING.exists() else ["debian-archive-keyring"]
    if missing:
        host.apt_install(*missing)
    host.ensure_apt_cache()
    started = time.monotonic()
    print(
        f"shipyard: building image {tag(os)} with debootstrap ({os.suite}), about 80 s", flush=True
    )
    with tempfile.TemporaryDirectory(prefix="shipyard-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        mirror = f"http://127.0.0.1:{host.APT_CACHE_PORT}/{MIRROR.removeprefix('http://')}"
        args = ["--variant=minbase", f"--include={PACKAGES}", f"--keyring={KEYRING}", os.suite,
                str(root), mirror]  # fmt: skip
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
