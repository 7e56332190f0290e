"""Keptn-style quality criteria: absolute and history-relative, three-state, weighted, key SLIs.

A criteria file (YAML) in the shape of Keptn's ``slo.yaml``::

    comparison:
      number_of_comparison_results: 5     # the last 5 ...
      include_result_with_score: pass     # ... passing results (pass | pass_or_warn | all)
      aggregate_function: median          # median | avg | min | max | p90
    objectives:
      - sli: latency_p95
        pass: ["<=+10%", "<100ms"]        # all of these (AND) -> pass
        warning: ["<=+15%"]               # else all of these -> warning
        weight: 1
        key_sli: true                     # a failing key SLI fails the whole evaluation
    total_score: {pass: "90%", warning: "75%"}

A criterion is ``<op><value>``: absolute (``<100ms``, ``<=0.1%``, ``>=0.999``) or relative to
the baseline, the aggregate of the SLI over the compared results (``<=+10%``: at most 10 % above
the baseline; ``>=-5%``: at most 5 % below; ``<=+0.02``: at most 0.02 above). Scoring as Keptn:
pass 1 point, warning 1/2, fail 0, times the weight; the total score is achieved / possible in
percent. A relative criterion without a baseline (no comparable result in the history yet) is
skipped and says so; an objective whose SLI has no value fails (fails closed).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hypersync_slo.audit.history import History
from hypersync_slo.errors import ConfigError
from hypersync_slo.yamlfiles import load_yaml, read_text_file

Score = Literal["pass", "warning", "fail", "no_data"]
_CRITERION = re.compile(
    r"^\s*(<=|>=|<|>|==|=)\s*([+-])?\s*(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(%|ms|s)?\s*$"
)
_INCLUDE = {"pass": ("pass",), "pass_or_warn": ("pass", "warning"), "all": None}
_POINTS: dict[Score, float] = {"pass": 1.0, "warning": 0.5, "fail": 0.0, "no_data": 0.0}


@dataclass(frozen=True)
class Criterion:
    """One ``<op><value>`` comparison, absolute or relative to a baseline."""

    text: str
    op: str
    value: float
    relative: Literal["", "percent", "absolute"]

    @classmethod
    def parse(cls, text: str, *, where: str) -> Criterion:
        """Parse ``<100ms``, ``<=+10%``, ``>=-5%``, ``<=0.1%``."""
        found = _CRITERION.match(str(text))
        if not found:
            raise ConfigError(
                f"{where}: {text!r} is not a criterion; write e.g. '<100ms', '<=0.1%' or '<=+10%'."
            )
        op, sign, number, unit = found.groups()
        value = float(number)
        if sign:
            value = -value if sign == "-" else value
            if unit == "%":
                return cls(text, op.replace("==", "="), value / 100, "percent")
            value *= {"ms": 0.001, "s": 1.0, None: 1.0}[unit]
            return cls(text, op.replace("==", "="), value, "absolute")
        value *= {"%": 0.01, "ms": 0.001, "s": 1.0, None: 1.0}[unit]
        return cls(text, op.replace("==", "="), value, "")

    def bound(self, baseline: float | None) -> float | None:
        """The absolute bound this criterion sets (None: relative without a baseline)."""
        if not self.relative:
            return self.value
        if baseline is None:
            return None
        if self.relative == "percent":
            return baseline * (1 + self.value)
        return baseline + self.value

    def holds(self, observed: float, baseline: float | None) -> bool | None:
        """True/False, or None when a relative criterion has no baseline."""
        bound = self.bound(baseline)
        if bound is None:
            return None
        return {
            "<": observed < bound,
            "<=": observed <= bound,
            ">": observed > bound,
            ">=": observed >= bound,
            "=": math.isclose(observed, bound, rel_tol=1e-9, abs_tol=1e-12),
        }[self.op]


@dataclass(frozen=True)
class SliCriteria:
    """One SLI's pass and warning criteria, weight and key-SLI flag (an ``objectives`` item)."""

    sli: str
    passing: tuple[Criterion, ...]
    warning: tuple[Criterion, ...] = ()
    weight: float = 1.0
    key_sli: bool = False


@dataclass(frozen=True)
class Criteria:
    """A whole criteria file."""

    objectives: tuple[SliCriteria, ...]
    compare_count: int = 5
    include: tuple[str, ...] | None = ("pass",)
    aggregate: str = "median"
    pass_percent: float = 90.0
    warning_percent: float = 75.0
    source: str = "<default criteria>"

    @classmethod
    def default(cls) -> Criteria:
        """p95 may not regress more than +10 % against the median of the last 5 passing results
        (warning up to +15 %)."""
        return cls.from_mapping(
            {
                "objectives": [
                    {"sli": "latency_p95", "pass": ["<=+10%"], "warning": ["<=+15%"]},
                ]
            },
            source="<default criteria>",
        )

    @classmethod
    def load(cls, path: str | Path | None) -> Criteria:
        """Load a criteria file; ``None`` gives the default."""
        if path is None:
            return cls.default()
        text = read_text_file(path, what="criteria file")
        data = load_yaml(text, source=f"the criteria file {path}")
        if not isinstance(data, Mapping):
            raise ConfigError(f"the criteria file {path} must hold a mapping with 'objectives'.")
        return cls.from_mapping(data, source=str(path))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str) -> Criteria:
        """Build from a parsed criteria document."""
        comparison = data.get("comparison") or {}
        include_key = str(comparison.get("include_result_with_score", "pass"))
        if include_key not in _INCLUDE:
            raise ConfigError(
                f"{source}: comparison.include_result_with_score must be pass, pass_or_warn or "
                f"all (got {include_key!r})."
            )
        objectives: list[SliCriteria] = []
        for i, item in enumerate(data.get("objectives") or []):
            where = f"{source}: objectives[{i}]"
            if not isinstance(item, Mapping) or not item.get("sli"):
                raise ConfigError(f"{where}: each objective needs an 'sli' name.")
            weight = float(item.get("weight", 1))
            if weight <= 0 or not math.isfinite(weight):
                raise ConfigError(f"{where}: weight must be a positive number (got {weight!r}).")
            objectives.append(
                SliCriteria(
                    sli=str(item["sli"]),
                    passing=tuple(
                        Criterion.parse(c, where=f"{where}.pass") for c in item.get("pass") or []
                    ),
                    warning=tuple(
                        Criterion.parse(c, where=f"{where}.warning")
                        for c in item.get("warning") or []
                    ),
                    weight=weight,
                    key_sli=bool(item.get("key_sli", False)),
                )
            )
        total = data.get("total_score") or {}
        pass_percent = _percent(total.get("pass", "90%"), f"{source}: total_score.pass")
        warning_percent = _percent(total.get("warning", "75%"), f"{source}: total_score.warning")
        if warning_percent > pass_percent:
            raise ConfigError(
                f"{source}: total_score.warning ({warning_percent:g} %) must not exceed "
                f"total_score.pass ({pass_percent:g} %)."
            )
        count = int(comparison.get("number_of_comparison_results", 5))
        if count < 1:
            raise ConfigError(f"{source}: comparison.number_of_comparison_results must be >= 1.")
        return cls(
            objectives=tuple(objectives),
            compare_count=count,
            include=_INCLUDE[include_key],
            aggregate=str(comparison.get("aggregate_function", "median")),
            pass_percent=pass_percent,
            warning_percent=warning_percent,
            source=source,
        )


def _percent(value: object, where: str) -> float:
    text = str(value).strip().rstrip("%")
    try:
        number = float(text)
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not a percentage such as '90%'.") from None
    if not 0 <= number <= 100:
        raise ConfigError(f"{where}: a percentage must lie in [0, 100] (got {number:g}).")
    return number


@dataclass(frozen=True)
class SliResult:
    """How one objective scored, with its baseline and each criterion's bound."""

    sli: str
    observed: float | None
    baseline: float | None
    compared: int
    score: Score
    points: float
    weight: float
    key_sli: bool
    details: tuple[str, ...]

    def describe(self) -> str:
        """One line for people."""
        shown = "n/a" if self.observed is None else f"{self.observed:.6g}"
        base = (
            "no baseline"
            if self.baseline is None
            else (f"baseline {self.baseline:.6g} (aggregate of {self.compared})")
        )
        key = ", key SLI" if self.key_sli else ""
        return f"{self.sli}: {self.score}, observed {shown}, {base}{key}; " + "; ".join(
            self.details
        )


@dataclass(frozen=True)
class Evaluation:
    """The whole criteria evaluation."""

    score: Score
    total_percent: float | None
    objectives: tuple[SliResult, ...] = field(default_factory=tuple)
    reason: str = ""

    def describe(self) -> str:
        """One line for people."""
        shown = "n/a" if self.total_percent is None else f"{self.total_percent:.1f} %"
        return f"criteria: {self.score}, total score {shown}" + (
            f" ({self.reason})" if self.reason else ""
        )


def _check(
    criteria: Sequence[Criterion], observed: float, baseline: float | None, details: list[str]
) -> bool | None:
    """AND of the criteria; None when every one was skipped (no baseline)."""
    outcome: bool | None = None
    for criterion in criteria:
        held = criterion.holds(observed, baseline)
        if held is None:
            details.append(f"{criterion.text}: skipped (no baseline in the history yet)")
            continue
        bound = criterion.bound(baseline)
        details.append(f"{criterion.text}: {'met' if held else 'not met'} (bound {bound:.6g})")
        outcome = held if outcome is None else (outcome and held)
    return outcome


def _baseline(
    criteria: Criteria,
    item: SliCriteria,
    history: History | None,
    *,
    job: str | None,
    kind: str | None,
    before: float | None,
) -> tuple[float | None, int]:
    """The aggregate of ``item``'s SLI over the compared results, and how many were compared.

    ``(None, 0)`` when ``item`` has no relative criterion or there is no history.
    """
    if history is None or not any(c.relative for c in (*item.passing, *item.warning)):
        return None, 0
    return history.baseline(
        item.sli,
        count=criteria.compare_count,
        include=criteria.include or ("pass", "warning", "fail", "no_data"),
        aggregate=criteria.aggregate,
        job=job,
        kind=kind,
        before=before,
    )


def _score(
    item: SliCriteria, observed: float | None, baseline: float | None, compared: int
) -> tuple[SliResult, bool]:
    """How ``item`` scored, and whether it counts towards the total score."""

    def result(score: Score, points: float, details: Sequence[str]) -> SliResult:
        return SliResult(
            item.sli,
            observed,
            baseline,
            compared,
            score,
            points,
            item.weight,
            item.key_sli,
            tuple(details),
        )

    if observed is None or not math.isfinite(observed):
        return result("fail", 0.0, ["no value for this SLI (fails closed)"]), True
    if not item.passing and not item.warning:
        return result("pass", 0.0, ["info only: not scored"]), False
    details: list[str] = []
    passed = _check(item.passing, observed, baseline, details)
    warned = _check(item.warning, observed, baseline, details)
    if passed is None and warned is None:
        return result("no_data", 0.0, details), False
    score: Score = "pass" if passed else ("warning" if warned else "fail")
    return result(score, _POINTS[score] * item.weight, details), True


def evaluate(
    criteria: Criteria,
    slis: Mapping[str, float | None],
    history: History | None,
    *,
    job: str | None = None,
    kind: str | None = None,
    before: float | None = None,
) -> Evaluation:
    """Score ``slis`` against ``criteria``, comparing with ``history`` for relative criteria.

    ``before`` keeps the evaluated window itself out of its own baseline.
    """
    results: list[SliResult] = []
    achieved = possible = 0.0
    key_failed: list[str] = []
    for item in criteria.objectives:
        baseline, compared = _baseline(criteria, item, history, job=job, kind=kind, before=before)
        result, counted = _score(item, slis.get(item.sli), baseline, compared)
        results.append(result)
        if not counted:
            continue
        achieved += result.points
        possible += item.weight
        if result.score == "fail" and item.key_sli:
            key_failed.append(item.sli)
    if possible == 0:
        return Evaluation("no_data", None, tuple(results), "no objective could be scored")
    total = achieved / possible * 100
    if key_failed:
        return Evaluation("fail", total, tuple(results), f"key SLI failed: {', '.join(key_failed)}")
    if total >= criteria.pass_percent:
        overall: Score = "pass"
    elif total >= criteria.warning_percent:
        overall = "warning"
    else:
        overall = "fail"
    return Evaluation(
        overall,
        total,
        tuple(results),
        f"pass at >= {criteria.pass_percent:g} %, warning at >= {criteria.warning_percent:g} %",
    )
