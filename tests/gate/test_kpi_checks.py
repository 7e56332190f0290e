"""KPI tests (-m kpi) on a real Prometheus scraping the reference service."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from hypersync_slo.stack import PrometheusServer, ScrapeJob
from tests.conftest import StartService
from tests.gate.conftest import RunGate

pytest_plugins = ["pytester"]

SLO = """\
version: 1
objectives:
  availability:   {objective: ">= 0%", min_samples: 1}
  latency_p95:    {objective: "< 25ms", min_samples: 1}
  latency_p99:    {objective: "< 10s", min_samples: 1}
  throughput_rps: {objective: ">= 0", min_samples: 1}
  error_rate:     {objective: "< 50%", min_samples: 1}
"""


def test_kpi_outside_objective_fails_with_source_and_window(
    start_reference_service: StartService,
    start_prometheus: Callable[..., PrometheusServer],
    run_gate: RunGate,
    tmp_path: Path,
) -> None:
    """A p95 budget the service misses (30 ms injected, 25 ms allowed) fails naming observed value, source, samples, window and query."""
    service = start_reference_service("--fault-latency", "1.0:0.03")  # every API call +30 ms
    prometheus = start_prometheus([ScrapeJob("hypersync", (service.address,))], interval=0.5)
    prometheus.wait_for_targets()
    with httpx.Client(base_url=service.url, timeout=5) as client:
        for burst in range(2):  # the second burst lands after the series' first scrape
            for _ in range(20):
                client.get("/v1/agents")
                client.get("/health/ready")
            time.sleep(1.2 + 0.4 * burst)  # scrapes every 0.5 s see each burst
    slo = tmp_path / "slo.yaml"
    slo.write_text(SLO)
    gate = run_gate(
        service.url,
        "-m",
        "kpi",
        "--slo-prometheus-url",
        prometheus.url,
        "--slo-prometheus-job",
        "hypersync",
        "--slo-config",
        str(slo),
        "--slo-window",
        "30s",
    )
    output = gate.output
    assert re.search(r"latency_p95\s+FAIL\s+test_kpi_meets_objective\[latency_p95\]", output), (
        output[-4000:]
    )
    assert "BudgetViolation: latency_p95 outside its objective." in output
    assert "objective: < 25 ms" in output
    assert re.search(r"source: prometheus, \d+ samples", output)
    assert "query: " in output
    assert re.search(r"latency_p99\s+PASS", output), output[-4000:]


def test_unreachable_prometheus_is_an_error(
    closed_port_url: str, run_gate: RunGate, misbehaving: object
) -> None:
    """A Prometheus that cannot be reached makes the KPI checks errors, not failures."""
    gate = run_gate(
        "http://127.0.0.1:9",
        "-m",
        "kpi",
        "--slo-prometheus-url",
        closed_port_url,
        "--slo-timeout",
        "1",
    )
    outcomes = gate.outcomes()
    assert "failed" not in outcomes, gate.output[-3000:]
    assert outcomes.get("errors", 0) >= 1, gate.output[-3000:]
    assert "Prometheus" in gate.output


def test_kpi_tests_skip_without_prometheus(run_gate: RunGate) -> None:
    """Without --slo-prometheus-url the KPI tests skip, saying why."""
    gate = run_gate("http://127.0.0.1:9", "-m", "kpi")
    assert gate.outcomes().get("skipped") == 5, gate.output[-3000:]
    assert "no --slo-prometheus-url: KPI tests need Prometheus" in gate.output
