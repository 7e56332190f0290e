"""The declared traffic as a classic Locust user: ``locust -f load/locustfile.py``.

The requests of the SLO file's ``traffic:`` section (``--slo-config FILE``, ``--traffic FILE``;
by default the packaged HyperSync mix: operator executions, policy evaluations, receipt creation
and reads, agent actions) and health probes at their share (``hypersync_slo.traffic``),
every request named by its declared name, success judged by its declared statuses. This is
Locust's usual *closed* model: N users, each waiting for its answer before the next request,
paced by ``constant_throughput(10)`` (100 users = about 1000 requests/s)::

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

import functools
import itertools
import os
from typing import Any

from locust import FastHttpUser, constant_throughput, events, task

from hypersync_slo.config import SloConfig
from hypersync_slo.traffic import TrafficSource, make_model, status_cause

_user_numbers = itertools.count()


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    """The traffic options (also settable as HYPERSYNC_SLO_* environment variables)."""
    parser.add_argument(
        "--slo-config",
        default=os.environ.get("HYPERSYNC_SLO_CONFIG", ""),
        help="SLO file whose traffic: section is the mix (default: the packaged HyperSync mix)",
    )
    parser.add_argument(
        "--traffic",
        default=os.environ.get("HYPERSYNC_SLO_TRAFFIC", ""),
        help="a traffic file replacing the SLO file's traffic: section",
    )
    parser.add_argument(
        "--traffic-class",
        default=os.environ.get("HYPERSYNC_SLO_TRAFFIC_CLASS", ""),
        help="module:Class generating the requests instead of the declaration",
    )
    parser.add_argument(
        "--auth-token-env",
        default=os.environ.get("HYPERSYNC_SLO_AUTH_TOKEN_ENV", ""),
        help="environment variable holding the token (overrides traffic.auth's)",
    )


@functools.cache
def _config(slo_config: str | None, traffic: str | None, auth_env: str | None) -> SloConfig:
    """The SLO file with its traffic, read and checked once per process, not once per user."""
    return SloConfig.load(slo_config).with_traffic(traffic, auth_env=auth_env)


class HyperSyncUser(FastHttpUser):
    """One simulated client: the declared traffic mix at 10 requests/s, closed loop."""

    wait_time = constant_throughput(10)

    def on_start(self) -> None:
        """Give each user its own seeded model of the declared traffic."""
        opts: Any = self.environment.parsed_options
        config = _config(
            getattr(opts, "slo_config", "") or None,
            getattr(opts, "traffic", "") or None,
            getattr(opts, "auth_token_env", "") or None,
        )
        self.model: TrafficSource = make_model(
            config.traffic,
            f"locustfile:{next(_user_numbers)}",
            environ=os.environ,
            traffic_class=getattr(opts, "traffic_class", "") or None,
        )

    @task
    def next_request(self) -> None:
        """Send the next request of the mix; a status not declared as success is a failure."""
        planned = self.model.next()
        response: Any
        with self.client.request(
            planned.method,
            planned.path,
            data=planned.body,
            headers=dict(planned.headers),
            name=planned.name,
            catch_response=True,
        ) as response:
            status = int(response.status_code or 0)
            if status in planned.expect:
                self.model.settle(planned, status, response.content or b"")
                response.success()
            else:
                response.failure(status_cause(planned.name, status, planned.expect))
