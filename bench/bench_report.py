"""Benchmark: the reporter over a 24 h window at 15 s resolution against a local Prometheus.

Backfills 24 h of synthetic HyperSync series (a latency histogram for 4 routes x 2 status codes,
``up``, business counters, one target restart at hour 12) with ``promtool tsdb
create-blocks-from openmetrics`` into a fresh Prometheus data directory, starts Debian's
Prometheus on it, then times ``evaluate_window`` (every KPI, the plot series, the worst 60 s
sub-window) and ``write_report`` separately, splitting the evaluation into time spent waiting
for Prometheus and time spent computing.

    .venv/bin/python bench/bench_report.py            # budget: evaluation < 3 s
"""

from __future__ import annotations

import math
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypersync_slo.config import SloConfig
from hypersync_slo.processes import find_tool
from hypersync_slo.prometheus.client import PrometheusClient
from hypersync_slo.report import evaluate_window, write_report
from hypersync_slo.stack import PrometheusServer

HOURS = 24
STEP = 15
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
ROUTES = (
    "/v1/operators/{operator}/execute",
    "/v1/policies/{policy}/evaluate",
    "/v1/receipts",
    "/v1/agents/{agent_id}/actions",
)
STATUSES = (("200", 0.9995), ("500", 0.0005))
BUDGET_SECONDS = 3.0


def _bucket_shares() -> list[float]:
    """Cumulative share of requests at or below each bucket (a log-normal around 20 ms)."""
    shares = []
    for bound in BUCKETS:
        z = (math.log(bound) - math.log(0.02)) / 0.9
        shares.append(0.5 * (1 + math.erf(z / math.sqrt(2))))
    return shares


def write_openmetrics(path: Path, end: int) -> int:
    """24 h of samples every 15 s ending at ``end``; returns the number of samples written."""
    rng = random.Random(7)
    start = end - HOURS * 3600
    times = list(range(start, end + 1, STEP))
    restart = start + HOURS * 3600 // 2
    shares = _bucket_shares()
    written = 0
    with path.open("w") as out:
        out.write("# TYPE http_server_request_duration_seconds histogram\n")
        for route in ROUTES:
            for status, share in STATUSES:
                labels = (
                    f'http_request_method="POST",http_response_status_code="{status}",'
                    f'http_route="{route}",instance="127.0.0.1:8080",job="hypersync"'
                )
                count = 0.0
                total = 0.0
                for t in times:
                    if t == restart:
                        count = total = 0.0  # the target restarted: counters begin again
                    mean = 265 * STEP * share
                    added = max(0, round(rng.gauss(mean, math.sqrt(mean + 1))))
                    count += added
                    total += added * 0.025
                    for bound, s in zip(BUCKETS, shares, strict=True):
                        out.write(
                            f'http_server_request_duration_seconds_bucket{{{labels},le="{bound}"}} '
                            f"{math.floor(count * s)} {t}\n"
                        )
                    out.write(
                        f'http_server_request_duration_seconds_bucket{{{labels},le="+Inf"}} '
                        f"{count:.0f} {t}\n"
                    )
                    out.write(
                        f"http_server_request_duration_seconds_count{{{labels}}} {count:.0f} {t}\n"
                    )
                    out.write(
                        f"http_server_request_duration_seconds_sum{{{labels}}} {total:.3f} {t}\n"
                    )
                    written += len(BUCKETS) + 3
        out.write("# TYPE up gauge\n")
        for t in times:
            out.write(
                f'up{{instance="127.0.0.1:8080",job="hypersync"}} {0 if t == restart else 1} {t}\n'
            )
            written += 1
        for family, label, values in (
            ("hypersync_operator_executions", "operator", ("transform", "aggregate")),
            ("hypersync_policy_evaluations", "decision", ("allow", "deny")),
        ):
            out.write(f"# TYPE {family} counter\n")
            for value in values:
                counter = 0
                for t in times:
                    counter = 0 if t == restart else counter + 100
                    extra = ',outcome="success"' if label == "operator" else ""
                    out.write(
                        f'{family}_total{{instance="127.0.0.1:8080",job="hypersync",'
                        f'{label}="{value}"{extra}}} {counter} {t}\n'
                    )
                    written += 1
        out.write("# EOF\n")
    return written


def main() -> int:
    """Backfill, start Prometheus, time the reporter, print the figures."""
    promtool = find_tool("promtool")
    end = int(time.time()) // STEP * STEP - 60
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        workdir = Path(tmp)
        source = workdir / "series.om"
        began = time.perf_counter()
        samples = write_openmetrics(source, end)
        (workdir / "prometheus" / "data").mkdir(parents=True)
        subprocess.run(
            [
                str(promtool),
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "-q",
                str(source),
                str(workdir / "prometheus" / "data"),
            ],
            check=True,
        )
        backfill = time.perf_counter() - began
        prometheus = PrometheusServer(workdir / "prometheus", [], interval=15.0).start()
        try:
            client = PrometheusClient(prometheus.url, timeout=30.0)
            config = SloConfig.default()
            window_end = datetime.fromtimestamp(end, UTC)
            window_start = window_end - timedelta(hours=HOURS)
            runs = []
            for _ in range(4):
                t0 = time.perf_counter()
                report = evaluate_window(
                    client, config, window_start, window_end, job="hypersync", step=STEP
                )
                runs.append((time.perf_counter() - t0, report))
            runs = runs[1:]  # the first run warms Prometheus's caches
            t0 = time.perf_counter()
            write_report(report, workdir / "out")
            writing = time.perf_counter() - t0
        finally:
            prometheus.stop()
    totals = [r for r, _ in runs]
    median = statistics.median(totals)
    _, sample = runs[totals.index(median)]
    points = sum(len(s) for s in sample.series.values())
    print(
        f"backfill: {samples} samples written and imported in {backfill:.1f} s (setup, not timed)"
    )
    print(f"window: 24 h at a {STEP} s step; {sample.queries} queries; {points} plot points")
    print(
        f"evaluate_window: median {median:.3f} s over {len(totals)} runs "
        f"(min {min(totals):.3f} s, max {max(totals):.3f} s)"
    )
    print(
        f"  split (median run): {sample.query_seconds:.3f} s waiting for Prometheus "
        f"({sample.query_seconds / median:.0%}), {sample.compute_seconds:.3f} s computing "
        f"({sample.compute_seconds / median:.0%})"
    )
    print(f"write_report (json, md, junit, html with 4 plots): {writing:.3f} s")
    for kpi in sample.kpis:
        print(f"  {kpi.describe()}")
    verdict = "within" if median < BUDGET_SECONDS else "OVER"
    print(
        f"budget: evaluation {median:.3f} s {verdict} {BUDGET_SECONDS:g} s "
        f"(ratio {median / BUDGET_SECONDS:.2f})"
    )
    return 0 if median < BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
