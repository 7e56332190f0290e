"""The verdict model: min samples, no-data policy, overall verdict and exit codes."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hypersync_slo.config import KPI_UNITS, Objective
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.verdicts import (
    KpiResult,
    Verdict,
    exit_code_for,
    judge,
    offered_below,
    overall,
)

WINDOW = (datetime(2026, 11, 27, 2, 0, tzinfo=UTC), datetime(2026, 11, 27, 2, 1, tzinfo=UTC))


def _judge(objective: Objective, observed: float | None, samples: int) -> KpiResult:
    return judge(objective, observed, samples, source="prometheus", window=WINDOW, query="q")


P99 = Objective(kpi="latency_p99", comparator="<", value=0.5, unit="s", min_samples=1000)


@given(
    st.tuples(
        st.sampled_from(sorted(KPI_UNITS)),
        st.sampled_from(["<", "<=", ">", ">="]),
        st.floats(min_value=0.0, max_value=0.99),
        st.sampled_from(["fail", "pass", "skip"]),
        st.integers(min_value=1, max_value=100_000),
    ),
    st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    st.integers(min_value=0, max_value=100_000),
)
def test_no_data_never_becomes_pass(
    spec: tuple[str, str, float, str, int], observed: float | None, samples: int
) -> None:
    """Too few samples, no observation or NaN is no_data, whatever the objective or policy."""
    kpi, comparator, value, policy, needed = spec
    objective = Objective(
        kpi=kpi,
        comparator=comparator,  # type: ignore[arg-type]
        value=value,
        unit=KPI_UNITS[kpi],
        no_data=policy,  # type: ignore[arg-type]
        min_samples=needed,
    )
    result = _judge(objective, observed, samples)
    if observed is None or math.isnan(observed) or samples < needed:
        assert result.verdict is Verdict.NO_DATA
        assert str(samples) in result.reason
        assert result.gating == (policy == "fail")
        assert overall([result]) is not Verdict.PASS


def test_too_few_samples_is_stated_with_the_count() -> None:
    """A p99 with 120 samples is no_data, saying 120 and the 1000 needed."""
    result = _judge(P99, 0.2, 120)
    assert result.verdict is Verdict.NO_DATA
    assert result.reason == "only 120 samples; at least 1000 needed to judge latency_p99"


def test_pass_and_fail_against_objective() -> None:
    """Enough samples: the objective decides; ``holds`` overrides the comparison."""
    assert _judge(P99, 0.2, 5000).verdict is Verdict.PASS
    failed = _judge(P99, 0.6, 5000)
    assert failed.verdict is Verdict.FAIL
    assert failed.reason == "outside objective < 500 ms"
    assert (
        "latency_p99: fail, observed 600 ms (prometheus, 5000 samples, 2026-11-27T02:00:00Z–02:01:00Z)"
        in failed.describe()
    )
    overridden = judge(P99, 0.5, 5000, source="prometheus", window=WINDOW, query="q", holds=True)
    assert overridden.verdict is Verdict.PASS


def test_report_only_never_gates() -> None:
    """A report-only KPI is shown but does not count in the overall verdict."""
    objective = Objective(
        kpi="latency_p50", comparator=None, value=None, unit="s", report_only=True
    )
    result = _judge(objective, 0.01, 10)
    assert result.verdict is Verdict.PASS
    assert not result.gating
    assert overall([result]) is Verdict.NO_DATA  # nothing gating: inconclusive, not pass


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([Verdict.PASS, Verdict.PASS], Verdict.PASS),
        ([Verdict.PASS, Verdict.NO_DATA], Verdict.NO_DATA),
        ([Verdict.NO_DATA, Verdict.ERROR], Verdict.ERROR),
        ([Verdict.ERROR, Verdict.FAIL, Verdict.NO_DATA], Verdict.FAIL),
    ],
)
def test_overall_ranks_fail_error_no_data_pass(verdicts: list[Verdict], expected: Verdict) -> None:
    """The overall verdict is the worst gating one: fail > error > no_data > pass."""
    results = [KpiResult("k", "prometheus", 1.0, "x", "s", 1, WINDOW, "q", v) for v in verdicts]
    assert overall(results) is expected


def test_exit_codes() -> None:
    """pass 0, fail 1, no_data 3, error 5 (could not run)."""
    assert [exit_code_for(v) for v in Verdict] == [
        ExitCode.PASS,
        ExitCode.FAIL,
        ExitCode.NO_DATA,
        ExitCode.PROMETHEUS_UNAVAILABLE,
    ]


def test_to_dict_has_the_verdict_json_fields() -> None:
    """A KPI's JSON has name, source, observed, objective, unit, samples, query, verdict."""
    data = _judge(P99, math.inf, 5000).to_dict()
    assert {
        "name",
        "source",
        "observed",
        "objective",
        "unit",
        "samples",
        "query",
        "verdict",
        "window",
        "detail",
    } <= set(data)
    assert data["observed"] is None  # never Infinity in JSON
    assert data["window"] == {"start": "2026-11-27T02:00:00Z", "end": "2026-11-27T02:01:00Z"}


THROUGHPUT = Objective(kpi="throughput_rps", comparator=">=", value=1000.0, unit="rps")


def test_no_data_reason_overrides_the_verdict_not_the_policy() -> None:
    """A given no-data reason is no_data with that reason; the policy still decides gating."""
    why = offered_below(THROUGHPUT, 300.0)
    assert why == (
        "the load offered 300 req/s, which cannot show >= 1000 req/s: "
        "offer more than the objective to judge capacity"
    )
    result = judge(
        THROUGHPUT, 299.0, 90_000, source="client", window=WINDOW, query="q", no_data_reason=why
    )
    assert (result.verdict, result.reason, result.gating) == (Verdict.NO_DATA, why, True)
    assert result.samples == 90_000
    lenient = dataclasses.replace(THROUGHPUT, no_data="pass")
    relaxed = judge(
        lenient, 299.0, 90_000, source="client", window=WINDOW, query="q", no_data_reason=why
    )
    assert relaxed.verdict is Verdict.NO_DATA
    assert not relaxed.gating
    assert relaxed.reason == why + " (no_data policy 'pass': does not gate)"


def test_offered_below_only_for_an_unmet_floor() -> None:
    """Only a floor above the offered rate is unjudgeable; a ceiling or a met floor is not."""
    assert offered_below(THROUGHPUT, 1000.0) is None
    assert offered_below(THROUGHPUT, None) is None
    assert offered_below(P99, 0.0) is None
    strict = dataclasses.replace(THROUGHPUT, comparator=">")
    assert offered_below(strict, 1000.0) is not None
