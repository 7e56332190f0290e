"""Structured logs: one JSON object per line, with the trace and request IDs of the request.

Every line has ``timestamp`` (RFC 3339, UTC, milliseconds), ``level``, ``message``, ``logger`` and
``service.name``; lines written for a request add ``trace_id`` (32 hex), ``span_id`` (16 hex),
``request_id`` and the HTTP fields (``http.request.method``, ``http.route``, ``url.path``,
``http.response.status_code``, ``duration_ms``). Standard-library logging (uvicorn's own
messages, OpenTelemetry's exporter) is routed through the same writer and shape.

Lines are buffered and flushed at most ``flush_interval`` seconds later (and at exit), so the
request path never waits on a write system call.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import IO, Any

SERVICE_NAME = "hypersync-reference"
_LEVEL_NAMES = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "critical",
}


_second: tuple[int, str] = (-1, "")


def rfc3339(epoch: float) -> str:
    """``2026-11-27T01:02:03.456Z`` for an epoch time (the date part is cached per second)."""
    global _second  # noqa: PLW0603 - one (second, text) pair, swapped atomically
    seconds = int(epoch)
    cached = _second
    if cached[0] != seconds:
        cached = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
        _second = cached
    return f"{cached[1]}.{int((epoch - seconds) * 1000):03d}Z"


class LogWriter:
    """A thread-safe, buffered JSON-lines writer to a file or stderr."""

    def __init__(self, path: Path | None, *, flush_interval: float = 0.1) -> None:
        self._stream: IO[bytes]
        if path is None:
            self._stream = os.fdopen(os.dup(2), "wb", buffering=1 << 16)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._stream = path.open("ab", buffering=1 << 16)
        self.flush_interval = flush_interval
        self._lock = threading.Lock()
        self._dirty = False
        self._closed = False
        self._timer = threading.Thread(target=self._flusher, name="log-flusher", daemon=True)
        self._timer.start()

    def write(self, record: dict[str, Any]) -> None:
        """Write one record as one line."""
        line = (
            json.dumps(record, separators=(",", ":"), ensure_ascii=True, default=str).encode()
            + b"\n"
        )
        with self._lock:
            if self._closed:
                return
            self._stream.write(line)
            self._dirty = True

    def write_line(self, line: str) -> None:
        """Write one already-serialised JSON object (must end in a newline)."""
        data = line.encode()
        with self._lock:
            if self._closed:
                return
            self._stream.write(data)
            self._dirty = True

    def log(self, level: str, message: str, **fields: Any) -> None:
        """Write a line with the standard fields plus ``fields``."""
        record: dict[str, Any] = {
            "timestamp": rfc3339(time.time()),
            "level": level,
            "message": message,
            "logger": "hypersync.reference",
            "service.name": SERVICE_NAME,
        }
        record.update(fields)
        self.write(record)

    def flush(self) -> None:
        """Write out what is buffered."""
        with self._lock:
            if self._dirty and not self._closed:
                self._stream.flush()
                self._dirty = False

    def _flusher(self) -> None:
        while not self._closed:
            time.sleep(self.flush_interval)
            try:
                self.flush()
            except (OSError, ValueError):
                return

    def close(self) -> None:
        """Flush and close the stream."""
        self.flush()
        with self._lock:
            self._closed = True
            self._stream.close()


class JsonLogHandler(logging.Handler):
    """A ``logging`` handler writing records through a ``LogWriter`` in the same JSON shape."""

    def __init__(self, writer: LogWriter) -> None:
        super().__init__()
        self.writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields: dict[str, Any] = {
                "timestamp": rfc3339(record.created),
                "level": _LEVEL_NAMES.get(record.levelno, record.levelname.lower()),
                "message": record.getMessage(),
                "logger": record.name,
                "service.name": SERVICE_NAME,
            }
            if record.exc_info:
                fields["exception"] = logging.Formatter().formatException(record.exc_info)
            self.writer.write(fields)
        except Exception:  # logging must never take the service down
            self.handleError(record)


def route_stdlib_logging(writer: LogWriter, level: int = logging.INFO) -> None:
    """Send the root logger and uvicorn's loggers to ``writer`` as JSON lines."""
    handler = JsonLogHandler(writer)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
