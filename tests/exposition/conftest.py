"""Fixtures of the exposition tests: the captured corpus, real prometheus_client output, a loopback server."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary
from prometheus_client.exposition import choose_encoder

DATA = Path(__file__).parent.parent / "data" / "exposition"
CORPUS = DATA / "corpus"
BROKEN = DATA / "broken"


def corpus_files() -> list[Path]:
    """Every captured exposition body of the corpus."""
    return sorted(CORPUS.glob("*.txt"))


def captured_content_type(body: Path) -> str:
    """The Content-Type the real program answered with, from the capture's .headers file."""
    headers = body.with_suffix(".headers").read_text()
    for line in headers.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-type":
            return value.strip()
    raise AssertionError(f"no Content-Type in {body.with_suffix('.headers')}")


def python_client_registry() -> CollectorRegistry:
    """A registry with one metric of every kind, observed a little, as a real service would."""
    registry = CollectorRegistry()
    executions = Counter(
        "hypersync_operator_executions", "Executions.", ["operator", "outcome"], registry=registry
    )
    executions.labels("transform", "success").inc(3)
    executions.labels("aggregate", "success").inc(0)
    latency = Histogram(
        "http_server_request_duration",
        "Request latency.",
        ["http_route"],
        unit="seconds",
        buckets=(0.1, 0.5, 1, 5),
        registry=registry,
    )
    for value in (0.05, 0.2, 0.7, 7.0):
        latency.labels("/v1/receipts").observe(value)
    Gauge("hypersync_agents_active", "Agents.", registry=registry).set(4)
    Summary("job_duration_seconds", "Jobs.", registry=registry).observe(1.5)
    Info("hypersync_build", "Build.", registry=registry).info({"version": "1.0", "revision": "abc"})
    Enum("agent_state", "State.", states=["up", "down"], registry=registry).state("up")
    return registry


@pytest.fixture(scope="session")
def python_client_openmetrics() -> tuple[str, str]:
    """(body, Content-Type) of prometheus_client 0.26 answering an OpenMetrics Accept header."""
    encoder, content_type = choose_encoder("application/openmetrics-text; version=1.0.0")
    return encoder(python_client_registry()).decode(), content_type


@pytest.fixture(scope="session")
def python_client_text() -> tuple[str, str]:
    """(body, Content-Type) of prometheus_client 0.26 answering ``Accept: text/plain;version=0.0.4``."""
    encoder, content_type = choose_encoder("text/plain;version=0.0.4")
    return encoder(python_client_registry()).decode(), content_type


Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class LoopbackServer:
    """A tiny real HTTP server on 127.0.0.1 serving fixed answers per path; records Accept headers."""

    routes: dict[str, Route] = field(default_factory=dict)
    accepts: list[str | None] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        """The loopback URL of ``path``."""
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, body: bytes, headers: dict[str, str], status: int = 200) -> str:
        """Serve ``body`` with ``headers`` at ``path``; returns its URL."""

        def route(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        self.routes[path] = route
        return self.url(path)

    def capture(self, path: str, capture: Path) -> str:
        """Serve a corpus capture with the Content-Type its real program sent."""
        return self.answer(
            path, capture.read_bytes(), {"Content-Type": captured_content_type(capture)}
        )


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A LoopbackServer running in a thread for the test, stopped afterwards."""
    server_state = LoopbackServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.accepts.append(self.headers.get("Accept"))
            route = server_state.routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                route(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    server_state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server_state
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)
