"""Tests of fetch_exposition against a real loopback HTTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from hypersync_slo.errors import MalformedExposition, TargetUnreachable
from hypersync_slo.exposition import ACCEPT_TEXT, PROMETHEUS3_ACCEPT, fetch_exposition
from hypersync_slo.processes import free_port
from tests.exposition.conftest import CORPUS, LoopbackServer


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """An event that frees stalled handlers when the test ends."""
    event = threading.Event()
    yield event
    event.set()


def test_fetch_sends_accept_and_returns_body_content_type_status(loopback: LoopbackServer) -> None:
    """The Accept header is sent; body, Content-Type, status and elapsed come back."""
    capture = CORPUS / "node-exporter-1.5.text.txt"
    url = loopback.capture("/metrics", capture)
    fetched = fetch_exposition(url, accept=PROMETHEUS3_ACCEPT, timeout=5)
    assert loopback.accepts == [PROMETHEUS3_ACCEPT]
    assert fetched.text == capture.read_text()
    assert fetched.content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert fetched.status_code == 200
    assert 0 < fetched.elapsed < 5


def test_a_non_200_status_is_returned_not_judged(loopback: LoopbackServer) -> None:
    """A 503 comes back as status 503 with its body; the caller decides."""
    url = loopback.answer("/metrics", b"down\n", {"Content-Type": "text/plain"}, status=503)
    fetched = fetch_exposition(url, accept=ACCEPT_TEXT, timeout=5)
    assert (fetched.status_code, fetched.text) == (503, "down\n")


def test_connection_refused_is_target_unreachable() -> None:
    """Nothing listening: TargetUnreachable naming the URL."""
    url = f"http://127.0.0.1:{free_port()}/metrics"
    with pytest.raises(TargetUnreachable) as info:
        fetch_exposition(url, accept=ACCEPT_TEXT, timeout=2)
    assert str(info.value).startswith(f"GET {url} failed")
    assert "ConnectError" in str(info.value)


def test_a_body_over_the_limit_stops_quickly_with_a_clear_error(loopback: LoopbackServer) -> None:
    """A 12 MB body stops at the 10 MB limit with MalformedExposition, within seconds."""
    url = loopback.answer(
        "/metrics", b"x_bytes 1\n" * 1_200_000, {"Content-Type": "text/plain; version=0.0.4"}
    )
    started = time.monotonic()
    with pytest.raises(MalformedExposition) as info:
        fetch_exposition(url, accept=ACCEPT_TEXT, timeout=10)
    assert time.monotonic() - started < 5
    assert "is larger than the limit" in str(info.value)
    assert "limit: 10000000 bytes" in str(info.value)


def test_a_body_that_is_not_utf8_names_the_byte(loopback: LoopbackServer) -> None:
    """Binary garbage that is not UTF-8 is MalformedExposition naming the offset and line."""
    url = loopback.answer(
        "/metrics", b"ok 1\n\xff\xfe\x00garbage", {"Content-Type": "text/plain; version=0.0.4"}
    )
    with pytest.raises(MalformedExposition) as info:
        fetch_exposition(url, accept=ACCEPT_TEXT, timeout=5)
    assert "is not UTF-8 text" in str(info.value)
    assert "at offset 5 (line 2)" in str(info.value)


def test_a_stalled_response_times_out_as_target_unreachable(
    loopback: LoopbackServer, release: threading.Event
) -> None:
    """Headers then silence: TargetUnreachable after the timeout, not a hang."""

    def stall(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain; version=0.0.4")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        handler.wfile.write(b"a 1\n")
        handler.wfile.flush()
        release.wait(30)

    loopback.routes["/metrics"] = stall
    started = time.monotonic()
    with pytest.raises(TargetUnreachable, match="timed out"):
        fetch_exposition(loopback.url("/metrics"), accept=ACCEPT_TEXT, timeout=0.5)
    assert time.monotonic() - started < 5


def test_a_redirect_loop_is_target_unreachable(loopback: LoopbackServer) -> None:
    """A redirect loop is TargetUnreachable saying so."""
    loopback.answer("/metrics", b"", {"Location": "/metrics"}, status=302)
    with pytest.raises(TargetUnreachable, match="redirects in a loop"):
        fetch_exposition(loopback.url("/metrics"), accept=ACCEPT_TEXT, timeout=5)
