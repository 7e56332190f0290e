"""Prometheus as the reporter, the audit, the gate and the generated monitoring speak to it.

Neutral ground: ``report``, ``audit``, ``gate`` and ``alerting`` import from here, never from
each other, for what they say to or about a Prometheus-API store.

    client        PrometheusClient (layer 3, the only importer of prometheus_api_client):
                  instant and range queries, split under the point limit, every failure a
                  PrometheusUnavailable; RecordedAnswers serves recorded API answers
    queries       Queries: selectors and KPI queries over the profile's HTTP metrics;
                  default_routes, buckets_in_seconds (layer 2)
    promql        duration, quote_label, le_matcher / le_regex, default label names (layer 2)
    burn_windows  the SRE workbook's burn-rate window pairs and their 30-day period (layer 2)

Public API::

    with PrometheusClient("http://127.0.0.1:9090", timeout=10.0) as client:
        samples = client.instant(Queries(config, job="hypersync").scraped(), at=time.time())
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hypersync_slo.prometheus.burn_windows import (
    BURN_WINDOWS,
    SLI_WINDOWS,
    SLO_PERIOD_DAYS,
    BurnWindow,
)
from hypersync_slo.prometheus.promql import (
    DEFAULT_ROUTES,
    ROUTE_LABEL,
    STATUS_LABEL,
    duration,
    le_matcher,
    le_regex,
    le_spellings,
    quote_label,
)
from hypersync_slo.prometheus.queries import Queries, buckets_in_seconds, default_routes

if TYPE_CHECKING:
    from hypersync_slo.prometheus.client import (
        MAX_POINTS,
        InstantSample,
        PrometheusClient,
        QueryStats,
        RangeSeries,
        RecordedAnswers,
        choose_step,
        points_in,
    )

__all__ = [
    "BURN_WINDOWS",
    "DEFAULT_ROUTES",
    "MAX_POINTS",
    "ROUTE_LABEL",
    "SLI_WINDOWS",
    "SLO_PERIOD_DAYS",
    "STATUS_LABEL",
    "BurnWindow",
    "InstantSample",
    "PrometheusClient",
    "Queries",
    "QueryStats",
    "RangeSeries",
    "RecordedAnswers",
    "buckets_in_seconds",
    "choose_step",
    "default_routes",
    "duration",
    "le_matcher",
    "le_regex",
    "le_spellings",
    "points_in",
    "quote_label",
]

#: The adapter is loaded on first use: the pure helpers (layer 2) must not bring
#: prometheus_api_client, requests and pandas' import time to `render` or the gate's plugin.
_CLIENT = (
    "MAX_POINTS",
    "InstantSample",
    "PrometheusClient",
    "QueryStats",
    "RangeSeries",
    "RecordedAnswers",
    "choose_step",
    "points_in",
)


def __getattr__(name: str) -> Any:
    if name in _CLIENT:
        from hypersync_slo.prometheus import client  # noqa: PLC0415  (loaded on first use)

        return getattr(client, name)
    raise AttributeError(f"module 'hypersync_slo.prometheus' has no attribute {name!r}")
