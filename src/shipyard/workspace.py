"""The developer's ways into a box: `inv ssh` (a login, or one command, on a sandbox box or an
environment's host) and `inv ssh-config` (OpenSSH `Host` blocks, so that a terminal, VS Code's
Remote-SSH or PyCharm opens a box by name). Both describe a host with hosts.openssh_options, the
route the fleet commands (Fabric) take too: one place says how a host is reached and which host
keys are trusted.

`--install` keeps the blocks in a file of their own, ~/.ssh/shipyard/<scope>-<env>.conf, which one
`Include` line at the top of ~/.ssh/config reads (added once; nothing else in that file is touched).
The sandbox's file is rewritten whenever the running boxes change (`inv up`, `inv down`).
"""

from __future__ import annotations

import os
from pathlib import Path

from . import ansible, boxes, environments
from .hosts import Route, openssh_options, route_for
from .shell import ShipyardError

INSTALL_DIR = "shipyard"  # in ~/.ssh


def alias(name: str, env: str = "") -> str:
    """The name a terminal or an IDE opens a host by: shipyard-<box>, shipyard-<env>-<host>."""
    return f"shipyard-{name}" if environments.is_sandbox(env) else f"shipyard-{env}-{name}"


def routes(env: str = "") -> dict[str, Route]:
    """Every host of the environment and how to reach it: the running sandbox boxes, or each
    host of a real environment's inventory (its user, key, pinned known_hosts, jump host)."""
    if environments.is_sandbox(env):
        return {b.name: b.route() for b in environments.boxes_ready()}
    hostvars = ansible.inventory(env).get("_meta", {}).get("hostvars", {})
    return {name: route_for(name, hostvars[name]) for name in sorted(hostvars)}


def pick(found: dict[str, Route], name: str, env: str = "") -> Route:
    """The host `name` (pure), or the only one; a clear refusal naming the choices otherwise."""
    where = "sandbox box" if environments.is_sandbox(env) else f"host of -e {env}"
    flag = "--name" if environments.is_sandbox(env) else "--host"
    if not found:
        raise ShipyardError(
            "no sandbox box is running: start one with `inv up`"
            if environments.is_sandbox(env)
            else f"-e {env} has no host in its inventory"
        )
    if name:
        if name not in found:
            raise ShipyardError(f"{flag} {name}: no such {where}; there are: {', '.join(found)}")
        return found[name]
    if len(found) > 1:
        several = "sandbox boxes run" if environments.is_sandbox(env) else f"hosts are in -e {env}"
        raise ShipyardError(f"{len(found)} {several}: choose one with {flag} ({', '.join(found)})")
    return next(iter(found.values()))


def config_block(host_alias: str, route: Route) -> str:
    """One OpenSSH `Host` block (pure)."""
    return "\n".join([f"Host {host_alias}", *(f"    {k} {v}" for k, v in openssh_options(route))])


def config_text(found: dict[str, Route], env: str = "") -> str:
    """The blocks of every host (pure). The last line puts the parser back in the state the
    including file was in, so that lines after the `Include` apply to every host as before."""
    blocks = [config_block(alias(name, env), route) for name, route in found.items()]
    back = "# Back to every host for what follows the Include.\nMatch all\n"
    return "\n\n".join([*blocks, back])


def ssh_argv(host_alias: str, route: Route, command: list[str]) -> list[str]:
    """`ssh` for one host (pure): the same options as its config block, given with -o, so it
    works whether or not the block is installed."""
    argv = ["ssh"]
    for key, value in openssh_options(route):
        argv += ["-o", f"{key}={value}"]
    argv.append(host_alias)
    return [*argv, "--", *command] if command else argv


def ssh(env: str, name: str, command: list[str]) -> None:
    """Replace this process with ssh to the host (a terminal login, or the one command): its exit
    code is the command's."""
    route = pick(routes(env), name, env)
    argv = ssh_argv(alias(route.name, env), route, command)
    os.execvp(argv[0], argv)


def ssh_config(env: str, name: str, keep: bool) -> str:
    """`inv ssh-config`: the blocks of every host (or of `name`); with `keep` (--install), every
    host's blocks written where ~/.ssh/config includes them, and a first line that says so."""
    everything = routes(env)
    shown = {name: pick(everything, name, env)} if name else everything
    text = config_text(shown, env)
    if not keep:
        return text
    path = install(config_text(everything, env), env)
    first = alias(next(iter(shown)), env)
    return f"# Written to {path}, which ~/.ssh/config includes: `ssh {first}` opens it.\n{text}"


def install_path(env: str = "", home: Path | None = None) -> Path:
    home = Path.home() if home is None else home
    return home / ".ssh" / INSTALL_DIR / f"{boxes.SCOPE}-{env or 'sandbox'}.conf"


def include_line(home: Path) -> str:
    # An absolute path: OpenSSH expands `~` from the password database, not from $HOME.
    return f"Include {home / '.ssh' / INSTALL_DIR}/*.conf"


def install(text: str, env: str = "", home: Path | None = None) -> Path:
    """Write the blocks to their own file and make ~/.ssh/config include it (once, at the top,
    where an Include applies to every host); the user's own lines stay as they were."""
    home = Path.home() if home is None else home
    target = install_path(env, home)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    target.parent.parent.chmod(0o700)
    target.write_text(text)
    target.chmod(0o600)
    config = home / ".ssh" / "config"
    line = include_line(home)
    old = config.read_text() if config.exists() else ""
    if line not in (existing.strip() for existing in old.splitlines()):
        header = "# Shipyard's boxes and hosts (inv ssh-config --install)"
        config.write_text(f"{header}\n{line}\n\n{old}")
    config.chmod(0o600)
    return target


def refresh_installed(running: list[boxes.Box]) -> None:
    """Rewrite the installed sandbox file, if there is one, from the boxes running now."""
    target = install_path()
    if target.exists():
        target.write_text(config_text({b.name: b.route() for b in running}))
