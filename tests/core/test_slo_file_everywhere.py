"""One SLO-file loader: an OpenSLO v1 file is accepted by every command that takes --slo-config.

Each command runs for real up to the point where it needs something this test does not give it
(a closed Prometheus port, an unreachable target): the exit code then says how far it got, and
the same command with a broken OpenSLO file stops at the loader with exit 7.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from hypersync_slo.cli import main
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.processes import free_port
from tests.conftest import StartService

#: p99 < 300 ms (a bucket the packaged default does not have) and availability >= 99.5 %.
OPENSLO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-p99}
spec:
  service: hypersync
  budgetingMethod: Occurrences
  timeWindow: [{duration: 30d, isRolling: true}]
  indicator:
    metadata: {name: p99}
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec: {query: 'histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket[5m])))'}
  objectives: [{op: lt, value: 0.3}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: up}
spec:
  service: hypersync
  budgetingMethod: Occurrences
  timeWindow: [{duration: 30d, isRolling: true}]
  indicator:
    metadata: {name: up}
    spec:
      ratioMetric:
        counter: false
        good: {metricSource: {type: Prometheus, spec: {query: 'sum(up{job="hypersync"})'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'count(up{job="hypersync"})'}}}
  objectives: [{target: 0.995}]
"""


@pytest.fixture
def openslo(tmp_path: Path) -> Path:
    """The OpenSLO file above, written to disk."""
    path = tmp_path / "slo.openslo.yaml"
    path.write_text(OPENSLO, "utf-8")
    return path


@pytest.fixture
def broken_openslo(tmp_path: Path) -> Path:
    """The same file with a metric source the loader refuses."""
    path = tmp_path / "broken.openslo.yaml"
    path.write_text(OPENSLO.replace("type: Prometheus", "type: Datadog", 1), "utf-8")
    return path


def closed_url() -> str:
    """A loopback URL on which nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


def argv_for(command: str, slo: Path, out: Path) -> list[str]:
    """The command line of ``command`` run with SLO file ``slo`` and nothing it could reach."""
    return {
        "render": ["render", "--out", str(out)],
        "report": ["report", "--prometheus-url", closed_url(), "--last", "1m", "--out", str(out)],
        "audit": ["audit", "--prometheus-url", closed_url(), "--last", "1h", "--out", str(out)],
        "load": ["load", "--target-url", "http://192.0.2.1:8080", "--rps", "1", "--duration", "1s"],
        "check": ["check", "--target-url", closed_url()],
        "run": ["run", "--target-url", closed_url(), "--skip", "load", "--skip", "report"],
        "serve-reference": ["serve-reference", "--port", str(free_port())],
        "demo": ["demo", "--out", str(out)],
    }[command] + ["--slo-config", str(slo)]


COMMANDS = ("render", "report", "audit", "load", "check", "run", "serve-reference", "demo")


@pytest.mark.parametrize("command", COMMANDS)
def test_broken_openslo_file_is_refused_by_every_command(
    command: str, broken_openslo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every command reads --slo-config through the one loader: a broken OpenSLO file is exit 7."""
    out = tmp_path / "out"
    assert main(argv_for(command, broken_openslo, out)) == ExitCode.BAD_CONFIG
    err = capsys.readouterr().err
    assert f"{broken_openslo}: SLO api-p99: metricSource type 'Datadog' is not supported" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("report", ExitCode.PROMETHEUS_UNAVAILABLE),
        ("audit", ExitCode.PROMETHEUS_UNAVAILABLE),
        ("load", ExitCode.USAGE),  # a non-loopback target not in load.allow_targets
        ("check", ExitCode.TARGET_UNREACHABLE),
        ("run", ExitCode.TARGET_UNREACHABLE),  # the gate stage, a child process, loads it too
    ],
)
def test_openslo_file_passes_the_loader_of_every_command(
    command: str, expected: ExitCode, openslo: Path, tmp_path: Path
) -> None:
    """With a valid OpenSLO file each command gets past the loader to the part it cannot reach."""
    done = subprocess.run(
        [sys.executable, "-m", "hypersync_slo", *argv_for(command, openslo, tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == expected, done.stdout[-2000:] + done.stderr[-2000:]
    assert "ConfigError" not in done.stdout + done.stderr


def test_render_writes_the_openslo_objectives(openslo: Path, tmp_path: Path) -> None:
    """render with an OpenSLO file writes its availability objective (99.5 %) into the rules."""
    out = tmp_path / "out"
    assert main(argv_for("render", openslo, out)) == ExitCode.PASS
    rules = (out / "prometheus" / "rules" / "hypersync-slo.rules.yml").read_text("utf-8")
    assert "vector(0.995)" in rules
    assert "vector(0.999)" not in rules


def gate(tmp_path: Path, url: str, slo: Path) -> subprocess.CompletedProcess[str]:
    """Run the gate's O-02 check (latency thresholds are buckets) against ``url``."""
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
            "test_latency_buckets_include_slo_thresholds",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_reference_and_gate_take_the_openslo_thresholds(
    openslo: Path, start_reference_service: StartService, tmp_path: Path
) -> None:
    """serve-reference makes the OpenSLO 300 ms threshold a bucket; the gate (O-02) checks it."""
    service = start_reference_service("--slo-config", str(openslo))
    exposition = httpx.get(f"{service.url}/metrics", timeout=10).text
    assert 'le="0.3"' in exposition
    done = gate(tmp_path, service.url, openslo)
    assert done.returncode == ExitCode.PASS, done.stdout[-3000:] + done.stderr[-2000:]
    # The gate judges the thresholds of the OpenSLO file it was given, not the packaged ones.
    other = tmp_path / "other.openslo.yaml"
    other.write_text(OPENSLO.replace("value: 0.3", "value: 0.35"), "utf-8")
    done = gate(tmp_path, service.url, other)
    assert done.returncode == ExitCode.FAIL, done.stdout[-3000:] + done.stderr[-2000:]
    assert "missing 0.35 s" in done.stdout


def test_demo_loads_rules_rendered_from_openslo(openslo: Path, tmp_path: Path) -> None:
    """demo with an OpenSLO file renders its rules, starts the stack with them (no stage run)."""
    out = tmp_path / "demo"
    argv = [*argv_for("demo", openslo, out), "--no-history"]
    argv += ["--skip", "check", "--skip", "load", "--skip", "report"]
    done = subprocess.run(
        [sys.executable, "-m", "hypersync_slo", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == ExitCode.NO_DATA, done.stdout[-2000:] + done.stderr[-2000:]
    rules = (out / "monitoring" / "prometheus" / "rules" / "hypersync-slo.rules.yml").read_text()
    assert "vector(0.995)" in rules
