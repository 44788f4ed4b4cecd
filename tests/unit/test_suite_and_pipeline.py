"""What `inv test` and `inv ci` decide before running anything (src/shipyard/suite.py,
pipeline.py): which suites run, in which order, with which arguments; the production approval.
The commands themselves are recorded, not run: this is the selection logic only."""

from __future__ import annotations

import threading

import pytest

from shipyard import ROOT, pipeline, suite


@pytest.fixture
def ran(monkeypatch, tmp_path):
    commands: list[tuple[list[str], str]] = []

    def record(*argv, cwd=None, **_kw):
        commands.append((list(argv), str(cwd)))

    monkeypatch.setattr(suite, "run", record)
    monkeypatch.setattr(suite, "boxes_env", lambda: {})
    monkeypatch.setattr(suite, "ROLE_LOGS", tmp_path / "logs")
    monkeypatch.setattr(suite.app, "ensure_venv", lambda: ROOT / "app" / ".venv" / "bin" / "python")
    return commands


def test_the_suites_run_cheapest_first_whatever_order_they_are_asked_in(ran):
    suite.run_suites(["e2e", "unit"])
    tiers = [next(a for a in argv if a.startswith("tests/")) for argv, _ in ran]
    assert tiers == ["tests/unit", "tests/e2e"]


def test_only_the_suites_asked_for_run(ran):
    suite.run_suites(["app"])
    assert len(ran) == 1 and ran[0][1] == str(ROOT / "app")
    assert not any("molecule" in " ".join(argv) or "yamllint" in argv for argv, _ in ran)


def test_one_role_on_one_platform(ran):
    suite.run_suites(["roles"], role="git", os_name="debian13")
    ((argv, cwd),) = ran
    assert argv[-3:] == ["test", "--platform-name", f"{suite.SCOPE}-git-debian13"]
    assert cwd == str(ROOT / "roles" / "git")


def test_a_roles_containers_and_molecule_state_belong_to_this_state_folder(monkeypatch):
    seen: dict[str, str] = {}
    monkeypatch.setattr(suite, "run", lambda *argv, env=None, **_kw: seen.update(env))
    suite.molecule("postgresql", "", {"SHIPYARD_APT_PROXY": "http://10.0.0.1:3143"})
    # Two checkouts running the same role at once must not meet (the scope is the state's).
    assert seen["SHIPYARD_MOLECULE_PREFIX"] == f"{suite.SCOPE}-postgresql-"
    assert seen["MOLECULE_EPHEMERAL_DIRECTORY"] == str(suite.STATE / "molecule" / "postgresql")
    assert seen["SHIPYARD_APT_PROXY"] == "http://10.0.0.1:3143"


def test_every_role_with_a_scenario_runs_without_a_role(ran):
    suite.run_suites(["roles"])
    # Several at once: the order they start in is the pool's.
    assert sorted(cwd.rsplit("/", 1)[-1] for _, cwd in ran) == suite.ROLES
    assert {"base", "postgresql", "mysql"} <= set(suite.ROLES)
    assert all("--platform-name" not in argv for argv, _ in ran), "both platforms of each"


def test_junit_results_go_where_asked(ran, tmp_path):
    suite.run_suites(["unit"], junit=str(tmp_path / "results"))
    assert f"--junit-xml={tmp_path / 'results' / 'unit.xml'}" in ran[0][0]


@pytest.mark.parametrize(
    ("answer", "approved"), [("y", True), ("Y ", True), ("n", False), ("", False)]
)
def test_production_waits_for_a_yes_on_a_terminal(answer, approved):
    assert pipeline.approved(ask=lambda _prompt: answer, tty=True) is approved


def test_without_a_terminal_the_approval_is_given_and_said(capsys):
    def never(_prompt):
        raise AssertionError("no terminal: nobody to ask")

    assert pipeline.approved(ask=never, tty=False) is True
    assert "hold: approved (no terminal to ask" in capsys.readouterr().out


def test_the_timings_table_rounds_to_whole_seconds():
    table = suite.timings_table([("deploy-staging", 301.6), ("pipeline", 600.0)], "job")
    assert table.splitlines()[2:] == ["| deploy-staging | 302 |", "| pipeline | 600 |"]


def test_the_tier_table_says_how_busy_the_cpu_was_and_the_total_row_leaves_it_blank():
    table = suite.timings_table([("unit", 10.2), ("all", 10.2)], "tier", [("97%", "1%")])
    assert table.splitlines()[2:] == ["| unit | 10 | 97% | 1% |", "| all | 10 |  |  |"]
    # 300 of 400 jiffies busy and 40 stolen since the first reading; no time is 0, not an error.
    assert suite.cpu_shares((1000, 10, 2000), (1300, 50, 2400)) == (0.75, 0.1)
    assert suite.cpu_shares((5, 0, 9), (5, 0, 9)) == (0.0, 0.0)
    busy, stolen, total = suite.cpu_jiffies()
    assert 0 < busy < total and 0 <= stolen < total, "this machine's /proc/stat was read"


def test_stolen_time_is_neither_busy_nor_idle(monkeypatch, tmp_path):
    # user nice system idle iowait irq softirq steal guest guest_nice
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 800 20 0 30 200 70 0\ncpu0 1 2 3\n")
    real_path = suite.Path
    monkeypatch.setattr(suite, "Path", lambda p: stat if p == "/proc/stat" else real_path(p))
    assert suite.cpu_jiffies() == (180, 200, 1200)


def test_the_machine_speed_line_names_the_loop_and_its_seconds(monkeypatch):
    monkeypatch.setattr(suite, "SPEED_LOOP", 1_000_000)
    line = suite.machine_speed_line()
    assert line.startswith("This machine: 1 million Python additions in ")
    assert float(line.split(" in ")[1].split()[0]) > 0


def test_a_failed_role_is_named_and_shown_and_the_others_still_run(monkeypatch, tmp_path, capsys):
    ran: list[str] = []

    def molecule(*argv, cwd=None, stdout=None, **_kw):
        role = str(cwd).rsplit("/", 1)[-1]
        ran.append(role)
        stdout.write(f"the scenario of {role}\n")
        if role == "git":
            raise suite.CommandFailed(tuple(argv), 2)

    monkeypatch.setattr(suite, "run", molecule)
    monkeypatch.setattr(suite, "ROLE_LOGS", tmp_path)
    with pytest.raises(suite.CommandFailed, match="git"):
        suite.roles_tier(["base", "git", "python"], "", {})
    assert sorted(ran) == ["base", "git", "python"]
    out = capsys.readouterr().out
    assert "roles: git FAILED" in out and "the scenario of git" in out
    assert "the scenario of base" not in out, "a passing scenario's log is only named"


def test_the_suite_ends_with_each_tiers_time_even_when_one_fails(monkeypatch, capsys):
    def lint_fails():
        raise suite.CommandFailed(("ruff",), 1)

    monkeypatch.setattr(suite, "lint", lint_fails)
    monkeypatch.setattr(suite, "run", lambda *a, **k: None)
    with pytest.raises(suite.CommandFailed):
        suite.run_suites(["lint", "unit"])
    out = capsys.readouterr().out
    assert "| tier |" not in out, "one tier ran: no table"
    monkeypatch.setattr(suite, "lint", lambda: None)
    monkeypatch.setattr(suite, "SPEED_LOOP", 1000)
    suite.run_suites(["lint", "unit"])
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0] == "| tier | seconds | CPU busy | CPU stolen |"
    assert [r.split(" | ")[0] for r in rows[2:-1]] == ["| lint", "| unit", "| all"]
    assert rows[-1].startswith("This machine: "), "the machine's speed, to compare runs by"


def test_the_boxes_setup_runs_beside_the_first_tiers_and_only_when_boxes_are_needed(
    ran, monkeypatch
):
    started, seen = threading.Event(), []
    monkeypatch.setattr(suite, "boxes_env", lambda: started.set() or {})
    # lint waits (up to 3 s) for the setup to start: it does only if the setup runs beside it.
    monkeypatch.setattr(suite, "lint", lambda: seen.append(started.wait(3)))
    suite.run_suites(["lint", "roles"], role="git", os_name="debian13")
    assert seen == [True]
    started.clear()
    suite.run_suites(["lint", "unit"])
    assert seen == [True, False], "no boxes without roles or e2e"
