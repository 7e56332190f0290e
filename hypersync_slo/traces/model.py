"""Traces as evidence (domain): which spans a tagged request must leave, and the share that did.

A *tagged* request carries ``traceparent: 00-<trace-id>-<parent-id>-01`` with IDs the load
generator chose (sampled flag set). The service must then export, in that trace:

* its SERVER span, a child of ``<parent-id>`` (the caller's span);
* for an operation that has one, the operation's child span under that server span
  (``operator.execute``, ``policy.evaluate``, ``receipt.write``), when the request succeeded
  (a request refused before its handler ran has no operation to trace).

``completeness(tagged, found)`` checks each tagged request against what the trace backend
returned for its trace ID and gives the share that arrived complete, with every miss explained.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from hypersync_slo.config import SloConfig
from hypersync_slo.verdicts import KpiResult, judge

#: The trace backends we speak to: Jaeger's and Zipkin's query and ingest APIs.
BackendKind = Literal["jaeger", "zipkin"]
KINDS: tuple[BackendKind, ...] = ("jaeger", "zipkin")

#: The operation's child span, by route template (the monitoring contract's tracing promise).
CHILD_SPANS: dict[str, str] = {
    "POST /v1/operators/{operator}/execute": "operator.execute",
    "POST /v1/policies/{policy}/evaluate": "policy.evaluate",
    "POST /v1/receipts": "receipt.write",
}


@dataclass(frozen=True)
class Span:
    """One span as a trace backend returns it (IDs in lower-case hex)."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str  # "server", "client", "internal", ... ("" when the backend does not say)
    service: str = ""


@dataclass(frozen=True)
class TaggedRequest:
    """A request the load generator sent with a known trace ID."""

    trace_id: str
    parent_id: str
    request: str  # "METHOD /route/{template}"
    status: int

    @property
    def expected_child(self) -> str | None:
        """The operation's child span this request must leave (None: only the server span)."""
        if not 200 <= self.status < 300:
            return None
        return CHILD_SPANS.get(self.request)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaggedRequest:
        """From the ``traces-N.jsonl`` record the load generator writes."""
        return cls(
            str(data["trace_id"]), str(data["parent_id"]), str(data["request"]), int(data["status"])
        )


@dataclass(frozen=True)
class Miss:
    """A tagged request whose trace did not arrive complete, and why."""

    trace_id: str
    request: str
    reason: str


@dataclass
class Completeness:
    """How many tagged requests' traces arrived with the expected spans."""

    checked: int = 0
    complete: int = 0
    not_found: int = 0
    misses: list[Miss] = field(default_factory=list)

    @property
    def share(self) -> float | None:
        """Complete over checked, None when nothing was checked."""
        return self.complete / self.checked if self.checked else None


def check_trace(tagged: TaggedRequest, spans: Sequence[Span] | None) -> str | None:
    """Why the trace of ``tagged`` is incomplete, or None when it has every expected span."""
    if spans is None:
        return "trace not found in the backend"
    servers = [
        s
        for s in spans
        if s.trace_id == tagged.trace_id and s.kind == "server" and s.parent_id == tagged.parent_id
    ]
    if not servers:
        names = ", ".join(sorted(s.name for s in spans)) or "none"
        return (
            f"no SERVER span whose parent is the caller's span {tagged.parent_id} "
            f"(spans in the trace: {names})"
        )
    child = tagged.expected_child
    if child is None:
        return None
    server_ids = {s.span_id for s in servers}
    if any(s.name == child and s.parent_id in server_ids for s in spans):
        return None
    return f"the operation's span {child!r} under the server span is missing"


def completeness(
    tagged: Sequence[TaggedRequest], found: Mapping[str, Sequence[Span] | None]
) -> Completeness:
    """Check every tagged request against the spans found for its trace ID."""
    result = Completeness()
    for request in tagged:
        result.checked += 1
        spans = found.get(request.trace_id)
        if spans is None:
            result.not_found += 1
        reason = check_trace(request, spans)
        if reason is None:
            result.complete += 1
        else:
            result.misses.append(Miss(request.trace_id, request.request, reason))
    return result


def trace_kpi(
    result: Completeness,
    config: SloConfig,
    window: tuple[datetime, datetime],
    *,
    where: str,
) -> KpiResult:
    """``trace_completeness`` judged against the SLO file, source ``trace``."""
    return judge(
        config.objective("trace_completeness"),
        result.share,
        result.checked,
        source="trace",
        window=window,
        query=f"{where}: tagged requests whose trace has the server span and the operation's child",
        detail={
            "checked": result.checked,
            "complete": result.complete,
            "not_found": result.not_found,
            "misses": [
                {"trace_id": m.trace_id, "request": m.request, "reason": m.reason}
                for m in result.misses[:20]
            ],
            "misses_listed": min(20, len(result.misses)),
        },
    )
