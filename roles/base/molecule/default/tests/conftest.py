"""The base scenario's checks run one worker per box (molecule.yml: `-n 2 --dist loadgroup`): most
of their time is waiting (a ban to lift, ufw's 30 s rate-limit window), and the two boxes can wait
at once. A box's own checks stay on one worker, in order, so they never knock on it together (an
attack on a box at the same time as the rate-limit check would spoil both)."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "_testinfra_host" in callspec.params:
            box = callspec.params["_testinfra_host"].backend.get_pytest_id()
            item.add_marker(pytest.mark.xdist_group(box))
