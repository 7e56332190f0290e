"""The report's plots: millisecond latencies stay readable next to their budget lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from hypersync_slo.config import SloConfig
from hypersync_slo.report import Report, new_report
from hypersync_slo.report.plots import latency_figure, render_all

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
    legend = axes.get_legend()
    assert legend is not None
    assert [line.get_label() for line in legend.get_lines()] == [
        "p50",
        "p95",
        "p99",
        "p999",
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
