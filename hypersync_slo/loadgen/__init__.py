"""The open-model load generator: pure parts here, the Locust driver in its own child process.

Layers (who may import whom)::

    commands/load.py ──> launcher ──> result, load_verdict, parts, histogram, safety  (parent process)
                            │ starts `python -m locust -f loadgen/driver.py`
                            v
                         driver (locust, gevent) ──> schedule, traffic, recorder, parts, histogram

Only ``driver`` (and ``load/locustfile.py``) import locust or gevent; importing this package
never does, and every name is loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hypersync_slo.loadgen.histogram import LatencyHistogram
    from hypersync_slo.loadgen.load_verdict import critical_breach, evaluate, exit_code
    from hypersync_slo.loadgen.recorder import Recorder
    from hypersync_slo.loadgen.result import RunInfo, merge_parts, summary_markdown, write_result
    from hypersync_slo.loadgen.safety import (
        check_duration,
        check_rate,
        check_target,
        parse_duration,
    )
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

#: Every name is loaded on first use: importing a submodule (``loadgen.safety``, whose bounds
#: `run` and `demo` check) must not bring the [load] extra's HDR histogram library with it.
_LAZY = {
    "LatencyHistogram": "hypersync_slo.loadgen.histogram",
    "critical_breach": "hypersync_slo.loadgen.load_verdict",
    "evaluate": "hypersync_slo.loadgen.load_verdict",
    "exit_code": "hypersync_slo.loadgen.load_verdict",
    "Recorder": "hypersync_slo.loadgen.recorder",
    "RunInfo": "hypersync_slo.loadgen.result",
    "merge_parts": "hypersync_slo.loadgen.result",
    "summary_markdown": "hypersync_slo.loadgen.result",
    "write_result": "hypersync_slo.loadgen.result",
    "check_duration": "hypersync_slo.loadgen.safety",
    "check_rate": "hypersync_slo.loadgen.safety",
    "check_target": "hypersync_slo.loadgen.safety",
    "parse_duration": "hypersync_slo.loadgen.safety",
    "Schedule": "hypersync_slo.loadgen.schedule",
    "read_tagged": "hypersync_slo.loadgen.tracetags",
    "PlannedRequest": "hypersync_slo.traffic",
    "TrafficModel": "hypersync_slo.traffic",
    "TrafficSource": "hypersync_slo.traffic",
    "make_model": "hypersync_slo.traffic",
    "PARTS_DIR": "hypersync_slo.loadgen.launcher",
    "LoadPlan": "hypersync_slo.loadgen.launcher",
    "Outcome": "hypersync_slo.loadgen.launcher",
    "run_load": "hypersync_slo.loadgen.launcher",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])  # launcher keeps httpx out of the driver
        return getattr(module, name)
    raise AttributeError(f"module 'hypersync_slo.loadgen' has no attribute {name!r}")
