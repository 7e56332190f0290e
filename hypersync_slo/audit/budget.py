"""Error-budget math over a period: pure functions and frozen values, no I/O.

Two ways of counting compliance, always named as such:

* **event-based** (OpenSLO ``Occurrences``): good events / all events over the period. The error
  budget is ``(1 - objective) x events``; consumed is the bad events.
* **time-slice-based** (OpenSLO ``Timeslices``): the period is cut into slices (1 minute by
  default); a slice is good when its bad-event ratio is within ``1 - objective``. The budget is
  ``(1 - objective) x slices``; consumed is the bad slices. Slices without data are neither good
  nor bad: they lower the coverage instead.

Burn rate (SRE workbook): the bad-event ratio over a window / ``(1 - objective)``. A burn rate of
1.0 uses the budget up exactly at the end of the period; the workbook's page/ticket factors for a
30-day period are 14.4 (1 h), 6 (6 h), 3 (1 d) and 1 (3 d), taken from ``prometheus.burn_windows``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hypersync_slo.errors import ConfigError
from hypersync_slo.prometheus.burn_windows import BURN_WINDOWS, SLO_PERIOD_DAYS

#: The workbook's long windows in seconds and the factor each is compared against.
_UNIT = {"m": 60, "h": 3600, "d": 86400}


def _seconds(text: str) -> int:
    return int(text[:-1]) * _UNIT[text[-1]]


#: ``(window name, seconds, factor, severity)`` for 1h, 6h, 1d and 3d.
BURN_RATE_WINDOWS: tuple[tuple[str, int, float, str], ...] = tuple(
    (w.long, _seconds(w.long), w.factor, w.severity) for w in BURN_WINDOWS
)
#: The period the workbook factors assume.
WORKBOOK_PERIOD_SECONDS = SLO_PERIOD_DAYS * 86400


def allowed_ratio(objective: float) -> float:
    """The error budget as a ratio: ``1 - objective`` (0.001 for 99.9 %)."""
    if not 0.0 < objective < 1.0 or math.isnan(objective):
        raise ConfigError(
            f"an SLO objective must lie strictly between 0 and 1 (got {objective!r}); "
            "a 100 % objective leaves no error budget."
        )
    return 1.0 - objective


def compliance_event_based(good: float, total: float) -> float:
    """Good events / all events; NaN when there were no events."""
    if total <= 0:
        return math.nan
    return good / total


def compliance_time_slice_based(good_slices: int, slices_with_data: int) -> float:
    """Good slices / slices with data; NaN when no slice had data."""
    if slices_with_data <= 0:
        return math.nan
    return good_slices / slices_with_data


def burn_rate(bad_ratio: float, objective: float) -> float:
    """How fast the budget burns: 1.0 exactly when the bad ratio equals ``1 - objective``."""
    return bad_ratio / allowed_ratio(objective)


def coverage(slices_with_data: int, slices_expected: int) -> float:
    """The share of the period's slices that had data, in [0, 1]."""
    if slices_expected <= 0:
        return 0.0
    return max(0.0, min(1.0, slices_with_data / slices_expected))


@dataclass(frozen=True)
class ErrorBudget:
    """One budget: how many bad units (events or slices) the objective allows, and how many came.

    ``total = consumed + remaining`` always; ``remaining`` is negative once the budget is
    overspent.
    """

    objective: float
    units: float
    bad: float

    @property
    def total(self) -> float:
        """Bad units the objective allows over the period."""
        return allowed_ratio(self.objective) * self.units

    @property
    def consumed(self) -> float:
        """Bad units that came."""
        return self.bad

    @property
    def remaining(self) -> float:
        """Bad units still allowed (negative when overspent)."""
        return self.total - self.consumed

    @property
    def consumed_fraction(self) -> float:
        """Consumed / total (1.0 = exactly used up; NaN without units)."""
        if self.total <= 0:
            return math.nan
        return self.consumed / self.total

    @property
    def remaining_fraction(self) -> float:
        """Remaining / total (negative when overspent; NaN without units)."""
        if self.total <= 0:
            return math.nan
        return self.remaining / self.total

    @property
    def compliance(self) -> float:
        """Good units / all units."""
        return compliance_event_based(self.units - self.bad, self.units)

    @property
    def exhausted(self) -> bool:
        """True when more bad units came than the objective allows."""
        return self.units > 0 and self.consumed > self.total


def time_to_exhaustion(remaining_fraction: float, rate: float, period_seconds: float) -> float:
    """Seconds until the remaining budget is gone if the budget keeps burning at ``rate``.

    At burn rate 1 the whole budget lasts ``period_seconds``, so ``remaining_fraction`` of it lasts
    ``remaining_fraction x period / rate``. Already exhausted: 0. Not burning: infinity. Unknown
    (NaN) stays NaN.
    """
    if math.isnan(remaining_fraction) or math.isnan(rate):
        return math.nan
    if remaining_fraction <= 0:
        return 0.0
    if rate <= 0:
        return math.inf
    return remaining_fraction * period_seconds / rate


@dataclass(frozen=True)
class BurnRate:
    """The burn rate over one workbook window ending at the period's end."""

    window: str
    seconds: int
    factor: float
    severity: str
    total: float
    bad: float
    objective: float

    @property
    def bad_ratio(self) -> float:
        """Bad events / events in the window (NaN without events)."""
        return self.bad / self.total if self.total > 0 else math.nan

    @property
    def rate(self) -> float:
        """The burn rate (NaN without events)."""
        return burn_rate(self.bad_ratio, self.objective)

    @property
    def above_factor(self) -> bool:
        """True when the window burns faster than its workbook factor (a page or ticket pace)."""
        return not math.isnan(self.rate) and self.rate > self.factor


@dataclass(frozen=True)
class Day:
    """One day of the period (a 24 h window ending at ``end``)."""

    start: float
    end: float
    total: float
    bad: float

    @property
    def bad_ratio(self) -> float:
        """Bad events / events that day (NaN without events)."""
        return self.bad / self.total if self.total > 0 else math.nan


def worst_day(days: list[Day]) -> Day | None:
    """The day with the highest bad ratio (ties: the earlier); None when no day had events."""
    best: Day | None = None
    for day in days:
        if math.isnan(day.bad_ratio):
            continue
        if best is None or day.bad_ratio > best.bad_ratio:
            best = day
    return best
