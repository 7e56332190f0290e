"""The open-model load generator: pure parts here, the Locust driver in its own child process.

Layers (who may import whom)::

    commands/load.py ──> launcher ──> result, load_verdict, parts, histogram, safety  (parent process)
                            │ starts `python -m locust -f loadgen/driver.py`
                            v
                         driver (locust, gevent) ──> schedule, traffic, recorder, parts, histogram

Only ``driver`` (and ``load/locustfile.py``) import locust or gevent; importing this package
never does. ``launcher`` names are loaded on first use.
"""

from __future__ import annotations

from typing import Any

from hypersync_slo.loadgen.histogram import LatencyHistogram
from hypersync_slo.loadgen.load_verdict import critical_breach, evaluate, exit_code
from hypersync_slo.loadgen.recorder import Recorder
from hypersync_slo.loadgen.result import RunInfo, merge_parts, summary_markdown, write_result
from hypersync_slo.loadgen.safety import check_duration, check_rate, check_target, parse_duration
from hypersync_slo.loadgen.schedule import Schedule
from hypersync_slo.loadgen.tracetags import read_tagged
from hypersync_slo.traffic import PlannedRequest, TrafficModel, TrafficSource, make_model

__all__ = [
    "PARTS_DIR",
    "LatencyHistogram",
    "LoadPlan",
    "Outcome",
    "PlannedRequest",
    "Recorder",
    "RunInfo",
    "Schedule",
    "TrafficModel",
    "TrafficSource",
    "check_duration",
    "check_rate",
    "check_target",
    "critical_breach",
    "evaluate",
    "exit_code",
    "make_model",
    "merge_parts",
    "parse_duration",
    "read_tagged",
    "run_load",
    "summary_markdown",
    "write_result",
]

_LAUNCHER = ("PARTS_DIR", "LoadPlan", "Outcome", "run_load")


def __getattr__(name: str) -> Any:
    if name in _LAUNCHER:
        from hypersync_slo.loadgen import launcher  # noqa: PLC0415  (keeps httpx out of the driver)

        return getattr(launcher, name)
    raise AttributeError(f"module 'hypersync_slo.loadgen' has no attribute {name!r}")
