"""Benchmark helpers: recap parsing."""

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
