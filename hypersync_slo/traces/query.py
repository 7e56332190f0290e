"""Ask a trace backend for traces by ID (adapter): Jaeger's or Zipkin's query API over httpx.

``TraceQuery(kind, url).fetch(trace_id)`` answers the trace's spans, ``None`` when the backend
says it has no such trace (404), and raises ``TargetUnreachable`` when the backend cannot be
asked (connection refused, timeout, 5xx, an answer that is not the API's JSON), so "not
arrived" is never confused with "could not look".

* Jaeger: ``GET {url}/api/traces/{traceID}`` → ``{"data": [{"spans": [...], "processes":
  {...}}]}``; a span's parent is its ``CHILD_OF`` reference, its kind the ``span.kind`` tag.
* Zipkin: ``GET {url}/api/v2/trace/{traceId}`` → ``[{"traceId", "id", "parentId", "kind", ...}]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from hypersync_slo.errors import TargetUnreachable, explain
from hypersync_slo.traces.model import KINDS, BackendKind, Span


def parse_jaeger(data: Any) -> list[Span]:
    """The spans of a Jaeger ``/api/traces/{id}`` answer."""
    spans: list[Span] = []
    for trace in data.get("data") or []:
        processes = trace.get("processes") or {}
        for item in trace.get("spans") or []:
            parent = next(
                (
                    str(ref.get("spanID", "")).zfill(16)
                    for ref in item.get("references") or []
                    if ref.get("refType") == "CHILD_OF"
                ),
                None,
            )
            tags = {t.get("key"): t.get("value") for t in item.get("tags") or []}
            process = processes.get(item.get("processID")) or {}
            spans.append(
                Span(
                    trace_id=str(item["traceID"]).lower().zfill(32),
                    span_id=str(item["spanID"]).lower().zfill(16),
                    parent_id=parent,
                    name=str(item.get("operationName", "")),
                    kind=str(tags.get("span.kind") or "").lower(),
                    service=str(process.get("serviceName", "")),
                )
            )
    return spans


def parse_zipkin(data: Any) -> list[Span]:
    """The spans of a Zipkin ``/api/v2/trace/{id}`` answer."""
    return [
        Span(
            trace_id=str(item["traceId"]).lower().zfill(32),
            span_id=str(item["id"]).lower().zfill(16),
            parent_id=str(item["parentId"]).lower().zfill(16) if item.get("parentId") else None,
            name=str(item.get("name", "")),
            kind=str(item.get("kind") or "internal").lower(),
            service=str((item.get("localEndpoint") or {}).get("serviceName", "")),
        )
        for item in data
    ]


class TraceQuery:
    """A Jaeger or Zipkin query API at ``url``."""

    def __init__(self, kind: BackendKind, url: str, *, timeout: float = 5.0) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown trace backend {kind!r}; known: {', '.join(KINDS)}")
        self.kind = kind
        self.url = url.rstrip("/")
        self.client = httpx.Client(timeout=timeout)

    def path(self, trace_id: str) -> str:
        """The query URL of one trace."""
        if self.kind == "jaeger":
            return f"{self.url}/api/traces/{trace_id}"
        return f"{self.url}/api/v2/trace/{trace_id}"

    def fetch(self, trace_id: str) -> list[Span] | None:
        """The spans of ``trace_id``; None when the backend does not have it."""
        url = self.path(trace_id)
        try:
            response = self.client.get(url)
        except httpx.HTTPError as exc:
            raise TargetUnreachable(
                explain(
                    f"the {self.kind} query API could not be asked for a trace.",
                    url=url,
                    error=f"{type(exc).__name__}: {exc}",
                )
            ) from exc
        if response.status_code == 404:
            return None
        try:
            response.raise_for_status()
            data = response.json()
            spans = parse_jaeger(data) if self.kind == "jaeger" else parse_zipkin(data)
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise TargetUnreachable(
                explain(
                    f"the {self.kind} query API did not answer with a trace.",
                    url=url,
                    status=response.status_code,
                    answer=response.text[:300],
                    error=f"{type(exc).__name__}: {exc}",
                )
            ) from exc
        return spans or None

    def fetch_all(self, trace_ids: Iterable[str]) -> dict[str, list[Span] | None]:
        """Every trace by ID (one request each)."""
        return {trace_id: self.fetch(trace_id) for trace_id in trace_ids}

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()
