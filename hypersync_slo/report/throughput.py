"""The throughput KPI: completed requests per second, on average and in the worst 60 s.

``under_offered`` turns a failed floor into ``no_data`` when the load offered less than the
floor (a service only completes what it is sent).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypersync_slo.config import SloConfig, format_value
from hypersync_slo.errors import PrometheusUnavailable
from hypersync_slo.prometheus.client import PrometheusClient, choose_step
from hypersync_slo.prometheus.queries import Queries
from hypersync_slo.report import kpis
from hypersync_slo.report.counting import SUBWINDOW, scrape_subwindows
from hypersync_slo.report.model import Report, guard
from hypersync_slo.results import LoadResult
from hypersync_slo.verdicts import KpiResult, Verdict, errored, judge, offered_below


def throughput_kpi(
    client: PrometheusClient,
    config: SloConfig,
    q: Queries,
    report: Report,
    *,
    completed: float,
    status_query: str,
    counting: str,
    histories: tuple[tuple[str, kpis.CounterHistory], ...] = (),
) -> KpiResult:
    """Throughput over the window: its average and its worst 60 s sub-window, both judged.

    ``completed`` requests were counted by ``status_query``; with raw-sample ``histories`` the
    sub-windows are cut at scrapes (their counts add up to the window's), else read from
    ``rate()`` over 60 s. A sub-window that cannot be read is an ``error``: "sustained" is never
    judged on the average alone when the parts were asked for and lost.
    """
    objective = config.objective("throughput_rps")
    start, end = report.window
    seconds = report.seconds
    average = kpis.throughput(completed, seconds)
    detail: dict[str, Any] = {
        "requests": completed,
        "window_seconds": seconds,
        "counting": counting,
    }
    worst: float | None = None
    rate_query = q.throughput_rate(SUBWINDOW)
    if seconds >= 2 * SUBWINDOW and histories:
        parts = scrape_subwindows(histories, report.window, completed)
        if parts:
            rates = [part.rate for part in parts]
            worst = min(rates)
            detail["worst_60s_method"] = (
                f"{len(parts)} consecutive sub-windows of about {seconds / len(parts):.3g} s "
                "tiling the window, each the counters' growth between scrapes; their counts add "
                "up to the window's"
            )
            detail["subwindow_rps"] = [round(r, 6) for r in rates]
        detail["worst_60s_rps"] = worst
    elif seconds >= 2 * SUBWINDOW:
        step = min(report.step, 15.0)
        step = max(step, choose_step(start.timestamp() + SUBWINDOW, end.timestamp()))
        got = guard(
            report,
            "worst 60 s throughput",
            lambda: client.range(rate_query, start.timestamp() + SUBWINDOW, end.timestamp(), step),
        )
        if isinstance(got, PrometheusUnavailable):
            # "Sustained" cannot be judged without the sub-windows: never pass on the average.
            return errored(
                objective,
                source="prometheus",
                window=report.window,
                query=rate_query,
                reason=f"the worst 60 s sub-window could not be read: {got}".split("\n")[0],
            )
        if got:
            series = kpis.clean_series(got[0].points)
            worst = kpis.worst_subwindow(series, start.timestamp(), end.timestamp(), SUBWINDOW)
            detail["worst_60s_query"] = rate_query
            detail["worst_60s_step"] = step
            detail["worst_60s_method"] = "rate() over 60 s (extrapolated at the scrapes)"
            if worst is not None and average is not None and worst > average:
                # A minimum of parts cannot exceed their mean: rate()'s extrapolation did.
                detail["worst_60s_note"] = (
                    f"rate() gave {format_value(worst, 'rps')}, above the window average; "
                    "the average is the bound"
                )
                worst = average
        detail["worst_60s_rps"] = worst
        if worst is None:
            detail["note"] = "no 60 s sub-window had data: only the window average is judged"
    else:
        detail["worst_60s_rps"] = None
        detail["note"] = (
            "the window is shorter than 2 × 60 s: no sub-windows to judge, only the average"
        )
    holds = None
    if average is not None and objective.value is not None:
        holds = objective.holds(average) and (worst is None or objective.holds(worst))
        if worst is not None and not objective.holds(worst):
            detail["failed_on"] = "worst 60 s sub-window"
    result = judge(
        objective,
        average,
        round(completed),
        source="prometheus",
        window=report.window,
        query=status_query + f"  / {seconds:g} s",
        holds=holds,
        detail=detail,
    )
    if result.verdict is Verdict.FAIL and detail.get("failed_on") and worst is not None:
        result = dataclasses.replace(
            result,
            reason=(
                f"worst 60 s sub-window {format_value(worst, 'rps')} is outside objective "
                f"{objective.describe()} (window average {format_value(average or 0.0, 'rps')})"
            ),
        )
    return result


def under_offered(
    result: KpiResult, config: SloConfig, load_result: LoadResult | None
) -> KpiResult:
    """A throughput floor cannot be judged from a load that offered less than the floor.

    A service only completes what it is sent: 300 req/s offered and completed says nothing
    about a 1000 req/s objective, so the verdict is ``no_data`` (as the load run's own is),
    not ``fail``. Without a load result (an audit of real traffic) the figure is judged as is.
    """
    objective = config.objective("throughput_rps")
    offered = load_result.target_rps if load_result else None
    reason = offered_below(objective, float(offered)) if offered is not None else None
    if reason is None or result.verdict is not Verdict.FAIL:
        return result
    return dataclasses.replace(
        result,
        verdict=Verdict.NO_DATA,
        gating=not objective.report_only and objective.no_data == "fail",
        reason=reason,
    )
