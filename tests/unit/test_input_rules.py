"""The input rules of plugins/filter/shipyard_inputs.py, as pure functions."""

from __future__ import annotations

import importlib.util

import pytest

from shipyard import ROOT

_spec = importlib.util.spec_from_file_location(
    "shipyard_inputs", ROOT / "plugins" / "filter" / "shipyard_inputs.py"
)
rules = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rules)


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ({"type": "list"}, "a,b", "must be a YAML list"),
        ({"type": "list", "elements": "int"}, [80, "x"], "lists 'x', which is not a whole"),
        ({"type": "int"}, 0, "is not a TCP port"),
        ({"type": "bool"}, "maybe", "is not a boolean"),
        ({"type": "str"}, "a\nb", "contains a newline"),
        ({"type": "dict"}, ["a"], "must be a YAML mapping"),
    ],
)
def test_input_errors_name_the_variable(option, value, fragment):
    errors = rules.input_errors({"x_port": option}, [value])
    assert len(errors) == 1
    assert errors[0].startswith("x_port")
    assert fragment in errors[0]


def test_no_log_values_are_never_shown():
    errors = rules.input_errors({"pw": {"type": "str", "no_log": True}}, ["s3cret\n"])
    assert errors and "s3cret" not in errors[0]


@pytest.mark.parametrize(
    ("value", "address", "network"),
    [
        ("10.0.0.1", True, False),
        ("10.0.0.0/8", False, True),
        ("10.0.0.1/8", False, False),
        ("10.0.0.256", False, False),
        ("::1", True, False),
        ("fd00::/8", False, True),
        ("127.0.0.1:5432", False, False),
    ],
)
def test_addresses_and_networks_are_parsed(value, address, network):
    assert rules.is_ip_address(value) is address
    assert rules.is_ip_network(value) is network
    assert rules.not_addresses([value]) == ([] if address or network else [value])


def test_unknown_inputs_suggest_the_declared_name():
    found = rules.unknown_inputs(
        ["db_engin", "base_timezone", "ansible_host"], rules.inputs_rules(str(ROOT)), ["db_engine"]
    )
    assert found == ["db_engin is not an input of any Shipyard role (did you mean db_engine?)"]
