"""Fixtures of the security tests: hostile loopback servers and a clean secret registry."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from hypersync_slo import redaction
from tests.security.servers import Server, metrics, redirect_to, serve

#: Secrets that must never appear in any output.
CANARY_PASSWORD = "CanaryPw7731"
CANARY_TOKEN = "CanaryTok5519"


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    """Secrets registered by an in-process command never leak into the next test."""
    redaction.forget_secrets()
    yield
    redaction.forget_secrets()


def hostile_prometheus_answer(
    path: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """A Prometheus that refuses every query with an error echoing the credentials it got.

    The error also carries a code fence, a pipe and HTML, to prove the writers escape it.
    """
    echoed = f"{headers.get('authorization', '')} {headers.get('x-api-key', '')}"
    error = (
        "bad_data ```\n# injected heading\n| a | b |\n<script>alert(1)</script> "
        f"credentials seen: {echoed}"
    )
    body = json.dumps({"status": "error", "errorType": "bad_data", "error": error}).encode()
    return 400, {"Content-Type": "application/json"}, body


def empty_prometheus_answer(
    path: str, _headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """A Prometheus that has no data at all: every query answers an empty vector or matrix."""
    kind = "matrix" if "query_range" in path else "vector"
    body = json.dumps({"status": "success", "data": {"resultType": kind, "result": []}})
    return 200, {"Content-Type": "application/json"}, body.encode()


@pytest.fixture
def hostile_prometheus() -> Iterator[Server]:
    """A loopback Prometheus answering every query with a hostile error."""
    with serve(hostile_prometheus_answer) as server:
        yield server


@pytest.fixture
def empty_prometheus() -> Iterator[Server]:
    """A loopback Prometheus holding no data."""
    with serve(empty_prometheus_answer) as server:
        yield server


@pytest.fixture
def plain_target() -> Iterator[Server]:
    """A loopback 'target' answering every path with a small exposition (no HyperSync)."""
    with serve(metrics) as server:
        yield server


@pytest.fixture
def other_host() -> Iterator[Server]:
    """A server on 127.0.0.2: another origin than 127.0.0.1, logging what it receives."""
    with serve(metrics, host="127.0.0.2") as server:
        yield server


@pytest.fixture
def redirecting_target(other_host: Server) -> Iterator[Server]:
    """A target on 127.0.0.1 whose every path redirects to the same path on 127.0.0.2."""
    with serve(redirect_to(other_host.url)) as server:
        yield server


@pytest.fixture
def hanging_server() -> Iterator[str]:
    """A TCP listener that accepts connections and never answers; yields its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()
