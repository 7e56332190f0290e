"""The report's plots: millisecond latencies stay readable next to their budget lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from hypersync_slo.config import SloConfig
from hypersync_slo.report import Report, new_report
from hypersync_slo.report.plots import (
    client_vs_prometheus_figure,
    latency_figure,
    lines_figure,
    render_all,
)
from hypersync_slo.results import LoadResult

START = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
END = START + timedelta(minutes=10)
#: Observed percentiles of a healthy run (seconds), against budgets of 100 ms and 500 ms.
OBSERVED = {"latency_p50": 0.0012, "latency_p95": 0.0031, "latency_p99": 0.0048}


def healthy_report() -> Report:
    """A report whose latency series sit at 1-5 ms, 100 times below their budgets."""
    report = new_report("http://127.0.0.1:9", SloConfig.default(), START, END)
    times = [START.timestamp() + 15 * i for i in range(41)]
    for name, level in OBSERVED.items():
        values = [level * (1 + 0.1 * (i % 3)) for i in range(len(times))]
        report.series[name] = pd.Series(values, index=times, dtype="float64")
    report.series["latency_p999"] = pd.Series([0.0, 0.02], index=times[:2], dtype="float64")
    return report


def test_latency_axis_is_log_and_spans_observed_and_budgets(tmp_path: Path) -> None:
    """The latency y-axis is logarithmic and shows both 1.2 ms and the 500 ms budget."""
    figure = latency_figure(healthy_report())
    axes = figure.axes[0]
    assert axes.get_yscale() == "log"
    low, high = axes.get_ylim()
    assert low <= 1.2 / 2  # ms: below the lowest observed line
    assert high >= 500  # above the highest budget line
    assert high / low <= 1e5  # not a squashed axis: at most five decades
    labels = [t.get_text() for t in axes.texts]
    assert labels == ["p95 budget 100 ms", "p99 budget 500 ms"]
    (legend,) = figure.legends
    assert [text.get_text() for text in legend.get_texts()] == [
        "judged window",
        "p50",
        "p95",
        "p99",
        "p999",
        "p95 budget 100 ms",
        "p99 budget 500 ms",
    ]
    png = tmp_path / "latency.png"
    figure.savefig(png, format="png")
    assert png.read_bytes().startswith(b"\x89PNG")


def test_every_plot_renders_without_data() -> None:
    """An empty window still renders every plot (saying there is no data), never raising."""
    report = new_report("http://127.0.0.1:9", SloConfig.default(), START, END)
    plots = render_all(report)
    assert len(plots) == 4
    assert all(png.startswith(b"\x89PNG") for png in plots.values())


def with_load(report: Report) -> Report:
    """``report`` with a load result: client percentiles, rate over time, per request."""
    report.load = LoadResult.from_dict(
        {
            "window": {"start_unix": START.timestamp()},
            "latency": {
                "corrected": {"p50": 0.002, "p95": 0.03, "p99": 0.09, "p999": 0.2, "samples": 9000},
                "uncorrected": {"p50": 0.0015, "p95": 0.01, "p99": 0.02, "p999": 0.05},
            },
            "rate_over_time": [[15.0 * i, 1000.0] for i in range(40)],
            "by_request": {
                "GET /v1/agents": {
                    "requests": 3000,
                    "errors": 0,
                    "latency": {"corrected": {"p50": 0.002, "p95": 0.03, "p99": 0.09}},
                },
                "POST /v1/receipts": {
                    "requests": 1000,
                    "errors": 7,
                    "latency": {"corrected": {"p50": 0.003, "p95": 0.04, "p99": 0.12}},
                },
            },
        }
    )
    report.series["error_rate"] = pd.Series([0.0] * 41, index=report.series["latency_p50"].index)
    return report


def test_plots_read_at_full_width_in_utc_with_the_window_shaded() -> None:
    """Every plot is at least 1200 px wide; time axes say UTC and the date; the judged window
    is a labelled shaded span; a load result adds client-vs-prometheus and per-request plots."""
    report = with_load(healthy_report())
    plots = render_all(report)
    assert list(plots) == [
        "Latency percentiles over time (prometheus)",
        "Latency of the window: client beside prometheus",
        "Error rate over time (5xx share, prometheus)",
        "Throughput over time",
        "Error budget used in the window",
        "Latency per request (client)",
        "Errors per request (client)",
    ]
    for title, png in plots.items():
        width = int.from_bytes(png[16:20], "big")  # the PNG IHDR width
        assert width >= 1200, (title, width)
    axes = latency_figure(report).axes[0]
    assert axes.get_xlabel() == "time (UTC), 2026-11-27"
    spans = [p for p in axes.patches if p.get_label() == "judged window"]
    assert len(spans) == 1
    left, right = axes.get_xlim()
    assert left < spans[0].get_x() < spans[0].get_x() + spans[0].get_width() <= right


def test_budget_lines_are_distinct_and_zero_stays_visible() -> None:
    """The p95 and p99 budget lines differ in colour and dash; an error rate of 0 sits above
    the bottom of its axis, not on it."""
    report = with_load(healthy_report())
    axes = latency_figure(report).axes[0]
    budgets = [line for line in axes.get_lines() if "budget" in str(line.get_label())]
    assert len(budgets) == 2
    styles = {(line.get_color(), str(line.get_linestyle())) for line in budgets}
    assert len(styles) == 2
    assert budgets[0].get_color() != budgets[1].get_color()
    error_axes = lines_figure(
        report, "e", "%", names=["error_rate"], scale=100.0, budgets=[("b", 0.001, "error_rate")]
    ).axes[0]
    bottom, top = error_axes.get_ylim()
    assert bottom < 0 < top


def test_client_latency_sits_beside_prometheus() -> None:
    """The window plot draws client corrected, client uncorrected and prometheus bars for each
    percentile, with the budgets."""
    report = with_load(healthy_report())
    report.kpis = []
    figure = client_vs_prometheus_figure(report)
    (legend,) = figure.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert {"client corrected", "client uncorrected", "prometheus"} <= set(texts)
    assert "p95 budget 100 ms" in texts
