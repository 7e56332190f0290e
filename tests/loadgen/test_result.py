"""Merging parts into load-result.json: the contract, fidelity, verdicts and exit codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from hypersync_slo.config import SloConfig
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.loadgen.histogram import LatencyHistogram
from hypersync_slo.loadgen.load_verdict import CLIENT_KPIS, critical_breach, exit_code
from hypersync_slo.loadgen.parts import read_parts, write_part
from hypersync_slo.loadgen.recorder import Recorder
from hypersync_slo.loadgen.result import (
    RunInfo,
    merge_parts,
    summary_markdown,
    write_result,
)
from hypersync_slo.loadgen.schedule import Schedule
from hypersync_slo.results import LoadResult
from hypersync_slo.timestamps import rfc3339_millis
from hypersync_slo.verdicts import judge
from tests.loadgen.schema import check_file, check_result

CONFIG = SloConfig.default()
HEALTH_PROBE = CONFIG.traffic.health_name
WINDOW = (datetime(2026, 11, 27, 2, 0, tzinfo=UTC), datetime(2026, 11, 27, 2, 1, tzinfo=UTC))


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


def kpi(result: LoadResult, name: str) -> dict[str, Any]:
    """The verdict entry of one KPI."""
    return next(k for k in result.verdict["kpis"] if k["name"] == name)


def test_contract_keys_and_counts(tmp_path: Path) -> None:
    """A merged result holds every contract key; files land in the output directory."""
    result = merge_parts([make_part(0)], info(), CONFIG)
    check_result(result)
    assert result.requests == 3000
    assert result.errors == 0
    assert result.achieved_rps == pytest.approx(1000.0)
    assert result.business_calls["policy_evaluations"] == {"allow": 3000}
    assert result.rate_over_time == [[0.0, 1000.0], [1.0, 1000.0], [2.0, 1000.0]]
    assert result.window["start"] == rfc3339_millis(1.8e9) == "2027-01-15T08:00:00.000Z"
    path = write_result(result, tmp_path)
    assert json.loads(path.read_text())["requests"] == 3000
    assert check_file(path.read_text()) == result
    summary = (tmp_path / "load-summary.md").read_text()
    assert "client, corrected, 3000 samples" in summary


def test_two_workers_merge_to_the_union() -> None:
    """Parts of two workers add up: counts, rate, histograms (merge = union)."""
    parts = [make_part(i, streams=2, slow_every=40) for i in range(2)]
    result = merge_parts(parts, info(workers=2), CONFIG)
    assert result.requests == 3000
    assert result.sent == 3000
    union = LatencyHistogram()
    for part in parts:
        for entry in part["by_request"].values():
            union.merge(LatencyHistogram.decode(entry["corrected"]))
    assert result.latency["corrected"] == union.summary()


def test_budgets_pass_with_fast_answers() -> None:
    """Fast answers and no errors pass p95/p99/error-rate budgets (throughput judged at 1000/s)."""
    result = merge_parts([make_part(0)], info(), CONFIG)
    assert kpi(result, "latency_p95")["verdict"] == "pass"
    assert kpi(result, "latency_p99")["verdict"] == "pass"
    assert kpi(result, "error_rate")["verdict"] == "pass"
    assert kpi(result, "throughput_rps")["verdict"] == "pass"
    assert result.verdict["status"] == "pass"
    assert exit_code(result.verdict) == ExitCode.PASS


def test_a_run_cut_short_cannot_pass() -> None:
    """A load process that stopped before its schedule ended: the figures look fine, still no_data."""
    result = merge_parts([make_part(0)], info(interrupted=True), CONFIG)
    assert kpi(result, "latency_p95")["verdict"] == "pass"
    assert result.verdict["status"] == "no_data"
    assert exit_code(result.verdict) == ExitCode.NO_DATA


def test_slow_tail_fails_p99_not_p95() -> None:
    """2 % of answers +600 ms: p99 over 500 ms fails, p95 passes, exit 1."""
    result = merge_parts([make_part(0, slow_every=50)], info(), CONFIG)
    assert kpi(result, "latency_p95")["verdict"] == "pass"
    p99 = kpi(result, "latency_p99")
    assert p99["verdict"] == "fail"
    assert p99["observed"] > 0.6
    assert p99["message"].startswith("latency_p99: fail, observed 60")
    assert (
        "(client, 3000 samples, 2027-01-15T08:00:00Z–08:00:03Z), objective < 500 ms"
        in p99["message"]
    )
    assert "corrected for coordinated omission" in p99["query"]
    assert result.verdict["failed"] == ["latency_p99"]
    assert exit_code(result.verdict) == ExitCode.FAIL


def test_too_few_samples_is_no_data() -> None:
    """Under 1000 samples p99 cannot be judged: no_data, exit 3 (fails closed)."""
    result = merge_parts([make_part(0, rate=100, duration=3.0)], info(target_rps=100.0), CONFIG)
    p99 = kpi(result, "latency_p99")
    assert p99["verdict"] == "no_data"
    assert p99["gating"] is True
    assert p99["min_samples"] == 1000
    assert p99["reason"] == "only 300 samples; at least 1000 needed to judge latency_p99"
    assert result.verdict["no_data"] == ["latency_p99", "throughput_rps"]
    assert exit_code(result.verdict) == ExitCode.NO_DATA


def test_throughput_below_objective_rate_is_no_data() -> None:
    """A run offered below the throughput objective cannot judge it and says why."""
    result = merge_parts([make_part(0, rate=200)], info(target_rps=200.0), CONFIG)
    throughput = kpi(result, "throughput_rps")
    assert throughput["verdict"] == "no_data"
    assert throughput["samples"] == 600
    assert throughput["reason"] == (
        "the load offered 200 req/s, which cannot show >= 1000 req/s: "
        "offer more than the objective to judge capacity"
    )
    assert result.verdict["status"] == "no_data"


def test_generator_lag_marks_saturated_and_voids_the_verdict() -> None:
    """Every send 20 ms late (generator delay): saturated, verdict void, exit 9."""
    result = merge_parts([make_part(0, lag=0.02)], info(), CONFIG)
    assert result.saturated is True
    assert "generator's own delay" in result.saturation_reasons[0]
    assert result.verdict["status"] == "void"
    assert exit_code(result.verdict) == ExitCode.LOAD_SATURATED


def test_unsent_schedule_marks_saturated() -> None:
    """Sending 90 % of the scheduled requests is saturation, with the counts in the reason."""
    result = merge_parts([make_part(0, sent_fraction=0.9)], info(), CONFIG)
    assert result.saturated is True
    assert result.saturation_reasons == ["sent 2700 of 3000 scheduled requests (90.00% < 99%)"]


def test_errors_count_and_fail_error_rate() -> None:
    """1 % HTTP 500s: error rate fails, errors by cause names the status."""
    result = merge_parts([make_part(0, error_every=100)], info(), CONFIG)
    assert result.errors == 30
    assert result.errors_by_cause == {"http_500": 30}
    assert kpi(result, "error_rate")["verdict"] == "fail"


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
    assert "| latency_p50 | pass |" in text
    assert "| client | report only |" in text
    assert "| latency_p999 | no_data |" in text
    assert "at least 10000 needed to judge latency_p999 (does not gate) |" in text


def test_kpi_entries_carry_the_reporter_keys() -> None:
    """Each load KPI entry has every key of a verdict.json KPI item, judged by the shared model."""
    result = merge_parts([make_part(0, slow_every=50)], info(), CONFIG)
    config_kpi = CONFIG.objective("latency_p99")
    reporter = judge(config_kpi, 0.2, 1000, source="prometheus", window=WINDOW, query="q")
    for entry in result.verdict["kpis"]:
        assert set(reporter.to_dict()) <= set(entry), entry["name"]
        assert entry["source"] == "client"
        assert entry["window"] == {
            "start": result.window["start"],
            "end": result.window["end"],
        }
        assert entry["verdict"] in ("pass", "fail", "no_data")
    assert [e["name"] for e in result.verdict["kpis"]] == list(CLIENT_KPIS)
    assert result.verdict["kpi_verdict"] == "fail"


def test_report_only_kpis_never_gate() -> None:
    """Report-only percentiles are shown (pass, or no_data when thin) but never gate the run."""
    result = merge_parts([make_part(0)], info(), CONFIG)
    p50, p999 = kpi(result, "latency_p50"), kpi(result, "latency_p999")
    assert (p50["verdict"], p50["reason"], p50["gating"]) == ("pass", "report only", False)
    assert (p999["verdict"], p999["gating"]) == ("no_data", False)
    assert p999["reason"] == "only 3000 samples; at least 10000 needed to judge latency_p999"
    assert result.verdict["no_data"] == []
    assert result.verdict["status"] == "pass"


def test_no_data_policy_pass_does_not_gate() -> None:
    """With `no_data: pass` on p99 a thin run is no_data for p99 but does not fail closed on it."""
    text = (
        resources.files("hypersync_slo")
        .joinpath("data/slo.yaml")
        .read_text("utf-8")
        .replace(
            'latency_p99:    {objective: "< 500ms"}',
            'latency_p99:    {objective: "< 500ms", no_data: pass}',
        )
        .replace('throughput_rps: {objective: ">= 1000"}', "throughput_rps: {report_only: true}")
    )
    config = SloConfig.from_text(text, source="test slo.yaml")
    result = merge_parts([make_part(0, rate=100)], info(target_rps=100.0), config)
    p99 = kpi(result, "latency_p99")
    assert p99["verdict"] == "no_data"
    assert p99["gating"] is False
    assert "no_data policy 'pass': does not gate" in p99["reason"]
    assert result.verdict["status"] == "pass"
    assert exit_code(result.verdict) == ExitCode.PASS


def test_aborted_run_fails_even_when_saturated() -> None:
    """A run stopped on a critical breach has failed, whatever its figures or its generator."""
    result = merge_parts([make_part(0, lag=0.02)], info(aborted="error rate 9 %"), CONFIG)
    assert result.saturated is True
    assert result.verdict["status"] == "fail"
    assert exit_code(result.verdict) == ExitCode.FAIL
