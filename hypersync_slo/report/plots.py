"""The report's plots as PNG bytes (matplotlib's Agg canvas, no pyplot global state).

Latency percentiles over time against their budget lines (a log y-axis: millisecond latencies
stay readable under 100 ms and 500 ms budgets), error rate, throughput and the share of the
error budget used. A plot without data says so instead of drawing an empty axis.
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
from matplotlib.ticker import FuncFormatter, NullFormatter

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


def _plain_number(value: float, _position: float) -> str:
    """A log-axis tick as a plain number: 0.5, 1, 10, 100 (never 10^2)."""
    return f"{value:g}"


def _log_limits(values: Sequence[float]) -> tuple[float, float]:
    """A log axis from half the smallest positive value to twice the largest, whole decades."""
    positive = [v for v in values if math.isfinite(v) and v > 0]
    low, high = min(positive), max(positive)
    return 10 ** math.floor(math.log10(low / 2)), 10 ** math.ceil(math.log10(high * 2))


def lines_figure(
    report: Report,
    title: str,
    ylabel: str,
    *,
    names: Sequence[str],
    scale: float,
    budgets: Sequence[tuple[str, float]],
    log: bool = False,
) -> Figure:
    """One plot of ``names`` over time with dashed budget lines.

    ``log`` draws the y-axis on a log scale, so figures a hundred times below their budget
    (1 ms latencies against a 500 ms line) stay readable next to it; values <= 0 are left out.
    """
    figure, axes = _figure(title, ylabel)
    drawn = False
    shown: list[float] = [value * scale for _label, value in budgets if math.isfinite(value)]
    for name in names:
        series = report.series.get(name)
        if series is None or series.empty:
            continue
        values = series.to_numpy() * scale
        if log:
            values = values.astype(float)
            values[~(values > 0)] = math.nan
            if not (values > 0).any():
                continue
        shown.extend(float(v) for v in values if math.isfinite(v))
        axes.plot(
            _times(series),
            values,
            label=name.replace("latency_", ""),
            color=COLORS.get(name),
            linewidth=1.2,
        )
        drawn = True
    if log and drawn:
        axes.set_yscale("log")
        axes.set_ylim(*_log_limits(shown))
        axes.yaxis.set_major_formatter(FuncFormatter(_plain_number))
        axes.yaxis.set_minor_formatter(NullFormatter())
        axes.grid(visible=True, which="minor", alpha=0.1)
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
        if not log:
            axes.set_ylim(bottom=0)
        axes.legend(fontsize=8, loc="upper right", ncols=len(names))
        figure.autofmt_xdate()
    return figure


def _plot_lines(report: Report, title: str, ylabel: str, **how: Any) -> bytes:
    return _png(lines_figure(report, title, ylabel, **how))


def latency_figure(report: Report) -> Figure:
    """Latency percentiles over time against their budget lines, on a log y-axis."""
    budgets = report.budgets
    return lines_figure(
        report,
        "Latency percentiles over time (prometheus; log scale)",
        "ms (log scale)",
        names=list(COLORS),
        scale=1000.0,
        budgets=[
            (f"{name.replace('latency_', '')} budget {budgets[name] * 1000:g} ms", budgets[name])
            for name in COLORS
            if name in budgets
        ],
        log=True,
    )


def render_all(report: Report) -> dict[str, bytes]:
    """Every plot of the report, by title."""
    budgets = report.budgets
    plots = {
        "Latency percentiles (prometheus histogram_quantile)": _png(latency_figure(report)),
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
