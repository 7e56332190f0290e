"""The reporter against a real Prometheus scraping the real reference service every second."""

from __future__ import annotations

import asyncio
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from hypersync_slo import cli
from hypersync_slo.config import SloConfig
from hypersync_slo.prometheus.client import PrometheusClient
from hypersync_slo.report import (
    bucket_bounds_in_prometheus,
    check_thresholds_are_buckets,
    evaluate_window,
    write_report,
)
from hypersync_slo.report.scrapes import Coverage, wait_for_coverage
from hypersync_slo.results import LoadResult
from hypersync_slo.stack import PrometheusServer, ReferenceService, ScrapeJob
from hypersync_slo.verdicts import Verdict

JOB = "hypersync"
KPIS = [
    "availability",
    "latency_p50",
    "latency_p95",
    "latency_p99",
    "latency_p999",
    "throughput_rps",
    "error_rate",
    "success_rate",
]
StartService = Callable[..., ReferenceService]
StartPrometheus = Callable[..., PrometheusServer]


def thin_tail_config() -> SloConfig:
    """The default SLO file with 2 samples beyond a percentile (p99 judged from 200 samples)."""
    default = SloConfig.default()
    text = (Path(cli.__file__).parent / "data" / "slo.yaml").read_text("utf-8")
    config = SloConfig.from_text(
        text.replace("min_tail_samples: 10", "min_tail_samples: 2"), source="thin-tail slo.yaml"
    )
    assert config.objectives.keys() == default.objectives.keys()
    return config


async def _drive(url: str, count: int, concurrency: int) -> dict[str, int]:
    sent = {"requests": 0, "errors": 0, "transform": 0, "allow": 0}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                if i % 2:
                    response = await client.post(
                        "/v1/operators/transform/execute",
                        json={"input": {"n": i}, "agent_id": "agent-7"},
                    )
                    kind = "transform"
                else:
                    response = await client.post(
                        "/v1/policies/access/evaluate",
                        json={"subject": "agent-7", "action": "read", "resource": "r"},
                    )
                    kind = "policy"
                sent["requests"] += 1
                if response.status_code >= 500:
                    sent["errors"] += 1
                elif kind == "transform":
                    sent["transform"] += 1
                elif response.json().get("decision") == "allow":
                    sent["allow"] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sent


def drive(service: ReferenceService, count: int, concurrency: int = 32) -> dict[str, int]:
    """Send ``count`` API requests (operators and policies) with ``concurrency`` in flight."""
    return asyncio.run(_drive(service.url, count, concurrency))


def wait_for_scrape_after(
    prometheus: PrometheusServer, moment: float, timeout: float = 15
) -> float:
    """Poll until Prometheus holds a successful scrape (``up == 1``) taken after ``moment``.

    Reads the raw ``up`` samples (``timestamp()`` of a filtered expression would be the
    evaluation time, not the scrape's). Returns that scrape's timestamp.
    """
    deadline = time.monotonic() + timeout
    query = f'up{{job="{JOB}"}}[15s]'
    while time.monotonic() < deadline:
        data = httpx.get(f"{prometheus.url}/api/v1/query", params={"query": query}).json()
        for series in data["data"]["result"]:
            for stamp, value in series["values"]:
                if float(stamp) > moment and value == "1":
                    return float(stamp)
        time.sleep(0.2)
    raise AssertionError(f"no successful scrape after {moment} within {timeout} s")


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ReferenceService, PrometheusServer]]:
    """One reference service (fault admin on) and a Prometheus scraping it every second, warmed.

    Shared by the window tests of this module; each sets its faults and clears them after.
    """
    workdir = tmp_path_factory.mktemp("live")
    service = ReferenceService(workdir / "service", ["--enable-fault-admin"]).start()
    prometheus = PrometheusServer(workdir / "prometheus", [ScrapeJob(JOB, (service.address,))])
    try:
        prometheus.start()
        prometheus.wait_for_targets()
        drive(service, 4, 2)  # every series exists before any window opens
        wait_for_scrape_after(prometheus, time.time())
        yield service, prometheus
    finally:
        prometheus.stop()
        service.stop()


def set_faults(service: ReferenceService, **faults: object) -> None:
    """Replace the service's fault state (missing keys are off)."""
    response = httpx.put(f"{service.url}/admin/faults", json=faults, timeout=5)
    assert response.status_code == 200, response.text


@pytest.fixture
def faults(live: tuple[ReferenceService, PrometheusServer]) -> Iterator[Callable[..., None]]:
    """Set faults on the shared service for one test; cleared afterwards."""
    service = live[0]
    yield lambda **state: set_faults(service, **state)
    set_faults(service)


def covered(prometheus: PrometheusServer, start: datetime, end: datetime) -> Coverage:
    """Wait for the job's first scrape after ``end``; the scrapes bracketing the window."""
    coverage = wait_for_coverage(
        PrometheusClient(prometheus.url),
        f'up{{job="{JOB}"}}',
        start.timestamp(),
        end.timestamp(),
        quiet_after_end=True,
    )
    assert coverage.settled, coverage.unsettled_reason()
    return coverage


def window_of_traffic(
    service: ReferenceService, prometheus: PrometheusServer, count: int, concurrency: int = 32
) -> tuple[datetime, datetime, dict[str, int], Coverage]:
    """Drive traffic; return its window, what was sent, and the scrapes that bracket it."""
    start = datetime.now(UTC)
    sent = drive(service, count, concurrency)
    end = datetime.now(UTC)
    return start, end, sent, covered(prometheus, start, end)


def test_clean_window_every_kpi_present_with_source_and_samples(
    live: tuple[ReferenceService, PrometheusServer], tmp_path: Path
) -> None:
    """A clean window: all eight KPIs with source, samples; latency and errors pass; files good."""
    service, prometheus = live
    start, end, sent, settle = window_of_traffic(service, prometheus, 300)
    config = thin_tail_config()
    client = PrometheusClient(prometheus.url)
    assert (
        check_thresholds_are_buckets(config, bucket_bounds_in_prometheus(client, config, JOB)) == []
    )
    load_result = LoadResult.from_dict(
        {
            "target_url": service.url,
            "requests": sent["requests"],
            "errors": sent["errors"],
            "business_calls": {
                "operator_executions": {"operator=transform,outcome=success": sent["transform"]},
                "policy_evaluations": {"decision=allow": sent["allow"]},
            },
        }
    )
    report = evaluate_window(
        client, config, start, end, job=JOB, load_result=load_result, coverage=settle
    )
    assert [k.name for k in report.kpis] == KPIS
    for kpi in report.kpis:
        assert kpi.source == "prometheus"
        assert kpi.query
    samples = report.kpi("latency_p95").samples
    assert abs(samples - sent["requests"]) <= 0.05 * sent["requests"]
    assert report.kpi("latency_p95").verdict is Verdict.PASS
    assert report.kpi("error_rate").verdict is Verdict.PASS
    assert report.kpi("error_rate").observed == 0.0
    assert report.kpi("availability").verdict is Verdict.PASS
    assert report.kpi("availability").samples >= 2
    assert report.kpi("latency_p999").verdict is Verdict.NO_DATA  # 3000 samples needed
    assert [f.subject for f in report.findings if f.kind != "latency"] == []
    paths = write_report(report, tmp_path / "out")
    cases = ET.parse(paths["junit"]).getroot().findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == KPIS
    html = paths["html"].read_text()
    assert html.count('src="data:image/png;base64,') == 7  # 4 + client, per request x2
    assert "<script" not in html
    assert "<link" not in html
    assert len(report.series["latency_p95"]) >= 1


def test_error_fault_turns_error_rate_to_fail(
    live: tuple[ReferenceService, PrometheusServer], faults: Callable[..., None]
) -> None:
    """The error fault (error_ratio 0.05, as --fault-error-ratio 0.05): error_rate fails."""
    service, prometheus = live
    faults(error_ratio=0.05)
    start, end, sent, settle = window_of_traffic(service, prometheus, 300)
    report = evaluate_window(
        PrometheusClient(prometheus.url), thin_tail_config(), start, end, job=JOB, coverage=settle
    )
    error_rate = report.kpi("error_rate")
    assert error_rate.verdict is Verdict.FAIL
    assert error_rate.observed is not None
    assert 0.01 < error_rate.observed < 0.15
    assert sent["errors"] > 0
    assert report.kpi("success_rate").verdict is Verdict.FAIL
    assert report.kpi("latency_p95").verdict is Verdict.PASS
    assert report.verdict is Verdict.FAIL


def test_slow_tail_fault_turns_latency_p99_to_fail(
    live: tuple[ReferenceService, PrometheusServer], faults: Callable[..., None]
) -> None:
    """The slow-tail fault (as --fault-latency 0.1:0.6): p99 in the (0.5, 0.75] bucket fails."""
    service, prometheus = live
    faults(latency=[{"ratio": 0.1, "seconds": 0.6}])
    start, end, _, settle = window_of_traffic(service, prometheus, 300, concurrency=64)
    report = evaluate_window(
        PrometheusClient(prometheus.url), thin_tail_config(), start, end, job=JOB, coverage=settle
    )
    p99 = report.kpi("latency_p99")
    assert p99.verdict is Verdict.FAIL, p99.describe()
    assert p99.detail["exact"] is True
    assert p99.detail["share_at_or_below_threshold"] < 0.99
    assert (p99.detail["bucket_lower"], p99.detail["bucket_upper"]) == (0.5, 0.75)
    assert report.kpi("error_rate").verdict is Verdict.PASS


def test_cli_exit_codes_empty_window_off_bucket_threshold_prometheus_stopped(
    start_reference_service: StartService,
    start_prometheus: StartPrometheus,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Empty window: exit 3; a threshold off the histogram's buckets: 7; Prometheus stopped: 5."""
    service = start_reference_service()
    prometheus = start_prometheus([ScrapeJob(JOB, (service.address,))], interval=1.0)
    before = datetime.now(UTC) - timedelta(hours=2)
    window = ["--start", before.isoformat(), "--end", (before + timedelta(minutes=5)).isoformat()]
    base = ["report", "--prometheus-url", prometheus.url, "--job", JOB]
    assert cli.main([*base, *window, "--out", str(tmp_path / "empty")]) == 3
    verdict = json.loads((tmp_path / "empty" / "verdict.json").read_text())
    assert verdict["verdict"] == "no_data"
    assert {k["verdict"] for k in verdict["kpis"]} == {"no_data"}
    capsys.readouterr()

    prometheus.wait_for_targets()
    client = PrometheusClient(prometheus.url)
    deadline = time.monotonic() + 15
    while not bucket_bounds_in_prometheus(client, SloConfig.default(), JOB):
        assert time.monotonic() < deadline, "the target's histogram never appeared"
        time.sleep(0.2)
    slo = tmp_path / "slo.yaml"
    slo.write_text("objectives:\n  latency_p95: '< 120ms'\n  latency_p99: '< 500ms'\n")
    assert cli.main([*base, "--last", "5m", "--slo-config", str(slo)]) == 7
    err = capsys.readouterr().err
    assert "latency_p95: the threshold 120 ms (0.12 s) is not a bucket of" in err
    assert "0.1, 0.25, 0.5" in err

    prometheus.stop()
    assert cli.main([*base, "--last", "5m", "--out", str(tmp_path / "down")]) == 5
    err = capsys.readouterr().err
    assert f"Prometheus at {prometheus.url} could not answer every query" in err
    assert f"prometheus: {prometheus.url}" in err
    verdict = json.loads((tmp_path / "down" / "verdict.json").read_text())
    assert verdict["verdict"] == "error"
    assert verdict["exit_code"] == 5
    assert {k["verdict"] for k in verdict["kpis"]} == {"error"}


def test_target_restart_mid_window_counts_through_the_reset(
    live: tuple[ReferenceService, PrometheusServer],
) -> None:
    """A restart mid-window resets the counters: every request still counted, through the reset."""
    service, prometheus = live
    start = datetime.now(UTC)
    first = drive(service, 150)
    wait_for_scrape_after(prometheus, time.time())
    service.stop()
    service.start()
    second = drive(service, 150)
    end = datetime.now(UTC)
    settle = covered(prometheus, start, end)
    sent = first["requests"] + second["requests"]
    report = evaluate_window(
        PrometheusClient(prometheus.url),
        thin_tail_config(),
        start,
        end,
        job=JOB,
        load_result=LoadResult(target_url=service.url, requests=sent, errors=0),
        coverage=settle,
    )
    p95 = report.kpi("latency_p95")
    assert p95.detail["counting"].endswith(
        "raw counter samples between the scrapes bracketing the window (edges not covered: see coverage), resets counted"
    )
    assert p95.samples == sent, (report.kpi("error_rate").detail, p95.query, report.errors)
    # Judged, not no_data or error. Whether it passes depends on how slow the first requests
    # after a cold restart were on a busy machine, which is not what this test is about.
    assert p95.verdict in (Verdict.PASS, Verdict.FAIL)
    assert [f.subject for f in report.findings if f.kind == "request_count"] == []


def test_target_gone_after_the_window_is_no_data_not_a_short_count(
    start_reference_service: StartService,
    start_prometheus: StartPrometheus,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No successful scrape after the window (the target died): counted KPIs no_data, exit 3."""
    service = start_reference_service()
    prometheus = start_prometheus([ScrapeJob(JOB, (service.address,))], interval=1.0)
    prometheus.wait_for_targets()
    start = datetime.now(UTC)
    drive(service, 50)
    end = datetime.now(UTC)
    service.stop()  # its last requests will never be scraped
    out = tmp_path / "report"
    window = ["--start", start.isoformat(), "--end", end.isoformat()]
    base = ["report", "--prometheus-url", prometheus.url, "--job", JOB, "--out", str(out)]
    began = time.monotonic()
    assert cli.main([*base, *window]) == 3
    waited = time.monotonic() - began
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["coverage"]["settled"] is False
    assert verdict["coverage"]["wait_bound_seconds"] == pytest.approx(7.0, abs=0.5)
    assert waited < 7.0 + 15.0  # the bound after the end, plus the queries
    error_rate = next(k for k in verdict["kpis"] if k["name"] == "error_rate")
    assert error_rate["verdict"] == "no_data"
    assert error_rate["reason"].startswith(f"no successful scrape of {JOB}/{service.address}")
    assert "so its counts would be short" in error_rate["reason"]
    assert "scrapes: no successful scrape of" in capsys.readouterr().out
