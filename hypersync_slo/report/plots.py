"""The report's plots as PNG bytes (matplotlib's Agg canvas, no pyplot global state).

Latency percentiles over time against their budget lines, error rate, throughput and the share
of the error budget used. A plot without data says so instead of drawing an empty axis.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hypersync_slo.report.evaluation import Report

COLORS = {
    "latency_p50": "#4c72b0",
    "latency_p95": "#dd8452",
    "latency_p99": "#c44e52",
    "latency_p999": "#8172b3",
}


def _times(series: pd.Series) -> list[datetime]:
    return [datetime.fromtimestamp(float(t), UTC) for t in series.index]


def _figure(title: str, ylabel: str) -> tuple[Figure, Any]:
    figure = Figure(figsize=(8, 3), dpi=90, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=10)
    axes.set_ylabel(ylabel)
    axes.grid(visible=True, alpha=0.3)
    return figure, axes


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _plot_lines(
    report: Report,
    title: str,
    ylabel: str,
    *,
    names: Sequence[str],
    scale: float,
    budgets: Sequence[tuple[str, float]],
) -> bytes:
    figure, axes = _figure(title, ylabel)
    drawn = False
    for name in names:
        series = report.series.get(name)
        if series is None or series.empty:
            continue
        axes.plot(
            _times(series),
            series.to_numpy() * scale,
            label=name.replace("latency_", ""),
            color=COLORS.get(name),
            linewidth=1.2,
        )
        drawn = True
    for label, value in budgets:
        if math.isfinite(value):
            axes.axhline(value * scale, linestyle="--", color="black", linewidth=0.8)
            axes.annotate(
                label,
                xy=(0.005, value * scale),
                xycoords=("axes fraction", "data"),
                fontsize=8,
                va="bottom",
            )
    if not drawn:
        axes.text(
            0.5,
            0.5,
            "no data in the window",
            ha="center",
            va="center",
            transform=axes.transAxes,
        )
    else:
        axes.set_ylim(bottom=0)
        axes.legend(fontsize=8, loc="upper right")
        figure.autofmt_xdate()
    return _png(figure)


def render_all(report: Report) -> dict[str, bytes]:
    """Every plot of the report, by title."""
    budgets = report.budgets
    latency_budgets = [
        (f"{name.replace('latency_', '')} budget {budgets[name] * 1000:g} ms", budgets[name])
        for name in ("latency_p50", "latency_p95", "latency_p99", "latency_p999")
        if name in budgets
    ]
    plots = {
        "Latency percentiles (prometheus histogram_quantile)": _plot_lines(
            report,
            "Latency percentiles over time (prometheus)",
            "ms",
            names=["latency_p50", "latency_p95", "latency_p99", "latency_p999"],
            scale=1000.0,
            budgets=latency_budgets,
        ),
        "Error rate (5xx share)": _plot_lines(
            report,
            "Error rate over time (5xx share, prometheus)",
            "%",
            names=["error_rate"],
            scale=100.0,
            budgets=[(f"budget {budgets['error_rate'] * 100:g} %", budgets["error_rate"])]
            if "error_rate" in budgets
            else [],
        ),
        "Throughput": _plot_lines(
            report,
            "Throughput over time (completed requests/s, prometheus)",
            "req/s",
            names=["throughput_rps"],
            scale=1.0,
            budgets=[(f"objective {budgets['throughput_rps']:g} req/s", budgets["throughput_rps"])]
            if "throughput_rps" in budgets
            else [],
        ),
        "Error budget used": _plot_lines(
            report,
            "Error budget used in the window (cumulative errors / allowed)",
            "%",
            names=["error_budget_used"],
            scale=100.0,
            budgets=[("budget exhausted", 1.0)],
        ),
    }
    return plots
