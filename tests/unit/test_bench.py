"""Benchmark helpers: recap parsing, the table, the choice of benchmark, the fleet run."""

import pytest

from shipyard import bench

OUTPUT = """
PLAY RECAP *********************************************************************
\x1b[0;33mbox1\x1b[0m      : \x1b[0;32mok=57  \x1b[0m \x1b[0;33mchanged=17  \x1b[0m failed=0
box2          : ok=40   changed=0    unreachable=0    failed=1    skipped=3    rescued=0
"""


def test_parse_recap_reads_each_host_through_colour_codes():
    recap = bench.parse_recap(OUTPUT)
    assert recap["box1"] == bench.Recap(ok=57, changed=17, failed=0)
    assert recap["box2"] == bench.Recap(ok=40, changed=0, failed=1)


def test_a_figure_is_its_median_and_spread_over_its_runs():
    rerun = bench.Figure("re-run", "<= 10 s", seconds=[12.4, 9.8, 30.1], changed=[0, 0, 0])
    assert rerun.median == 12.4, "the median, not the mean (14.1) a slow outlier would pull"
    assert rerun.spread() == "12.4 (9.8-30.1)"
    assert bench.Figure("one", seconds=[7.25]).spread() == "7.2"


def test_the_table_shows_every_figure_with_its_runs_and_counts():
    figures = [
        bench.Figure("cold provision", "1.2x", seconds=[100, 90, 95], changed=[60, 61, 60]),
        bench.Figure("re-run", "<= 10 s", seconds=[9, 11, 10], changed=[0, 0, 0]),
    ]
    rows = bench.table("Provisioning", figures, "changed").splitlines()
    assert rows[0] == "Provisioning"
    assert rows[4:] == [
        "| cold provision | 95.0 (90.0-100.0) | 3 | 60,61 | 1.2x |",
        "| re-run | 10.0 (9.0-11.0) | 3 | 0 | <= 10 s |",
    ]
    deploy = bench.Figure("rollback", seconds=[3.0], served=120, failed=2)
    assert bench.table("Deploy", [deploy], "served/failed").endswith("| 3.0 | 1 | 120/2 |  |")


def test_bench_refuses_two_benchmarks_at_once_before_starting_anything():
    with pytest.raises(bench.ShipyardError, match="--deploy and --fleet are two benchmarks"):
        bench.measure("debian12", True, True, 1)


def test_the_fleet_figure_is_a_real_checks_run_that_reaches_no_host():
    """Two hosts, one run: the playbook passes their inputs and stops at the first remote task,
    unreachable on each (checks_run raises otherwise: a refused input would time the wrong run)."""
    assert isinstance(bench.checks_run(2), float)
