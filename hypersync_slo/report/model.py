"""The report of one window: ``Report`` and how one is started, guarded and cut short.

A ``Report`` holds the KPI verdicts (``verdicts.KpiResult``), the findings of the
reconciliation, the time series for the plots and the provenance (window, source, scrapes,
query timings). ``new_report`` starts an empty one; ``guard`` runs one query step and records a
Prometheus failure in it instead of raising; ``mark_interrupted`` closes it when Ctrl-C came.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import pandas as pd

from hypersync_slo.config import KPIS, SloConfig
from hypersync_slo.errors import PrometheusUnavailable
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.report.reconcile import Discrepancy
from hypersync_slo.report.scrapes import Coverage
from hypersync_slo.results import LoadResult
from hypersync_slo.verdicts import KpiResult, Verdict, errored, exit_code_for, overall

#: The reason of a KPI that Ctrl-C stopped before it was computed.
INTERRUPTED = "interrupted"
T = TypeVar("T")


@dataclass
class Report:
    """The outcome of one window: KPI verdicts, findings, plot series and provenance."""

    window: tuple[datetime, datetime]
    target: str
    prometheus_url: str
    job: str | None
    slo_file: str
    kpis: list[KpiResult] = field(default_factory=list)
    findings: list[Discrepancy] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    series: dict[str, pd.Series] = field(default_factory=dict)
    budgets: dict[str, float] = field(default_factory=dict)
    step: float = 0.0
    #: The scrapes bracketing the window (None before they were read).
    coverage: Coverage | None = None
    query_seconds: float = 0.0
    compute_seconds: float = 0.0
    queries: int = 0
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: Ctrl-C stopped the evaluation: KPIs not yet computed read ``error`` (``interrupted``).
    interrupted: bool = False
    #: The ``log`` source (``report --logs``): its KPIs and what was read; gating only when
    #: there is no Prometheus (then they are also ``kpis``).
    log_kpis: list[KpiResult] = field(default_factory=list)
    log_summary: dict[str, Any] | None = None
    #: The load run's result (client figures: corrected latencies, per request), for the plots.
    load: LoadResult | None = None

    @property
    def verdict(self) -> Verdict:
        """The overall verdict over the gating KPIs."""
        return overall(self.kpis)

    @property
    def exit_code(self) -> ExitCode:
        """The process exit code: 130 when Ctrl-C cut the evaluation short, else the verdict's."""
        return ExitCode.INTERRUPTED if self.interrupted else exit_code_for(self.verdict)

    def kpi(self, name: str) -> KpiResult:
        """The result of one KPI by name."""
        for result in self.kpis:
            if result.name == name:
                return result
        raise KeyError(name)

    @property
    def seconds(self) -> float:
        """The window's length in seconds."""
        return (self.window[1] - self.window[0]).total_seconds()

    @property
    def counted_until(self) -> float:
        """Unix time up to which scrapes count the window's requests: the scrape after its end."""
        if self.coverage is None:
            return self.window[1].timestamp()
        return self.coverage.counted_until

    @property
    def settle(self) -> float:
        """Seconds of scrapes after the window's end that count it (to the first scrape after)."""
        return self.counted_until - self.window[1].timestamp()


def guard(report: Report, what: str, call: Callable[[], T]) -> T | PrometheusUnavailable:
    """Run one query step; a Prometheus failure is recorded and returned instead of raised."""
    try:
        return call()
    except PrometheusUnavailable as exc:
        report.errors.append(f"{what}:\n{exc}")
        return exc


def unreadable(
    config: SloConfig,
    names: Iterable[str],
    window: tuple[datetime, datetime],
    query: str,
    failure: PrometheusUnavailable,
) -> dict[str, KpiResult]:
    """``error`` for every KPI in ``names``: the query they depend on failed (its first line)."""
    return {
        name: errored(
            config.objective(name),
            source="prometheus",
            window=window,
            query=query,
            reason=str(failure).splitlines()[0],
        )
        for name in names
    }


def new_report(
    prometheus_url: str,
    config: SloConfig,
    start: datetime,
    end: datetime,
    *,
    job: str | None = None,
    load_result: LoadResult | None = None,
    coverage: Coverage | None = None,
) -> Report:
    """An empty report for the window (no KPI yet), with its target, source and budgets."""
    return Report(
        window=(start, end),
        target=str(
            (load_result.target_url if load_result else None)
            or (job and f"job={job}")
            or "all jobs"
        ),
        prometheus_url=prometheus_url,
        job=job,
        slo_file=config.source,
        coverage=coverage,
        load=load_result,
        budgets={
            name: obj.value
            for name, obj in config.objectives.items()
            if obj.value is not None and not obj.report_only
        },
    )


def mark_interrupted(
    report: Report, config: SloConfig, computed: Mapping[str, KpiResult] | None = None
) -> None:
    """Stop ``report`` where Ctrl-C found it: every KPI not in ``computed`` is ``error``."""
    done = dict(computed or {})
    report.interrupted = True
    report.kpis = [
        done.get(name)
        or errored(
            config.objective(name),
            source="prometheus",
            window=report.window,
            query="(not run)",
            reason=INTERRUPTED,
        )
        for name in KPIS
    ]
    missing = [name for name in KPIS if name not in done]
    report.errors.append(
        f"interrupted (Ctrl-C) after {len(KPIS) - len(missing)} of {len(KPIS)} KPIs"
        + (
            f"; not computed: {', '.join(missing)}"
            if missing
            else "; plots or reconciliation cut short"
        )
    )
