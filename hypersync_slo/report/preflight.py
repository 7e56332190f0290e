"""SLO-file checks that need the live target: are the latency thresholds histogram buckets?

A latency verdict is exact only when its threshold is a bucket boundary (``le``) of the
target's histogram; otherwise it can only be interpolated. ``check_thresholds_are_buckets``
lists every threshold that is not, with the buckets that exist.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

from hypersync_slo.config import SloConfig, format_value
from hypersync_slo.prometheus.client import PrometheusClient
from hypersync_slo.prometheus.queries import Queries


def check_thresholds_are_buckets(config: SloConfig, bucket_bounds: Iterable[float]) -> list[str]:
    """One message per latency threshold (objective or alert) that is not a bucket boundary."""
    bounds = sorted({float(b) for b in bucket_bounds if math.isfinite(float(b))})
    shown = ", ".join(f"{b:g}" for b in bounds) or "none"
    problems: list[str] = []
    metric = config.metric("request_duration")
    for threshold in config.latency_thresholds:
        if any(math.isclose(threshold, b, rel_tol=1e-9, abs_tol=1e-12) for b in bounds):
            continue
        users = [
            name
            for name, o in config.objectives.items()
            if o.unit == "s" and o.value is not None and math.isclose(o.value, threshold)
        ]
        users += [
            f"alerts.{lvl.name}.latency_p99"
            for lvl in (config.alerts.critical, config.alerts.warning)
            if lvl.latency_p99 is not None and math.isclose(lvl.latency_p99, threshold)
        ]
        problems.append(
            f"{', '.join(users)}: the threshold {format_value(threshold, 's')} ({threshold:g} s) "
            f"is not a bucket of {metric}, so its verdict could only be interpolated. "
            f"The histogram's buckets (le, in seconds) are: {shown}. Use one of them as the "
            f"threshold, or add a bucket at {threshold:g} to the service's histogram."
        )
    return problems


def bucket_bounds_in_prometheus(
    client: PrometheusClient, config: SloConfig, job: str | None
) -> list[float]:
    """The finite ``le`` values of the target's latency histogram in seconds, as Prometheus has them."""
    query = Queries(config, job=job).bucket_bounds()
    samples = client.instant(query, time.time())
    bounds = set()
    for sample in samples:
        try:
            bound = config.http.seconds(float(sample.labels.get("le", "nan")))
        except ValueError:
            continue
        if math.isfinite(bound):
            bounds.add(bound)
    return sorted(bounds)
