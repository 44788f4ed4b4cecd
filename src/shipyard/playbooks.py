"""Build ansible-playbook command lines for an environment, after checking what the user typed
(pure logic, unit-tested): an unknown environment, a broken inventory file or a run that would
reach no host stops here, with the fix, before Ansible starts."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import yaml

from . import ROOT, STATE
from .shell import ShipyardError

# SHIPYARD_INVENTORIES points -e ENV elsewhere: `inv ci` uses it for the sandbox boxes standing in
# for staging and production (src/shipyard/pipeline.py). The shared layer stays the project's.
INVENTORIES = Path(os.environ.get("SHIPYARD_INVENTORIES") or ROOT / "inventory")
PLAYBOOKS = ROOT / "playbooks"
SHARED = ROOT / "inventory" / "shared"  # the settings layer every environment reads first
BOXES_INVENTORY = STATE / "boxes-inventory.yml"  # the running sandbox boxes (boxes.py writes it)
NOT_ENVIRONMENTS = {"here", "shared"}
ENV_NAME = re.compile(r"[a-z][a-z0-9_-]*\Z")


def environments() -> list[str]:
    return sorted(
        p.name for p in INVENTORIES.iterdir() if p.is_dir() and p.name not in NOT_ENVIRONMENTS
    )


class _AnyTagLoader(yaml.SafeLoader):
    """Reads inventory files as Ansible does, tags included (!vault, !unsafe): as plain values."""


_AnyTagLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def check_yaml(folder: Path) -> None:
    """Every YAML file of an inventory folder parses; the error names the file and the line."""
    for path in sorted(folder.rglob("*.yml")) + sorted(folder.rglob("*.yaml")):
        try:
            yaml.load(path.read_text(), Loader=_AnyTagLoader)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f"{path.relative_to(ROOT)}:{mark.line + 1}" if mark else path.relative_to(ROOT)
            problem = getattr(err, "problem", None) or str(err).splitlines()[0]
            raise ShipyardError(f"{where}: not valid YAML ({problem}); fix that line") from err


def hosts_in(hosts_file: Path) -> set[str]:
    """The host names a YAML inventory file lists."""
    found: set[str] = set()

    def walk(group: dict | None) -> None:
        group = group or {}
        found.update((group.get("hosts") or {}).keys())
        for child in (group.get("children") or {}).values():
            walk(child)

    if hosts_file.exists():
        doc = yaml.load(hosts_file.read_text(), Loader=_AnyTagLoader) or {}
        walk(doc.get("all"))
    return found


def inventory(env: str = "", here: bool = False) -> list[Path]:
    """The inventory sources for `env`, after inventory/shared; `here` is this machine. The
    sandbox (`local`) adds the running boxes, which `inv up` writes into the state folder."""
    if here and env:
        raise ShipyardError(
            f"--here provisions this machine and -e {env} names an environment: give one of them"
        )
    env = "here" if here else (env or "local")
    path = INVENTORIES / env
    if not here and (not ENV_NAME.match(env) or env not in environments()):
        raise ShipyardError(
            f"unknown environment -e {env!r}: choose one of {', '.join(environments())}"
            " (a folder of inventory/), or --here for this machine"
        )
    hosts_file = BOXES_INVENTORY if env == "local" else path / "hosts.yml"
    if env == "local" and not hosts_in(hosts_file):
        raise ShipyardError("no sandbox box is running: start one with `inv up`")
    check_yaml(SHARED)
    check_yaml(path)
    if not hosts_in(hosts_file):
        raise ShipyardError(
            f"inventory/{env}/hosts.yml lists no host: put your servers under web and db there"
        )
    return [path, BOXES_INVENTORY] if env == "local" else [path]


def command(
    playbook: str,
    env: str = "",
    *,
    here: bool = False,
    check: bool = False,
    limit: str = "",
    tags: str = "",
    extra_vars: dict[str, str] | None = None,
    verbose: int = 0,
) -> list[str]:
    """The ansible-playbook argv for `playbook` against `env` (default: local)."""
    book = PLAYBOOKS / f"{playbook}.yml"
    if not book.exists():
        raise ShipyardError(f"no playbook {book.relative_to(ROOT)}")
    argv = ["ansible-playbook", "-i", str(SHARED)]
    for source in inventory(env, here):
        argv += ["-i", str(source)]
    argv.append(str(book))
    if check:
        argv += ["--check", "--diff"]
    if limit:
        argv += ["--limit", limit]
    if tags:
        argv += ["--tags", tags]
    if extra_vars:  # JSON, so that a value with spaces or quotes arrives as it was given
        argv += ["-e", json.dumps(extra_vars)]
    if verbose:
        argv.append("-" + "v" * verbose)
    return argv
