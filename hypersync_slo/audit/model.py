"""The model of a period audit: what ``audit_period`` found, for the writers and the history.

``AuditReport`` holds the period, every ``SloAudit`` (budget by events and by slices, burn
rates, days, the queries behind each figure, the verdict and its reasons) and the period's
``Coverage`` with its ``Gap``s. The figures are computed in ``audit.period``; these classes
only derive from them (worst day, current burn, time to exhaustion, overall verdict).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlencode

from hypersync_slo.audit import budget
from hypersync_slo.audit.budget import BurnRate, Day, ErrorBudget
from hypersync_slo.prometheus.promql import duration
from hypersync_slo.redaction import redact_url
from hypersync_slo.timestamps import rfc3339_seconds
from hypersync_slo.verdicts import Verdict

Budgeting = Literal["occurrences", "timeslices", "both"]


@dataclass(frozen=True)
class Gap:
    """A stretch of the period without data, at slice resolution within hour blocks."""

    start: float
    end: float
    missing_slices: int

    def describe(self, slice_seconds: float) -> str:
        """``2026-10-20T00:00Z - 2026-10-20T06:00Z: 360 of 360 1-minute slices without data``."""
        blocks = (self.end - self.start) / slice_seconds
        return (
            f"{rfc3339_seconds(self.start)} - {rfc3339_seconds(self.end)}: {self.missing_slices} of {blocks:.0f} "
            f"{slice_seconds / 60:g}-minute slices without data"
        )


@dataclass(frozen=True)
class Coverage:
    """How much of the period has data (slices with at least one counted interval)."""

    slices_expected: int
    slices_with_data: int
    first_data: float | None
    last_data: float | None
    gaps: tuple[Gap, ...] = ()
    #: Slices with every target down (``up`` 0): counted as covered, and bad for the success rate.
    down_slices: int = 0

    @property
    def ratio(self) -> float:
        """Slices with data / slices in the period."""
        return budget.coverage(self.slices_with_data, self.slices_expected)


@dataclass
class SloAudit:
    """Every figure of one SLO over the period, with the queries that produced them."""

    name: str
    description: str
    objective: float
    period: float
    slice_seconds: float
    events: ErrorBudget
    slices: ErrorBudget
    slices_with_data: int
    burn_rates: list[BurnRate]
    days: list[Day]
    queries: dict[str, str]
    verdict: Verdict = Verdict.NO_DATA
    reasons: list[str] = field(default_factory=list)
    #: Why the bad-event count could not be read although events were counted (never a pass).
    unreadable: str | None = None

    @property
    def worst_day(self) -> Day | None:
        """The day of the period with the highest bad ratio."""
        return budget.worst_day(self.days)

    @property
    def current_burn(self) -> BurnRate | None:
        """The shortest workbook window with events: the "current" burn rate."""
        for rate in self.burn_rates:
            if not math.isnan(rate.rate):
                return rate
        return None

    @property
    def time_to_exhaustion(self) -> float:
        """Seconds until the event budget is gone at the current burn rate (inf: not burning)."""
        current = self.current_burn
        if current is None:
            return math.nan
        return budget.time_to_exhaustion(self.events.remaining_fraction, current.rate, self.period)


@dataclass
class AuditReport:
    """The outcome of one period audit."""

    window: tuple[datetime, datetime]
    prometheus_url: str
    job: str | None
    slo_file: str
    budgeting: Budgeting
    min_coverage: float
    slice_seconds: float
    slos: list[SloAudit]
    coverage: Coverage
    slis: dict[str, float]
    queries: int = 0
    query_seconds: float = 0.0
    seconds: float = 0.0
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    notes: list[str] = field(default_factory=list)

    @property
    def period(self) -> float:
        """The period's length in seconds."""
        return (self.window[1] - self.window[0]).total_seconds()

    @property
    def verdict(self) -> Verdict:
        """fail > no_data > pass over the SLOs (no SLO at all: no_data)."""
        verdicts = [slo.verdict for slo in self.slos]
        if Verdict.FAIL in verdicts:
            return Verdict.FAIL
        if not verdicts or Verdict.NO_DATA in verdicts or Verdict.ERROR in verdicts:
            return Verdict.NO_DATA
        return Verdict.PASS

    def link(self, expr: str | None = None) -> str:
        """A Prometheus graph link showing the audited period (the first SLO's 1 h bad ratio)."""
        first = self.slos[0] if self.slos else None
        shown = expr or (
            f"({first.queries['bad_1h']}) / ({first.queries['total_1h']})" if first else "up"
        )
        params = {
            "g0.expr": shown,
            "g0.tab": "0",
            "g0.range_input": duration(self.period),
            "g0.end_input": self.window[1].strftime("%Y-%m-%d %H:%M:%S"),
        }
        return f"{redact_url(self.prometheus_url)}/graph?{urlencode(params)}"
