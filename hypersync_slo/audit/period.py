"""One period audit: query Prometheus for every SLO's budget, burn, worst day and coverage.

``audit_period`` sends a fixed number of aggregated queries per SLO whatever the period's
length (see ``audit.queries``) and judges:

* ``fail``: the error budget is exhausted (event-based, time-slice-based, or both, as asked) over
  the data there is;
* ``no_data``: no events (even when slices were scraped), events whose bad count cannot be read
  (a latency SLO whose histogram has no bucket at the threshold), or the coverage of the period
  is below ``min_coverage``: the audit never claims compliance over time it has no data for;
* ``pass``: otherwise.

The figures land in the classes of ``audit.model``. A Prometheus failure raises
``PrometheusUnavailable`` (exit 5).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from datetime import datetime

from hypersync_slo.audit import budget
from hypersync_slo.audit.budget import BurnRate, Day, ErrorBudget
from hypersync_slo.audit.model import AuditReport, Budgeting, Coverage, Gap, SloAudit
from hypersync_slo.audit.queries import (
    SliQueries,
    down_slices,
    quantile_over_period,
    sli_queries,
)
from hypersync_slo.config import SloConfig
from hypersync_slo.errors import UsageError, explain
from hypersync_slo.prometheus.client import PrometheusClient
from hypersync_slo.prometheus.promql import duration
from hypersync_slo.verdicts import Verdict

DAY = 86400.0
HOUR = 3600.0


def _scalar(client: PrometheusClient, query: str, at: float) -> float:
    """The single value of an aggregated instant query; NaN when the result is empty."""
    samples = client.instant(query, at)
    if not samples:
        return math.nan
    return float(samples[0].value)


def _count(value: float) -> float:
    return 0.0 if math.isnan(value) else value


def audit_period(
    client: PrometheusClient,
    config: SloConfig,
    start: datetime,
    end: datetime,
    *,
    job: str | None = None,
    routes: str | None = None,
    slice_seconds: float = 60.0,
    budgeting: Budgeting = "both",
    min_coverage: float = 0.99,
) -> AuditReport:
    """Audit ``[start, end]``: budget, burn rates, worst day, coverage and period SLIs."""
    if start.tzinfo is None or end.tzinfo is None:
        raise UsageError("the audit period's start and end must carry a time zone (use UTC).")
    period = (end - start).total_seconds()
    if period < slice_seconds or slice_seconds <= 0:
        raise UsageError(
            explain(
                "The audit period is shorter than one slice.",
                start=start.isoformat(),
                end=end.isoformat(),
                slice=f"{slice_seconds:g} s",
                what_to_do="give a longer --last (e.g. 30d) or a shorter --slice",
            )
        )
    if period % slice_seconds:
        raise UsageError(
            f"the audit period ({period:g} s) is not a whole number of {slice_seconds:g} s slices; "
            "align --end or --last to the slice."
        )
    began = time.perf_counter()
    queries_before, seconds_before = client.stats.queries, client.stats.seconds
    t_end = end.timestamp()
    slis = sli_queries(config, job=job, routes=routes)
    if not slis:
        raise UsageError(
            "the SLO file has no objective an audit can budget: give success_rate, error_rate or "
            "a latency_p95/p99 '<' objective."
        )
    expected = round(period / slice_seconds)
    audits = [
        _audit_slo(client, sli, period=period, t_end=t_end, slice_seconds=slice_seconds)
        for sli in slis
    ]
    down_query = down_slices(config, job=job, period=period, slice_seconds=slice_seconds)
    down = int(_count(_scalar(client, down_query, t_end)))
    coverage = _coverage(
        client,
        slis[0],
        period=period,
        t_end=t_end,
        slice_seconds=slice_seconds,
        expected=expected,
        down=down,
        down_block=down_slices(
            config, job=job, period=min(HOUR, period), slice_seconds=slice_seconds
        ),
    )
    if down and audits[0].name == "success_rate":
        first = audits[0]
        first.queries["down_slices"] = down_query
        first.slices_with_data += down
        first.slices = ErrorBudget(
            first.objective, first.slices.units + down, first.slices.bad + down
        )
    period_slis: dict[str, float] = {}
    first = audits[0]
    if first.events.units > 0:
        period_slis["error_rate" if first.name == "success_rate" else f"{first.name}_bad_ratio"] = (
            first.events.bad / first.events.units
        )
    for audit in audits:
        period_slis[f"{audit.name}_compliance_event_based"] = audit.events.compliance
        period_slis[f"{audit.name}_compliance_time_slice_based"] = (
            budget.compliance_time_slice_based(
                round(audit.slices_with_data - audit.slices.bad), audit.slices_with_data
            )
        )
        period_slis[f"{audit.name}_budget_remaining"] = audit.events.remaining_fraction
    for kpi, q in (("latency_p95", 0.95), ("latency_p99", 0.99)):
        query = quantile_over_period(config, q, job=job, routes=routes).replace(
            "{w}", duration(period)
        )
        period_slis[kpi] = _scalar(client, query, t_end)
    period_slis["coverage"] = coverage.ratio
    report = AuditReport(
        window=(start, end),
        prometheus_url=client.url,
        job=job,
        slo_file=config.source,
        budgeting=budgeting,
        min_coverage=min_coverage,
        slice_seconds=slice_seconds,
        slos=audits,
        coverage=coverage,
        slis=period_slis,
    )
    if audits[0].events.units > 0 and coverage.slices_with_data - coverage.down_slices == 0:
        report.notes.append(
            f"requests were counted over the period but no {slice_seconds:g} s slice holds two "
            "samples: the scrape interval is probably longer than half a slice; give a wider "
            "--slice (e.g. 2m for a 1m scrape interval)"
        )
    for audit in audits:
        _judge(audit, coverage, budgeting, min_coverage)
    report.queries = client.stats.queries - queries_before
    report.query_seconds = client.stats.seconds - seconds_before
    report.seconds = time.perf_counter() - began
    return report


def _audit_slo(
    client: PrometheusClient,
    sli: SliQueries,
    *,
    period: float,
    t_end: float,
    slice_seconds: float,
) -> SloAudit:
    queries: dict[str, str] = {
        "total": sli.total(period),
        "bad": sli.bad(period),
        "slices_with_data": sli.slices_with_data(period, slice_seconds),
        "bad_slices": sli.bad_slices(period, slice_seconds),
    }
    total = _count(_scalar(client, queries["total"], t_end))
    raw_bad = _scalar(client, queries["bad"], t_end) if total > 0 else 0.0
    unreadable: str | None = None
    if math.isnan(raw_bad):
        # Empty, not zero: for a latency SLO ``total - fast`` is empty when no ``le`` bucket
        # sits at the threshold. Counting that as 0 bad events would pass at 100 %.
        unreadable = (
            f"no histogram bucket at the threshold {sli.threshold:g} s: {total:.0f} events "
            "counted but none can be judged fast or slow (no data)"
            if sli.threshold is not None
            else f"{total:.0f} events counted but the bad-event query returned nothing (no data)"
        )
    bad = _count(raw_bad)
    with_data = int(_count(_scalar(client, queries["slices_with_data"], t_end)))
    bad_slices = int(_count(_scalar(client, queries["bad_slices"], t_end))) if with_data else 0
    rates: list[BurnRate] = []
    days: list[Day] = []
    # Without a readable bad count, burn rates and worst days would read it as 0: leave them out.
    windows = budget.BURN_RATE_WINDOWS if unreadable is None else ()
    for name, seconds, factor, severity in windows:
        if seconds > period:
            continue
        queries[f"total_{name}"] = sli.total(seconds)
        queries[f"bad_{name}"] = sli.bad(seconds)
        w_total = _count(_scalar(client, queries[f"total_{name}"], t_end))
        w_bad = _count(_scalar(client, queries[f"bad_{name}"], t_end)) if w_total > 0 else 0.0
        rates.append(BurnRate(name, seconds, factor, severity, w_total, w_bad, sli.objective))
    whole_days = int(period // DAY) if unreadable is None else 0
    if whole_days >= 1:
        queries["total_per_day"] = sli.total(DAY)
        queries["bad_per_day"] = sli.bad(DAY)
        first = t_end - (whole_days - 1) * DAY
        totals = _points(client, queries["total_per_day"], first, t_end, DAY)
        bads = _points(client, queries["bad_per_day"], first, t_end, DAY)
        for k in range(whole_days):
            at = first + k * DAY
            day_total = totals.get(at, 0.0)
            if day_total > 0:
                days.append(Day(at - DAY, at, day_total, bads.get(at, 0.0)))
    if "1h" not in {r.window for r in rates}:
        queries["total_1h"] = sli.total(min(HOUR, period))
        queries["bad_1h"] = sli.bad(min(HOUR, period))
    return SloAudit(
        name=sli.name,
        description=sli.description,
        objective=sli.objective,
        period=period,
        slice_seconds=slice_seconds,
        events=ErrorBudget(sli.objective, total, bad),
        slices=ErrorBudget(sli.objective, with_data, bad_slices),
        slices_with_data=with_data,
        burn_rates=rates,
        days=days,
        queries=queries,
        unreadable=unreadable,
    )


def _points(
    client: PrometheusClient, query: str, start: float, end: float, step: float
) -> dict[float, float]:
    series = client.range(query, start, end, step)
    if not series:
        return {}
    return {t: v for t, v in series[0].points if not math.isnan(v)}


def _coverage(
    client: PrometheusClient,
    sli: SliQueries,
    *,
    period: float,
    t_end: float,
    slice_seconds: float,
    expected: int,
    down: int = 0,
    down_block: str = "",
) -> Coverage:
    with_data = int(_count(_scalar(client, sli.slices_with_data(period, slice_seconds), t_end)))
    if with_data == 0:
        return Coverage(expected, down, None, None, (), down)
    with_data += down
    first = _scalar(client, sli.first_data(period, slice_seconds), t_end)
    last = _scalar(client, sli.last_data(period, slice_seconds), t_end)
    gaps: list[Gap] = []
    if with_data < expected:
        block = HOUR if period >= HOUR else period
        per_block = round(block / slice_seconds)
        blocks = round(period // block)
        start = t_end - (blocks - 1) * block
        counts = _points(client, sli.slices_per_block(block, slice_seconds), start, t_end, block)
        downs = _points(client, down_block, start, t_end, block) if down and down_block else {}
        open_gap: list[float] | None = None
        for k in range(blocks):
            at = start + k * block
            missing = per_block - int(counts.get(at, 0.0)) - int(downs.get(at, 0.0))
            if missing > 0:
                if open_gap is None:
                    open_gap = [at - block, at, float(missing)]
                else:
                    open_gap[1] = at
                    open_gap[2] += missing
            elif open_gap is not None:
                gaps.append(Gap(open_gap[0], open_gap[1], int(open_gap[2])))
                open_gap = None
        if open_gap is not None:
            gaps.append(Gap(open_gap[0], open_gap[1], int(open_gap[2])))
    return Coverage(
        expected,
        with_data,
        None if math.isnan(first) else first - slice_seconds,
        None if math.isnan(last) else last,
        tuple(gaps),
        down,
    )


def _judge(audit: SloAudit, coverage: Coverage, budgeting: Budgeting, min_coverage: float) -> None:
    reasons: list[str] = []
    methods: Sequence[str] = ("occurrences", "timeslices") if budgeting == "both" else (budgeting,)
    if audit.events.units <= 0 and audit.slices.units <= 0:
        audit.verdict = Verdict.NO_DATA
        audit.reasons = ["no events counted over the period (no data): compliance is not claimed"]
        return
    if audit.unreadable is not None:
        audit.verdict = Verdict.NO_DATA
        audit.reasons = [f"{audit.unreadable}: compliance is not claimed"]
        return
    failed = False
    if "occurrences" in methods and audit.events.exhausted:
        failed = True
        reasons.append(
            f"event-based error budget exhausted: {audit.events.consumed:.0f} bad events of "
            f"{audit.events.total:.1f} allowed ({audit.events.consumed_fraction * 100:.1f} % "
            "consumed)"
        )
    if "timeslices" in methods and audit.slices.exhausted:
        failed = True
        reasons.append(
            f"time-slice-based error budget exhausted: {audit.slices.consumed:.0f} bad "
            f"{audit.slice_seconds / 60:g}-minute slices of {audit.slices.total:.1f} allowed "
            f"({audit.slices.consumed_fraction * 100:.1f} % consumed)"
        )
    if failed:
        if coverage.ratio < 1.0:
            reasons.append(f"judged over the {coverage.ratio * 100:.2f} % of the period with data")
        audit.verdict = Verdict.FAIL
    elif coverage.ratio < min_coverage:
        audit.verdict = Verdict.NO_DATA
        reasons.append(
            f"coverage {coverage.ratio * 100:.2f} % of the period is below the "
            f"{min_coverage * 100:g} % needed to claim compliance"
        )
    elif audit.events.units <= 0:
        # Scraped but idle (slices with 0 events): nothing was judged, so nothing is claimed.
        audit.verdict = Verdict.NO_DATA
        reasons.append(
            f"no events counted over the period ({audit.slices.units:.0f} scraped "
            f"{audit.slice_seconds / 60:g}-minute slices, 0 events; no data): compliance is not "
            "claimed"
        )
    else:
        audit.verdict = Verdict.PASS
    audit.reasons = reasons
