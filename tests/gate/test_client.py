"""TargetClient: every way a target can misbehave becomes one clear error, within its time limit."""

from __future__ import annotations

import time

import pytest

from hypersync_slo.errors import ContractViolation, TargetUnreachable
from hypersync_slo.exposition import MAX_METRICS_BYTES
from hypersync_slo.gate.client import TargetClient, TimedOut
from tests.gate.conftest import Misbehaving


def test_closed_port_is_unreachable_naming_url(closed_port_url: str) -> None:
    """Nothing listening: TargetUnreachable naming the URL, what was expected and observed."""
    with (
        TargetClient(closed_port_url, timeout=1) as client,
        pytest.raises(TargetUnreachable) as caught,
    ):
        client.get("/health/live", expected="HTTP 200")
    message = str(caught.value)
    assert f"cannot connect to {closed_port_url}/health/live." in message
    assert "\nexpected: HTTP 200\n" in message
    assert "\nobserved: connection failed:" in message


def test_silent_server_times_out_within_budget(misbehaving: Misbehaving) -> None:
    """A server that accepts and never answers: 'timed out' after about the timeout, no hang."""
    start = time.monotonic()
    with (
        TargetClient(misbehaving.silent, timeout=0.3) as client,
        pytest.raises(TargetUnreachable) as caught,
    ):
        client.get("/health/ready")
    assert time.monotonic() - start < 2.0
    assert "timed out" in str(caught.value)
    assert "within 0.3 s (--slo-timeout)" in str(caught.value)


def test_slow_handler_gives_timed_out_to_try_request(misbehaving: Misbehaving) -> None:
    """try_request returns TimedOut (a verdict for the caller), not an exception."""
    with TargetClient(misbehaving.url("slow"), timeout=0.3) as client:
        result = client.try_request("GET", "/health/live")
    assert isinstance(result, TimedOut)
    assert result.budget == 0.3
    assert result.elapsed < 2.0


def test_binary_garbage_instead_of_http(misbehaving: Misbehaving) -> None:
    """A peer that sends bytes that are not HTTP: TargetUnreachable saying so."""
    with (
        TargetClient(misbehaving.not_http, timeout=1) as client,
        pytest.raises(TargetUnreachable, match="did not answer valid HTTP"),
    ):
        client.get("/metrics")


def test_redirect_loop_is_named(misbehaving: Misbehaving) -> None:
    """A redirect loop stops after a few hops with a clear error."""
    with (
        TargetClient(misbehaving.url("loop"), timeout=1) as client,
        pytest.raises(TargetUnreachable) as caught,
    ):
        client.get("/metrics", follow_redirects=True)
    assert "redirects in a loop" in str(caught.value)
    assert "after at most 5 redirects" in str(caught.value)


def test_oversized_body_is_refused(misbehaving: Misbehaving) -> None:
    """A 10 MiB /metrics is cut off at the limit with a violation naming both sizes."""
    with (
        TargetClient(misbehaving.url("huge"), timeout=5) as client,
        pytest.raises(ContractViolation) as caught,
    ):
        client.get("/metrics", max_bytes=MAX_METRICS_BYTES)
    assert "sent a body larger than the gate reads" in str(caught.value)
    assert "expected: at most 10,000,000 bytes" in str(caught.value)
    assert "Content-Length: 10485761" in str(caught.value)


def test_tls_to_plain_http_is_a_tls_error(misbehaving: Misbehaving) -> None:
    """https:// to a plain-HTTP port: TargetUnreachable naming the TLS failure."""
    url = misbehaving.http.replace("http://", "https://")
    with (
        TargetClient(url, timeout=1) as client,
        pytest.raises(TargetUnreachable, match="cannot establish TLS with"),
    ):
        client.get("/health/live")


def test_answer_describes_itself(misbehaving: Misbehaving) -> None:
    """Answer.describe names status, type, size and time; media_type drops parameters."""
    with TargetClient(misbehaving.url("html"), timeout=1) as client:
        answer = client.get("/health/live")
    assert answer.status_code == 200
    assert answer.media_type == "text/html"
    assert answer.describe().startswith("HTTP 200, text/html, 28 bytes in ")
    with pytest.raises(ValueError, match="Expecting value"):
        answer.json()


def test_head_without_body_and_custom_headers(misbehaving: Misbehaving) -> None:
    """HEAD reads no body; bytes header values are sent as they are."""
    with TargetClient(misbehaving.url("html"), timeout=1, headers={"X-Test": "1"}) as client:
        answer = client.request("HEAD", "/x", headers=[("X-Request-ID", b"caf\xc3\xa9")])
    assert answer.content == b""
    assert answer.status_code == 200
