"""A throughput floor is not judged from a load that offered less than the floor."""

from __future__ import annotations

from datetime import UTC, datetime

from hypersync_slo.config import SloConfig
from hypersync_slo.report.throughput import under_offered
from hypersync_slo.results import LoadResult
from hypersync_slo.verdicts import KpiResult, Verdict, judge

WINDOW = (datetime(2026, 11, 27, 2, 0, tzinfo=UTC), datetime(2026, 11, 27, 2, 1, tzinfo=UTC))


def throughput(observed: float) -> KpiResult:
    """The reporter's throughput verdict for ``observed`` req/s over a minute."""
    config = SloConfig.default()
    return judge(
        config.objective("throughput_rps"),
        observed,
        round(observed * 60),
        source="prometheus",
        window=WINDOW,
        query="q",
    )


def test_under_offered_load_turns_a_fail_into_no_data_with_the_reason() -> None:
    """300 req/s offered against a 1000 req/s floor: no_data that says to offer more, still gating."""
    result = under_offered(throughput(291.7), SloConfig.default(), LoadResult(target_rps=300))
    assert result.verdict is Verdict.NO_DATA
    assert result.gating
    assert "the load offered 300 req/s" in result.reason
    assert "offer more than the objective" in result.reason
    assert result.observed == 291.7


def test_enough_offered_load_keeps_the_fail() -> None:
    """1100 req/s offered but 900 completed is a real failure of the floor."""
    result = under_offered(throughput(900.0), SloConfig.default(), LoadResult(target_rps=1100))
    assert result.verdict is Verdict.FAIL


def test_without_a_load_result_the_figure_is_judged_as_is() -> None:
    """An audit of real traffic (no load result) judges the measured throughput."""
    assert under_offered(throughput(900.0), SloConfig.default(), None).verdict is Verdict.FAIL
    offered = LoadResult(target_rps=300)
    assert under_offered(throughput(1200.0), SloConfig.default(), offered).verdict is Verdict.PASS
