"""Checks of role inputs that argument specs cannot express, as Jinja filters.

Used by roles/common/tasks/validate.yml (every role, at entry and in the validation play) and by
playbooks/provision.yml. Pure functions of their arguments, unit-tested in
tests/unit/test_input_rules.py.

Why a plugin: `validate_argument_spec` checks that a value *can* be converted to its type, then
leaves it as it came (`-e flag=false` stays the string "false") and turns "80,443" into a list
by splitting on commas. These filters hold the rules the spec leaves out, one place for all roles:
real lists and mappings, ports 1-65535 by name (`*_port`, `*_ports`), sizes not negative
(`*_mb`), no control characters in strings, parsed IP addresses and networks, and the names of
variables that look like a role's input but are declared by no role (a typo).
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

TRUE_STRINGS = {"true", "yes", "on", "1", "y", "t"}
FALSE_STRINGS = {"false", "no", "off", "0", "n", "f"}
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _is_list(value) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _as_int(value) -> int | None:
    """An int given as 22 or "22"; None for anything else (bools are not ints here)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value.strip()):
        return int(value)
    return None


def _show(name: str, option: Mapping, value) -> str:
    return f"{name}=<hidden>" if option.get("no_log") else f"{name}={value!r}"


def _range_error(name: str, option: Mapping, value: int) -> str | None:
    if re.search(r"_ports?$", name) and not 1 <= value <= 65535:
        return f"{_show(name, option, value)} is not a TCP port: use a number from 1 to 65535."
    if name.endswith("_mb") and value < 0:
        return f"{_show(name, option, value)} is negative: use 0 (automatic) or a size in MB."
    return None


def input_errors(options: Mapping, values: Sequence) -> list[str]:
    """Errors in `values` (in the order of `options`, a role's argument spec options).

    The spec's own check runs first; this adds what it lets through. Each message names the
    variable and says what to write instead; a no_log option's value is never shown.
    """
    errors = []
    for (name, option), value in zip(options.items(), values, strict=True):
        kind = option.get("type", "str")
        if value is None:
            continue  # no default and not set: the spec reports required ones
        if kind == "list":
            if not _is_list(value):
                errors.append(
                    f"{_show(name, option, value)} must be a YAML list (one '- item' per line, or "
                    f"[a, b]), not a string: a comma-separated string is not split for you."
                )
                continue
            if option.get("elements") == "int":
                for item in value:
                    number = _as_int(item)
                    if number is None:
                        errors.append(f"{name} lists {item!r}, which is not a whole number.")
                    elif message := _range_error(name, option, number):
                        errors.append(message.replace(f"{name}=", f"{name} lists "))
            elif option.get("elements") in ("str", "path"):
                errors += [
                    f"{name} lists {item!r}: each item must be one line of text."
                    for item in value
                    if not isinstance(item, str) or CONTROL.search(item)
                ]
        elif kind == "dict" and not isinstance(value, Mapping):
            errors.append(f"{_show(name, option, value)} must be a YAML mapping (key: value).")
        elif kind == "int":
            number = _as_int(value)
            if number is not None and (message := _range_error(name, option, number)):
                errors.append(message)
        elif kind == "bool" and isinstance(value, str):
            if value.strip().lower() not in TRUE_STRINGS | FALSE_STRINGS:
                errors.append(f"{_show(name, option, value)} is not a boolean: use true or false.")
        elif kind in ("str", "path") and isinstance(value, str) and CONTROL.search(value):
            errors.append(
                f"{_show(name, option, value)} contains a newline or another control character: "
                "give it on one line (a YAML '>-' block, not '|')."
            )
    return errors


def is_ip_address(value) -> bool:
    """An IPv4 or IPv6 address, parsed for real (octets in range), not host:port or a network."""
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


def is_ip_network(value) -> bool:
    """A CIDR network with an explicit prefix length and no host bits set (10.0.0.0/8)."""
    text = str(value)
    if "/" not in text:
        return False
    try:
        ipaddress.ip_network(text, strict=True)
    except ValueError:
        return False
    return True


def _spec_options(roles_dir: str | Path) -> dict[str, Mapping]:
    """Every input any role in `roles_dir` declares in meta/argument_specs.yml, with its spec."""
    options: dict[str, Mapping] = {}
    for spec_file in sorted(Path(roles_dir).glob("*/meta/argument_specs.yml")):
        specs = (yaml.safe_load(spec_file.read_text()) or {}).get("argument_specs", {})
        for entry in specs.values():
            for name, option in ((entry or {}).get("options", {}) or {}).items():
                options[name] = option or {}
    return options


def inputs_rules(root: str) -> dict:
    """What every host's input checks in one run share, read once (a run_once task of
    playbooks/tasks/check-inputs.yml, whose result every host gets): the inputs the roles declare,
    those that are secrets, the roles' names, and a digest of the rule files. Reading them for
    each host (nine YAML specs, every rule file) was most of the checks' cost per host."""
    roles_dir = Path(root) / "roles"
    options = _spec_options(roles_dir)
    digest = hashlib.sha256()
    for pattern in RULE_FILES:
        for path in sorted(Path(root).glob(pattern)):
            digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return {
        "declared": sorted(options),
        "secret": sorted(name for name, opt in options.items() if opt.get("no_log")),
        "roles": sorted(p.name for p in roles_dir.iterdir() if (p / "tasks").is_dir()),
        "digest": digest.hexdigest(),
    }


def unknown_inputs(names: Sequence[str], rules: Mapping, also_declared: Sequence[str] = ()) -> list:
    """Variables named like an input (a role's name, or the first word of a declared input, then
    `_`) that neither a role (`rules`: inputs_rules()) nor `also_declared` declares.

    Returns one message per name, with the closest declared name when there is one: a typo such
    as db_engin would otherwise leave the default in force without a word.
    """
    declared = sorted(set(rules["declared"]) | set(also_declared))
    prefixes = {f"{role}_" for role in rules["roles"]} | {f"{n.split('_')[0]}_" for n in declared}
    messages = []
    for name in sorted(set(names) - set(declared)):
        if name.startswith("_") or not any(name.startswith(p) for p in prefixes):
            continue
        close = difflib.get_close_matches(name, declared, n=1, cutoff=0.75)
        hint = f"did you mean {close[0]}?" if close else "no role declares it"
        messages.append(f"{name} is not an input of any Shipyard role ({hint})")
    return messages


def db_name_errors(named: Mapping, identifier: str, reserved: Sequence[str], prefix: str) -> list:
    """`variable=name` for each database or user name that is not a plain identifier or is one of
    the engine's own. `named` maps a variable to the name, or list of names, it gives."""
    bad = []
    for variable, names in named.items():
        for name in names if _is_list(names) else [names]:
            text = str(name)
            if not re.match(identifier, text) or text in reserved or text.startswith(prefix):
                bad.append(f"{variable}={text}")
    return bad


def weak_entries(users: Sequence, protected: str, min_length: int = 12) -> list[str]:
    """Names of user entries that lack a name, a password of `min_length` or a list of
    databases, or that take the `protected` name (the app's own user). Never shows a password."""
    weak = []
    for user in users if _is_list(users) else [users]:
        if not isinstance(user, Mapping):
            weak.append(repr(user))
            continue
        name = str(user.get("name", "?"))
        databases = user.get("databases", [])
        if (
            name in ("?", protected)
            or len(str(user.get("password") or "")) < min_length
            or not _is_list(databases)
        ):
            weak.append(name)
    return weak


# What decides whether inputs pass: the defaults, specs, patterns (vars), checks, the shared role,
# these rules and the playbook. Digested with the inputs, so a change to any of them re-checks.
RULE_FILES = (
    "roles/*/defaults/*.yml",
    "roles/*/meta/*.yml",
    "roles/*/vars/*.yml",
    "roles/*/tasks/*.yml",
    "plugins/filter/*.py",
    "playbooks/*.yml",
    "playbooks/tasks/*.yml",
    "playbooks/group_vars/all/*.yml",
)


def inputs_fingerprint(values: Sequence, names: Sequence[str], rules: Mapping) -> str:
    """A digest of a host's inputs (`values` of `names`) and of the rules that check them
    (`rules`: inputs_rules(), whose digest covers the rule files).

    Equal digests mean the checks would reach the same verdict, so a re-run may skip them. A
    no_log input counts by its length only: no digest of a secret is kept in the fact cache.
    """
    digest = hashlib.sha256(rules["digest"].encode())
    for name, value in zip(names, values, strict=True):
        shown = len(str(value or "")) if name in rules["secret"] else value
        digest.update(json.dumps([name, shown], sort_keys=True, default=str).encode())
    return digest.hexdigest()


def inputs_key(values: Sequence) -> str:
    """A digest of a host's input values, secrets included in full: hosts of one run with equal keys
    get the same verdict from the checks, so one of them is checked for all (the rules are the
    same files for every host of a run). Held in memory for the run only, never cached."""
    return hashlib.sha256(
        json.dumps(list(values), sort_keys=True, default=str).encode()
    ).hexdigest()


def not_addresses(values: Sequence) -> list:
    """The entries that are neither an IP address nor a CIDR network (firewall sources)."""
    return [v for v in values if not (is_ip_address(v) or is_ip_network(v))]


class FilterModule:
    def filters(self):
        return {
            "shipyard_input_errors": input_errors,
            "shipyard_is_ip_address": is_ip_address,
            "shipyard_is_ip_network": is_ip_network,
            "shipyard_not_addresses": not_addresses,
            "shipyard_inputs_rules": inputs_rules,
            "shipyard_unknown_inputs": unknown_inputs,
            "shipyard_db_name_errors": db_name_errors,
            "shipyard_weak_entries": weak_entries,
            "shipyard_inputs_fingerprint": inputs_fingerprint,
            "shipyard_inputs_key": inputs_key,
        }
