"""Traces proven to arrive: the reference exports to a local Jaeger (OTLP/HTTP) or Zipkin (v2 JSON)
backend, the query API gives the tagged traces back, and completeness is the share that arrived
with the server span and the operation's child."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from hypersync_slo.config import SloConfig
from hypersync_slo.errors import TargetUnreachable
from hypersync_slo.processes import ManagedProcess, free_port, python_module_argv
from hypersync_slo.reference.tracing import span_dropped
from hypersync_slo.stack import ReferenceService
from hypersync_slo.traces import (
    Span,
    TaggedRequest,
    TraceBackend,
    TraceQuery,
    completeness,
    trace_kpi,
)
from hypersync_slo.verdicts import Verdict

StartService = Callable[..., ReferenceService]
#: (method, path, route template, JSON body)
REQUESTS = [
    (
        "POST",
        "/v1/operators/transform/execute",
        "/v1/operators/{operator}/execute",
        {"input": {"a": 1}},
    ),
    (
        "POST",
        "/v1/policies/access/evaluate",
        "/v1/policies/{policy}/evaluate",
        {"subject": "agent-7", "action": "read", "resource": "r"},
    ),
    ("POST", "/v1/receipts", "/v1/receipts", {"operation": "sync", "payload": {}}),
    ("GET", "/v1/agents", "/v1/agents", None),
]


def send_tagged(url: str, count: int) -> list[TaggedRequest]:
    """``count`` requests over the mix, each with a fresh sampled traceparent we know."""
    tagged = []
    with httpx.Client(base_url=url, timeout=10) as client:
        for i in range(count):
            method, path, route, body = REQUESTS[i % len(REQUESTS)]
            trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
            response = client.request(
                method, path, json=body, headers={"traceparent": f"00-{trace_id}-{parent}-01"}
            )
            tagged.append(
                TaggedRequest(trace_id, parent, f"{method} {route}", response.status_code)
            )
    return tagged


def wait_for_spans(backend: TraceBackend, at_least: int, timeout: float = 20.0) -> None:
    """Poll until the backend holds ``at_least`` spans (the exporter batches every second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and backend.span_count() < at_least:
        time.sleep(0.2)
    assert backend.span_count() >= at_least, (
        f"where: {backend.kind} backend at {backend.url}\nexpected: >= {at_least} spans\n"
        f"observed: {backend.span_count()}; rejected: {backend.rejected[:3]}"
    )


def expected_spans(tagged: list[TaggedRequest], drop: float = 0.0) -> int:
    """Spans the service must export for ``tagged`` with the span-drop fault at ``drop``."""
    return sum(
        1 + (r.expected_child is not None and not span_dropped(int(r.trace_id, 16), drop))
        for r in tagged
    )


@pytest.mark.parametrize(
    ("kind", "flag"), [("jaeger", "--otlp-endpoint"), ("zipkin", "--zipkin-endpoint")]
)
def test_every_tagged_trace_arrives_complete_from_a_healthy_reference(
    kind: str, flag: str, start_reference_service: StartService
) -> None:
    """Healthy reference exporting to the local backend: 100 % of the tagged traces are complete."""
    with TraceBackend(kind) as backend:  # type: ignore[arg-type]
        service = start_reference_service(flag, backend.url)
        tagged = send_tagged(service.url, 40)
        assert all(200 <= r.status < 300 for r in tagged)
        wait_for_spans(backend, expected_spans(tagged))
        query = TraceQuery(kind, backend.url)  # type: ignore[arg-type]
        found = query.fetch_all(r.trace_id for r in tagged)
        query.close()
        result = completeness(tagged, found)
        assert (result.checked, result.complete, result.share) == (40, 40, 1.0), result.misses[:3]
        window = (datetime.now(UTC), datetime.now(UTC))
        kpi = trace_kpi(result, SloConfig.default(), window, where=f"{kind} at {backend.url}")
        assert (kpi.name, kpi.source, kpi.samples, kpi.verdict) == (
            "trace_completeness",
            "trace",
            40,
            Verdict.PASS,
        )
        assert backend.rejected == []


@pytest.mark.parametrize(
    ("kind", "flag"), [("jaeger", "--otlp-endpoint"), ("zipkin", "--zipkin-endpoint")]
)
def test_dropped_spans_give_the_exact_lower_share(
    kind: str, flag: str, start_reference_service: StartService
) -> None:
    """With --fault-span-drop 0.5 the share is exactly that of the tagged traces the fault spares."""
    with TraceBackend(kind) as backend:  # type: ignore[arg-type]
        service = start_reference_service(flag, backend.url, "--fault-span-drop", "0.5")
        tagged = send_tagged(service.url, 40)
        wait_for_spans(backend, expected_spans(tagged, 0.5))
        time.sleep(1.5)  # one more export round: nothing else may arrive
        query = TraceQuery(kind, backend.url)  # type: ignore[arg-type]
        result = completeness(tagged, query.fetch_all(r.trace_id for r in tagged))
        query.close()
        hit = [
            r
            for r in tagged
            if r.expected_child is not None and span_dropped(int(r.trace_id, 16), 0.5)
        ]
        assert hit, "the fault hit no tagged trace: the test proves nothing"
        assert result.complete == 40 - len(hit)
        assert result.share == pytest.approx((40 - len(hit)) / 40)
        assert {m.trace_id for m in result.misses} == {r.trace_id for r in hit}
        assert all("is missing" in m.reason for m in result.misses)
        kpi = trace_kpi(result, SloConfig.default(), (datetime.now(UTC),) * 2, where=kind)  # type: ignore[arg-type]
        assert kpi.verdict is Verdict.FAIL


def test_completeness_names_each_kind_of_miss() -> None:
    """Not found, no server span under the caller's span, and a missing child are told apart."""
    t = "a" * 32
    ok = TaggedRequest(t, "1" * 16, "POST /v1/receipts", 201)
    server = Span(t, "2" * 16, "1" * 16, "POST /v1/receipts", "server")
    child = Span(t, "3" * 16, "2" * 16, "receipt.write", "internal")
    assert completeness([ok], {t: [server, child]}).share == 1.0
    only_server = completeness([ok], {t: [server]})
    assert "'receipt.write' under the server span is missing" in only_server.misses[0].reason
    wrong_parent = Span(t, "2" * 16, "9" * 16, "POST /v1/receipts", "server")
    assert (
        "no SERVER span whose parent"
        in completeness([ok], {t: [wrong_parent, child]}).misses[0].reason
    )
    missing = completeness([ok], {})
    assert (missing.not_found, missing.misses[0].reason) == (1, "trace not found in the backend")
    failed = TaggedRequest(t, "1" * 16, "POST /v1/receipts", 500)
    assert completeness([failed], {t: [server]}).share == 1.0  # no operation ran: no child due


@pytest.mark.parametrize("kind", ["jaeger", "zipkin"])
def test_backend_refuses_what_it_cannot_read_and_query_fails_loudly(kind: str) -> None:
    """A wrong content type is a 415 and counted; an unreachable query API is TargetUnreachable."""
    with TraceBackend(kind) as backend:  # type: ignore[arg-type]
        path = "/v1/traces" if kind == "jaeger" else "/api/v2/spans"
        answer = httpx.post(
            backend.url + path, content=b"{}", headers={"Content-Type": "text/plain"}
        )
        assert answer.status_code == 415
        assert len(backend.rejected) == 1
        query = TraceQuery(kind, backend.url)  # type: ignore[arg-type]
        assert query.fetch("b" * 32) is None
        body = httpx.get(query.path("b" * 32)).json()
        if kind == "jaeger":
            assert body["errors"][0]["code"] == 404
        query.close()
    dead = TraceQuery(kind, f"http://127.0.0.1:{free_port()}")  # type: ignore[arg-type]
    with pytest.raises(TargetUnreachable, match=f"the {kind} query API could not be asked"):
        dead.fetch("c" * 32)
    dead.close()


def test_zipkin_ingest_takes_the_published_v2_json() -> None:
    """A hand-written Zipkin v2 span list (as the Zipkin docs show it) is stored and queried back."""
    spans = [
        {
            "traceId": "5af7183fb1d4cf5f",
            "id": "6b221d5bc9e6496c",
            "name": "get /api",
            "timestamp": 1556604172355737,
            "duration": 1431,
            "kind": "SERVER",
            "localEndpoint": {"serviceName": "backend"},
            "tags": {"http.method": "GET"},
        },
        {
            "traceId": "5af7183fb1d4cf5f",
            "parentId": "6b221d5bc9e6496c",
            "id": "352bff9a74ca9ad2",
            "name": "query",
            "timestamp": 1556604172355800,
            "duration": 100,
            "localEndpoint": {"serviceName": "backend"},
        },
    ]
    with TraceBackend("zipkin") as backend:
        answer = httpx.post(
            backend.ingest_url,
            content=json.dumps(spans),
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 202
        query = TraceQuery("zipkin", backend.url)
        got = query.fetch("5af7183fb1d4cf5f")
        query.close()
        assert got is not None
        assert {(s.name, s.kind, s.parent_id) for s in got} == {
            ("get /api", "server", None),
            ("query", "internal", "6b221d5bc9e6496c"),
        }


def test_serve_traces_command_ingests_and_answers_until_stopped(tmp_path: Path) -> None:
    """`hypersync-slo serve-traces --kind zipkin` takes spans and answers queries; SIGTERM stops it."""
    port = free_port()
    process = ManagedProcess(
        "serve-traces",
        python_module_argv(
            "hypersync_slo", "serve-traces", "--kind", "zipkin", "--port", str(port)
        ),
        tmp_path / "serve-traces.log",
    ).start()
    try:
        process.wait_http(f"http://127.0.0.1:{port}/api/v2/trace/{'a' * 32}", ok=(404,))
        span = {"traceId": "a" * 32, "id": "b" * 16, "name": "x", "kind": "SERVER"}
        answer = httpx.post(f"http://127.0.0.1:{port}/api/v2/spans", json=[span])
        assert answer.status_code == 202
        got = httpx.get(f"http://127.0.0.1:{port}/api/v2/trace/{'a' * 32}").json()
        assert [s["id"] for s in got] == ["b" * 16]
    finally:
        process.stop()
    assert process.proc is not None
    assert process.proc.returncode == 0
    assert "1 spans were received" in process.log_tail()
