"""Tracing: W3C ``traceparent`` parsing, ``traceresponse`` formatting, the OpenTelemetry tracer.

One SERVER span per request (joining a valid incoming trace), child spans for operator execution,
policy evaluation and receipt writes. Spans are exported in batches only when an endpoint is
configured: by OTLP/HTTP protobuf (``--otlp-endpoint``: Jaeger's OTLP receiver, the OTel
collector) and/or as Zipkin v2 JSON to ``/api/v2/spans`` (``--zipkin-endpoint``: a Zipkin
server, whose native API is its own v2 JSON, not OTLP). Otherwise they are created and ended
without export, so IDs stay real.

The ``span-drop`` fault (``--fault-span-drop R``) makes the exporters leave out the child spans
of a fraction R of the traces, chosen by the trace ID (its low 32 bits below R x 2^32), so a
checker that knows the IDs knows exactly which traces must come out incomplete.

``parse_traceparent`` follows the W3C Trace Context grammar exactly (version 2 lowercase hex,
not ``ff``; 32-hex trace-id and 16-hex parent-id, neither all zeros; 2-hex flags; version ``00``
has exactly four fields, later versions may add ``-suffix`` fields). An invalid header means a
new trace, and ``tracestate`` is dropped with it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Tracer, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import StatusCode

_HEX = frozenset("0123456789abcdef")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


@dataclass(frozen=True)
class TraceParent:
    """A valid incoming W3C ``traceparent``."""

    trace_id: int
    span_id: int
    flags: int


def _hex(text: str) -> bool:
    return all(c in _HEX for c in text)


def parse_traceparent(value: str | None) -> TraceParent | None:
    """The parsed header, or None when absent or invalid per the W3C grammar."""
    if value is None:
        return None
    value = value.strip(" \t")
    if len(value) < 55:
        return None
    version = value[0:2]
    if not _hex(version) or version == "ff":
        return None
    if value[2] != "-" or value[35] != "-" or value[52] != "-":
        return None
    if version == "00":
        if len(value) != 55:
            return None
    elif len(value) > 55 and value[55] != "-":
        return None
    trace_id, span_id, flags = value[3:35], value[36:52], value[53:55]
    if not (_hex(trace_id) and _hex(span_id) and _hex(flags)):
        return None
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return TraceParent(int(trace_id, 16), int(span_id, 16), int(flags, 16))


def parse_tracestate(value: str | None) -> TraceState:
    """The incoming ``tracestate`` (empty when absent or malformed)."""
    if not value:
        return TraceState()
    try:
        return TraceState.from_header([value])
    except ValueError:
        return TraceState()


def parent_context(parent: TraceParent | None, tracestate: str | None) -> Context | None:
    """The OpenTelemetry context a server span starts in (None: a new trace)."""
    if parent is None:
        return None  # invalid or absent: new trace, tracestate dropped with it
    span_context = SpanContext(
        trace_id=parent.trace_id,
        span_id=parent.span_id,
        is_remote=True,
        trace_flags=TraceFlags(parent.flags & 0xFF),
        trace_state=parse_tracestate(tracestate),
    )
    return trace.set_span_in_context(NonRecordingSpan(span_context))


def traceresponse(span_context: SpanContext) -> str:
    """The ``traceresponse`` header value: ``00-<trace-id>-<server span-id>-<flags>``."""
    return f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{int(span_context.trace_flags) & 1:02x}"


def otlp_traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL for an endpoint given as base URL or full ``/v1/traces`` URL."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


def span_dropped(trace_id: int, ratio: float) -> bool:
    """Whether the ``span-drop`` fault at ``ratio`` hits the trace (its low 32 bits decide)."""
    return ratio > 0 and (trace_id & 0xFFFFFFFF) < ratio * 2**32


class DroppingExporter(SpanExporter):
    """Passes spans on to ``inner``, leaving out the child spans of the traces the fault hits."""

    def __init__(self, inner: SpanExporter, ratio: Callable[[], float]) -> None:
        self.inner = inner
        self.ratio = ratio

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        ratio = self.ratio()
        if ratio > 0:
            spans = [
                s
                for s in spans
                if s.kind == SpanKind.SERVER
                or s.context is None
                or not span_dropped(s.context.trace_id, ratio)
            ]
        return self.inner.export(spans) if spans else SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


_ZIPKIN_KINDS = {
    SpanKind.SERVER: "SERVER",
    SpanKind.CLIENT: "CLIENT",
    SpanKind.PRODUCER: "PRODUCER",
    SpanKind.CONSUMER: "CONSUMER",
}


def zipkin_json(span: ReadableSpan) -> dict[str, object]:
    """One span in Zipkin's v2 JSON model (``/api/v2/spans``)."""
    context = span.context
    assert context is not None
    start = span.start_time or 0
    end = span.end_time or start
    out: dict[str, object] = {
        "traceId": f"{context.trace_id:032x}",
        "id": f"{context.span_id:016x}",
        "name": span.name,
        "timestamp": start // 1000,
        "duration": max(1, (end - start) // 1000),
        "localEndpoint": {"serviceName": str(span.resource.attributes.get("service.name", ""))},
        "tags": {str(k): str(v) for k, v in (span.attributes or {}).items()},
    }
    if span.parent is not None:
        out["parentId"] = f"{span.parent.span_id:016x}"
    if span.kind in _ZIPKIN_KINDS:
        out["kind"] = _ZIPKIN_KINDS[span.kind]
    if span.status.status_code is StatusCode.ERROR:
        tags = out["tags"]
        assert isinstance(tags, dict)
        tags["error"] = span.status.description or "true"
    return out


class ZipkinJsonExporter(SpanExporter):
    """POSTs batches of spans as Zipkin v2 JSON to a Zipkin server's ``/api/v2/spans``."""

    def __init__(self, endpoint: str, *, timeout: float = 5.0) -> None:
        self.endpoint = zipkin_spans_url(endpoint)
        self.timeout = timeout

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        body = json.dumps([zipkin_json(s) for s in spans], separators=(",", ":")).encode()
        request = urllib.request.Request(
            self.endpoint, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                ok = 200 <= response.status < 300
        except (OSError, urllib.error.URLError):
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def zipkin_spans_url(endpoint: str) -> str:
    """The Zipkin v2 spans URL for an endpoint given as base URL or full ``/api/v2/spans`` URL."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/api/v2/spans") else f"{endpoint}/api/v2/spans"


def make_tracer(
    *,
    service_name: str,
    version: str,
    otlp_endpoint: str | None,
    zipkin_endpoint: str | None = None,
    span_drop: Callable[[], float] | None = None,
) -> tuple[Tracer, TracerProvider]:
    """The tracer of the service; spans go to OTLP/HTTP and/or Zipkin in batches when asked."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name, "service.version": version})
    )
    exporters: list[SpanExporter] = []
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        exporters.append(OTLPSpanExporter(endpoint=otlp_traces_url(otlp_endpoint), timeout=5))
    if zipkin_endpoint:
        exporters.append(ZipkinJsonExporter(zipkin_endpoint))
    if exporters:
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

        for exporter in exporters:
            provider.add_span_processor(
                BatchSpanProcessor(
                    DroppingExporter(exporter, span_drop) if span_drop else exporter,
                    schedule_delay_millis=1000,
                )
            )
    tracer = provider.get_tracer("hypersync_slo.reference", version)
    assert isinstance(tracer, Tracer)
    return tracer, provider
