"""How the toolkit reaches an environment's hosts outside Ansible (the fleet operations, the
preflight): Fabric connections built from the connection variables Ansible resolves from the same
inventory (`ansible.inventory`, the vault password included), so there is one place that says how
to reach a host. Host keys are checked as the inventory tells ssh to check them: against the
pinned known_hosts file, refusing a key that is not there. On a web host, the release tool the
django_app role installs answers.

`route_for` (pure, unit-tested) reads the variables; `connect` turns a route into a Fabric
`Connection`; `open_all` opens a fleet's connections in parallel and runs nothing on any host
unless every one of them answered with its pinned key.
"""

from __future__ import annotations

import os
import shlex
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import yaml

from . import ROOT, ansible
from .ansible import DEPLOY_KEY
from .shell import ShipyardError

ROLE_VARS = ROOT / "roles" / "django_app" / "vars" / "main.yml"
CONNECT_TIMEOUT = 10

# ssh options that change nothing about where the connection goes or which key it trusts
# (Ansible's own multiplexing, logging, keep-alives): Fabric does without them.
HARMLESS_OPTIONS = {
    "batchmode", "controlmaster", "controlpersist", "controlpath", "loglevel",
    "serveraliveinterval", "serveralivecountmax", "identitiesonly", "compression",
    "preferredauthentications", "passwordauthentication", "kbdinteractiveauthentication",
    "forwardagent", "tcpkeepalive", "addkeystoagent",
}  # fmt: skip
# What they do follow: where the host is, which key logs in, which host keys are trusted.
FOLLOWED_OPTIONS = {
    "stricthostkeychecking", "userknownhostsfile", "proxyjump", "proxycommand", "port",
    "identityfile", "user", "connecttimeout",
}  # fmt: skip


@cache
def tool_path() -> str:
    """Where the django_app role installs the release tool (its vars: the one definition)."""
    return yaml.safe_load(ROLE_VARS.read_text())["__django_app_tool_path"]


@dataclass(frozen=True)
class Route:
    """How to reach one host: what ssh would be told by the inventory's variables."""

    name: str  # the inventory's name for the host
    host: str
    port: int = 22
    user: str | None = None
    key: str | None = None
    # The known_hosts file to check the host's key against (None: ~/.ssh/known_hosts), or no
    # check at all when `check_key` is false (sandbox boxes, recreated with new keys).
    known_hosts: str | None = None
    check_key: bool = True
    jump: Route | None = None  # a ProxyJump bastion, reached the same way
    proxy_command: str | None = None
    connect_timeout: int = CONNECT_TIMEOUT

    @property
    def known_hosts_shown(self) -> str:
        path = Path(self.known_hosts or "~/.ssh/known_hosts")
        return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


@dataclass(frozen=True)
class WebHost:
    name: str
    route: Route
    app: str = "app"  # django_app_name

    def tool_command(self, *args: str) -> str:
        """The release tool's command line, quoted for the remote shell, run through sudo."""
        return remote_command(tool_path(), "--config", f"/etc/shipyard/{self.app}.json", *args)


def remote_command(*argv: str) -> str:
    """One command line for the host's shell: quoted here, run as root (passwordless sudo, as
    Ansible's become uses it; -n: fail rather than wait for a password nobody can type)."""
    return shlex.join(["sudo", "-n", "--", *argv])


def _plain(value, what: str, host: str) -> str:
    text = str(value)
    if "{{" in text:
        raise ShipyardError(
            f"{host}: {what} is a template ({text}); the fleet commands (status, releases, logs,"
            " manage, preflight) read the inventory's plain values: set it without {{ }}"
        )
    return text


def _ssh_options(name: str, hostvars: dict) -> dict[str, str]:
    """The -o options (and -J, -p, -i, -l) of ansible_ssh_common_args / _extra_args, lower-cased
    names; an option that would change the route but that this module does not follow is refused
    by name rather than silently dropped."""
    found: dict[str, str] = {}
    for var in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        words = shlex.split(_plain(hostvars.get(var) or "", var, name))
        flags = {"-J": "proxyjump", "-p": "port", "-i": "identityfile", "-l": "user"}
        i = 0
        while i < len(words):
            word = words[i]
            if word in ("-o", *flags) and i + 1 < len(words):
                value, i = words[i + 1], i + 2
            elif word.startswith("-o") and len(word) > 2:
                value, i = word[2:], i + 1
            else:
                raise ShipyardError(
                    f"{name}: {var} has {word!r}, which the fleet commands cannot follow: give"
                    " ssh options as -o Name=value"
                )
            if word in flags:
                found[flags[word]] = value
                continue
            key, sep, val = value.partition("=")
            if not sep:
                key, _, val = value.partition(" ")
            key = key.strip().lower()
            if key in HARMLESS_OPTIONS:
                continue
            if key not in FOLLOWED_OPTIONS:
                raise ShipyardError(
                    f"{name}: {var} sets -o {value}, which the fleet commands (Fabric) cannot"
                    " follow; remove it, or reach the host through ProxyJump/ProxyCommand"
                )
            found.setdefault(key, val.strip())
    return found


def _jump_route(spec: str, via: Route) -> Route:
    """`[user@]host[:port]` of a ProxyJump, checked with the same known_hosts and key."""
    first = spec.split(",")[0]
    user, _, rest = first.rpartition("@")
    host, _, port = rest.partition(":")
    return Route(
        name=host, host=host, port=int(port or 22), user=user or via.user, key=via.key,
        known_hosts=via.known_hosts, check_key=via.check_key,
        connect_timeout=via.connect_timeout,
    )  # fmt: skip


def route_for(name: str, hostvars: dict, deploy_key: str | None = None) -> Route:
    """How to reach host `name` from Ansible's connection variables (pure, unit-tested);
    `deploy_key` (default: $SHIPYARD_SSH_KEY_FILE) when they name no key."""
    opts = _ssh_options(name, hostvars)
    port = hostvars.get("ansible_port") or opts.get("port") or 22
    key = hostvars.get("ansible_ssh_private_key_file") or opts.get("identityfile")
    if not key:
        key = deploy_key if deploy_key is not None else os.environ.get(DEPLOY_KEY)
    user = hostvars.get("ansible_user") or opts.get("user")
    known = opts.get("userknownhostsfile")
    check = opts.get("stricthostkeychecking", "yes").lower() not in ("no", "off")
    route = Route(
        name=name,
        host=_plain(hostvars.get("ansible_host", name), "ansible_host", name),
        port=int(_plain(port, "ansible_port", name)),
        user=_plain(user, "ansible_user", name) if user else None,
        key=_plain(key, "ansible_ssh_private_key_file", name) if key else None,
        known_hosts=None if known in (None, "/dev/null") else known.split()[0],
        check_key=check and known != "/dev/null",
        proxy_command=opts.get("proxycommand"),
        connect_timeout=int(opts.get("connecttimeout", CONNECT_TIMEOUT)),
    )
    if opts.get("proxyjump") and opts["proxyjump"].lower() != "none":
        route = replace(route, jump=_jump_route(opts["proxyjump"], route))
    return route


def _absolute(path: str) -> str:
    """A key or known_hosts path as ssh must be told it from any folder: an environment's pinned
    file is relative to the project."""
    found = Path(path).expanduser()
    return str(found if found.is_absolute() else ROOT / found)


def openssh_options(route: Route) -> list[tuple[str, str]]:
    """The route as OpenSSH options (pure, unit-tested): `inv ssh` passes them with -o, and
    `inv ssh-config` writes them under a Host line, so a terminal, an IDE and the fleet commands
    reach a host the same way and trust the same host keys."""
    found = [("HostName", route.host), ("Port", str(route.port))]
    if route.user:
        found.append(("User", route.user))
    if route.key:
        found += [("IdentityFile", _absolute(route.key)), ("IdentitiesOnly", "yes")]
    if route.check_key:
        found.append(("StrictHostKeyChecking", "yes"))
        if route.known_hosts:
            found.append(("UserKnownHostsFile", _absolute(route.known_hosts)))
    else:
        # A sandbox box is recreated with a new host key under a port another box had: no key is
        # recorded, so none goes stale (Vagrant's ssh-config does the same).
        found += [("StrictHostKeyChecking", "no"), ("UserKnownHostsFile", "/dev/null"),
                  ("LogLevel", "ERROR")]  # fmt: skip
    if route.jump:
        jump = route.jump
        user = f"{jump.user}@" if jump.user else ""
        found.append(("ProxyJump", f"{user}{jump.host}:{jump.port}"))
    elif route.proxy_command:
        found.append(("ProxyCommand", route.proxy_command))
    found.append(("ConnectTimeout", str(route.connect_timeout)))
    return found


def connect(route: Route):
    """A Fabric Connection (not yet open) for `route`; host keys are checked as ssh would."""
    from fabric import Connection
    from paramiko import AutoAddPolicy, RejectPolicy

    gateway = connect(route.jump) if route.jump else route.proxy_command
    conn = Connection(
        route.host,
        user=route.user,
        port=route.port,
        gateway=gateway,
        connect_timeout=route.connect_timeout,
        connect_kwargs={"key_filename": [str(Path(route.key).expanduser())]} if route.key else {},
    )
    if route.check_key:
        known = Path(route.known_hosts or "~/.ssh/known_hosts").expanduser()
        if not known.is_absolute():  # an environment's pinned file is relative to the project
            known = ROOT / known
        if known.is_file():
            conn.client.load_host_keys(str(known))
        conn.client.set_missing_host_key_policy(RejectPolicy())
    else:
        conn.client.set_missing_host_key_policy(AutoAddPolicy())
    return conn


def _open_problem(route: Route, conn) -> str | None:
    """Open one connection; None, or what went wrong, in words that name the host and the fix."""
    from paramiko import BadHostKeyException, SSHException

    try:
        conn.open()
        return None
    except BadHostKeyException:
        return (
            f"{route.name}: its host key does not match {route.known_hosts_shown}: if the server"
            " was rebuilt, replace its line with the new key read on the server; otherwise stop,"
            " someone may be in the middle"
        )
    except SSHException as err:
        if "not found in known_hosts" in str(err):
            return (
                f"{route.name}: no key for it in {route.known_hosts_shown}: add the server's host"
                " key line, read on the server itself"
            )
        return f"{route.name}: ssh failed: {err}"
    except OSError as err:
        return f"{route.name}: cannot connect to {route.host}:{route.port}: {err.strerror or err}"


def try_open(routes: list[Route]) -> tuple[list, list[str]]:
    """Open every route's connection in parallel: the connections, and a sentence for each host
    that failed (a wrong host key, no answer) naming it and the fix."""
    conns = [connect(r) for r in routes]
    with ThreadPoolExecutor(max_workers=min(16, len(conns)) or 1) as pool:
        problems = [p for p in pool.map(_open_problem, routes, conns) if p]
    return conns, problems


def open_all(routes: list[Route]) -> list:
    """Every route's connection, open; or, when any host fails, every one closed and an error
    naming each failure: nothing has run on any host."""
    conns, problems = try_open(routes)
    if problems:
        for conn in conns:
            conn.close()
        raise ShipyardError("nothing was run on any host:\n  - " + "\n  - ".join(problems))
    return conns


def run_everywhere(targets: list[tuple[Route, str]]) -> list[object]:
    """Each (route, command line) run at once: Fabric's ThreadingGroup, one per distinct command.
    Each result is Fabric's Result, or the exception of a connection lost mid-run. Nothing runs
    unless every host answered with its pinned key (open_all)."""
    from fabric import ThreadingGroup
    from fabric.exceptions import GroupException

    conns = open_all([route for route, _ in targets])
    found: dict[int, object] = {}
    try:
        by_command: dict[str, list[int]] = {}
        for i, (_, command) in enumerate(targets):
            by_command.setdefault(command, []).append(i)
        for command, indexes in by_command.items():
            group = ThreadingGroup.from_connections([conns[i] for i in indexes])
            try:
                results = group.run(command, hide=True, warn=True)
            except GroupException as err:  # a connection lost mid-run: that host's error
                results = err.result
            for i in indexes:
                found[i] = results[conns[i]]
    finally:
        for c in conns:
            c.close()
    return [found[i] for i in range(len(targets))]


def run_on(route: Route, command: str, stdin: str = ""):
    """Run one command line on one host, its output kept; `stdin` is what it reads (a secret goes
    there, never on a command line). Fabric's Result (exited, stdout, stderr)."""
    import io

    (conn,) = open_all([route])
    try:
        return conn.run(command, hide=True, warn=True, in_stream=io.StringIO(stdin))
    finally:
        conn.close()


def web_hosts(env: str = "") -> list[WebHost]:
    data = ansible.inventory(env or "local")
    hostvars = data.get("_meta", {}).get("hostvars", {})
    names = data.get("web", {}).get("hosts", [])
    if not names:
        raise ShipyardError("the environment has no host in the web group: nothing runs the app")
    return [
        WebHost(
            n,
            route_for(n, hostvars.get(n, {})),
            str(hostvars.get(n, {}).get("django_app_name", "app")),
        )
        for n in names
    ]
