"""Merging parts into load-result.json: the contract, fidelity, verdicts and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hypersync_slo.config import SloConfig
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.loadgen.histogram import LatencyHistogram
from hypersync_slo.loadgen.parts import read_parts, write_part
from hypersync_slo.loadgen.recorder import Recorder
from hypersync_slo.loadgen.result import (
    RunInfo,
    merge_parts,
    rfc3339,
    summary_markdown,
    write_result,
)
from hypersync_slo.loadgen.schedule import Schedule
from hypersync_slo.loadgen.traffic import HEALTH_PROBE
from hypersync_slo.loadgen.verdict import critical_breach, exit_code
from tests.loadgen.schema import check_result

CONFIG = SloConfig.default()


def make_part(
    worker: int,
    *,
    rate: float = 1000,
    duration: float = 3.0,
    latency: float = 0.002,
    slow_every: int = 0,
    error_every: int = 0,
    lag: float = 0.0,
    streams: int = 1,
    sent_fraction: float = 1.0,
) -> dict[str, Any]:
    """A part as a load process would publish it, from a synthetic run."""
    recorder = Recorder(origin=0.0)
    plan = Schedule(rate=rate, duration=duration, stream=worker, streams=streams)
    offsets = list(plan.offsets())
    for i, intended in enumerate(offsets[: int(len(offsets) * sent_fraction)]):
        recorder.started(intended, intended + lag)
        name = HEALTH_PROBE if i % 50 == 0 else "POST /v1/policies/{policy}/evaluate"
        slow = slow_every and i % slow_every == 0
        cause = "http_500" if error_every and i % error_every == 0 else None
        recorder.finished(
            name,
            intended=intended,
            sent=intended + lag,
            ended=intended + lag + latency + (0.6 if slow else 0.0),
            cause=cause,
            business=None if cause else ("policy_evaluations", "allow"),
        )
    return recorder.part(
        now=duration + 0.5,
        final=True,
        worker=worker,
        origin_wall=1.8e9,
        elapsed=duration,
        scheduled_due=len(offsets),
    )


def info(**kw: Any) -> RunInfo:
    """RunInfo with defaults for a 1000 req/s, 3 s run."""
    base: dict[str, Any] = {
        "target_url": "http://127.0.0.1:1",
        "target_rps": 1000.0,
        "duration": 3.0,
        "arrival": "uniform",
        "seed": 0,
        "workers": 0,
        "connections": 100,
    }
    base.update(kw)
    return RunInfo(**base)


def kpi(result: dict[str, Any], name: str) -> dict[str, Any]:
    """The verdict entry of one KPI."""
    return next(k for k in result["verdict"]["kpis"] if k["kpi"] == name)


def test_contract_keys_and_counts(tmp_path: Path) -> None:
    """A merged result holds every contract key; files land in the output directory."""
    result = merge_parts([make_part(0)], info(), CONFIG)
    check_result(result)
    assert result["requests"] == 3000
    assert result["errors"] == 0
    assert result["achieved_rps"] == pytest.approx(1000.0)
    assert result["business_calls"]["policy_evaluations"] == {"allow": 3000}
    assert result["rate_over_time"] == [[0.0, 1000.0], [1.0, 1000.0], [2.0, 1000.0]]
    assert result["window"]["start"] == rfc3339(1.8e9) == "2027-01-15T08:00:00.000Z"
    path = write_result(result, tmp_path)
    assert json.loads(path.read_text())["requests"] == 3000
    summary = (tmp_path / "load-summary.md").read_text()
    assert "client, corrected, 3000 samples" in summary


def test_two_workers_merge_to_the_union() -> None:
    """Parts of two workers add up: counts, rate, histograms (merge = union)."""
    parts = [make_part(i, streams=2, slow_every=40) for i in range(2)]
    result = merge_parts(parts, info(workers=2), CONFIG)
    assert result["requests"] == 3000
    assert result["sent"] == 3000
    union = LatencyHistogram()
    for part in parts:
        for entry in part["by_request"].values():
            union.merge(LatencyHistogram.decode(entry["corrected"]))
    assert result["latency"]["corrected"] == union.summary()


def test_budgets_pass_with_fast_answers() -> None:
    """Fast answers and no errors pass p95/p99/error-rate budgets (throughput judged at 1000/s)."""
    result = merge_parts([make_part(0)], info(), CONFIG)
    assert kpi(result, "latency_p95")["status"] == "pass"
    assert kpi(result, "latency_p99")["status"] == "pass"
    assert kpi(result, "error_rate")["status"] == "pass"
    assert kpi(result, "throughput_rps")["status"] == "pass"
    assert result["verdict"]["status"] == "pass"
    assert exit_code(result["verdict"]) == ExitCode.PASS


def test_slow_tail_fails_p99_not_p95() -> None:
    """2 % of answers +600 ms: p99 over 500 ms fails, p95 passes, exit 1."""
    result = merge_parts([make_part(0, slow_every=50)], info(), CONFIG)
    assert kpi(result, "latency_p95")["status"] == "pass"
    p99 = kpi(result, "latency_p99")
    assert p99["status"] == "fail"
    assert p99["observed"] > 0.6
    assert "client, corrected, 3000 samples" in p99["message"]
    assert result["verdict"]["failed"] == ["latency_p99"]
    assert exit_code(result["verdict"]) == ExitCode.FAIL


def test_too_few_samples_is_no_data() -> None:
    """Under 1000 samples p99 cannot be judged: no_data, exit 3 (fails closed)."""
    result = merge_parts([make_part(0, rate=100, duration=3.0)], info(target_rps=100.0), CONFIG)
    p99 = kpi(result, "latency_p99")
    assert p99["status"] == "no_data"
    assert p99["min_samples"] == 1000
    assert "needs >= 1000 samples" in p99["message"]
    assert exit_code(result["verdict"]) == ExitCode.NO_DATA


def test_throughput_below_objective_rate_is_no_data() -> None:
    """A run offered below the throughput objective cannot judge it and says why."""
    result = merge_parts([make_part(0, rate=200)], info(target_rps=200.0), CONFIG)
    throughput = kpi(result, "throughput_rps")
    assert throughput["status"] == "no_data"
    assert "offered load 200 req/s is below the objective" in throughput["message"]


def test_generator_lag_marks_saturated_and_voids_the_verdict() -> None:
    """Every send 20 ms late (generator delay): saturated, verdict void, exit 9."""
    result = merge_parts([make_part(0, lag=0.02)], info(), CONFIG)
    assert result["saturated"] is True
    assert "generator's own delay" in result["saturation_reasons"][0]
    assert result["verdict"]["status"] == "void"
    assert exit_code(result["verdict"]) == ExitCode.LOAD_SATURATED


def test_unsent_schedule_marks_saturated() -> None:
    """Sending 90 % of the scheduled requests is saturation, with the counts in the reason."""
    result = merge_parts([make_part(0, sent_fraction=0.9)], info(), CONFIG)
    assert result["saturated"] is True
    assert result["saturation_reasons"] == ["sent 2700 of 3000 scheduled requests (90.00% < 99%)"]


def test_errors_count_and_fail_error_rate() -> None:
    """1 % HTTP 500s: error rate fails, errors by cause names the status."""
    result = merge_parts([make_part(0, error_every=100)], info(), CONFIG)
    assert result["errors"] == 30
    assert result["errors_by_cause"] == {"http_500": 30}
    assert kpi(result, "error_rate")["status"] == "fail"


def test_parts_round_trip_through_files(tmp_path: Path) -> None:
    """Parts written atomically are read back in worker order; junk files are skipped."""
    write_part(tmp_path, 1, {"worker": 1})
    write_part(tmp_path, 0, {"worker": 0})
    (tmp_path / "part-9.json").write_text("{half")
    assert [p["worker"] for p in read_parts(tmp_path)] == [0, 1]


def test_critical_breach_by_error_rate_and_p99() -> None:
    """The sliding window breaches on > 5 % errors or p99 > 5 s, not below 50 requests."""
    critical = CONFIG.alerts.critical
    fast = LatencyHistogram.of([0.01] * 100).encode()
    assert critical_breach({"requests": 100, "errors": 6, "corrected": fast}, critical) is not None
    assert critical_breach({"requests": 100, "errors": 5, "corrected": fast}, critical) is None
    slow = LatencyHistogram.of([0.01] * 98 + [6.0] * 2).encode()
    reason = critical_breach(
        {"requests": 100, "errors": 0, "corrected": slow, "seconds": 10}, critical
    )
    assert reason is not None
    assert "p99 6000 ms over the last 10 s" in reason
    assert critical_breach({"requests": 10, "errors": 10, "corrected": fast}, critical) is None


def test_summary_names_sources() -> None:
    """The human summary labels every latency row with its source and sample count."""
    text = summary_markdown(merge_parts([make_part(0, slow_every=50)], info(), CONFIG))
    assert "| corrected |" in text
    assert "client, uncorrected, 3000 samples" in text
    assert "| latency_p99 | fail |" in text
