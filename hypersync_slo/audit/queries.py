"""PromQL for a period audit: every figure aggregated by Prometheus, never raw points pulled.

* Event counts over the period and each burn window: ``sum(increase(x[D]))`` evaluated at the
  period's end. ``increase`` handles counter resets (a restart) and counts the requests served
  while Prometheus was down once the counter is scraped again.
* Time slices: a subquery at the slice step over the period, e.g.
  ``count_over_time((sum(increase(x[1m])))[2591970s:1m])`` counts the 1-minute slices with data;
  ``sum_over_time(((bad / total) > bool 0.001)[...:1m])`` counts the bad ones. The subquery range
  is the period minus half a slice, so it holds exactly ``period / slice`` steps (Prometheus 2
  includes both ends of a range).
* Coverage: the first and last slice with data (``min_over_time(timestamp(...)[...])``) reveal a
  retention shorter than the period; a per-hour count of slices with data locates the gaps.
* Target down: slices where ``up`` was 0 for every target of the job the whole slice; the
  success-rate audit counts them as bad slices (known down), not as missing data.
* Worst day: a range query with a one-day step over ``increase(x[1d])``: one point per day.

A slice's ``increase(x[1m])`` needs two samples within the minute: the audit needs a scrape
interval of at most half the slice (30 s for 1-minute slices); with a coarser one, use a wider
``--slice``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypersync_slo.config import SloConfig
from hypersync_slo.prometheus.promql import duration, le_regex
from hypersync_slo.prometheus.queries import Queries


@dataclass(frozen=True)
class SliQueries:
    """The bad-event and all-event counts of one SLO, for any window."""

    name: str
    description: str
    objective: float
    total_template: str
    bad_template: str
    #: A latency SLO's threshold in seconds (the ``le`` bucket its bad count needs), else None.
    threshold: float | None = None

    def total(self, seconds: float) -> str:
        """All events over the ``seconds`` before the evaluation time."""
        return self.total_template.replace("{w}", duration(seconds))

    def bad(self, seconds: float) -> str:
        """Bad events over the ``seconds`` before the evaluation time (0 when none)."""
        return self.bad_template.replace("{w}", duration(seconds))

    def slices_with_data(self, period: float, slice_seconds: float) -> str:
        """How many slices of the period had events counted."""
        return f"count_over_time(({self.total(slice_seconds)})[{_sub(period, slice_seconds)}])"

    def bad_slices(self, period: float, slice_seconds: float) -> str:
        """How many slices of the period had a bad ratio above the budget."""
        ratio = f"({self.bad(slice_seconds)}) / ({self.total(slice_seconds)})"
        budget = f"{1.0 - self.objective:.12g}"
        return f"sum_over_time((({ratio}) > bool {budget})[{_sub(period, slice_seconds)}])"

    def first_data(self, period: float, slice_seconds: float) -> str:
        """Unix time of the first slice with data in the period."""
        inner = f"timestamp({self.total(slice_seconds)})"
        return f"min_over_time(({inner})[{_sub(period, slice_seconds)}])"

    def last_data(self, period: float, slice_seconds: float) -> str:
        """Unix time of the last slice with data in the period."""
        inner = f"timestamp({self.total(slice_seconds)})"
        return f"max_over_time(({inner})[{_sub(period, slice_seconds)}])"

    def slices_per_block(self, block: float, slice_seconds: float) -> str:
        """Slices with data in the ``block`` seconds before each point (to locate gaps)."""
        return self.slices_with_data(block, slice_seconds)


def _sub(period: float, slice_seconds: float) -> str:
    """A subquery range and step holding exactly ``period / slice`` steps."""
    return f"{duration(period - slice_seconds / 2)}:{duration(slice_seconds)}"


def sli_queries(config: SloConfig, *, job: str | None, routes: str | None) -> list[SliQueries]:
    """The audited SLOs of an SLO file: the request success rate, then each latency objective.

    Success rate ``>= 99.9 %`` and error rate ``< 0.1 %`` are one budget (the strictest of those
    given): API requests answered without a server error, counted on the profile's request
    series (``metrics.profile``). ``availability`` (successful health checks) is the report's
    probe KPI and is not a request budget. ``latency_p95 < 100ms`` is "95 % of requests within
    100 ms", counted from the histogram bucket at 100 ms (in the histogram's unit).
    """
    q = Queries(config, job=job, routes=routes)
    http = config.http
    total = f"sum(increase({http.requests}{q.selector()}[{{w}}]))"
    budgets: list[float] = []
    success = config.objectives.get("success_rate")
    if success and not success.report_only and success.value is not None:
        budgets.append(1.0 - success.value)
    error_rate = config.objectives.get("error_rate")
    if error_rate and not error_rate.report_only and error_rate.value is not None:
        budgets.append(error_rate.value)
    out: list[SliQueries] = []
    if budgets:
        budget = min(budgets)
        errors = (
            f"sum(increase({http.requests}"
            f"{q.selector({http.status: '~' + http.server_error})}[{{w}}]))"
        )
        out.append(
            SliQueries(
                "success_rate",
                f"{(1 - budget) * 100:g} % of API requests answered without a server error "
                f"(error rate < {budget * 100:g} %)",
                1.0 - budget,
                total,
                f"({errors} or vector(0))",
            )
        )
    histogram_total = f"sum(increase({http.count}{q.selector()}[{{w}}]))"
    for kpi in ("latency_p95", "latency_p99"):
        objective = config.objectives.get(kpi)
        if (
            not objective
            or objective.report_only
            or objective.value is None
            or objective.quantile is None
            or objective.comparator not in ("<", "<=")
        ):
            continue
        le = "~" + le_regex(http.le(objective.value))
        fast = f"sum(increase({http.bucket}{q.selector({'le': le})}[{{w}}]))"
        out.append(
            SliQueries(
                kpi,
                f"{objective.quantile * 100:g} % of requests within {objective.value * 1000:g} ms",
                objective.quantile,
                histogram_total,
                f"({histogram_total} - {fast})",
                objective.value,
            )
        )
    return out


def down_slices(config: SloConfig, *, job: str | None, period: float, slice_seconds: float) -> str:
    """How many slices every scraped target of the job was down for (``up`` 0 all the slice).

    Such a slice has no request data (the scrapes failed), but it is not unknown: the service
    did not answer. The success-rate audit counts it as a bad slice, not as missing coverage.
    """
    sel = Queries(config, job=job).selector(routes=False)
    up = f"max(max_over_time(up{sel}[{duration(slice_seconds)}]))"
    return f"sum_over_time(({up} == bool 0)[{_sub(period, slice_seconds)}])"


def quantile_over_period(
    config: SloConfig, q: float, *, job: str | None, routes: str | None
) -> str:
    """``histogram_quantile`` over the whole period, in seconds (``{w}`` = the period)."""
    sel = Queries(config, job=job, routes=routes).selector()
    http = config.http
    return http.in_seconds(
        f"histogram_quantile({q:g}, sum by (le) (increase({http.bucket}{sel}[{{w}}])))"
    )
