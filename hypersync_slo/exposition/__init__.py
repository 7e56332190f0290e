"""Parsing and linting of Prometheus text 0.0.4 and OpenMetrics 1.0.0 expositions.

``parse_exposition`` reads the raw text with line numbers (it raises only
``MalformedExposition``); ``lint_exposition`` reports promtool's naming rules plus what
promtool and the Python parsers miss (duplicate series, broken histograms, TYPE placement,
OpenMetrics framing, Content-Type); ``run_promtool`` runs the real promtool for comparison;
``fetch_exposition`` GETs a ``/metrics`` URL with the right Accept header and limits;
``read_bounded`` is its size- and time-bounded body reader, shared with the gate's client.
"""

from __future__ import annotations

from hypersync_slo.exposition.fetch import (
    ACCEPT_OPENMETRICS,
    ACCEPT_TEXT,
    MAX_METRICS_BYTES,
    PROMETHEUS3_ACCEPT,
    FetchedExposition,
    decode_body,
    fetch_exposition,
    read_bounded,
)
from hypersync_slo.exposition.lint import (
    NODE_EXPORTER_ALLOW,
    RULES,
    VALID_CONTENT_TYPES,
    apply_allow,
    lint_exposition,
)
from hypersync_slo.exposition.model import Exposition, Family, Finding, Sample
from hypersync_slo.exposition.parser import ExpositionSyntaxError, media_type, parse_exposition
from hypersync_slo.exposition.promtool import (
    Comparison,
    PromtoolResult,
    compare,
    promtool_path,
    run_promtool,
)
from hypersync_slo.exposition.values import counter_values, histogram_buckets

__all__ = [
    "ACCEPT_OPENMETRICS",
    "ACCEPT_TEXT",
    "MAX_METRICS_BYTES",
    "NODE_EXPORTER_ALLOW",
    "PROMETHEUS3_ACCEPT",
    "RULES",
    "VALID_CONTENT_TYPES",
    "Comparison",
    "Exposition",
    "ExpositionSyntaxError",
    "Family",
    "FetchedExposition",
    "Finding",
    "PromtoolResult",
    "Sample",
    "apply_allow",
    "compare",
    "counter_values",
    "decode_body",
    "fetch_exposition",
    "histogram_buckets",
    "lint_exposition",
    "media_type",
    "parse_exposition",
    "promtool_path",
    "read_bounded",
    "run_promtool",
]
