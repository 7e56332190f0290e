"""The gate's metric checks (M-07 families, O-02 buckets) read the SLO file's instrumentation profile.

The target is a real FastAPI app instrumented by prometheus-fastapi-instrumentator (its default
buckets 0.1, 0.5 and 1 s; errors in ``http_requests_total{status="5xx"}``).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.processes import ManagedProcess, free_port, python_module_argv

ROOT = Path(__file__).resolve().parents[2]
METRIC_CHECKS = "test_required_family_present or test_latency_buckets_include_slo_thresholds"
SLO = """
version: 1
service: shop
objectives:
  latency_p95: {{objective: "< {p95}"}}
  error_rate: {{objective: "< 1%"}}
alerts:
  critical: {{error_rate: 5%, latency_p99: 1s}}
  warning: {{error_rate: 2%, latency_p99: 500ms}}
metrics:
  profile: {profile}
"""


@pytest.fixture(scope="module")
def instrumentator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A FastAPI app with prometheus-fastapi-instrumentator on a free loopback port."""
    port = free_port()
    process = ManagedProcess(
        "instrumentator",
        python_module_argv(
            "tests.report.profile_targets", "prometheus-fastapi-instrumentator", str(port)
        ),
        tmp_path_factory.mktemp("instrumentator") / "app.log",
        cwd=ROOT,
    ).start()
    try:
        process.wait_http(f"http://127.0.0.1:{port}/metrics", timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


def check(url: str, slo: Path) -> subprocess.CompletedProcess[str]:
    """``hypersync-slo check`` of the metric-family and bucket checks only."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "hypersync_slo",
            "check",
            "--target-url",
            url,
            "--slo-config",
            str(slo),
            "-k",
            METRIC_CHECKS,
        ],
        cwd=slo.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def slo_file(tmp_path: Path, profile: str, p95: str = "500ms") -> Path:
    """An SLO file naming ``profile`` with a p95 threshold."""
    path = tmp_path / f"{profile}.yaml"
    path.write_text(SLO.format(profile=profile, p95=p95), "utf-8")
    return path


def test_instrumentator_target_passes_with_its_profile(instrumentator: str, tmp_path: Path) -> None:
    """With the instrumentator profile, M-07 finds its families and O-02 its buckets: exit 0."""
    done = check(instrumentator, slo_file(tmp_path, "prometheus-fastapi-instrumentator"))
    assert done.returncode == ExitCode.PASS, done.stdout[-3000:] + done.stderr[-2000:]
    assert "http_requests_total" in done.stdout or "requests_counter" in done.stdout


def test_same_target_fails_m07_under_the_default_profile(
    instrumentator: str, tmp_path: Path
) -> None:
    """Judged with the HyperSync profile, the contract's histogram is missing: M-07 fails."""
    done = check(instrumentator, slo_file(tmp_path, "hypersync"))
    assert done.returncode == ExitCode.FAIL, done.stdout[-3000:]
    assert "the required family http_server_request_duration_seconds is missing" in done.stdout


def test_threshold_between_buckets_fails_o02_naming_the_bounds(
    instrumentator: str, tmp_path: Path
) -> None:
    """A 250 ms threshold is no bucket of the default 0.1/0.5/1 s histogram: O-02 lists the bounds."""
    done = check(instrumentator, slo_file(tmp_path, "prometheus-fastapi-instrumentator", "250ms"))
    assert done.returncode == ExitCode.FAIL, done.stdout[-3000:]
    assert "missing 0.25 s; bucket bounds (s): 0.1, 0.5, 1" in done.stdout
