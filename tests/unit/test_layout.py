"""The structure the roles and playbooks rely on (pure reads of the tree)."""

from __future__ import annotations

import re

import pytest
import yaml

from shipyard import ROOT, boxes

ROLES = ROOT / "roles"
LIBRARY_ROLES = {"common"}  # included by the other roles, never mapped to a group
ROLE_NAMES = sorted(p.name for p in ROLES.iterdir() if (p / "tasks").is_dir())
APPLIED = [r for r in ROLE_NAMES if r not in LIBRARY_ROLES]


def role_map() -> dict[str, list[str]]:
    doc = yaml.safe_load((ROOT / "playbooks" / "group_vars" / "all" / "roles.yml").read_text())
    return doc["shipyard_roles"]


def expand(entry: str) -> list[str]:
    """A map entry's role names: a plain name, or `{{ db_engine }}` as each engine it may be."""
    if "{" not in entry:
        return [entry]
    assert re.fullmatch(r"\{\{ *db_engine *\}\}", entry), f"unexpected template {entry!r}"
    return list(boxes.DB_ENGINES)


# The roles two groups share: nginx fronts the app on web hosts and balances on lb hosts; backup
# takes the backups on db hosts and keeps their copies on backup hosts.
SHARED_BY_GROUPS = {"nginx": ["web", "lb"], "backup": ["db", "backup"]}


def test_every_role_is_mapped_to_a_host_group_once():
    mapped = [name for roles in role_map().values() for r in roles for name in expand(r)]
    for role, groups in SHARED_BY_GROUPS.items():
        assert [g for g, roles in role_map().items() if role in roles] == groups
        mapped.remove(role)
    assert sorted(mapped) == APPLIED, "add the role to playbooks/group_vars/all/roles.yml"


def test_the_role_map_test_reads_the_map():
    """The check above fails when a database role is dropped from the map (it once added both
    back whatever the map said)."""
    assert expand("{{ db_engine }}") == ["postgresql", "mysql"]
    assert expand("nginx") == ["nginx"]
    without_db = {**role_map(), "db": []}
    mapped = [name for roles in without_db.values() for r in roles for name in expand(r)]
    assert sorted(mapped) != APPLIED


@pytest.mark.parametrize("role", APPLIED)
def test_every_role_checks_its_inputs_first_through_common(role):
    main = yaml.safe_load((ROLES / role / "tasks" / "main.yml").read_text())
    include = main[0]["ansible.builtin.include_tasks"]
    assert include == {"file": "validate.yml", "apply": {"tags": ["always"]}}
    assert main[0]["tags"] == ["always"]  # --tags of one role still checks its inputs
    assert main[0]["when"] == "role_name not in common_validated_roles | default([])"
    validate = ROLES / role / "tasks" / "validate.yml"
    # One checker: the role's validate.yml is roles/common's file, not a copy of it.
    assert validate.is_symlink()
    assert validate.resolve() == (ROLES / "common" / "tasks" / "validate.yml").resolve()


def typed_inputs(kind: str) -> list[tuple[str, str]]:
    found = []
    for role in APPLIED:
        spec = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())
        for name, option in spec["argument_specs"]["main"]["options"].items():
            if option.get("type") == kind:
                found.append((role, name))
    return found


def uses(role: str, name: str) -> list[str]:
    """Every line of the role's tasks, handlers, templates and vars that reads the input."""
    lines = []
    for folder in ("tasks", "handlers", "templates", "vars"):
        for path in sorted((ROLES / role / folder).glob("*")):
            if path.name in ("checks.yml", "validate.yml"):
                continue
            text = path.read_text().splitlines()
            lines += [ln for ln in text if re.search(rf"\b{name}\b", ln) and "Managed by" not in ln]
    return lines


@pytest.mark.parametrize(("role", "name"), typed_inputs("bool"))
def test_boolean_inputs_are_converted_where_used(role, name):
    """`-e flag=false` arrives as the string "false", which is true: every use needs `| bool`."""
    found = uses(role, name)
    assert found, f"{name}: no use found where the test reads (tasks, handlers, templates, vars)"
    unconverted = [ln for ln in found if not re.search(rf"{name} \| bool", ln)]
    assert unconverted == [], f"{name} used without | bool"


@pytest.mark.parametrize(("role", "name"), typed_inputs("int"))
def test_integer_inputs_are_converted_where_used(role, name):
    found = uses(role, name)
    assert found, f"{name}: no use found where the test reads (tasks, handlers, templates, vars)"
    unconverted = [ln for ln in found if not re.search(rf"{name}\]? \| int", ln)]
    assert unconverted == [], f"{name} used without | int"
