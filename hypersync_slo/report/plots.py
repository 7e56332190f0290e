"""The report's plots as PNG bytes (matplotlib's Agg canvas, no pyplot global state).

Made to be read at 100 % zoom on a laptop: 1350 px wide, 11-14 pt text, a legend that names
every line. Time axes are UTC with the date and the zone in the axis label; the judged window
is shaded and labelled, and what lies outside it (the scrapes counted after the window's end)
is drawn faded so it is never mistaken for the window. Every budget line has its own colour and
dash and is named in the legend and at its end. A series at zero stays visible (the axis starts
a little below zero). A plot without data says so instead of drawing an empty axis.

Plots, by title:

- latency percentiles over time (Prometheus ``histogram_quantile``, log scale) and budgets;
- latency of the whole window, client (corrected and uncorrected, load generator) beside
  Prometheus, with the budgets (only with a load result);
- error rate over time (5xx share, Prometheus) and its budget;
- throughput over time (completed requests/s, Prometheus) beside the rate the load generator
  sent, and the objective;
- error budget used in the window (cumulative);
- latency and errors per request (client, load generator; only with a load result).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from hypersync_slo.report.model import Report

WIDTH_IN, HEIGHT_IN, DPI = 13.5, 4.8, 100  # 1350 x 480 px
TITLE_PT, LABEL_PT, TICK_PT, LEGEND_PT = 14, 12, 11, 11

COLORS = {
    "latency_p50": "#1f77b4",
    "latency_p95": "#ff7f0e",
    "latency_p99": "#d62728",
    "latency_p999": "#9467bd",
}
#: Budget lines: the colour of their series, each its own dash.
BUDGET_STYLES = {
    "latency_p95": ("#ff7f0e", (0, (8, 4))),
    "latency_p99": ("#d62728", (0, (2, 2))),
    "error_rate": ("#d62728", (0, (8, 4))),
    "throughput_rps": ("#2ca02c", (0, (8, 4))),
    "error_budget_used": ("#d62728", (0, (8, 4))),
}
WINDOW_COLOR = "#1a73e8"
SOURCE_COLORS = {
    "client corrected": "#ff7f0e",
    "client uncorrected": "#ffbb78",
    "prometheus": "#1f77b4",
}


def _times(series: pd.Series) -> list[datetime]:
    return [datetime.fromtimestamp(float(t), UTC) for t in series.index]


def _figure(title: str, ylabel: str, *, height: float = HEIGHT_IN) -> tuple[Figure, Any]:
    figure = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=TITLE_PT, loc="left")
    axes.set_ylabel(ylabel, fontsize=LABEL_PT)
    axes.tick_params(labelsize=TICK_PT)
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


def _no_data(axes: Any, text: str = "no data in the window") -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, fontsize=LABEL_PT)


def _time_axis(axes: Any, report: Report) -> None:
    """UTC time on x, the date and zone in the label; the judged window shaded and named."""
    start, end = report.window
    last = datetime.fromtimestamp(report.counted_until, UTC)
    span = max((last - start).total_seconds(), 1.0)
    margin = timedelta(seconds=span * 0.02)
    axes.set_xlim(start - margin, last + margin)
    same_day = start.date() == last.date()
    axes.xaxis.set_major_formatter(
        mdates.DateFormatter("%H:%M:%S" if same_day else "%m-%d %H:%M", tz=UTC)  # type: ignore[no-untyped-call]
    )
    day = f"{start:%Y-%m-%d}" if same_day else f"{start:%Y-%m-%d} – {last:%Y-%m-%d}"
    axes.set_xlabel(f"time (UTC), {day}", fontsize=LABEL_PT)
    axes.axvspan(start, end, color=WINDOW_COLOR, alpha=0.08, zorder=0, label="judged window")
    for edge in (start, end):
        axes.axvline(edge, color=WINDOW_COLOR, linewidth=1.0, alpha=0.6, zorder=1)


def _split(report: Report, series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The points inside the judged window, and the ones after it (counted scrapes)."""
    end = report.window[1].timestamp()
    index = pd.Index(series.index.astype(float))
    return series[index <= end], series[index >= end]


def _plot_series(
    axes: Any, report: Report, series: pd.Series, values: Any, *, label: str, color: str | None
) -> None:
    """The series in full colour inside the window, faded after it."""
    full = pd.Series(values, index=series.index)
    inside, after = _split(report, full)
    if not inside.empty:
        (line,) = axes.plot(
            _times(inside), inside.to_numpy(), label=label, color=color, linewidth=2.0, zorder=3
        )
        color = line.get_color()  # the faded part after the window keeps the same colour
    if len(after) > 1:
        axes.plot(
            _times(after),
            after.to_numpy(),
            color=color,
            linewidth=1.5,
            alpha=0.3,
            zorder=2,
            label=label if inside.empty else None,
        )


def _budget_line(axes: Any, value: float, label: str, style_key: str) -> None:
    color, dash = BUDGET_STYLES.get(style_key, ("black", (0, (8, 4))))
    axes.axhline(value, color=color, linestyle=dash, linewidth=1.8, label=label, zorder=2)
    axes.annotate(
        label,
        xy=(1.0, value),
        xycoords=("axes fraction", "data"),
        xytext=(-4, 3),
        textcoords="offset points",
        ha="right",
        va="bottom",
        fontsize=TICK_PT,
        color=color,
        bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1.5},
        zorder=5,
    )


def _legend(axes: Any, *, ncols: int = 4) -> None:
    """The legend below the plot, outside the data, so it hides no line and no label."""
    handles, labels = axes.get_legend_handles_labels()
    if handles:
        axes.figure.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=min(ncols, len(handles)),
            fontsize=LEGEND_PT,
            frameon=False,
        )


def _zero_visible(axes: Any, top: float) -> None:
    """A linear axis from a little below zero, so a series at 0 is never hidden on the axis."""
    top = top if top > 0 else 1.0
    axes.set_ylim(-0.04 * top, top)
    axes.axhline(0.0, color="#444", linewidth=0.8, zorder=1)


def lines_figure(
    report: Report,
    title: str,
    ylabel: str,
    *,
    names: Sequence[str],
    scale: float,
    budgets: Sequence[tuple[str, float, str]],
    log: bool = False,
    labels: Mapping[str, str] | None = None,
    extra: Sequence[tuple[str, pd.Series, str]] = (),
) -> Figure:
    """One plot of ``names`` over time with labelled budget lines ``(label, value, style key)``.

    ``log`` draws the y-axis on a log scale, so figures a hundred times below their budget
    (1 ms latencies against a 500 ms line) stay readable next to it; values <= 0 are left out.
    ``extra`` adds ``(label, series, colour)`` lines (already scaled), e.g. the client's rate.
    """
    figure, axes = _figure(title, ylabel)
    _time_axis(axes, report)
    drawn = False
    shown: list[float] = [value * scale for _l, value, _k in budgets if math.isfinite(value)]
    for name in names:
        series = report.series.get(name)
        if series is None or series.empty:
            continue
        values = series.to_numpy().astype(float) * scale
        if log:
            values[~(values > 0)] = math.nan
            if not (values > 0).any():
                continue
        shown.extend(float(v) for v in values if math.isfinite(v))
        label = (labels or {}).get(name, name.replace("latency_", ""))
        _plot_series(axes, report, series, values, label=label, color=COLORS.get(name))
        drawn = True
    for label, series, color in extra:
        if not series.empty:
            shown.extend(float(v) for v in series.to_numpy() if math.isfinite(v))
            axes.plot(
                _times(series),
                series.to_numpy(),
                label=label,
                color=color,
                linewidth=2.0,
                linestyle=(0, (1, 1)),
                zorder=3,
            )
            drawn = True
    if log and drawn:
        axes.set_yscale("log")
        axes.set_ylim(*_log_limits(shown))
        axes.yaxis.set_major_formatter(FuncFormatter(_plain_number))
        axes.yaxis.set_minor_formatter(NullFormatter())
        axes.grid(visible=True, which="minor", alpha=0.1)
    for label, value, key in budgets:
        if math.isfinite(value) and (not log or value > 0):
            _budget_line(axes, value * scale, label, key)
    if not drawn:
        _no_data(axes)
    elif not log:
        finite = [v for v in shown if math.isfinite(v)]
        _zero_visible(axes, max(finite, default=0.0) * 1.15)
    _legend(axes, ncols=len(names) + len(budgets) + len(extra) + 1)
    return figure


def _budget_entries(
    report: Report, names: Sequence[str], unit: str, scale: float
) -> list[tuple[str, float, str]]:
    budgets = report.budgets
    return [
        (
            f"{name.replace('latency_', '')} budget {budgets[name] * scale:g} {unit}",
            budgets[name],
            name,
        )
        for name in names
        if name in budgets
    ]


def latency_figure(report: Report) -> Figure:
    """Latency percentiles over time against their budget lines, on a log y-axis."""
    return lines_figure(
        report,
        "Latency percentiles over time (prometheus histogram_quantile; log scale)",
        "ms (log scale)",
        names=list(COLORS),
        scale=1000.0,
        budgets=_budget_entries(report, list(COLORS), "ms", 1000.0),
        log=True,
    )


def _client_rate(report: Report) -> pd.Series:
    """The rate the load generator sent, per second, as a time series (client)."""
    if report.load is None:
        return pd.Series(dtype=float)
    points = report.load.rate_over_time
    start = report.load.window.get("start_unix")
    if not points or not isinstance(start, int | float):
        return pd.Series(dtype=float)
    return pd.Series(
        [float(p[1]) for p in points], index=[float(start) + float(p[0]) for p in points]
    )


def throughput_figure(report: Report) -> Figure:
    """Completed requests/s (Prometheus) beside what the load generator sent, and the objective."""
    budgets = report.budgets
    client = _client_rate(report)
    return lines_figure(
        report,
        "Throughput over time (completed requests/s, prometheus; sent, load generator)",
        "requests/s",
        names=["throughput_rps"],
        scale=1.0,
        labels={"throughput_rps": "completed (prometheus)"},
        budgets=[
            (
                f"objective {budgets['throughput_rps']:g} req/s",
                budgets["throughput_rps"],
                "throughput_rps",
            )
        ]
        if "throughput_rps" in budgets
        else [],
        extra=[("sent (client, load generator)", client, "#444444")] if not client.empty else [],
    )


QUANTILE_NAMES = (
    ("p50", "latency_p50"),
    ("p95", "latency_p95"),
    ("p99", "latency_p99"),
    ("p99.9", "latency_p999"),
)


def client_vs_prometheus_figure(report: Report) -> Figure:
    """The window's latency percentiles side by side: client corrected, client uncorrected
    (load generator) and Prometheus (histogram_quantile), with the budgets; log scale."""
    figure, axes = _figure(
        "Latency of the whole window: client (load generator) beside prometheus; log scale",
        "ms (log scale)",
    )
    latency: Mapping[str, Any] = report.load.latency if report.load else {}
    kpis = {k.name: k for k in report.kpis}
    groups: dict[str, list[float]] = {name: [] for name in SOURCE_COLORS}
    for short, name in QUANTILE_NAMES:
        key = short.replace(".", "")
        for label, value in (
            ("client corrected", (latency.get("corrected") or {}).get(key)),
            ("client uncorrected", (latency.get("uncorrected") or {}).get(key)),
            ("prometheus", kpis[name].observed if name in kpis else None),
        ):
            number = float(value) * 1000 if isinstance(value, int | float) else math.nan
            groups[label].append(number if math.isfinite(number) and number > 0 else math.nan)
    width = 0.26
    shown: list[float] = []
    for i, (label, values) in enumerate(groups.items()):
        xs = [q + (i - 1) * width for q in range(len(QUANTILE_NAMES))]
        axes.bar(xs, values, width=width, label=label, color=SOURCE_COLORS[label], zorder=3)
        for x, v in zip(xs, values, strict=True):
            if math.isfinite(v):
                shown.append(v)
                axes.annotate(
                    _ms(v),
                    (x, v),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=TICK_PT - 1,
                )
    axes.set_xticks(range(len(QUANTILE_NAMES)), [s for s, _ in QUANTILE_NAMES])
    for q, (short, name) in enumerate(QUANTILE_NAMES):
        if name in report.budgets:
            value = report.budgets[name] * 1000
            color, dash = BUDGET_STYLES.get(name, ("black", (0, (8, 4))))
            axes.hlines(
                value,
                q - 0.45,
                q + 0.45,
                colors=color,
                linestyles=dash,
                linewidth=2,
                label=f"{short} budget {value:g} ms",
                zorder=4,
            )
            shown.append(value)
    if not shown:
        _no_data(axes, "no latency figures in the window")
        return figure
    axes.set_yscale("log")
    low, high = _log_limits(shown)
    axes.set_ylim(low, high * 3)
    axes.yaxis.set_major_formatter(FuncFormatter(_plain_number))
    axes.yaxis.set_minor_formatter(NullFormatter())
    axes.set_xlabel(
        "percentile over the judged window (client: HDR histogram, corrected = from the "
        "intended send time; prometheus: interpolated in its bucket)",
        fontsize=LABEL_PT,
    )
    _legend(axes, ncols=5)
    return figure


def _ms(value: float) -> str:
    """A bar's label in ms: 1,130, 57, 0.582 (no exponent)."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def per_request_figures(report: Report) -> tuple[Figure, Figure]:
    """Per request (client, load generator): corrected latency percentiles, and the error share."""
    by_request: Mapping[str, Any] = report.load.by_request if report.load else {}
    names = sorted(by_request)
    height = max(3.2, 1.2 + 0.5 * len(names))
    latency_fig, lat = _figure(
        "Latency per request (client, corrected, load generator; log scale)",
        "",
        height=height,
    )
    errors_fig, err = _figure("Errors per request (client, load generator)", "", height=height)
    if not names:
        _no_data(lat, "no per-request figures (no load result)")
        _no_data(err, "no per-request figures (no load result)")
        return latency_fig, errors_fig
    _latency_bars(lat, report, by_request, names)
    _error_bars(err, report, by_request, names)
    return latency_fig, errors_fig


def _latency_bars(
    lat: Any, report: Report, by_request: Mapping[str, Any], names: Sequence[str]
) -> None:
    """Per request: the client's corrected p50/p95/p99 as bars (ms, log scale), the budgets."""
    ys = list(range(len(names)))
    height_bar = 0.26
    shown: list[float] = []
    for i, (short, key) in enumerate((("p50", "p50"), ("p95", "p95"), ("p99", "p99"))):
        values = []
        for name in names:
            entry = by_request[name].get("latency") or {}
            entry = entry.get("corrected", entry)
            value = entry.get(key) if isinstance(entry, Mapping) else None
            number = float(value) * 1000 if isinstance(value, int | float) else math.nan
            values.append(number if number > 0 else math.nan)
        shown += [v for v in values if math.isfinite(v)]
        lat.barh(
            [y + (i - 1) * height_bar for y in ys],
            values,
            height=height_bar,
            label=short,
            color=COLORS[f"latency_{short}"],
            zorder=3,
        )
    for name in ("latency_p95", "latency_p99"):
        if name in report.budgets:
            value = report.budgets[name] * 1000
            color, dash = BUDGET_STYLES[name]
            lat.axvline(
                value,
                color=color,
                linestyle=dash,
                linewidth=1.8,
                label=f"{name.replace('latency_', '')} budget {value:g} ms",
                zorder=2,
            )
            shown.append(value)
    lat.set_yticks(ys, names, fontsize=TICK_PT)
    lat.invert_yaxis()
    if shown:
        lat.set_xscale("log")
        lat.set_xlim(*_log_limits(shown))
        lat.xaxis.set_major_formatter(FuncFormatter(_plain_number))
        lat.xaxis.set_minor_formatter(NullFormatter())
    lat.set_xlabel("ms (log scale)", fontsize=LABEL_PT)
    _legend(lat, ncols=5)


def _error_bars(
    err: Any, report: Report, by_request: Mapping[str, Any], names: Sequence[str]
) -> None:
    """Per request: the client's error share as bars with their counts, the error budget."""
    ys = list(range(len(names)))
    shares = []
    for name in names:
        entry = by_request[name]
        requests = int(entry.get("requests") or 0)
        errors = int(entry.get("errors") or 0)
        shares.append((100.0 * errors / requests if requests else 0.0, errors, requests))
    err.barh(
        ys,
        [s for s, _e, _r in shares],
        height=0.6,
        color="#d62728",
        zorder=3,
        label="errors (% of the request's sends)",
    )
    top = max([s for s, _e, _r in shares] + [report.budgets.get("error_rate", 0.0) * 100])
    top = top * 1.3 if top > 0 else 1.0
    err.set_xlim(-0.02 * top, top)
    err.axvline(0.0, color="#444", linewidth=0.8, zorder=1)
    for y, (share, errors, requests) in zip(ys, shares, strict=True):
        err.annotate(
            f"{errors} of {requests} ({share:.3g} %)",
            (max(share, 0.0), y),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=TICK_PT,
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1.0},
            zorder=5,
        )
    if "error_rate" in report.budgets:
        value = report.budgets["error_rate"] * 100
        color, dash = BUDGET_STYLES["error_rate"]
        err.axvline(
            value,
            color=color,
            linestyle=dash,
            linewidth=1.8,
            label=f"error-rate budget {value:g} % (all requests)",
            zorder=2,
        )
    err.set_yticks(ys, names, fontsize=TICK_PT)
    err.invert_yaxis()
    err.set_xlabel(
        "% of the request's sends that failed (transport error or unexpected status)",
        fontsize=LABEL_PT,
    )
    _legend(err, ncols=2)


def render_all(report: Report) -> dict[str, bytes]:
    """Every plot of the report, by title (client plots only when a load result is known)."""
    budgets = report.budgets
    plots = {"Latency percentiles over time (prometheus)": _png(latency_figure(report))}
    if report.load is not None:
        plots["Latency of the window: client beside prometheus"] = _png(
            client_vs_prometheus_figure(report)
        )
    plots["Error rate over time (5xx share, prometheus)"] = _png(
        lines_figure(
            report,
            "Error rate over time (5xx share of completed requests, prometheus)",
            "% of requests",
            names=["error_rate"],
            labels={"error_rate": "5xx share (prometheus)"},
            scale=100.0,
            budgets=[
                (f"budget {budgets['error_rate'] * 100:g} %", budgets["error_rate"], "error_rate")
            ]
            if "error_rate" in budgets
            else [],
        )
    )
    plots["Throughput over time"] = _png(throughput_figure(report))
    plots["Error budget used in the window"] = _png(
        lines_figure(
            report,
            "Error budget used in the window (cumulative 5xx / allowed, prometheus)",
            "% of the window's budget",
            names=["error_budget_used"],
            labels={"error_budget_used": "budget used (prometheus)"},
            scale=100.0,
            budgets=[("budget exhausted (100 %)", 1.0, "error_budget_used")],
        )
    )
    if report.load is not None:
        latency_fig, errors_fig = per_request_figures(report)
        plots["Latency per request (client)"] = _png(latency_fig)
        plots["Errors per request (client)"] = _png(errors_fig)
    return plots
