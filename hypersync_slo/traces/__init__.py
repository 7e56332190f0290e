"""Traces as evidence: tagged requests, a trace backend asked for them, ``trace_completeness``.

Public API::

    TaggedRequest, Span, completeness(tagged, found) -> Completeness     what must arrive (model.py)
    trace_kpi(result, config, window, where=...) -> KpiResult             the KPI, source "trace"
    TraceQuery(kind, url).fetch(trace_id) -> list[Span] | None            Jaeger / Zipkin query API
    TraceBackend(kind).start()                                            a local Jaeger- or Zipkin-
                                                                          compatible backend (backend.py)
"""

from hypersync_slo.traces.backend import KINDS, TraceBackend
from hypersync_slo.traces.model import (
    CHILD_SPANS,
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
    "Completeness",
    "Span",
    "TaggedRequest",
    "TraceBackend",
    "TraceQuery",
    "completeness",
    "trace_kpi",
]
