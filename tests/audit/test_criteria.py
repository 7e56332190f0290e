"""Keptn-style criteria: relative to history, three-state scoring, weights, key-SLI veto."""

from __future__ import annotations

from pathlib import Path

import pytest

from hypersync_slo.audit.criteria import Criteria, Criterion, evaluate
from hypersync_slo.audit.history import Entry, History
from hypersync_slo.errors import ConfigError


def _history(tmp_path: Path, p95s: list[float], verdict: str = "pass") -> History:
    history = History(tmp_path / "history.sqlite")
    for i, p95 in enumerate(p95s):
        history.record(
            Entry("audit", "hypersync", i * 100.0, i * 100.0 + 100, verdict, {"latency_p95": p95})
        )
    return history


def test_planted_regressions(tmp_path: Path) -> None:
    """+20 % p95 against the median of the last 5 passing audits fails; +5 % passes."""
    with _history(tmp_path, [0.090, 0.100, 0.100, 0.110, 0.100, 0.105]) as history:
        # Baseline: median of the last 5 passing = median(0.100, 0.100, 0.110, 0.100, 0.105) = 0.1
        worse = evaluate(Criteria.default(), {"latency_p95": 0.120}, history, job="hypersync")
        fine = evaluate(Criteria.default(), {"latency_p95": 0.105}, history, job="hypersync")
    assert worse.objectives[0].baseline == pytest.approx(0.100)
    assert worse.objectives[0].compared == 5
    assert worse.score == "fail"
    assert "<=+10%: not met (bound 0.11)" in worse.objectives[0].describe()
    assert "<=+15%: not met" in worse.objectives[0].describe()
    assert fine.score == "pass"
    assert fine.total_percent == 100.0


def test_warning_band(tmp_path: Path) -> None:
    """+12 % is within the +15 % warning band: warning, half a point."""
    with _history(tmp_path, [0.1] * 5) as history:
        result = evaluate(Criteria.default(), {"latency_p95": 0.112}, history)
    assert result.score == "fail"  # one objective at 50 % is below the 75 % warning score
    assert result.objectives[0].score == "warning"
    assert result.objectives[0].points == 0.5


def test_failed_runs_are_not_the_baseline(tmp_path: Path) -> None:
    """Only passing results form the baseline: a history of failures leaves none."""
    with _history(tmp_path, [0.5] * 5, verdict="fail") as history:
        result = evaluate(Criteria.default(), {"latency_p95": 0.12}, history)
    assert result.objectives[0].baseline is None
    assert result.score == "no_data"
    assert "skipped (no baseline in the history yet)" in result.objectives[0].describe()


def test_weights_and_key_sli_veto(tmp_path: Path) -> None:
    """Weighted total score as Keptn; a failing key SLI fails whatever the score."""
    criteria = Criteria.from_mapping(
        {
            "objectives": [
                {"sli": "latency_p95", "pass": ["<100ms"], "weight": 9},
                {"sli": "error_rate", "pass": ["<=0.1%"], "weight": 1, "key_sli": True},
            ],
            "total_score": {"pass": "90%", "warning": "75%"},
        },
        source="test",
    )
    ok = evaluate(criteria, {"latency_p95": 0.05, "error_rate": 0.0005}, None)
    assert (ok.score, ok.total_percent) == ("pass", 100.0)
    vetoed = evaluate(criteria, {"latency_p95": 0.05, "error_rate": 0.002}, None)
    assert vetoed.total_percent == 90.0
    assert vetoed.score == "fail"
    assert "key SLI failed: error_rate" in vetoed.reason
    missing = evaluate(criteria, {"latency_p95": 0.05}, None)
    assert missing.score == "fail"
    assert "no value for this SLI (fails closed)" in missing.objectives[1].describe()


def test_criterion_parsing() -> None:
    """Absolute and relative forms parse to base units; nonsense is refused with a hint."""
    assert Criterion.parse("<100ms", where="x").bound(None) == pytest.approx(0.1)
    assert Criterion.parse("<=0.1%", where="x").bound(None) == pytest.approx(0.001)
    assert Criterion.parse("<=+10%", where="x").bound(2.0) == pytest.approx(2.2)
    assert Criterion.parse(">=-5%", where="x").bound(2.0) == pytest.approx(1.9)
    assert Criterion.parse("<=+20ms", where="x").bound(0.1) == pytest.approx(0.12)
    assert Criterion.parse("<=+10%", where="x").holds(1.0, None) is None
    with pytest.raises(ConfigError, match="is not a criterion"):
        Criterion.parse("about 10", where="objectives[0].pass")


def test_criteria_file(tmp_path: Path) -> None:
    """A YAML criteria file loads; bad totals and unknown include modes are refused."""
    path = tmp_path / "criteria.yaml"
    path.write_text(
        "comparison: {number_of_comparison_results: 3, aggregate_function: avg,\n"
        "  include_result_with_score: pass_or_warn}\n"
        "objectives:\n  - {sli: latency_p99, pass: ['<=+10%'], key_sli: true}\n",
        "utf-8",
    )
    criteria = Criteria.load(path)
    assert criteria.compare_count == 3
    assert criteria.include == ("pass", "warning")
    assert criteria.objectives[0].key_sli
    with pytest.raises(ConfigError, match="must not exceed"):
        Criteria.from_mapping({"total_score": {"pass": "50%", "warning": "60%"}}, source="f")
    with pytest.raises(ConfigError, match="include_result_with_score"):
        Criteria.from_mapping({"comparison": {"include_result_with_score": "x"}}, source="f")
