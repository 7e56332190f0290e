"""Fixtures of the gate's own proof: a reference service whose breaks are switched at run time,
misbehaving loopback servers, and a helper that runs the shipped checks with pytester."""

from __future__ import annotations

import contextlib
import importlib
import json
import pkgutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

import hypersync_slo.gate.suite
from hypersync_slo.stack import ReferenceService

SUITE = "hypersync_slo.gate.suite"
NOW = "2026-11-27T01:02:03Z"

# Import the shipped checks once, before any pytester snapshot of sys.modules: in-process runs
# then reuse them instead of importing them again (a second per run). httpcore too: httpx
# imports it lazily on the first request and keeps a map of its exception classes; a copy
# imported inside a pytester run and dropped afterwards would leave that map stale.
httpx.Client().close()
with contextlib.suppress(httpx.HTTPError):
    httpx.get("http://127.0.0.1:9/", timeout=0.2)
for _module in pkgutil.iter_modules(hypersync_slo.gate.suite.__path__):
    importlib.import_module(f"{SUITE}.{_module.name}")


@pytest.fixture(scope="session")
def gate_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceService]:
    """One reference service for the gate's proofs, its breaks and faults set by /admin/faults."""
    service = ReferenceService(tmp_path_factory.mktemp("gate-service"), ["--enable-fault-admin"])
    service.start()
    yield service
    service.stop()


Faults = Callable[..., None]


@pytest.fixture
def faults(gate_service: ReferenceService) -> Iterator[Faults]:
    """Set the service's fault state (``faults(breaks=[...], live="fail", ...)``); reset after."""

    def put(**state: Any) -> None:
        answer = httpx.put(f"{gate_service.url}/admin/faults", json=state, timeout=5)
        assert answer.status_code == 200, answer.text

    yield put
    put()


@dataclass(frozen=True)
class GateResult:
    """A finished pytester run of the gate: outcomes, the whole output and the wall time."""

    result: pytest.RunResult
    seconds: float

    @property
    def output(self) -> str:
        """stdout and stderr joined."""
        return self.result.stdout.str() + "\n" + self.result.stderr.str()

    def outcomes(self) -> dict[str, int]:
        """pytest's closing counts (passed, failed, errors, skipped, ...)."""
        return self.result.parseoutcomes()


RunGate = Callable[..., GateResult]


@pytest.fixture
def run_gate(pytester: pytest.Pytester) -> RunGate:
    """Run the shipped checks in-process against ``url`` with extra pytest/gate arguments."""

    def run(url: str, *args: str) -> GateResult:
        start = time.monotonic()
        result = pytester.runpytest_inprocess(
            "--pyargs",
            SUITE,
            "-p",
            "no:cacheprovider",
            "--slo-target-url",
            url,
            "-rfEs",
            "-W",
            "ignore::pytest.PytestAssertRewriteWarning",
            *args,
        )
        return GateResult(result, time.monotonic() - start)

    return run


class _Handler(BaseHTTPRequestHandler):
    """Misbehaviours chosen by path (see ``misbehaving_server``)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _send(self, status: int, body: bytes, content_type: str | None, **headers: str) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        """HEAD like GET."""
        self.do_GET()

    def _json(self, status: int, body: object, **headers: str) -> None:
        self._send(status, json.dumps(body).encode(), "application/health+json", **headers)

    def do_GET(self) -> None:
        """Serve the misbehaviour named by the first path segment."""
        mode = self.path.lstrip("/").partition("/")[0]
        fixed = _FIXED.get(mode)
        if fixed is not None:
            self._send(*fixed)
            return
        serve = self._MODES.get(mode)
        if serve is None:
            self._send(404, b"{}", "application/json")
            return
        serve(self)

    @property
    def _server(self) -> _QuietServer:
        server = self.server
        assert isinstance(server, _QuietServer)
        return server

    def _mismatch(self) -> None:
        """The body says fail, the status says 200."""
        self._json(200, {"status": "fail", "checks": {"db": [{"status": "fail", "time": NOW}]}})

    def _notime(self) -> None:
        """Dependency checks without their time."""
        self._json(200, {"status": "pass", "checks": {"db:responseTime": [{"status": "pass"}]}})

    def _flaky(self) -> None:
        """Every other answer is 503."""
        server = self._server
        with server.lock:
            server.count += 1
            odd = server.count % 2
        self._json(200 if odd else 503, {"status": "pass" if odd else "fail"})

    def _fixedid(self) -> None:
        """The same X-Request-ID for everyone."""
        self._json(200, {"agents": []}, X_Request_ID="always-the-same")

    def _badlog(self) -> None:
        """Logs the request ID, nothing else."""
        server = self._server
        request_id = self.headers.get("X-Request-ID", "")
        with server.lock, server.log_path.open("a") as log:
            log.write(json.dumps({"request_id": request_id, "message": "handled"}) + "\n")
        self._json(200, {"agents": []}, X_Request_ID=request_id)

    def _echotrace(self) -> None:
        """Continues the sent trace-id, even an all-zero one."""
        trace_id = self.headers.get("traceparent", "").split("-")[1:2] or ["f" * 32]
        response = f"00-{trace_id[0]}-{'1' * 16}-01"
        self._json(200, {"agents": []}, traceresponse=response)

    def _huge(self) -> None:
        """A body one byte over 10 MiB."""
        self._send(200, b"x" * (10 * 1024 * 1024 + 1), "text/plain; version=0.0.4")

    def _garbage(self) -> None:
        """Every byte value, as 'text'."""
        self._send(200, bytes(range(256)) * 64, "text/plain; version=0.0.4")

    def _loop(self) -> None:
        """A redirect to itself."""
        self._send(302, b"", None, Location=self.path)

    def _slow(self) -> None:
        """No answer for 30 s."""
        time.sleep(30)

    _MODES: ClassVar[dict[str, Callable[[_Handler], None]]] = {
        "mismatch": _mismatch,
        "notime": _notime,
        "flaky": _flaky,
        "fixedid": _fixedid,
        "badlog": _badlog,
        "echotrace": _echotrace,
        "huge": _huge,
        "garbage": _garbage,
        "loop": _loop,
        "slow": _slow,
    }


#: Misbehaviours that are one fixed answer: mode -> (status, body, Content-Type).
_FIXED: dict[str, tuple[int, bytes, str]] = {
    # a histogram without its +Inf bucket
    "badhist": (
        200,
        b'# HELP h A histogram.\n# TYPE h histogram\nh_bucket{le="0.1"} 1\nh_sum 0.05\nh_count 1\n',
        "text/plain; version=0.0.4; charset=utf-8",
    ),
    # a family without HELP: promtool complains
    "nohelp": (
        200,
        b"# TYPE hypersync_queue_depth gauge\nhypersync_queue_depth 0\n",
        "text/plain; version=0.0.4; charset=utf-8",
    ),
    # OpenMetrics whatever the Accept header asks for
    "omalways": (
        200,
        b"# HELP q A gauge.\n# TYPE q gauge\nq 0\n# EOF\n",
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
    ),
    "html": (200, b"<html><body>OK</body></html>", "text/html"),
}


class _QuietServer(ThreadingHTTPServer):
    """A threaded HTTP server that does not print peers' resets (the TLS test causes one)."""

    daemon_threads = True
    lock = threading.Lock()
    count = 0
    log_path = Path("/dev/null")

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet."""


@dataclass(frozen=True)
class Misbehaving:
    """Base URLs of the misbehaving servers."""

    http: str
    not_http: str
    silent: str
    log_path: Path

    def url(self, mode: str) -> str:
        """Base URL whose every path misbehaves as ``mode`` (see ``_FIXED`` and ``_Handler._MODES``)."""
        return f"{self.http}/{mode}"


def _serve_garbage(sock: socket.socket, stop: threading.Event) -> None:
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = sock.accept()
        except OSError:
            continue
        with conn, contextlib.suppress(OSError):
            conn.recv(4096)
            conn.sendall(b"\x00\xff\xfe binary garbage, not HTTP \x01\x02\r\n\r\n")


def _serve_silence(sock: socket.socket, stop: threading.Event) -> None:
    sock.settimeout(0.2)
    held: list[socket.socket] = []
    while not stop.is_set():
        try:
            conn, _ = sock.accept()
            held.append(conn)  # accept, read nothing, answer nothing
        except OSError:
            continue
    for conn in held:
        conn.close()


@pytest.fixture(scope="session")
def misbehaving(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Misbehaving]:
    """Loopback servers that misbehave: bad HTTP answers, non-HTTP bytes, silence."""
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    server.log_path = tmp_path_factory.mktemp("misbehaving") / "log.jsonl"
    server.log_path.touch()
    threads = [threading.Thread(target=server.serve_forever, daemon=True)]
    stop = threading.Event()
    raw = []
    for target in (_serve_garbage, _serve_silence):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        raw.append(sock)
        threads.append(threading.Thread(target=target, args=(sock, stop), daemon=True))
    for thread in threads:
        thread.start()
    yield Misbehaving(
        http=f"http://127.0.0.1:{server.server_address[1]}",
        not_http=f"http://127.0.0.1:{raw[0].getsockname()[1]}",
        silent=f"http://127.0.0.1:{raw[1].getsockname()[1]}",
        log_path=server.log_path,
    )
    stop.set()
    server.shutdown()
    server.server_close()
    for sock in raw:
        sock.close()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def log_path(service: ReferenceService) -> Path:
    """Where the service's JSON log lines go (its stderr, captured to a file)."""
    return service.log_path
