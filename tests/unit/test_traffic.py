"""The steady client's bookkeeping (src/shipyard/traffic.py): what the zero-downtime tests read."""

from __future__ import annotations

import time

from shipyard.traffic import SteadyClient, Tally


def test_the_release_serving_at_the_end_is_the_latest_answer_not_the_first_seen():
    tally = Tally()
    for release in ["old", "old", "new", "new", "old"]:  # a new-then-old flap
        tally.answered(release)
    assert tally.order == ["old", "new"]  # what the test read before: it passed this flap
    assert tally.last == "old"
    assert (tally.served, tally.releases["old"]) == (5, 3)


def test_failures_are_counted_by_kind():
    tally = Tally()
    tally.refused("HTTP 502")
    tally.refused("ConnectionRefusedError")
    tally.refused("HTTP 502")
    assert (tally.failed, tally.errors["HTTP 502"]) == (3, 2)


def test_a_client_whose_thread_dies_says_so(monkeypatch):
    """An unexpected exception ended the loop and the counts silently stopped: now it shows."""
    calls = []

    def one(self):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        self.tally.answered("r1")

    monkeypatch.setattr(SteadyClient, "_one", one)
    monkeypatch.setattr("threading.excepthook", lambda args: None)  # quiet: it is expected
    with SteadyClient(1) as client:
        pass
    assert not client.ran_to_end
    assert client.crash == "RuntimeError: boom"
    assert client.tally.served == 2


def test_a_healthy_client_runs_to_the_end(monkeypatch):
    monkeypatch.setattr(SteadyClient, "_one", lambda self: self.tally.answered("r1"))
    with SteadyClient(1) as client:
        pass
    assert client.ran_to_end and client.crash == ""
    assert client.tally.last == "r1" and client.tally.served > 0


def test_requests_are_paced_and_an_outage_longer_than_the_pace_is_seen(monkeypatch):
    """One request every 50 ms (EVERY), not as fast as the machine allows: a 0.2 s outage in the
    middle still fails several requests."""
    start = time.monotonic()

    def one(self):
        if 0.4 <= time.monotonic() - start < 0.6:
            self.tally.refused("ConnectionRefusedError")
        else:
            self.tally.answered("r1")

    monkeypatch.setattr(SteadyClient, "_one", one)
    with SteadyClient(1, every=0.05) as client:
        time.sleep(0.7)
    seconds = time.monotonic() - start  # the block, and the 0.3 s the client runs on each side
    assert client.tally.served + client.tally.failed <= seconds / 0.05 + 2
    assert client.tally.failed >= 3
