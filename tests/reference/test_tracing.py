"""Tracing, request IDs and logs of the reference service (docs/contracts.md §3)."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.reference.conftest import Faulty

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACERESPONSE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
#: invalid vectors of the W3C trace-context test suite (test/test.py), shortened
INVALID = [
    f"00-{TRACE_ID}-{PARENT_ID}-01-extra",
    f"ff-{TRACE_ID}-{PARENT_ID}-01",
    f"00-{'0' * 32}-{PARENT_ID}-01",
    f"00-{TRACE_ID}-{'0' * 16}-01",
    f"00-{TRACE_ID.upper()}-{PARENT_ID}-01",
    f"00-{TRACE_ID[:-1]}-{PARENT_ID}-01",
    f"00-{TRACE_ID}-{PARENT_ID}-0g",
    "garbage",
]


def parts(value: str) -> tuple[str, str, str]:
    match = TRACERESPONSE.match(value)
    assert match, f"traceresponse {value!r} is not 00-<32 hex>-<16 hex>-<2 hex>"
    return match.group(1), match.group(2), match.group(3)


@pytest.mark.parametrize("flags", ["01", "00"])
def test_valid_traceparent_is_joined(faulty: Faulty, flags: str) -> None:
    """traceresponse carries the same trace-id, a new server span-id and the caller's flags."""
    response = faulty.client.post(
        "/v1/policies/access/evaluate",
        json={"subject": "u", "action": "read", "resource": "r"},
        headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-{flags}"},
    )
    assert response.status_code == 200
    trace_id, span_id, got_flags = parts(response.headers["traceresponse"])
    assert trace_id == TRACE_ID
    assert span_id not in (PARENT_ID, "0" * 16)
    assert got_flags == flags


def test_future_version_is_joined(faulty: Faulty) -> None:
    """A higher traceparent version with extra fields is continued (W3C forward compatibility)."""
    response = faulty.client.get(
        "/v1/agents", headers={"traceparent": f"cc-{TRACE_ID}-{PARENT_ID}-01-future"}
    )
    assert parts(response.headers["traceresponse"])[0] == TRACE_ID


@pytest.mark.parametrize("header", INVALID)
def test_invalid_traceparent_starts_a_new_trace(faulty: Faulty, header: str) -> None:
    """An invalid traceparent never fails the request; the answer is a new, valid trace."""
    response = faulty.client.get(
        "/v1/agents", headers={"traceparent": header, "tracestate": "vendor=value"}
    )
    assert response.status_code == 200
    trace_id, _, _ = parts(response.headers["traceresponse"])
    assert trace_id not in (TRACE_ID, TRACE_ID.lower(), "0" * 32)
    assert header not in response.headers["traceresponse"]


def test_every_response_has_a_traceresponse(faulty: Faulty) -> None:
    """Also errors, health and metrics answers carry a traceresponse; each request its own trace."""
    seen = set()
    for method, path in [
        ("GET", "/health/live"),
        ("GET", "/metrics"),
        ("GET", "/nope"),
        ("PUT", "/metrics"),
    ]:
        response = faulty.client.request(method, path)
        seen.add(parts(response.headers["traceresponse"])[0])
    assert len(seen) == 4


def test_request_id_echoed(faulty: Faulty) -> None:
    """A safe X-Request-ID comes back unchanged."""
    response = faulty.client.get("/health/live", headers={"X-Request-ID": "checkout-42.retry_1"})
    assert response.headers["x-request-id"] == "checkout-42.retry_1"


def test_request_id_generated_when_absent(faulty: Faulty) -> None:
    """Without X-Request-ID the service makes one (32 hex), different for each request."""
    first = faulty.client.get("/health/live").headers["x-request-id"]
    second = faulty.client.get("/health/live").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


@pytest.mark.parametrize("unsafe", [b"x" * 129, b"has space", b"tab\there", b"caf\xe9-8bit"])
def test_unsafe_request_id_replaced(faulty: Faulty, unsafe: bytes) -> None:
    """Too long, spaces, control or 8-bit characters: replaced by a generated ID, never echoed."""
    response = faulty.client.get("/health/live", headers={"X-Request-ID": unsafe})
    assert response.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_log_line_carries_ids_and_http_fields(faulty: Faulty) -> None:
    """The request's JSON log line has the trace of traceresponse, the request ID and HTTP fields."""
    request_id = uuid.uuid4().hex
    response = faulty.client.post(
        "/v1/operators/transform/execute",
        json={"input": {"Name": " x "}},
        headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01", "X-Request-ID": request_id},
    )
    trace_id, span_id, _ = parts(response.headers["traceresponse"])
    (line,) = faulty.log_lines_for(request_id)
    assert line["trace_id"] == trace_id == TRACE_ID
    assert line["span_id"] == span_id
    assert line["level"] == "info"
    assert line["message"] == "request"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["timestamp"])
    assert line["http.request.method"] == "POST"
    assert line["http.route"] == "/v1/operators/{operator}/execute"
    assert line["http.response.status_code"] == 200
    assert line["duration_ms"] >= 0


def test_every_log_line_is_json_with_the_standard_fields(faulty: Faulty) -> None:
    """All lines (also start-up and uvicorn's own) are JSON objects with timestamp, level, message."""
    lines = faulty.log_lines()
    assert lines
    raw = faulty.service.log_path.read_text("utf-8").splitlines()
    assert all(line.startswith("{") for line in raw if line.strip())
    for line in lines:
        assert {"timestamp", "level", "message", "service.name"} <= set(line)


def test_server_errors_log_at_error_level(faulty: Faulty) -> None:
    """An injected 500 is logged at level error with its IDs."""
    faulty.inject(error_ratio=1.0)
    request_id = uuid.uuid4().hex
    assert faulty.client.get("/v1/agents", headers={"X-Request-ID": request_id}).status_code == 500
    (line,) = faulty.log_lines_for(request_id)
    assert line["level"] == "error"
    assert line["http.response.status_code"] == 500
    assert re.fullmatch(r"[0-9a-f]{32}", line["trace_id"])


def test_unsafe_request_id_never_reaches_the_logs(faulty: Faulty) -> None:
    """The log line of a request with an unsafe ID carries the generated replacement instead."""
    unsafe = "inject ed" + uuid.uuid4().hex
    response = faulty.client.get("/v1/agents", headers={"X-Request-ID": unsafe})
    generated = response.headers["x-request-id"]
    (line,) = faulty.log_lines_for(generated)
    assert line["request_id"] == generated
    assert unsafe not in faulty.service.log_path.read_text("utf-8")


def test_head_on_api_get_routes(faulty: Faulty) -> None:
    """HEAD works on every GET route of the API too, without a body."""
    response = faulty.client.head("/v1/agents")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) > 0
