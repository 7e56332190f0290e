"""The lean sender: HTTP/1.1 over keep-alive sockets, timed by kernel receive timestamps.

Plain threads and sockets here (no gevent): the sender only needs an epoll factory.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from hypersync_slo.loadgen.sender import ProtocolError, Sender, parse_response
from hypersync_slo.processes import free_port
from hypersync_slo.stack import ReferenceService
from hypersync_slo.traffic import TrafficModel


@dataclass
class Finished:
    """What ``on_done`` received, per request."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def __call__(  # noqa: PLR0917 - the sender's on_done signature
        self,
        request: Any,
        intended: float,
        sent: float,
        ended: float,
        status: int,
        body: bytes,
        cause: str | None,
    ) -> None:
        self.rows.append(
            {
                "request": request,
                "intended": intended,
                "sent": sent,
                "ended": ended,
                "status": status,
                "body": body,
                "cause": cause,
            }
        )


@dataclass(frozen=True)
class Get:
    """A bodiless request."""

    path: str = "/"
    method: str = "GET"
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def make_sender(port: int, done: Finished, connections: int = 2, timeout: float = 5.0) -> Sender:
    """A sender to 127.0.0.1:port with the real epoll."""
    return Sender(
        "127.0.0.1",
        port,
        connections=connections,
        timeout=timeout,
        on_done=done,
        epoll=select.epoll,
    )


def drain(sender: Sender, *, within: float = 10.0, lazy: float = 0.0) -> None:
    """Poll until nothing is in the client (``lazy``: sleep that long between polls)."""
    deadline = time.monotonic() + within
    while sender.pending and time.monotonic() < deadline:
        if lazy:
            time.sleep(lazy)
        else:
            select.select([sender.fileno()], [], [], 0.05)
        sender.poll()
    assert not sender.pending, f"{sender.pending} requests still in the client after {within} s"


Handler = Callable[[socket.socket], None]


@pytest.fixture
def raw_server() -> Iterator[Callable[[Handler], int]]:
    """A loopback TCP server whose connections are handed to ``handler`` in threads."""
    listeners: list[socket.socket] = []

    def start(handler: Handler) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def accept() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                threading.Thread(target=handler, args=(conn,), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        return int(listener.getsockname()[1])

    yield start
    for listener in listeners:
        listener.close()


def read_request(conn: socket.socket) -> bytes:
    """One request head (and nothing of a body: these tests send none)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return data
        data += chunk
    return data


def test_parse_content_length_chunked_interim_and_until_close() -> None:
    """Complete responses parse, incomplete ones ask for more, 1xx are skipped."""
    whole = bytearray(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    assert parse_response(bytearray(whole[:-2]), eof=False) is None
    response = parse_response(whole, eof=False)
    assert response is not None
    assert (response.status, response.body, response.keep_alive) == (200, b"hello", True)
    chunked = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    assert parse_response(bytearray(chunked[:-3]), eof=False) is None
    response = parse_response(bytearray(chunked), eof=False)
    assert response is not None
    assert (response.status, response.body) == (201, b"abcde")
    interim = bytearray(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
    response = parse_response(interim, eof=False)
    assert response is not None
    assert (response.status, response.body) == (204, b"")
    close = bytearray(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
    assert parse_response(close, eof=False) is None
    response = parse_response(close, eof=True)
    assert response is not None
    assert (response.body, response.keep_alive) == (b"until the end", False)


def test_parse_refuses_what_is_not_http() -> None:
    """Garbage, a cut body and bytes after the response raise ProtocolError with a reason."""
    with pytest.raises(ProtocolError, match="status line"):
        parse_response(bytearray(b"SSH-2.0-OpenSSH\r\n\r\n"), eof=False)
    with pytest.raises(ProtocolError, match="before the body ended"):
        parse_response(bytearray(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort"), eof=True)
    with pytest.raises(ProtocolError, match="after the response"):
        parse_response(bytearray(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxy"), eof=False)


def test_traffic_mix_against_the_reference_service(reference_service: ReferenceService) -> None:
    """The HyperSync mix sent through the sender gets the statuses the traffic model expects."""
    done = Finished()
    port = int(reference_service.url.rsplit(":", 1)[1])
    sender = make_sender(port, done, connections=4)
    assert sender.warm_up() == 4
    model = TrafficModel(seed="sender-test")
    for _ in range(200):
        sender.submit(model.next(), time.perf_counter())
        sender.poll()
    drain(sender)
    sender.close()
    assert len(done.rows) == 200
    wrong = [
        (r["request"].name, r["status"], r["cause"], r["body"][:80])
        for r in done.rows
        if r["status"] not in r["request"].expect
    ]
    assert not wrong, wrong
    assert all(r["intended"] <= r["sent"] <= r["ended"] for r in done.rows)


def test_latency_is_the_kernel_arrival_not_the_late_read(
    raw_server: Callable[[Handler], int],
) -> None:
    """A response sent after 50 ms but read 400 ms later is timed ~50 ms (receive timestamp)."""

    def answer_after_50ms(conn: socket.socket) -> None:
        with conn:
            read_request(conn)
            time.sleep(0.05)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            time.sleep(1)

    done = Finished()
    sender = make_sender(raw_server(answer_after_50ms), done)
    sender.warm_up()
    sender.submit(Get(), time.perf_counter())
    drain(sender, lazy=0.4)
    sender.close()
    assert sender.timestamps, "this Linux gave no SO_TIMESTAMPNS on TCP"
    (row,) = done.rows
    took = row["ended"] - row["sent"]
    assert (row["status"], row["cause"]) == (200, None)
    assert 0.045 <= took < 0.3, f"observed {took * 1000:.1f} ms, expected ~50 ms (read at ~400 ms)"


def test_refused_connection_is_counted_with_its_cause() -> None:
    """Nothing listening: every request fails as connection_refused and the client empties."""
    done = Finished()
    sender = make_sender(free_port(), done)
    assert sender.warm_up() == 0
    for _ in range(3):
        sender.submit(Get(), time.perf_counter())
    drain(sender)
    sender.close()
    assert [r["cause"] for r in done.rows] == ["connection_refused"] * 3


def test_silent_server_times_out(raw_server: Callable[[Handler], int]) -> None:
    """A server that never answers: the request fails as timeout after the timeout."""

    def silent(conn: socket.socket) -> None:
        with conn:
            read_request(conn)
            time.sleep(2)

    done = Finished()
    sender = make_sender(raw_server(silent), done, timeout=0.2)
    sender.submit(Get(), time.perf_counter())
    drain(sender)
    sender.close()
    (row,) = done.rows
    assert row["cause"] == "timeout"
    assert row["ended"] - row["sent"] >= 0.2


def test_close_mid_response_is_a_reset(raw_server: Callable[[Handler], int]) -> None:
    """The server closes after half a body: connection_reset, and the next request reconnects."""
    calls: list[int] = []

    def half_then_whole(conn: socket.socket) -> None:
        with conn:
            read_request(conn)
            calls.append(1)
            if len(calls) == 1:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfull")
            time.sleep(0.5)

    done = Finished()
    sender = make_sender(raw_server(half_then_whole), done, connections=1)
    sender.submit(Get(), time.perf_counter())
    drain(sender)
    sender.submit(Get(), time.perf_counter())
    drain(sender)
    sender.close()
    assert [(r["cause"], r["body"]) for r in done.rows] == [
        ("connection_reset", b""),
        (None, b"full"),
    ]


def test_requests_wait_for_a_busy_connection(raw_server: Callable[[Handler], int]) -> None:
    """One connection, three requests at once: corrected time includes the wait, uncorrected not."""

    def slow_keep_alive(conn: socket.socket) -> None:
        with conn:
            while read_request(conn):
                time.sleep(0.1)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    done = Finished()
    sender = make_sender(raw_server(slow_keep_alive), done, connections=1)
    sender.warm_up()
    now = time.perf_counter()
    for _ in range(3):
        sender.submit(Get(), now)
    assert sender.pending == 3
    drain(sender)
    sender.close()
    assert [r["status"] for r in done.rows] == [200, 200, 200]
    last = done.rows[-1]
    assert last["ended"] - last["intended"] >= 0.29  # waited for two answers first
    assert last["ended"] - last["sent"] < 0.2  # its own exchange only
