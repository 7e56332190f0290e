"""The verdict model: one ``KpiResult`` per KPI, judged against its ``Objective``.

Shared by the reporter, the contract gate's KPI tests and the load run, so every
verdict anywhere in the tool is reached the same way:

* fewer samples than the objective's minimum (or no observation, or NaN) is ``no_data``,
  stated with the count; it never becomes ``pass``;
* ``no_data`` fails closed: it counts against the overall verdict unless the SLO file's
  ``no_data`` policy for that KPI is ``pass`` or ``skip`` (then the KPI still reads
  ``no_data``, it just does not gate);
* ``error`` means the source could not be read;
* an observation that cannot show the objective whatever its sample count (a throughput floor
  above the rate the load offered, ``offered_below``) is ``no_data`` with that reason.

The overall verdict ranks ``fail`` > ``error`` > ``no_data`` > ``pass`` over the gating KPIs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any, Literal

from hypersync_slo.config import Objective, format_value
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.timestamps import rfc3339, rfc3339_seconds

Source = Literal["client", "prometheus", "probe", "log", "trace"]


class Verdict(StrEnum):
    """The four verdicts of docs/contracts.md §5."""

    PASS = "pass"
    FAIL = "fail"
    NO_DATA = "no_data"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


#: Rank for ``overall``: the highest rank among gating KPIs wins.
_RANK = {Verdict.PASS: 0, Verdict.NO_DATA: 1, Verdict.ERROR: 2, Verdict.FAIL: 3}
_EXIT = {
    Verdict.PASS: ExitCode.PASS,
    Verdict.FAIL: ExitCode.FAIL,
    Verdict.NO_DATA: ExitCode.NO_DATA,
    Verdict.ERROR: ExitCode.PROMETHEUS_UNAVAILABLE,
}


@dataclass(frozen=True)
class KpiResult:
    """One KPI's verdict with everything a reader needs to audit it."""

    name: str
    source: Source
    observed: float | None
    objective: str
    unit: str
    samples: int
    window: tuple[datetime, datetime]
    query: str
    verdict: Verdict
    reason: str = ""
    gating: bool = True
    detail: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for people, with source, sample count and window.

        ``latency_p99: fail, observed 612 ms (prometheus, 61043 samples,
        2026-11-27T02:00:00Z–02:01:00Z), objective < 500 ms``
        """
        shown = "n/a" if self.observed is None else format_value(self.observed, self.unit)
        text = (
            f"{self.name}: {self.verdict.value}, observed {shown} "
            f"({self.source}, {self.samples} samples, {window_text(self.window)}), "
            f"objective {self.objective}"
        )
        return f"{text}; {self.reason}" if self.reason else text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``kpis`` items of verdict.json)."""
        observed = self.observed
        if observed is not None and not math.isfinite(observed):
            observed = None
        return {
            "name": self.name,
            "source": self.source,
            "observed": observed,
            "objective": self.objective,
            "unit": self.unit,
            "samples": self.samples,
            "window": {"start": rfc3339(self.window[0]), "end": rfc3339(self.window[1])},
            "query": self.query,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "gating": self.gating,
            "detail": _jsonable(self.detail),
        }


def window_text(window: tuple[datetime, datetime]) -> str:
    """``2026-11-27T02:00:00Z–02:01:00Z`` (the end's date only when it differs), in UTC."""
    start, end = (t.astimezone(UTC) for t in window)
    last = rfc3339_seconds(end)
    return f"{rfc3339_seconds(start)}–{last[11:] if start.date() == end.date() else last}"


def judge(
    objective: Objective,
    observed: float | None,
    samples: int,
    *,
    source: Source,
    window: tuple[datetime, datetime],
    query: str,
    name: str | None = None,
    holds: bool | None = None,
    detail: Mapping[str, Any] | None = None,
    no_data_reason: str | None = None,
) -> KpiResult:
    """Judge one observation against ``objective``.

    ``holds`` overrides the comparison of ``observed`` with the objective when the verdict is
    decided another way (a latency threshold judged exactly from the histogram bucket at the
    threshold). The minimum-samples rule and the no-data policy apply either way.

    ``no_data_reason`` says why ``observed`` cannot show the objective however many samples it
    has (see ``offered_below``): the verdict is ``no_data`` with that reason, and the no-data
    policy and report-only handling apply as for too few samples.
    """
    needed = max(1, objective.min_samples)
    gating = not objective.report_only and objective.no_data == "fail"

    def result(verdict: Verdict, reason: str, gates: bool) -> KpiResult:
        return KpiResult(
            name=name or objective.kpi,
            source=source,
            observed=observed,
            objective=objective.describe(),
            unit=objective.unit,
            samples=samples,
            window=window,
            query=query,
            verdict=verdict,
            reason=reason,
            gating=gates,
            detail=dict(detail or {}),
        )

    if no_data_reason or observed is None or math.isnan(observed) or samples < needed:
        if no_data_reason:
            reason = no_data_reason
        elif observed is None or math.isnan(observed):
            reason = f"no observation in the window ({samples} samples)"
        else:
            reason = f"only {samples} samples; at least {needed} needed to judge {objective.kpi}"
        if objective.no_data != "fail" and not objective.report_only:
            reason += f" (no_data policy '{objective.no_data}': does not gate)"
        return result(Verdict.NO_DATA, reason, gating)
    if objective.report_only:
        return result(Verdict.PASS, "report only", False)
    ok = objective.holds(observed) if holds is None else holds
    return result(
        Verdict.PASS if ok else Verdict.FAIL,
        "" if ok else f"outside objective {objective.describe()}",
        True,
    )


def offered_below(objective: Objective, offered: float | None) -> str | None:
    """Why a load that offered ``offered`` req/s cannot show ``objective``, or None if it can.

    A service only completes what it is sent: 300 req/s offered and completed says nothing
    about a 1000 req/s floor. Only a floor (``>``/``>=``) that the offered rate does not meet
    is affected; without an offered rate (real traffic) there is nothing to say.
    """
    if (
        offered is None
        or objective.value is None
        or objective.comparator not in (">", ">=")
        or objective.holds(offered)
    ):
        return None
    return (
        f"the load offered {format_value(offered, 'rps')}, which cannot show "
        f"{objective.describe()}: offer more than the objective to judge capacity"
    )


def errored(
    objective: Objective,
    *,
    source: Source,
    window: tuple[datetime, datetime],
    query: str,
    reason: str,
    name: str | None = None,
) -> KpiResult:
    """A KPI whose source could not be read."""
    return KpiResult(
        name=name or objective.kpi,
        source=source,
        observed=None,
        objective=objective.describe(),
        unit=objective.unit,
        samples=0,
        window=window,
        query=query,
        verdict=Verdict.ERROR,
        reason=reason,
        gating=not objective.report_only,
    )


def overall(results: Iterable[KpiResult]) -> Verdict:
    """The combined verdict of the gating KPIs (no gating KPI at all is ``no_data``)."""
    gating = [r.verdict for r in results if r.gating]
    if not gating:
        return Verdict.NO_DATA
    return max(gating, key=_RANK.__getitem__)


def exit_code_for(verdict: Verdict) -> ExitCode:
    """The process exit code of an overall verdict (``error`` is "could not run": 5)."""
    return _EXIT[verdict]


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value
