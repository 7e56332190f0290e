"""Fixtures of the reference-service tests: the shared service with faults reset after each test."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hypersync_slo.stack import ReferenceService

DATA = Path(__file__).parent.parent / "data" / "reference"


class Faulty:
    """The shared reference service plus a way to inject faults into it through the admin API."""

    def __init__(self, service: ReferenceService) -> None:
        self.service = service
        self.url = service.url
        self.client = httpx.Client(base_url=service.url, timeout=10.0)

    def inject(self, **state: Any) -> dict[str, Any]:
        """Replace the fault state (missing keys are off); returns what the service now has."""
        response = self.client.put("/admin/faults", json=state)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def breaks(self, *names: str) -> dict[str, Any]:
        """Switch on the named contract breaks (and nothing else)."""
        return self.inject(breaks=list(names))

    def reset(self) -> None:
        """Back to a healthy service."""
        self.inject()

    @contextlib.contextmanager
    def store_locked(self) -> Iterator[None]:
        """Hold an exclusive lock on the service's SQLite receipt store (a hung datastore)."""
        db = sqlite3.connect(
            self.service.workdir / "data" / "receipts.sqlite3", isolation_level=None
        )
        try:
            db.execute("BEGIN EXCLUSIVE")
            yield
        finally:
            db.execute("ROLLBACK")
            db.close()

    def log_lines(self) -> list[dict[str, Any]]:
        """Every JSON log line the service has written so far."""
        lines = []
        for raw in self.service.log_path.read_text("utf-8").splitlines():
            text = raw.strip()
            if text.startswith("{"):
                lines.append(json.loads(text))
        return lines

    def log_lines_for(self, request_id: str, timeout: float = 3.0) -> list[dict[str, Any]]:
        """Log lines carrying ``request_id``, polled until present (logs are flushed every 0.1 s)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.log_lines() if line.get("request_id") == request_id]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


@pytest.fixture
def faulty(shared_reference_service: ReferenceService) -> Iterator[Faulty]:
    """The shared service (fault admin on); every fault is reset after the test."""
    handle = Faulty(shared_reference_service)
    handle.reset()
    yield handle
    handle.reset()
    handle.client.close()


@pytest.fixture
def poll() -> Callable[..., Any]:
    """Call ``fn`` until ``accept(result)`` or the timeout; return the last result."""

    def run(fn: Callable[[], Any], accept: Callable[[Any], bool], timeout: float = 5.0) -> Any:
        deadline = time.monotonic() + timeout
        result = fn()
        while not accept(result) and time.monotonic() < deadline:
            time.sleep(0.05)
            result = fn()
        return result

    return run
