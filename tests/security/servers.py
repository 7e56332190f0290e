"""Loopback HTTP servers for the security tests: a request log, redirects, canned answers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: A handler: (path, headers) -> (status, headers, body).
Responder = Callable[[str, dict[str, str]], tuple[int, dict[str, str], bytes]]


@dataclass
class Logged:
    """One request a server received."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Server:
    """A running loopback server: its base URL and every request it received."""

    url: str
    log: list[Logged] = field(default_factory=list)


@contextmanager
def serve(responder: Responder, host: str = "127.0.0.1") -> Iterator[Server]:
    """Serve ``responder`` on ``host``:0 in a thread; stop it on exit."""
    log: list[Logged] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            headers = {key.lower(): value for key, value in self.headers.items()}
            log.append(Logged(self.command, self.path, headers))
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            status, extra, body = responder(self.path, headers)
            self.send_response(status)
            for key, value in extra.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(f"http://{host}:{server.server_address[1]}", log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def redirect_to(base: str) -> Responder:
    """A responder redirecting every path to the same path under ``base``."""

    def respond(path: str, _headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        return 302, {"Location": base + path}, b""

    return respond


METRICS = b"# HELP up ok\n# TYPE up gauge\nup 1\n"


def metrics(_path: str, _headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """A tiny valid text exposition for any path."""
    return 200, {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}, METRICS
