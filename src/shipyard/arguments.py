"""Every task argument is checked before the task runs: one table of kinds, one decorator.

Invoke converts an argument by the type of its default (`lines=100` becomes `int(value)`), so a
typo such as `--lines 5;x` raised a ValueError traceback from inside Invoke's parser. `task()`
below shows Invoke every typed argument as text, then parses and checks each one here by the kind
the task declares for it, before the task's body runs: a refusal is one line that names the
argument and what it accepts, exit code 2, nothing started. A `ShipyardError` raised by the body
becomes Invoke's `Exit` here too, so no task catches it itself.

Every argument that takes a value must declare a kind: `task()` refuses a task that forgets one,
so a new argument cannot skip the checks (tests/unit/test_arguments.py tries each with hostile
input).
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import invoke

from . import boxes, remote
from .shell import CommandFailed, ShipyardError

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BadArgument(ValueError):
    """The value does not fit its kind; the message says what the kind accepts."""


@dataclass(frozen=True)
class Kind:
    accepts: str  # what the refusal says the argument takes
    parse: Callable[[str], object]


def _pattern(regex: str, accepts: str) -> Kind:
    rule = re.compile(regex)

    def parse(value: str) -> str:
        if not rule.fullmatch(value):
            raise BadArgument(accepts)
        return value

    return Kind(accepts, parse)


def _number(low: int, high: int, accepts: str) -> Kind:
    def parse(value: str) -> int:
        if not re.fullmatch(r"[0-9]{1,9}", value.strip()) or not low <= int(value) <= high:
            raise BadArgument(accepts)
        return int(value)

    return Kind(accepts, parse)


def choice(names: Callable[[], Iterable[str]], what: str) -> Kind:
    def parse(value: str) -> str:
        allowed = list(names())
        if value not in allowed:
            raise BadArgument(f"{what}: {', '.join(allowed)}")
        return value

    return Kind(f"{what} (see --help)", parse)


def choices(names: Callable[[], Iterable[str]], what: str) -> Kind:
    """A comma-separated subset of `names`."""

    def parse(value: str) -> str:
        allowed = list(names())
        wanted = [v.strip() for v in value.split(",")]
        if not all(wanted) or set(wanted) - set(allowed):
            raise BadArgument(f"{what}, comma-separated: {', '.join(allowed)}")
        return value

    return Kind(f"{what}, comma-separated", parse)


def _path(must_be: str = "") -> Kind:
    """A path on this machine: one line, not an option; `file`/`dir` must exist as such."""
    accepts = {"": "a path", "file": "an existing file", "dir": "an existing folder"}[must_be]

    def parse(value: str) -> str:
        if CONTROL.search(value) or value.startswith("-"):
            raise BadArgument(f"{accepts} (one line, not starting with -)")
        if must_be == "file" and not Path(value).is_file():
            raise BadArgument(f"{accepts}: there is no file {value!r}")
        if must_be == "dir" and not Path(value).is_dir():
            raise BadArgument(f"{accepts}: there is no folder {value!r}")
        return value

    return Kind(accepts, parse)


def _environments() -> list[str]:
    from . import playbooks

    return playbooks.environments()


def _os_names() -> list[str]:
    from . import images

    return list(images.SUPPORTED)


def _engines() -> list[str]:
    from . import boxes

    return list(boxes.DB_ENGINES)


# The kinds of argument the tasks take. Names refer to what the argument is, not to one task.
KINDS: dict[str, Kind] = {
    "env": choice(_environments, "an environment, a folder of inventory/"),
    # The rules the modules apply themselves, not copies: boxes.BOX_NAME, the database roles'.
    "box": _pattern(
        boxes.BOX_NAME.pattern, "a box name: lower-case letters, digits and -, e.g. web1"
    ),
    "os": choice(_os_names, "an operating system"),
    "db": choice(_engines, "a database engine"),
    "host": _pattern(
        r"[A-Za-z0-9][A-Za-z0-9_.-]{0,252}", "a host name of the inventory, e.g. web1"
    ),
    "limit": _pattern(
        r"(?!-)[A-Za-z0-9_.*:&!,\[\]-]{1,1000}",
        "hosts or groups of the inventory, comma-separated (Ansible's --limit), e.g. web1,web2",
    ),
    "tags": _pattern(r"[a-z_]+(,[a-z_]+)*", "role or purpose tags, comma-separated, e.g. base,git"),
    "ref": _pattern(
        r"(?!-)(?!.*\.\.)[A-Za-z0-9_./@^~{}-]{1,255}",
        "a git commit, branch or tag, e.g. main, v1.2 or HEAD~1",
    ),
    "commit": _pattern(r"[0-9a-f]{7,40}", "a commit id (7 to 40 hex digits)"),
    "release": _pattern(
        r"[0-9]{8}T[0-9]{6}Z-[A-Za-z0-9-]{1,60}",
        "a release id as `inv releases` prints it, e.g. 20261126T210501Z-bd3d03dcfb0f",
    ),
    "database": _pattern(
        remote.db_identifier(), "a lower-case SQL identifier (a-z, 0-9, _), e.g. app_copy"
    ),
    "lines": _number(1, 100_000, "a whole number from 1 to 100000"),
    "port": _number(1, 65_535, "a TCP port, a whole number from 1 to 65535"),
    "runs": _number(1, 20, "a whole number of runs from 1 to 20"),
    "web": _number(0, 9, "a number of web boxes from 1 to 9 (0, the default: one lone box)"),
    "batch": _number(1, 100, "a number of web hosts per batch, from 1 to 100"),
    "path": _path(),
    "file": _path("file"),
    "dir": _path("dir"),
}


def flag(name: str) -> str:
    """How the argument is typed: `host_` is --host, `allow_dirty` is --allow-dirty."""
    return "--" + name.strip("_").replace("_", "-")


def task(
    kinds: dict[str, str] | None = None, extra_kinds: dict[str, Kind] | None = None, **options
):
    """`invoke.task`, with each argument parsed by its declared kind before the body runs.

    `kinds` maps each argument that takes a value to a name in KINDS (or in `extra_kinds`, for a
    kind only one task has); flags (booleans) and incrementable counters need none. An argument
    left empty keeps its default unchecked. Errors, the checks' and the body's, become `Exit`.
    """
    kinds = dict(kinds or {})
    table = {**KINDS, **(extra_kinds or {})}

    def decorate(body: Callable) -> invoke.Task:
        sig = inspect.signature(body)
        counters = set(options.get("incrementable", ()))
        params = list(sig.parameters.values())[1:]  # after the Context
        valued = [p for p in params if not isinstance(p.default, bool) and p.name not in counters]
        missing = [p.name for p in valued if p.name not in kinds]
        unknown = [k for k in kinds.values() if k not in table]
        if missing or unknown:
            raise TypeError(f"{body.__name__}: declare a kind for {missing} / unknown {unknown}")
        positional = set(options.get("positional", ()))

        @functools.wraps(body)
        def run(c, *args, **kwargs):
            bound = sig.bind(c, *args, **kwargs)
            try:
                for name, kind in kinds.items():
                    value = bound.arguments.get(name, sig.parameters[name].default)
                    if value == "" or value == sig.parameters[name].default:
                        bound.arguments[name] = sig.parameters[name].default
                        continue
                    bound.arguments[name] = _check_with(
                        table[kind], str(value), name, name in positional
                    )
                return body(*bound.args, **bound.kwargs)
            except CommandFailed as err:  # its own output said why: keep its exit code
                raise invoke.Exit(code=err.code) from None
            except ShipyardError as err:
                raise invoke.Exit(f"shipyard: {err}", code=2) from None

        # Invoke picks an argument's type from its default: show it text for every checked one.
        run.__signature__ = sig.replace(
            parameters=[
                p.replace(default=str(p.default))
                if p.name in kinds and p.default is not inspect.Parameter.empty
                else p
                for p in sig.parameters.values()
            ]
        )
        made = invoke.task(**options)(run)
        made.kinds = {name: table[kind] for name, kind in kinds.items()}  # read by the tests
        return made

    return decorate


def _check_with(kind: Kind, value: str, name: str, positional: bool) -> object:
    try:
        return kind.parse(value)
    except BadArgument as err:
        shown = name.strip("_").upper() if positional else flag(name)
        raise ShipyardError(f"{shown} {value!r}: give {err}") from None
