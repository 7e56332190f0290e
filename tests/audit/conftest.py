"""Fixtures of the audit tests: a real Prometheus holding a backfilled 31-day synthetic history.

The history (1-minute samples, 10 series) ends at END and plants three known facts:
an outage of 2 hours with 10 % errors on day 12 of the audited 30 days, a 6-hour gap without
samples on day 21 (Prometheus down; the counters keep counting), a counter reset
(service restart) on day 26, and 30 minutes with the target down (``up`` 0, nothing served)
on day 5. Generating and backfilling it takes a few seconds, once per session.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hypersync_slo.processes import ManagedProcess, find_tool, free_port
from tests.audit.synthetic import (
    BackfilledPrometheus,
    Outage,
    SyntheticHistory,
    backfill,
)

DAY = 86400.0
END = 1793491200.0  # 2026-11-01T00:00:00Z
START = END - 30 * DAY
OUTAGE = Outage(start=START + 11 * DAY + 10 * 3600, seconds=2 * 3600, error_ratio=0.10)
GAP = (START + 20 * DAY, START + 20 * DAY + 6 * 3600)
RESET = START + 25 * DAY + 1800
DOWN = (START + 4 * DAY + 3600, START + 4 * DAY + 5400)
HISTORY = SyntheticHistory(
    end=END, days=31, outages=(OUTAGE,), gaps=(GAP,), resets=(RESET,), down=(DOWN,)
)


@dataclass(frozen=True)
class Backfilled:
    """The running Prometheus and the history it holds."""

    url: str
    history: SyntheticHistory


@pytest.fixture(scope="session")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backfilled]:
    """A real Prometheus serving the planted 31-day history (backfilled with promtool)."""
    if shutil.which("promtool") is None or shutil.which("prometheus") is None:
        pytest.fail("prometheus/promtool are not installed: apt-get install prometheus")
    work = tmp_path_factory.mktemp("audit-backfill")
    source = work / "history.om"
    source.write_text(HISTORY.openmetrics(), "utf-8")
    backfill(source, work / "data")
    source.unlink()
    server = BackfilledPrometheus(work / "prometheus", work / "data").start()
    try:
        yield Backfilled(server.url, HISTORY)
    finally:
        server.stop()


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    """Debian's prometheus-pushgateway on a free loopback port; yields its URL."""
    binary = find_tool("prometheus-pushgateway")
    assert binary is not None
    port = free_port()
    process = ManagedProcess(
        "pushgateway",
        [binary, f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        tmp_path / "pushgateway.log",
    ).start()
    try:
        process.wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=20)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()
