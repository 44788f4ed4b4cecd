"""A steady client for zero-downtime checks: one request after another, a new connection each,
one starting every EVERY seconds (at once if the last took longer), for as long as it runs.
Every answer that is not 2xx and every refused, reset or timed-out connection counts as a
failure; the release id in the health answer says which release served it, and its host name
which web host (behind a load balancer).

Used by the deploy tests and `inv bench --deploy`.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

# 20 requests a second: any outage longer than 50 ms is seen for certain (a gunicorn stop and
# start is about 0.46 s, some 9 failed requests). Measured on a code-only deploy to one box, nothing
# else running: alone it took 19 s and 22 CPU-seconds of the machine; under a client sending as
# fast as it could, 25 s and 47 CPU-seconds (the client and the box answering it took 1.2 of the 2
# cores); paced at 50 ms, 19-20 s and 26-29 CPU-seconds. The test suite runs CPU-bound on two
# cores, where an unpaced client starved the deploy it was watching.
EVERY = 0.05


@dataclass
class Tally:
    served: int = 0
    failed: int = 0
    releases: Counter = field(default_factory=Counter)
    hosts: Counter = field(default_factory=Counter)  # which web host answered
    errors: Counter = field(default_factory=Counter)
    order: list[str] = field(default_factory=list)  # releases in the order they first answered
    last: str = ""  # the release of the latest 2xx answer: who serves at the end

    def answered(self, release: str, host: str = "?") -> None:
        self.served += 1
        self.hosts[host] += 1
        if release not in self.releases:
            self.order.append(release)
        self.releases[release] += 1
        self.last = release

    def refused(self, why: str) -> None:
        self.failed += 1
        self.errors[why] += 1


class SteadyClient:
    """`with SteadyClient(port) as c: ...` then read c.tally."""

    def __init__(
        self, port: int, path: str = "/healthz", host: str = "localhost", every: float = EVERY
    ):
        self.port, self.path, self.host, self.every = port, path, host, every
        self.tally = Tally()
        self._stop = threading.Event()
        self.crash = ""  # what ended the client's thread before it was stopped, if anything
        self.ran_to_end = False  # the thread was still sending when the block ended
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._tls = ssl.create_default_context()
        self._tls.check_hostname = False
        self._tls.verify_mode = ssl.CERT_NONE  # the sandbox's self-signed certificate

    def _one(self) -> None:
        conn = http.client.HTTPSConnection(self.host, self.port, timeout=10, context=self._tls)
        try:
            conn.request("GET", self.path, headers={"Connection": "close"})
            resp = conn.getresponse()
            body = resp.read()
            if 200 <= resp.status < 300:
                answer = json.loads(body)
                self.tally.answered(str(answer.get("release", "?")), str(answer.get("host", "?")))
            else:
                self.tally.refused(f"HTTP {resp.status}")
        except (OSError, http.client.HTTPException, ValueError) as err:
            self.tally.refused(type(err).__name__)
        finally:
            conn.close()

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                self._one()
                self._stop.wait(self.every - (time.monotonic() - started))
        except BaseException as err:  # recorded, not lost: the counts would silently stop
            self.crash = f"{type(err).__name__}: {err}"
            raise

    def __enter__(self) -> SteadyClient:
        self._thread.start()
        time.sleep(0.3)  # some answers before whatever is measured starts
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(0.3)  # and some after
        self.ran_to_end = self._thread.is_alive()
        self._stop.set()
        self._thread.join(timeout=15)
