"""Start-up options of serve-reference: SLO buckets, optional dependencies, start-up delay, OTLP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

from hypersync_slo.stack import ReferenceService
from tests.reference.conftest import DATA

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@dataclass
class OtlpReceiver:
    """A real OTLP/HTTP endpoint on loopback that keeps every span it is sent."""

    server: ThreadingHTTPServer
    spans: list[Any] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


@pytest.fixture(scope="module")
def otlp() -> Iterator[OtlpReceiver]:
    """An OTLP/HTTP receiver in a thread."""
    receiver: OtlpReceiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            receiver.paths.append(self.path)
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    receiver.spans.extend(scope_spans.spans)
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = OtlpReceiver(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@dataclass
class Started:
    """The configured service and what /health/ready said right after /health/live first passed."""

    service: ReferenceService
    first_ready: httpx.Response
    ready_after: float


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory, otlp: OtlpReceiver) -> Iterator[Started]:
    """One service with --slo-config, an optional dependency that is down, a start-up delay, OTLP."""
    service = ReferenceService(
        tmp_path_factory.mktemp("configured"),
        [
            "--slo-config",
            str(DATA / "slo-thresholds.yaml"),
            "--optional-dependency",
            "event-queue",
            "--fault-dependency-down",
            "event-queue",
            "--startup-delay",
            "1.5",
            "--otlp-endpoint",
            otlp.url,
        ],
    )
    service.start()
    started = time.monotonic()
    first = httpx.get(f"{service.url}/health/ready", timeout=5)
    deadline = started + 15
    while (
        httpx.get(f"{service.url}/health/ready", timeout=5).status_code != 200
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    yield Started(service, first, time.monotonic() - started)
    service.stop()


def test_ready_is_503_until_initialised(configured: Started) -> None:
    """Live passes first; ready says 'not initialized' (503) until start-up finished, then 200."""
    assert configured.first_ready.status_code == 503
    check = configured.first_ready.json()["checks"]["service:initialized"][0]
    assert check == {**check, "status": "fail", "output": "not initialized"}
    assert 0.5 < configured.ready_after < 10


def test_slo_thresholds_become_buckets(configured: Started) -> None:
    """Every latency threshold of the SLO file (0.3, 1, 2, 15 s) is a bucket edge."""
    text = httpx.get(f"{configured.service.url}/metrics").text
    edges = {
        s.labels["le"]
        for family in text_string_to_metric_families(text)
        if family.name == "http_server_request_duration_seconds"
        for s in family.samples
        if s.name.endswith("_bucket")
    }
    assert {"0.3", "1.0", "2.0", "15.0", "0.1", "+Inf"} <= edges


def test_optional_dependency_only_warns_ready(configured: Started) -> None:
    """A failing 'required: false' dependency fails /health/dependencies but only warns ready."""
    deps = httpx.get(f"{configured.service.url}/health/dependencies")
    assert deps.status_code == 503
    queue = deps.json()["checks"]["event-queue:depth"][0]
    assert queue["status"] == "fail"
    assert queue["required"] is False
    ready = httpx.get(f"{configured.service.url}/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "warn"
    assert ready.json()["checks"]["event-queue:depth"][0]["status"] == "warn"


def test_fault_admin_is_off_by_default(configured: Started) -> None:
    """Without --enable-fault-admin, /admin/faults is an unknown path."""
    assert httpx.get(f"{configured.service.url}/admin/faults").status_code == 404


def test_spans_are_exported_by_otlp(configured: Started, otlp: OtlpReceiver) -> None:
    """The server span joins the caller's trace; operator, policy and receipt spans are its children."""
    url = configured.service.url
    headers = {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
    httpx.post(f"{url}/v1/operators/validate/execute", json={"input": {"a": 1}}, headers=headers)
    httpx.post(
        f"{url}/v1/policies/access/evaluate",
        json={"subject": "s", "action": "read", "resource": "r"},
        headers=headers,
    )
    httpx.post(f"{url}/v1/receipts", json={"operation": "o", "payload": {}}, headers=headers)
    wanted = {
        "POST /v1/operators/{operator}/execute",
        "operator.execute",
        "policy.evaluate",
        "receipt.write",
        "POST /v1/receipts",
        "POST /v1/policies/{policy}/evaluate",
    }
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        names = {s.name for s in otlp.spans if s.trace_id.hex() == TRACE_ID}
        if wanted <= names:
            break
        time.sleep(0.1)
    ours = [s for s in otlp.spans if s.trace_id.hex() == TRACE_ID]
    assert wanted <= {s.name for s in ours}
    assert set(otlp.paths) == {"/v1/traces"}
    servers = {s.span_id: s for s in ours if s.kind == s.SPAN_KIND_SERVER}
    assert {s.parent_span_id.hex() for s in servers.values()} == {"00f067aa0ba902b7"}
    for child in (s for s in ours if s.kind != s.SPAN_KIND_SERVER):
        assert child.parent_span_id in servers, f"{child.name} is not a child of a server span"


def test_tracestate_kept_with_a_valid_parent_and_dropped_with_an_invalid_one(
    configured: Started, otlp: OtlpReceiver
) -> None:
    """Exported server spans carry the caller's tracestate only when its traceparent was valid."""
    url = configured.service.url
    joined = httpx.get(
        f"{url}/v1/agents",
        headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b8-01", "tracestate": "vendor=kept"},
    )
    restarted = httpx.get(
        f"{url}/v1/agents",
        headers={
            "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b8-01-bad",
            "tracestate": "vendor=dropped",
        },
    )
    ids = {
        joined.headers["traceresponse"].split("-")[2],
        restarted.headers["traceresponse"].split("-")[2],
    }
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len({s.span_id.hex() for s in otlp.spans} & ids) < 2:
        time.sleep(0.1)
    spans = {s.span_id.hex(): s for s in otlp.spans if s.span_id.hex() in ids}
    kept = spans[joined.headers["traceresponse"].split("-")[2]]
    dropped = spans[restarted.headers["traceresponse"].split("-")[2]]
    assert kept.trace_state == "vendor=kept"
    assert kept.trace_id.hex() == TRACE_ID
    assert dropped.trace_state == ""
    assert dropped.trace_id.hex() != TRACE_ID
    assert dropped.parent_span_id == b""
