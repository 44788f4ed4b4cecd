"""Build ansible-playbook command lines for an environment (pure logic, unit-tested)."""

from __future__ import annotations

from pathlib import Path

from . import ROOT
from .shell import ShipyardError

INVENTORIES = ROOT / "inventory"
PLAYBOOKS = ROOT / "playbooks"


def environments() -> list[str]:
    return sorted(p.name for p in INVENTORIES.iterdir() if p.is_dir() and p.name != "here")


def inventory(env: str, here: bool = False) -> Path:
    """The inventory folder for `env`; `here` is the machine Shipyard runs on."""
    if here:
        return INVENTORIES / "here"
    path = INVENTORIES / env
    if env == "here" or not path.is_dir():
        raise ShipyardError(
            f"unknown environment -e {env!r}: choose one of {', '.join(environments())}"
            " (or --here for this machine)"
        )
    if env == "local" and not (path / "hosts.yml").exists():
        raise ShipyardError("no sandbox box is running: start one with `inv up`")
    return path


def command(
    playbook: str,
    env: str = "local",
    *,
    here: bool = False,
    check: bool = False,
    limit: str = "",
    tags: str = "",
    extra_vars: dict[str, str] | None = None,
    verbose: int = 0,
) -> list[str]:
    """The ansible-playbook argv for `playbook` against `env`."""
    book = PLAYBOOKS / f"{playbook}.yml"
    if not book.exists():
        raise ShipyardError(f"no playbook {book.relative_to(ROOT)}")
    argv = ["ansible-playbook", "-i", str(inventory(env, here)), str(book)]
    if check:
        argv += ["--check", "--diff"]
    if limit:
        argv += ["--limit", limit]
    if tags:
        argv += ["--tags", tags]
    for key, value in (extra_vars or {}).items():
        argv += ["-e", f"{key}={value}"]
    if verbose:
        argv.append("-" + "v" * verbose)
    return argv
