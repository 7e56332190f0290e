"""Tracing: W3C ``traceparent`` parsing, ``traceresponse`` formatting, the OpenTelemetry tracer.

One SERVER span per request (joining a valid incoming trace), child spans for operator execution,
policy evaluation and receipt writes. Spans are exported by OTLP/HTTP (batched) only when an
endpoint is configured; otherwise they are created and ended without export, so IDs stay real.

``parse_traceparent`` follows the W3C Trace Context grammar exactly (version 2 lowercase hex,
not ``ff``; 32-hex trace-id and 16-hex parent-id, neither all zeros; 2-hex flags; version ``00``
has exactly four fields, later versions may add ``-suffix`` fields). An invalid header means a
new trace, and ``tracestate`` is dropped with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Tracer, TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

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


def make_tracer(
    *, service_name: str, version: str, otlp_endpoint: str | None
) -> tuple[Tracer, TracerProvider]:
    """The tracer of the service; spans go to OTLP/HTTP in batches when an endpoint is given."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name, "service.version": version})
    )
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

        provider.add_span_processor(
            BatchSpanProcessor(
                OTLPSpanExporter(endpoint=otlp_traces_url(otlp_endpoint), timeout=5),
                schedule_delay_millis=1000,
            )
        )
    tracer = provider.get_tracer("hypersync_slo.reference", version)
    assert isinstance(tracer, Tracer)
    return tracer, provider
