"""Benchmark: how long the reporter waits for the scrape after a window, at 1 s, 15 s and 30 s.

Starts the reference service and Debian's Prometheus scraping it every 1 s, 15 s or 30 s, sends
a burst of API requests, ends the window at a random phase of the scrape cycle and times
``settle_window`` (the wait for every target's first successful scrape after the window's end).
The wait may not exceed one scrape interval plus a few seconds beyond that first scrape.

    .venv/bin/python bench/bench_settle.py              # 3 windows per interval
    .venv/bin/python bench/bench_settle.py --windows 5 --intervals 15
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from hypersync_slo.config import SloConfig
from hypersync_slo.prometheus.client import PrometheusClient
from hypersync_slo.report import settle_window
from hypersync_slo.stack import PrometheusServer, ReferenceService, ScrapeJob

JOB = "hypersync"
SLACK = 3.0


def burst(url: str, count: int) -> None:
    """``count`` policy evaluations, one after another."""
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(count):
            client.post(
                "/v1/policies/access/evaluate",
                json={"subject": "agent-7", "action": "read", "resource": "r"},
            )


def measure(interval: float, windows: int, workdir: Path) -> list[tuple[float, float]]:
    """(waited, waited beyond the first scrape after the end) for each window."""
    service = ReferenceService(workdir / f"service-{interval:g}", []).start()
    prometheus = PrometheusServer(
        workdir / f"prometheus-{interval:g}", [ScrapeJob(JOB, (service.address,))], interval
    )
    rng = random.Random(11)
    out: list[tuple[float, float]] = []
    try:
        prometheus.start()
        prometheus.wait_for_targets(timeout=interval + 30)
        config = SloConfig.default()
        with PrometheusClient(prometheus.url) as client:
            for _ in range(windows):
                time.sleep(rng.uniform(0, interval))  # a random phase of the scrape cycle
                start = datetime.now(UTC)
                burst(service.url, 50)
                end = datetime.now(UTC)
                began = time.monotonic()
                coverage = settle_window(client, config, start, end, job=JOB)
                waited = time.monotonic() - began
                assert coverage.settled, coverage.unsettled_reason()
                beyond = waited - max(0.0, coverage.counted_until - end.timestamp())
                out.append((waited, beyond))
                print(
                    f"  interval {interval:>4g} s: waited {waited:6.2f} s; first scrape after the"
                    f" end {coverage.counted_until - end.timestamp():6.2f} s after it; "
                    f"{beyond:5.2f} s beyond it",
                    flush=True,
                )
    finally:
        prometheus.stop()
        service.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    """Measure and print one table row per interval; exit 1 when a wait broke the budget."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--intervals", type=float, nargs="+", default=[1.0, 15.0, 30.0])
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-settle-") as tmp:
        for interval in args.intervals:
            got = measure(interval, args.windows, Path(tmp))
            rows.append((interval, got))
    print("\n| scrape interval | windows | waited (median / max) | beyond the first scrape (max) |")
    print("| ---: | ---: | ---: | ---: |")
    broken = False
    for interval, got in rows:
        waits = [w for w, _ in got]
        beyond = [b for _, b in got]
        print(
            f"| {interval:g} s | {len(got)} | {statistics.median(waits):.2f} s / "
            f"{max(waits):.2f} s | {max(beyond):.2f} s |"
        )
        broken = broken or max(waits) > interval + SLACK or max(beyond) > SLACK
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
