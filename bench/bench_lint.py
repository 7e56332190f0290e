"""Parse + lint time of the largest corpus capture and of a synthetic 10k-series exposition.

Run: .venv/bin/python bench/bench_lint.py [--repeat N]

Prints the median wall time of N runs (time.perf_counter, this process, one core) for:
our parser alone, parser + lint (with the prometheus_client cross-check on the raw text),
prometheus_client's own parser alone as the baseline, and the real promtool (a subprocess)
on the text bodies. Ratios against the baseline are measured in the same run, so they hold
better than the absolute figures on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as python_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as python_text

from hypersync_slo.exposition import lint_exposition, parse_exposition, run_promtool

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "exposition" / "corpus"
TEXT_CT = "text/plain; version=0.0.4; charset=utf-8"
OM_CT = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def synthetic(series: int, openmetrics: bool) -> str:
    """A realistic exposition of ``series`` samples: 1 counter, 1 gauge and a latency histogram."""
    routes = [f"/v1/r{i}" for i in range(max(1, series // 40))]
    lines: list[str] = []
    total = "" if openmetrics else "_total"
    lines += [f"# HELP app_requests{total} Requests.", f"# TYPE app_requests{total} counter"]
    per_route = []
    for r in routes:
        for code in ("200", "500"):
            per_route.append(f'app_requests_total{{route="{r}",code="{code}"}} 12345')
    lines += per_route
    lines += ["# HELP app_inflight Inflight.", "# TYPE app_inflight gauge"]
    lines += [f'app_inflight{{route="{r}"}} 3' for r in routes]
    lines += ["# HELP app_latency_seconds Latency.", "# TYPE app_latency_seconds histogram"]
    bounds = [
        "0.005",
        "0.01",
        "0.025",
        "0.05",
        "0.1",
        "0.25",
        "0.5",
        "1.0",
        "2.5",
        "5.0",
        "10.0",
        "+Inf",
    ]
    for r in routes:
        for i, le in enumerate(bounds):
            lines.append(f'app_latency_seconds_bucket{{route="{r}",le="{le}"}} {100 + i}')
        lines.append(f'app_latency_seconds_count{{route="{r}"}} {100 + len(bounds) - 1}')
        lines.append(f'app_latency_seconds_sum{{route="{r}"}} 42.5')
    n_samples = sum(1 for line in lines if not line.startswith("#"))
    extra = series - n_samples
    lines += ["# HELP app_pad Padding to the series count.", "# TYPE app_pad gauge"]
    lines += [f'app_pad{{i="{i}"}} {i}' for i in range(max(0, extra))]
    if openmetrics:
        lines.append("# EOF")
    return "\n".join(lines) + "\n"


def median_seconds(func: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench(label: str, text: str, content_type: str, repeat: int) -> None:
    """Print the figures for one body."""
    om = content_type == OM_CT
    expo = parse_exposition(text, content_type)
    baseline_parser = python_openmetrics if om else python_text
    parse = median_seconds(lambda: parse_exposition(text, content_type), repeat)
    full = median_seconds(
        lambda: lint_exposition(parse_exposition(text, content_type), text), repeat
    )
    lint_only = median_seconds(
        lambda: lint_exposition(parse_exposition(text, content_type)), repeat
    )
    baseline = median_seconds(lambda: list(baseline_parser(text)), repeat)
    print(
        f"{label}: {len(text) / 1e3:.0f} kB, {expo.series_count()} series, {len(expo.families)} families "
        f"(median of {repeat} runs)"
    )
    print(f"  our parse                      {parse * 1e3:8.1f} ms")
    print(f"  our parse + lint               {lint_only * 1e3:8.1f} ms")
    print(f"  our parse + lint + py parser   {full * 1e3:8.1f} ms")
    print(
        f"  prometheus_client parser alone {baseline * 1e3:8.1f} ms   "
        f"(our parse+lint / it = {lint_only / baseline:.2f})"
    )
    if not om:
        promtool = median_seconds(lambda: run_promtool(text), max(1, repeat // 3))
        print(f"  promtool check metrics (subprocess) {promtool * 1e3:8.1f} ms")


def main(argv: list[str]) -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args(argv)
    largest = max(CORPUS.glob("*.txt"), key=lambda p: p.stat().st_size)
    bench(f"corpus {largest.name}", largest.read_text(), TEXT_CT, args.repeat)
    bench(
        "synthetic 10k series, text 0.0.4",
        synthetic(10_000, openmetrics=False),
        TEXT_CT,
        args.repeat,
    )
    bench(
        "synthetic 10k series, OpenMetrics", synthetic(10_000, openmetrics=True), OM_CT, args.repeat
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
