"""A local trace backend speaking Jaeger's or Zipkin's wire APIs, for tests and the demo.

Neither Jaeger nor Zipkin runs here, so ``TraceBackend(kind)`` implements, on loopback, the
two sides a trace check touches, from the published API descriptions:

``jaeger``
    ingest: OTLP/HTTP, ``POST /v1/traces`` with an ``ExportTraceServiceRequest`` in protobuf
    (``Content-Type: application/x-protobuf``, what Jaeger's OTLP receiver on port 4318 takes),
    answered ``200`` with an empty ``ExportTraceServiceResponse``;
    query: ``GET /api/traces/{traceID}``, Jaeger's query-service JSON
    (``{"data": [{"traceID", "spans": [{"traceID", "spanID", "operationName", "references":
    [{"refType": "CHILD_OF", ...}], "startTime", "duration", "tags", "processID"}],
    "processes": {...}}], "errors": null}``; ``404`` with ``errors: [{"code": 404, "msg":
    "trace not found"}]`` for an unknown trace.

``zipkin``
    ingest: ``POST /api/v2/spans`` with a JSON list of Zipkin v2 spans, answered ``202``;
    query: ``GET /api/v2/trace/{traceId}``, the list of the trace's spans, ``404`` when unknown.

Anything else (another content type, a malformed body) is a 4xx with the reason, and counted:
a backend that silently drops what it cannot read would hide the very loss being measured.
The server runs in a thread of the calling process (``start()``/``stop()``, or ``with``).
The ``jaeger`` kind decodes OTLP with ``opentelemetry-proto``, installed with the ``reference``
extra (as the reference service's OTLP exporter needs it too).
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from hypersync_slo.traces.model import KINDS, BackendKind

_OTLP_KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
MAX_BODY = 16 << 20


@dataclass
class StoredSpan:
    """A span as received, in a neutral form both query APIs are rendered from."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    service: str
    start_us: int
    duration_us: int
    tags: dict[str, str] = field(default_factory=dict)


def _otlp_value(value: Any) -> str:
    kind = value.WhichOneof("value")
    return "" if kind is None else str(getattr(value, kind))


def decode_otlp(body: bytes) -> list[StoredSpan]:
    """The spans of an OTLP/HTTP protobuf ``ExportTraceServiceRequest``."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: PLC0415
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest.FromString(body)
    spans: list[StoredSpan] = []
    for resource_spans in request.resource_spans:
        service = ""
        for attribute in resource_spans.resource.attributes:
            if attribute.key == "service.name":
                service = _otlp_value(attribute.value)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    StoredSpan(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex() or None,
                        name=span.name,
                        kind=_OTLP_KINDS.get(span.kind, ""),
                        service=service,
                        start_us=span.start_time_unix_nano // 1000,
                        duration_us=max(0, span.end_time_unix_nano - span.start_time_unix_nano)
                        // 1000,
                        tags={a.key: _otlp_value(a.value) for a in span.attributes},
                    )
                )
    return spans


def decode_zipkin(body: bytes) -> list[StoredSpan]:
    """The spans of a Zipkin v2 JSON list; ``ValueError`` when it is not one."""
    data = json.loads(body)
    if not isinstance(data, list):
        raise ValueError("expected a JSON list of spans")
    spans: list[StoredSpan] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not item.get("traceId") or not item.get("id"):
            raise ValueError(f"span [{i}] lacks traceId or id")
        endpoint = item.get("localEndpoint") or {}
        spans.append(
            StoredSpan(
                trace_id=str(item["traceId"]).lower().zfill(32),
                span_id=str(item["id"]).lower().zfill(16),
                parent_id=str(item["parentId"]).lower().zfill(16) if item.get("parentId") else None,
                name=str(item.get("name") or ""),
                kind=str(item.get("kind") or "internal").lower(),
                service=str(endpoint.get("serviceName") or ""),
                start_us=int(item.get("timestamp") or 0),
                duration_us=int(item.get("duration") or 0),
                tags={str(k): str(v) for k, v in (item.get("tags") or {}).items()},
            )
        )
    return spans


def jaeger_trace(trace_id: str, spans: list[StoredSpan]) -> dict[str, Any]:
    """The trace as Jaeger's query API answers ``/api/traces/{id}``."""
    processes: dict[str, dict[str, Any]] = {}
    process_of: dict[str, str] = {}
    for span in spans:
        if span.service not in process_of:
            process_of[span.service] = f"p{len(process_of) + 1}"
            processes[process_of[span.service]] = {"serviceName": span.service, "tags": []}
    return {
        "traceID": trace_id,
        "spans": [
            {
                "traceID": span.trace_id,
                "spanID": span.span_id,
                "flags": 1,
                "operationName": span.name,
                "references": []
                if span.parent_id is None
                else [{"refType": "CHILD_OF", "traceID": span.trace_id, "spanID": span.parent_id}],
                "startTime": span.start_us,
                "duration": span.duration_us,
                "tags": [
                    {"key": k, "type": "string", "value": v}
                    for k, v in sorted({**span.tags, "span.kind": span.kind}.items())
                ],
                "logs": [],
                "processID": process_of[span.service],
                "warnings": None,
            }
            for span in spans
        ],
        "processes": processes,
        "warnings": None,
    }


def zipkin_span(span: StoredSpan) -> dict[str, Any]:
    """The span as Zipkin's v2 API answers it."""
    out: dict[str, Any] = {
        "traceId": span.trace_id,
        "id": span.span_id,
        "name": span.name,
        "timestamp": span.start_us,
        "duration": span.duration_us,
        "localEndpoint": {"serviceName": span.service},
        "tags": dict(sorted(span.tags.items())),
    }
    if span.parent_id:
        out["parentId"] = span.parent_id
    if span.kind and span.kind != "internal":
        out["kind"] = span.kind.upper()
    return out


class TraceBackend:
    """A Jaeger- or Zipkin-compatible trace backend on loopback (ingest and query)."""

    def __init__(self, kind: BackendKind, host: str = "127.0.0.1", port: int = 0) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown trace backend {kind!r}; known: {', '.join(KINDS)}")
        self.kind = kind
        self.traces: dict[str, list[StoredSpan]] = defaultdict(list)
        self.rejected: list[str] = []
        self.lock = threading.Lock()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, MAX_BODY))
                status, answer, content_type = backend.ingest(
                    self.path, self.headers.get("Content-Type", ""), body
                )
                self._answer(status, answer, content_type)

            def do_GET(self) -> None:
                status, answer = backend.query(self.path)
                self._answer(status, answer, "application/json")

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL (ingest and query share it)."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def ingest_url(self) -> str:
        """What the service exports to: OTLP base URL (jaeger) or the spans URL (zipkin)."""
        return self.url if self.kind == "jaeger" else f"{self.url}/api/v2/spans"

    def span_count(self) -> int:
        """Spans stored so far."""
        with self.lock:
            return sum(len(spans) for spans in self.traces.values())

    def ingest(self, path: str, content_type: str, body: bytes) -> tuple[int, bytes, str]:
        """Store the spans of one export request; (status, body, content type) to answer."""
        media = content_type.split(";", maxsplit=1)[0].strip().lower()
        try:
            if self.kind == "jaeger" and path == "/v1/traces":
                if media != "application/x-protobuf":
                    raise _Refused(415, f"OTLP/HTTP here takes application/x-protobuf, not {media}")
                spans = decode_otlp(body)
                from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: PLC0415
                    ExportTraceServiceResponse,
                )

                answer = (200, ExportTraceServiceResponse().SerializeToString(), media)
            elif self.kind == "zipkin" and path == "/api/v2/spans":
                if media != "application/json":
                    raise _Refused(415, f"/api/v2/spans here takes application/json, not {media}")
                spans = decode_zipkin(body)
                answer = (202, b"", "text/plain")
            else:
                raise _Refused(404, f"no ingest endpoint {path} on a {self.kind} backend")
        except _Refused as exc:
            self.rejected.append(exc.reason)
            return exc.status, exc.reason.encode(), "text/plain"
        except Exception as exc:  # a body we cannot decode: said, counted, never dropped silently
            reason = f"cannot decode the body: {type(exc).__name__}: {exc}"
            self.rejected.append(reason)
            return 400, reason.encode(), "text/plain"
        with self.lock:
            for span in spans:
                self.traces[span.trace_id].append(span)
        return answer

    def query(self, path: str) -> tuple[int, bytes]:
        """Answer a query path: (status, JSON body)."""
        prefix = "/api/traces/" if self.kind == "jaeger" else "/api/v2/trace/"
        if not path.startswith(prefix):
            return 404, json.dumps({"error": f"no query endpoint {path}"}).encode()
        trace_id = path[len(prefix) :].split("?", maxsplit=1)[0].lower().zfill(32)
        with self.lock:
            spans = list(self.traces.get(trace_id, ()))
        if self.kind == "jaeger":
            if not spans:
                body = {
                    "data": None,
                    "total": 0,
                    "limit": 0,
                    "offset": 0,
                    "errors": [{"code": 404, "msg": "trace not found"}],
                }
                return 404, json.dumps(body).encode()
            found = {
                "data": [jaeger_trace(trace_id, spans)],
                "total": 0,
                "limit": 0,
                "offset": 0,
                "errors": None,
            }
            return 200, json.dumps(found).encode()
        if not spans:
            return 404, json.dumps(f"trace {trace_id} not found").encode()
        return 200, json.dumps([zipkin_span(s) for s in spans]).encode()

    def start(self) -> TraceBackend:
        """Serve in a background thread."""
        self.thread = threading.Thread(
            target=self.server.serve_forever, name=f"{self.kind}-backend", daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self.thread is not None:
            self.server.shutdown()
            self.thread.join(timeout=5)
        self.server.server_close()

    def __enter__(self) -> TraceBackend:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
