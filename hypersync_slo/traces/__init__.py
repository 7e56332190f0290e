"""Traces as evidence: tagged requests, a trace backend asked for them, ``trace_completeness``.

Public API::

    TaggedRequest, Span, completeness(tagged, found) -> Completeness     what must arrive (model.py)
    trace_kpi(result, config, window, where=...) -> KpiResult             the KPI, source "trace"
    TraceQuery(kind, url).fetch(trace_id) -> list[Span] | None            Jaeger / Zipkin query API
    TraceBackend(kind).start()                                            a local Jaeger- or Zipkin-
                                                                          compatible backend (backend.py)
    verify_traces(parts_dir, kind=, ...) / TRACES_FILE                    the check after a load
                                                                          (check.py, loaded on first use)
"""

from typing import Any

from hypersync_slo.traces.backend import TraceBackend
from hypersync_slo.traces.model import (
    CHILD_SPANS,
    KINDS,
    Completeness,
    Span,
    TaggedRequest,
    completeness,
    trace_kpi,
)
from hypersync_slo.traces.query import TraceQuery

__all__ = [
    "CHILD_SPANS",
    "KINDS",
    "TRACES_FILE",
    "Completeness",
    "Span",
    "TaggedRequest",
    "TraceBackend",
    "TraceQuery",
    "completeness",
    "trace_kpi",
    "verify_traces",
]

#: Loaded on first use: the check after a load brings the load generator's tagging with it.
_CHECK = ("TRACES_FILE", "verify_traces")


def __getattr__(name: str) -> Any:
    if name in _CHECK:
        from hypersync_slo.traces import check  # noqa: PLC0415  (serve-traces starts without it)

        return getattr(check, name)
    raise AttributeError(f"module 'hypersync_slo.traces' has no attribute {name!r}")
