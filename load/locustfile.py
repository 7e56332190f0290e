"""The HyperSync traffic model as a classic Locust user: ``locust -f load/locustfile.py``.

A weighted mix of operator executions, policy evaluations, receipt creation and reads, agent
actions and a health probe (``hypersync_slo.loadgen.traffic``), every request named by its route
template. This is Locust's usual *closed* model: N users, each waiting for its answer before the
next request, paced by ``constant_throughput(10)`` (100 users = about 1000 requests/s)::

    locust -f load/locustfile.py --host http://127.0.0.1:8080 --headless -u 100 -r 100 -t 60s

A closed model slows down exactly when the target does and its percentiles are rounded to
about two significant digits, so its latencies flatter the target (coordinated omission).
For verdicts use the open-model driver, which sends the same mix at a fixed arrival rate and
measures from the intended send time::

    hypersync-slo load --target-url http://127.0.0.1:8080 --rps 1000 --duration 60s
    locust -f hypersync_slo/loadgen/driver.py OpenModelUser --host http://127.0.0.1:8080 \\
        --headless -u 1 -r 1 --open-rps 1000 --open-duration 60 --open-out reports/parts

(see ``load/README.md`` and ``docs/load.md``).
"""

from __future__ import annotations

import itertools
from typing import Any

from locust import FastHttpUser, constant_throughput, task

from hypersync_slo.loadgen.traffic import TrafficModel

_user_numbers = itertools.count()


class HyperSyncUser(FastHttpUser):
    """One simulated HyperSync client: the traffic mix at 10 requests/s, closed loop."""

    wait_time = constant_throughput(10)

    def on_start(self) -> None:
        """Give each user its own seeded traffic model."""
        self.model = TrafficModel(seed=f"locustfile:{next(_user_numbers)}")

    @task
    def next_request(self) -> None:
        """Send the next request of the mix; an unexpected status is a failure."""
        planned = self.model.next()
        response: Any
        with self.client.request(
            planned.method,
            planned.path,
            data=planned.body,
            headers=planned.headers,
            name=planned.name,
            catch_response=True,
        ) as response:
            status = int(response.status_code or 0)
            if status in planned.expect:
                self.model.settle(planned, status, response.content or b"")
                response.success()
            else:
                response.failure(f"HTTP {status} (expected {', '.join(map(str, planned.expect))})")
