"""Every task argument is checked before the task runs (src/shipyard/arguments.py).

Each argument of each task, as Invoke's own parser sees it, gets wrong-typed and hostile values
through Invoke's real command line: the answer is one line naming the argument, exit code 2, no
traceback, and nothing is run (the runners fail the test if reached).
"""

from __future__ import annotations

import subprocess

import invoke
import pytest

import tasks
from shipyard import arguments

# Refused by every kind: an option smuggled in as a value, a line break, a NUL.
EVERYWHERE = ["-rf", "a\nb", "x\x00y"]
# Refused by every kind that is not a path on this machine (`$(id)` is a legal file name).
NOT_PATHS = ["5;x", "$(id)", "web1 && id"]
PATH_KINDS = {arguments.KINDS[k] for k in ("path", "file", "dir")}


def every_valued_argument():
    """(task name, argument name, kind) for every argument that takes a value, from Invoke."""
    for name in tasks.ns.task_names:
        task = tasks.ns[name]
        for arg in task.get_arguments():
            if arg.kind is bool or arg.incrementable:
                continue
            yield name, arg.name, task.kinds[arg.name]


ARGUMENTS = list(every_valued_argument())


def test_every_argument_that_takes_a_value_has_a_kind():
    assert len(ARGUMENTS) >= 30  # the table covers the tasks (a lost decorator would drop it)
    assert {(t, a) for t, a, _ in ARGUMENTS} >= {("logs", "lines"), ("db.restore", "file")}


@pytest.fixture
def nothing_runs(monkeypatch):
    def reached(*args, **kwargs):
        raise AssertionError(f"a command ran despite bad input: {args!r}")

    monkeypatch.setattr(subprocess, "Popen", reached)
    monkeypatch.setattr(invoke.Context, "run", reached)


def invoke_task(argv: list[str], capsys) -> tuple[int, str]:
    program = invoke.Program(namespace=tasks.ns, version="test")
    with pytest.raises(SystemExit) as ended:
        program.run(["inv", *argv], exit=True)
    return ended.value.code, capsys.readouterr().err


def cases():
    for task, arg, kind in ARGUMENTS:
        values = EVERYWHERE + ([] if kind in PATH_KINDS else NOT_PATHS)
        for value in values:
            yield pytest.param(task, arg, value, id=f"{task}--{arg}={value!r}")


@pytest.mark.parametrize(("task", "arg", "value"), list(cases()))
def test_bad_argument_is_refused_in_one_line(task, arg, value, nothing_runs, capsys):
    # A required positional argument (db.restore's FILE) gets a good value when another is tried.
    required = [f"--{a.name}={__file__}" for a in tasks.ns[task].get_arguments()
                if a.positional and a.name != arg]  # fmt: skip
    code, err = invoke_task([task, f"{arguments.flag(arg)}={value}", *required], capsys)
    shown = arg.upper() if tasks.ns[task].positional == [arg] else arguments.flag(arg)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith(f"shipyard: {shown} "), err
    assert "Traceback" not in err
    assert "give " in err  # says what it accepts


def test_the_integer_that_crashed_inside_invoke(nothing_runs, capsys):
    code, err = invoke_task(["logs", "--lines", "5;x"], capsys)
    assert (code, err) == (2, "shipyard: --lines '5;x': give a whole number from 1 to 100000\n")


def test_a_valid_value_reaches_the_task_converted(monkeypatch, capsys):
    """The positive control: the checks let a good value through, as the type the task wants."""
    seen = {}

    def fake_ensure_venv():
        seen["called"] = True
        raise arguments.ShipyardError("stopped here by the test")

    from shipyard import app

    monkeypatch.setattr(app, "ensure_venv", fake_ensure_venv)
    code, err = invoke_task(["app.serve", "--port", "8001"], capsys)
    assert seen == {"called": True}
    assert (code, err) == (2, "shipyard: stopped here by the test\n")


@pytest.mark.parametrize(
    ("kind", "good"),
    [
        ("lines", {"5": 5, "100000": 100000}),
        ("port", {"1": 1, "65535": 65535}),
        ("ref", {"HEAD~1": "HEAD~1", "feature/x": "feature/x", "v1.2": "v1.2"}),
        (
            "release",
            {
                "20261126T210501Z-bd3d03dcfb0f": "20261126T210501Z-bd3d03dcfb0f",
                "20261126T210501Z-bd3d03dcfb0f-dirty": "20261126T210501Z-bd3d03dcfb0f-dirty",
            },
        ),
        ("limit", {"web1,db": "web1,db", "web:&staging": "web:&staging"}),
        ("tags", {"base,git": "base,git"}),
        ("database", {"app_copy": "app_copy"}),
        ("env", {"staging": "staging", "local": "local"}),
    ],
)
def test_values_a_user_would_type_are_accepted(kind, good):
    for value, parsed in good.items():
        assert arguments.KINDS[kind].parse(value) == parsed


@pytest.mark.parametrize(
    ("kind", "bad"),
    [
        ("lines", ["0", "100001", "-5", "1e3"]),
        ("port", ["0", "65536"]),
        ("ref", ["a..b", "--upload-pack=x"]),
        ("database", ["App", "a-b"]),
    ],
)
def test_values_out_of_range_are_refused(kind, bad):
    for value in bad:
        with pytest.raises(arguments.BadArgument):
            arguments.KINDS[kind].parse(value)


def test_a_task_that_forgets_a_kind_is_refused_at_definition():
    with pytest.raises(TypeError, match="declare a kind"):

        @arguments.task()
        def forgetful(c, lines=100):
            pass
