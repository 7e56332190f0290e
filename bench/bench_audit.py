"""A 30-day audit over a Prometheus holding 30 days of backfilled synthetic series.

Run: .venv/bin/python bench/bench_audit.py [--routes N] [--repeat N] [--days D]

Generates ``--days`` (default 31) of 1-minute request counters and latency buckets for
``--routes`` routes (11 series each: 2 status codes x (count + 4 buckets), and up) with a planted
2-hour outage, backfills them with ``promtool tsdb create-blocks-from openmetrics``, starts a
real Prometheus on them and times ``audit_period`` over the last 30 days (wall clock,
time.perf_counter, this process; the median of ``--repeat`` runs). Prints the phases, the query
count, the share of time spent waiting for Prometheus, and whether the audit stays under the
10 s target. Figures are from one run on a shared machine: noisy.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from hypersync_slo.audit.period import audit_period
from hypersync_slo.config import SloConfig
from hypersync_slo.prometheus.client import PrometheusClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the synthetic history is a test fixture, not in the wheel

from tests.audit.synthetic import (  # noqa: E402
    BackfilledPrometheus,
    Outage,
    SyntheticHistory,
    backfill,
    openmetrics_of,
)

DAY = 86400.0
END = 1793491200.0  # 2026-11-01T00:00:00Z
TARGET_SECONDS = 10.0


def main() -> int:
    """Run the benchmark and print its figures; exit 1 if the audit misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=3, help="routes (10 series each)")
    parser.add_argument("--repeat", type=int, default=3, help="audits to time")
    parser.add_argument("--days", type=float, default=31.0, help="days of history")
    args = parser.parse_args()
    start = END - 30 * DAY
    outage = Outage(start + 11 * DAY + 10 * 3600, 7200, 0.1)
    histories = [
        SyntheticHistory(
            end=END,
            days=args.days,
            outages=(outage,),
            seed=7 + k,
            route=f"/v1/route{k}",
            instance=f"127.0.0.1:{8080 + k}",
        )
        for k in range(args.routes)
    ]
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        work = Path(tmp)
        began = time.perf_counter()
        source = work / "history.om"
        source.write_text(openmetrics_of(histories), "utf-8")
        generated = time.perf_counter() - began
        size_mb = source.stat().st_size / 1e6
        began = time.perf_counter()
        backfill(source, work / "data", timeout=600)
        backfilled = time.perf_counter() - began
        began = time.perf_counter()
        server = BackfilledPrometheus(work / "prometheus", work / "data").start()
        started = time.perf_counter() - began
        try:
            walls: list[float] = []
            waits: list[float] = []
            queries = 0
            verdict = ""
            for _ in range(args.repeat):
                with PrometheusClient(server.url, timeout=60) as client:
                    report = audit_period(
                        client,
                        SloConfig.load(None),
                        datetime.fromtimestamp(start, UTC),
                        datetime.fromtimestamp(END, UTC),
                    )
                walls.append(report.seconds)
                waits.append(report.query_seconds)
                queries = report.queries
                verdict = report.verdict.value
        finally:
            server.stop()
    samples = (round(args.days * 1440) + 1) * 11 * args.routes  # 10 request series + up
    wall = statistics.median(walls)
    wait = statistics.median(waits)
    print(
        f"history: {args.routes} routes x 11 series (10 + up) x {args.days:g} days at 1 min "
        f"= {samples:,} samples ({size_mb:.0f} MB OpenMetrics)"
    )
    print(
        f"generate: {generated:.2f} s; promtool backfill: {backfilled:.2f} s; "
        f"prometheus ready: {started:.2f} s"
    )
    print(
        f"30-day audit: median {wall:.2f} s over {len(walls)} runs "
        f"(min {min(walls):.2f}, max {max(walls):.2f}); {queries} queries; "
        f"waiting for Prometheus {wait / wall * 100:.0f} % of the time; verdict {verdict}"
    )
    ok = wall < TARGET_SECONDS
    print(
        f"target: < {TARGET_SECONDS:g} s -> {'met' if ok else 'MISSED'} "
        f"(ratio {wall / TARGET_SECONDS:.2f} of the budget)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
