"""Behaviour of the linters role: each tool runs for an ordinary user and finds real problems."""

import pytest


@pytest.mark.parametrize(
    "tool", ["ruff", "flake8", "pycodestyle", "yamllint", "pre-commit", "shellcheck"]
)
def test_on_path_for_a_user(host, tool):
    with host.sudo("dev"):
        out = host.run(f"bash -lc '{tool} --version'")
    assert out.rc == 0, out.stderr


@pytest.mark.parametrize(
    ("tool", "source", "finding"),
    [
        ("ruff check", "import os\n", "F401"),
        ("flake8", "import os\n", "F401"),
        ("pycodestyle", "x=1\n", "E225"),
        ("yamllint", "a: 1\na: 2\n", "duplication"),
        ("shellcheck", "#!/bin/sh\necho $1\n", "SC2086"),
    ],
)
def test_finds_a_problem(host, tool, source, finding):
    path = "/tmp/lintme." + {"yamllint": "yaml", "shellcheck": "sh"}.get(tool, "py")
    with host.sudo("dev"):
        host.run_test(f"printf %s {source!r} > {path}".replace("\\n", "\n"))
        out = host.run(f"cd /tmp && {tool} {path}")  # a user runs linters in a writable dir
    assert out.rc != 0
    assert finding in out.stdout + out.stderr


def test_tools_stay_out_of_the_system_interpreter(host):
    out = host.run("python3 -c 'import ruff'")
    assert out.rc != 0
    assert "No module named 'ruff'" in out.stderr  # not any other failure of python3
