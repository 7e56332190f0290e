"""Lean HTTP/1.1 sending for the open-model driver: keep-alive sockets driven by one loop.

The driver's scheduler calls ``submit`` at each intended send time and ``poll`` every few
milliseconds; nothing else runs per request: no greenlet, no header objects, no readiness
wake-up per response. Each connection is a plain non-blocking socket registered once in an
epoll set; a request is written with one ``send`` of its precomputed bytes and its response is
read at the scheduler's next ``poll``, however late that is, because the latency is taken from
the **kernel's receive timestamp** of the response's last segment (``SO_TIMESTAMPNS``), not
from the moment the loop got round to reading it. The scheduler therefore wakes once per send
(not twice per request), and what the generator adds to a latency is only what it adds to the
send.

Where the kernel gives no timestamps the sender says so (``timestamps`` False) and the driver
wakes on readiness instead, so latencies stay exact either way.

Requests wait in a FIFO when every connection is busy (client-side queueing: part of the
*corrected* latency, which runs from the intended send time); the *uncorrected* latency runs
from the moment the request went onto a connection. A request times out ``timeout`` seconds
after it was sent. Failures carry a cause: ``connection_refused``, ``connection_reset``,
``timeout`` or ``error_<Exception>``.

Plain ``http://`` only (the driver keeps its geventhttpclient path for ``https://``). Runs with
the standard library alone: the caller hands in the clock-free pieces it needs (an epoll
factory, since gevent's monkey-patching hides ``select.epoll``).
"""

from __future__ import annotations

import _socket
import contextlib
import errno
import struct
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

#: ``SO_TIMESTAMPNS`` (and its control-message type) on Linux's generic ABI (x86, arm, riscv).
SO_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("@qq")
_CMSG_SPACE = _socket.CMSG_SPACE(_TIMESPEC.size)
_RECV_SIZE = 65536
EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP = 0x001, 0x004, 0x008, 0x010
_CONNECTING = (errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK)


class Planned(Protocol):
    """What the sender needs of a planned request (``traffic.PlannedRequest`` has it)."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def body(self) -> bytes | None: ...
    @property
    def headers(self) -> Mapping[str, str]: ...


#: ``on_done(request, intended, sent, ended, status, body, cause)``: one finished request.
Done = Callable[[Any, float, float, float, int, bytes, str | None], None]


def cause_of(code: int | None) -> str:
    """The error cause for an errno (``None``: the peer closed mid-response)."""
    if code is None or code in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED):
        return "connection_reset"
    if code == errno.ECONNREFUSED:
        return "connection_refused"
    if code == errno.ETIMEDOUT:
        return "timeout"
    return "error_OSError"


class ProtocolError(Exception):
    """The target's answer is not HTTP/1.1 as we can read it."""


@dataclass(slots=True)
class Response:
    """A complete response read from a connection."""

    status: int
    body: bytes
    keep_alive: bool


def parse_response(
    buf: bytes | bytearray, *, eof: bool, head_request: bool = False
) -> Response | None:
    """The response at the start of ``buf`` if it is complete, else None (read more).

    Content-Length, chunked transfer coding and read-until-close bodies; interim 1xx responses
    are skipped (``buf`` is not changed: the caller drops it whole once a response is complete).
    Raises ``ProtocolError`` for what cannot be an HTTP/1.x response.
    """
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        _incomplete_head(buf, eof)
        return None
    status = _status(buf)
    if 100 <= status < 200 and status != 101:  # interim response (100 Continue, 103 Early Hints)
        return parse_response(buf[end + 4 :], eof=eof, head_request=head_request)
    length, chunked, keep_alive = _framing(buf, end)
    start = end + 4
    if head_request or status in (204, 304):
        body, consumed = b"", start
    else:
        read = _body(buf, start, length, chunked=chunked, eof=eof)
        if read is None:
            return None
        body, consumed = read
        if length is None and not chunked:  # the body ran until the server closed
            keep_alive = False
    if consumed != len(buf):
        raise ProtocolError("bytes after the response (no request was pipelined)")
    return Response(status, body, keep_alive)


def _status(buf: bytes | bytearray) -> int:
    """The status code of the HTTP/1.x status line at the start of ``buf``."""
    if not buf.startswith(b"HTTP/1."):
        raise ProtocolError(f"not an HTTP/1.x status line: {bytes(buf[:40])!r}")
    try:
        return int(buf[9:12])
    except ValueError as exc:
        raise ProtocolError(f"bad status line: {bytes(buf[:40])!r}") from exc


def _framing(buf: bytes | bytearray, end: int) -> tuple[int | None, bool, bool]:
    """Content-Length (None if absent), chunked or not, and keep-alive, from the head."""
    head = buf[:end].lower()
    length: int | None = None
    keep_alive = buf[7] != 0x30  # HTTP/1.0 closes unless it says keep-alive
    at = head.find(b"\r\ncontent-length:")
    if at >= 0:
        value = _header_value(head, at + 17)
        try:
            length = int(value)
        except ValueError as exc:
            raise ProtocolError(f"bad Content-Length {value!r}") from exc
    at = head.find(b"\r\ntransfer-encoding:")
    chunked = at >= 0 and b"chunked" in _header_value(head, at + 20)
    at = head.find(b"\r\nconnection:")
    if at >= 0:
        tokens = _header_value(head, at + 13).replace(b" ", b"").split(b",")
        if b"close" in tokens:
            keep_alive = False
        elif b"keep-alive" in tokens:
            keep_alive = True
    return length, chunked, keep_alive


def _body(
    buf: bytes | bytearray, start: int, length: int | None, *, chunked: bool, eof: bool
) -> tuple[bytes, int] | None:
    """The body and where the response ends, or None while more must be read."""
    size = len(buf)
    if chunked:
        parsed = _dechunk(buf, start)
        if parsed is None and eof:
            raise ProtocolError("connection closed inside a chunked body")
        return parsed
    if length is not None:
        consumed = start + length
        if size < consumed:
            if eof:
                raise ProtocolError("connection closed before the body ended")
            return None
        return bytes(buf[start:consumed]), consumed
    if not eof:  # no length: the body runs until the server closes
        return None
    return bytes(buf[start:]), size


def _incomplete_head(buf: bytes | bytearray, eof: bool) -> None:
    if eof:
        raise ProtocolError("connection closed before the response headers ended")
    if len(buf) > 1 << 20:
        raise ProtocolError("response headers longer than 1 MiB")


def _header_value(head: bytes | bytearray, start: int) -> bytes | bytearray:
    """The value of the header line whose name ends just before ``start``."""
    stop = head.find(b"\r\n", start)
    return head[start : stop if stop >= 0 else len(head)].strip()


def _dechunk(buf: bytes | bytearray, pos: int) -> tuple[bytes, int] | None:
    parts: list[bytes] = []
    while True:
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size_text = bytes(buf[pos:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError as exc:
            raise ProtocolError(f"bad chunk size {size_text!r}") from exc
        pos = line_end + 2
        if size == 0:
            trailer_end = buf.find(b"\r\n\r\n", pos - 2)
            if trailer_end < 0:
                return None
            return b"".join(parts), trailer_end + 4
        if len(buf) < pos + size + 2:
            return None
        parts.append(bytes(buf[pos : pos + size]))
        pos += size + 2


class _Conn:
    """One keep-alive connection and the request on it, if any."""

    __slots__ = (
        "buf",
        "deadline",
        "fd",
        "intended",
        "out",
        "request",
        "sent",
        "sock",
        "stamp",
        "state",
    )

    def __init__(self) -> None:
        self.sock: Any = None
        self.fd = -1
        self.state = "closed"  # closed | connecting | idle | busy
        self.request: Any = None
        self.intended = 0.0
        self.sent = 0.0
        self.deadline = 0.0
        self.out = b""
        self.buf = bytearray()
        self.stamp: float | None = None


class Sender:
    """Keep-alive HTTP/1.1 connections to one target, driven by ``submit`` and ``poll``."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        connections: int,
        timeout: float,
        on_done: Done,
        epoll: Callable[[], Any],
    ) -> None:
        infos = _socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM)
        if not infos:
            raise OSError(f"cannot resolve {host}")
        self.family, _type, _proto, _name, self.address = infos[0]
        self.host_header = host if port == 80 else f"{host}:{port}"
        if ":" in host and not host.startswith("["):
            self.host_header = f"[{host}]" if port == 80 else f"[{host}]:{port}"
        self.timeout = timeout
        self.on_done = on_done
        self.epoll = epoll()
        self.conns = [_Conn() for _ in range(max(1, connections))]
        self.idle: list[_Conn] = []  # LIFO: the warmest connection first
        self.closed: list[_Conn] = list(self.conns)
        self.by_fd: dict[int, _Conn] = {}
        self.waiting: deque[tuple[Any, float]] = deque()
        self.busy = 0
        self.connecting = 0
        self.writing = 0
        self.next_deadline = float("inf")
        self.timestamps = sys.platform.startswith("linux")
        self._stamped = False
        self._pumping = False
        self._headers: dict[int, tuple[Mapping[str, str], str]] = {}

    # -- public ----------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Requests in the client: on a connection or waiting for one."""
        return self.busy + len(self.waiting)

    @property
    def urgent(self) -> bool:
        """True when something should be handled as soon as the socket is ready.

        Requests waiting for a connection, connects and partial writes in progress, and every
        response when the kernel gives no receive timestamps.
        """
        return bool(self.waiting or self.connecting or self.writing) or (
            self.busy > 0 and not self.timestamps
        )

    def fileno(self) -> int:
        """The epoll set's descriptor: readable when any connection has something to handle."""
        return int(self.epoll.fileno())

    def warm_up(self) -> int:
        """Open the connections before the clock starts; returns how many opened.

        Blocking connects, at most 2 s each, stopping at the first failure (a target that
        refuses one refuses them all: the run then counts its errors by cause).
        """
        opened = 0
        for conn in list(self.closed):
            sock = _socket.socket(self.family, _socket.SOCK_STREAM)
            try:
                sock.settimeout(min(self.timeout, 2.0))
                sock.connect(self.address)
            except OSError:
                sock.close()
                break
            self._adopt(conn, sock)
            conn.state = "idle"
            self.closed.remove(conn)
            self.idle.append(conn)
            opened += 1
        return opened

    def wire(self, request: Planned) -> bytes:
        """The request's bytes: request line, Host, its headers, Content-Length, body."""
        headers = request.headers
        cached = self._headers.get(id(headers))
        if cached is None or cached[0] is not headers:
            if len(self._headers) >= 64:
                self._headers.clear()
            block = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            cached = self._headers[id(headers)] = (headers, block)
        body = request.body
        if body is None:
            return (
                f"{request.method} {request.path} HTTP/1.1\r\nHost: {self.host_header}\r\n"
                f"{cached[1]}\r\n"
            ).encode("latin-1")
        return (
            f"{request.method} {request.path} HTTP/1.1\r\nHost: {self.host_header}\r\n"
            f"{cached[1]}Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1") + body

    def submit(self, request: Planned, intended: float) -> None:
        """Send ``request`` now on an idle connection, or queue it until one is free.

        With every connection busy the answers that arrived are read first (the caller may read
        them only now and then), so a connection they free takes the request at once.
        """
        if self.idle and not self.waiting:  # the usual case: the warmest idle connection
            self._start(self.idle.pop(), request, intended)
            return
        self.waiting.append((request, intended))
        if not (self.idle or self.closed):
            self.poll()
        self._pump()

    def poll(self) -> None:
        """Handle every ready connection (responses, connects, writes) and expired requests."""
        events = self.epoll.poll(0)
        if events:
            offset = time.time() - time.perf_counter()
            for fd, mask in events:
                conn = self.by_fd.get(fd)
                if conn is not None:
                    self._ready(conn, mask, offset)
        if self.next_deadline <= time.perf_counter():
            self._expire()

    def close(self) -> None:
        """Close every connection and the epoll set (requests still in flight are abandoned)."""
        for conn in self.conns:
            if conn.sock is not None:
                conn.sock.close()
                conn.sock = None
        self.epoll.close()

    # -- connections -----------------------------------------------------------------------------

    def _adopt(self, conn: _Conn, sock: Any) -> None:
        sock.setblocking(False)
        sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        if self.timestamps:
            try:
                sock.setsockopt(_socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            except OSError:
                self.timestamps = False
        conn.sock, conn.fd = sock, sock.fileno()
        conn.buf = bytearray()
        self.by_fd[conn.fd] = conn
        self.epoll.register(conn.fd, EPOLLIN)

    def _drop(self, conn: _Conn) -> None:
        """Close the connection's socket; it reconnects on its next use."""
        if conn.sock is not None:
            self.by_fd.pop(conn.fd, None)
            with contextlib.suppress(OSError):
                self.epoll.unregister(conn.fd)
            conn.sock.close()
            conn.sock = None
        if conn.state == "connecting":
            self.connecting -= 1
        if conn.out:
            self.writing -= 1
            conn.out = b""
        conn.state = "closed"

    def _start(self, conn: _Conn, request: Any, intended: float) -> None:
        conn.request, conn.intended = request, intended
        conn.stamp = None
        self.busy += 1
        if conn.sock is None:
            sock = _socket.socket(self.family, _socket.SOCK_STREAM)
            self._adopt(conn, sock)
            conn.sent = time.perf_counter()
            conn.deadline = conn.sent + self.timeout
            self.next_deadline = min(self.next_deadline, conn.deadline)
            code = sock.connect_ex(self.address)
            if code in _CONNECTING:
                conn.state = "connecting"
                self.connecting += 1
                self.epoll.modify(conn.fd, EPOLLIN | EPOLLOUT)
                return
            if code:
                self._fail(conn, cause_of(code))
                return
        self._send(conn)

    def _send(self, conn: _Conn) -> None:
        conn.state = "busy"
        data = self.wire(conn.request)
        conn.sent = time.perf_counter()
        conn.deadline = conn.sent + self.timeout
        self.next_deadline = min(self.next_deadline, conn.deadline)
        try:
            written = conn.sock.send(data)
        except BlockingIOError:
            written = 0
        except OSError as exc:
            self._fail(conn, cause_of(exc.errno))
            return
        if written < len(data):
            conn.out = data[written:]
            self.writing += 1
            self.epoll.modify(conn.fd, EPOLLIN | EPOLLOUT)

    def _ready(self, conn: _Conn, mask: int, offset: float) -> None:
        if conn.state == "connecting":
            code = conn.sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR)
            if code == 0 and mask & (EPOLLOUT | EPOLLERR | EPOLLHUP) == EPOLLOUT:
                self.connecting -= 1
                self.epoll.modify(conn.fd, EPOLLIN)
                self._send(conn)
            elif code or mask & (EPOLLERR | EPOLLHUP):
                self._fail(conn, cause_of(code or errno.ECONNREFUSED))
            return
        if conn.out and mask & EPOLLOUT:
            try:
                written = conn.sock.send(conn.out)
            except BlockingIOError:
                written = 0
            except OSError as exc:
                self._fail(conn, cause_of(exc.errno))
                return
            conn.out = conn.out[written:]
            if not conn.out:
                self.writing -= 1
                self.epoll.modify(conn.fd, EPOLLIN)
        if mask & (EPOLLIN | EPOLLERR | EPOLLHUP):
            self._read(conn, offset)

    def _read(self, conn: _Conn, offset: float) -> None:
        try:
            data, ancillary, _flags, _addr = conn.sock.recvmsg(_RECV_SIZE, _CMSG_SPACE)
        except BlockingIOError:
            return
        except OSError as exc:
            if conn.state == "busy":
                self._fail(conn, cause_of(exc.errno))
            else:
                self._drop(conn)
            return
        eof = not data
        if ancillary:
            conn.stamp = _kernel_stamp(ancillary, offset, conn.stamp)
        if conn.state != "busy":  # an idle connection is readable: the server closed it
            self._drop(conn)
            return
        if conn.buf:
            conn.buf += data
            received: bytes | bytearray = conn.buf
        else:  # the usual case: the whole answer in one read, parsed without a copy
            received = data
        try:
            response = parse_response(received, eof=eof, head_request=conn.request.method == "HEAD")
        except ProtocolError:
            self._fail(conn, "connection_reset" if eof else "error_ProtocolError")
            return
        if response is None:
            if received is data:
                conn.buf += data
            return
        now = time.perf_counter()
        if data and conn.stamp is None and not self._stamped:
            self.timestamps = False  # the kernel gives none: the driver wakes on readiness
        ended = now if conn.stamp is None else min(now, max(conn.sent, conn.stamp))
        self._stamped = self._stamped or conn.stamp is not None
        request, intended, sent = conn.request, conn.intended, conn.sent
        self._release(conn, keep=response.keep_alive)
        self.on_done(request, intended, sent, ended, response.status, response.body, None)

    def _fail(self, conn: _Conn, cause: str) -> None:
        request, intended, sent = conn.request, conn.intended, conn.sent
        self._drop(conn)
        self._release(conn, keep=False)
        self.on_done(request, intended, sent, time.perf_counter(), 0, b"", cause)

    def _release(self, conn: _Conn, *, keep: bool) -> None:
        """The request on ``conn`` is over: reuse the connection for the next waiting one."""
        conn.request = None
        if conn.buf:
            conn.buf = bytearray()
        self.busy -= 1
        if keep:
            conn.state = "idle"
            self.idle.append(conn)
        else:
            self._drop(conn)
            self.closed.append(conn)
        self._pump()

    def _pump(self) -> None:
        """Start waiting requests while a connection is free (a loop, never a recursion)."""
        if self._pumping:
            return
        self._pumping = True
        try:
            while self.waiting and (self.idle or self.closed):
                request, intended = self.waiting.popleft()
                conn = self.idle.pop() if self.idle else self.closed.pop()
                self._start(conn, request, intended)
        finally:
            self._pumping = False

    def _expire(self) -> None:
        now = time.perf_counter()
        for conn in self.conns:
            if conn.request is not None and conn.deadline <= now:
                self._fail(conn, "timeout")
        self.next_deadline = min(
            (c.deadline for c in self.conns if c.request is not None), default=float("inf")
        )


def _kernel_stamp(
    ancillary: list[tuple[int, int, bytes]], offset: float, stamp: float | None
) -> float | None:
    """The kernel's receive time (SO_TIMESTAMPNS) on the driver's clock, else ``stamp`` as it was."""
    for level, kind, payload in ancillary:
        if level == _socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            sec, nsec = _TIMESPEC.unpack(payload[: _TIMESPEC.size])
            stamp = sec + nsec * 1e-9 - offset
    return stamp
