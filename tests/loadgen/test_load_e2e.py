"""End to end: ``hypersync-slo load`` as a subprocess against the real reference service."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hypersync_slo.loadgen.parts import read_parts
from hypersync_slo.processes import free_port
from hypersync_slo.results import LOAD_RESULT_FILE
from hypersync_slo.stack import ReferenceService
from tests.conftest import StartService
from tests.loadgen.schema import check_file

SLO = Path(__file__).parents[1] / "data" / "loadgen" / "slo-e2e.yaml"
#: metric -> (the declared counter of the packaged traffic, the labels it is keyed by)
BUSINESS = {
    "hypersync_operator_executions_total": ("operator_executions", ("operator", "outcome")),
    "hypersync_policy_evaluations_total": ("policy_evaluations", ("decision",)),
    "hypersync_receipts_generated_total": ("receipts_generated", ()),
    "hypersync_agent_actions_total": ("agent_actions", ("action",)),
}


def load_command(url: str, out: Path, *args: str) -> list[str]:
    """argv of ``hypersync-slo load`` against ``url`` writing into ``out``."""
    return [
        sys.executable,
        "-m",
        "hypersync_slo",
        "load",
        "--target-url",
        url,
        "--out",
        str(out),
        "--slo-config",
        str(SLO),
        "--quiet",
        # These tests are about counting, not generator fidelity: a busy CI machine may delay
        # a few sends by more than the default 10 ms, which would void the verdict.
        "--late-tolerance",
        "0.05",
        *args,
    ]


def run_load(
    url: str, out: Path, *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``hypersync-slo load`` to the end and return its completed process."""
    return subprocess.run(
        load_command(url, out, *args), capture_output=True, text=True, timeout=timeout, check=False
    )


def read_result(out: Path) -> dict[str, Any]:
    """The load-result.json of a run, checked against the output contract (``LoadResult``)."""
    text = (out / LOAD_RESULT_FILE).read_text()
    check_file(text)
    result: dict[str, Any] = json.loads(text)
    return result


def business_counters(service: ReferenceService) -> dict[str, Counter[str]]:
    """The service's business counters from /metrics, keyed like ``business_calls``."""
    text = httpx.get(f"{service.url}/metrics", timeout=5).text
    found: dict[str, Counter[str]] = {kind: Counter() for kind, _ in BUSINESS.values()}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name not in BUSINESS:
                continue
            kind, labels = BUSINESS[sample.name]
            key = ",".join(f"{name}={sample.labels[name]}" for name in labels)
            found[kind][key] += int(sample.value)
    return found


def delta(after: dict[str, Counter[str]], before: dict[str, Counter[str]]) -> dict[str, Any]:
    """after - before, shaped like the load result's ``business_calls``."""
    out: dict[str, Any] = {}
    for kind, counts in after.items():
        diff = {k: v - before[kind][k] for k, v in counts.items() if v - before[kind][k]}
        if diff:
            out[kind] = dict(sorted(diff.items()))
    return out


def test_counts_add_up_and_business_calls_match_metrics(
    reference_service: ReferenceService, tmp_path: Path
) -> None:
    """200 req/s for 5 s: 1000 sent and completed, rate within 1 %, counters match /metrics."""
    before = business_counters(reference_service)
    proc = run_load(reference_service.url, tmp_path, "--rps", "200", "--duration", "5s")
    after = business_counters(reference_service)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    result = read_result(tmp_path)
    assert result["scheduled"] == result["sent"] == result["requests"] == 1000
    assert sum(e["requests"] for e in result["by_request"].values()) == 1000
    assert result["errors"] == result["dropped"] == 0
    assert abs(result["achieved_rps"] - 200) <= 2
    assert result["saturated"] is False
    assert result["business_calls"] == delta(after, before)
    assert result["verdict"]["status"] == "pass"
    assert "client, corrected, 1000 samples" in proc.stdout


def test_two_workers_share_the_rate(reference_service: ReferenceService, tmp_path: Path) -> None:
    """--workers 2: a Locust master and two workers send 1000 requests in 5 s, 500 each."""
    proc = run_load(
        reference_service.url,
        tmp_path,
        "--rps",
        "200",
        "--duration",
        "5s",
        "--workers",
        "2",
        "--arrival",
        "poisson",
        "--seed",
        "3",
    )
    result = read_result(tmp_path)
    # Seed 3 plans 933 Poisson arrivals: too few to judge p99 (needs 1000): no_data, exit 3.
    assert result["scheduled"] == 933
    # On a machine too busy to hold the schedule the verdict is void (9) instead.
    assert proc.returncode == (9 if result["saturated"] else 3), proc.stderr + proc.stdout
    assert result["verdict"]["no_data"] == ["latency_p99"]
    parts = read_parts(tmp_path / ".parts")
    assert sorted(p["worker"] for p in parts) == [0, 1]
    assert all(p["final"] for p in parts)
    assert result["sent"] == result["scheduled"] == sum(p["sent"] for p in parts)
    assert result["requests"] == result["sent"]
    assert abs(result["sent"] - 1000) <= 5 * 1000**0.5  # Poisson count
    assert result["workers"] == 2
    assert (tmp_path / "locust-master.log").exists()


def test_stall_shows_in_corrected_p99_not_uncorrected(
    start_reference_service: StartService, tmp_path: Path
) -> None:
    """A 0.5 s stall every 2 s over 2 connections: corrected p99 sees it, uncorrected does not."""
    service = start_reference_service("--fault-stall", "2:0.5")
    proc = run_load(service.url, tmp_path, "--rps", "200", "--duration", "5s", "--connections", "2")
    result = read_result(tmp_path)
    corrected, uncorrected = result["latency"]["corrected"], result["latency"]["uncorrected"]
    assert corrected["p99"] > 0.3, (proc.stderr, corrected)
    assert uncorrected["p99"] < 0.1, uncorrected
    assert corrected["samples"] == uncorrected["samples"] == 1000


def test_slow_tail_in_p99_not_p95(start_reference_service: StartService, tmp_path: Path) -> None:
    """2 % of requests +600 ms: visible in the client p99, not in the p95."""
    service = start_reference_service("--fault-latency", "0.02:0.6")
    proc = run_load(service.url, tmp_path, "--rps", "300", "--duration", "5s")
    result = read_result(tmp_path)
    for view in ("corrected", "uncorrected"):
        latency = result["latency"][view]
        assert latency["p99"] >= 0.6, (view, latency, proc.stderr)
        assert latency["p95"] < 0.1, (view, latency)


def test_refused_connection_exits_4_before_any_load(tmp_path: Path) -> None:
    """Nothing listening: exit 4 with a message saying no load was sent."""
    url = f"http://127.0.0.1:{free_port()}"
    proc = run_load(url, tmp_path, "--rps", "100", "--duration", "5s", timeout=30)
    assert proc.returncode == 4
    assert "the load target refuses connections; no load was sent." in proc.stderr
    assert f"target: {url}" in proc.stderr
    assert not (tmp_path / "load-result.json").exists()


def test_remote_target_refused_with_exit_2(tmp_path: Path) -> None:
    """A non-loopback target is refused before anything starts (exit 2, usage)."""
    proc = run_load(
        "http://192.0.2.10:8080", tmp_path, "--rps", "10", "--duration", "1s", timeout=30
    )
    assert proc.returncode == 2
    assert "refusing to send load to a target that is not on this machine." in proc.stderr


@pytest.mark.parametrize(
    ("signum", "workers"),
    [(signal.SIGINT, "0"), (signal.SIGTERM, "2")],
    ids=["sigint", "sigterm-2w"],
)
def test_signal_mid_run_still_writes_results(
    reference_service: ReferenceService, tmp_path: Path, signum: int, workers: str
) -> None:
    """SIGINT (one process) or SIGTERM (2 workers) mid-run: exit 130, every part's figures kept."""
    proc = subprocess.Popen(
        load_command(
            reference_service.url,
            tmp_path,
            "--rps",
            "100",
            "--duration",
            "60s",
            "--workers",
            workers,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        parts = read_parts(tmp_path / ".parts")
        if parts and sum(p["sent"] for p in parts) >= 150:
            break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the load never started sending")
    os.kill(proc.pid, signum)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted; results gathered so far were written" in err
    result = read_result(tmp_path)
    assert result["interrupted"] is True
    assert result["requests"] >= 150
    assert result["elapsed"] < 30
    parts = read_parts(tmp_path / ".parts")
    assert len(parts) == max(1, int(workers))
    assert all(p["final"] and p["interrupted"] for p in parts)  # the last word of each process


def test_abort_on_critical_error_rate(
    start_reference_service: StartService, tmp_path: Path
) -> None:
    """Half the requests answer 500: --abort-on-critical stops early, exit 1, reason recorded."""
    service = start_reference_service("--fault-error-ratio", "0.5")
    started = time.monotonic()
    proc = run_load(
        service.url, tmp_path, "--rps", "200", "--duration", "60s", "--abort-on-critical"
    )
    assert time.monotonic() - started < 40
    assert proc.returncode == 1, proc.stderr
    result = read_result(tmp_path)
    assert "above the critical 5.00%" in result["aborted"]
    causes = result["errors_by_cause"]
    assert causes["500 Internal Server Error on POST /v1/policies/{policy}/evaluate"] > 0, causes
    assert "| `POST /v1/policies/{policy}/evaluate` | 500 Internal Server Error |" in proc.stdout
    assert result["verdict"]["status"] == "fail"


def test_command_never_imports_locust() -> None:
    """Importing the command and launcher leaves locust and gevent out of the parent process."""
    code = (
        "import hypersync_slo.commands.load, hypersync_slo.loadgen.launcher, sys; "
        "assert 'locust' not in sys.modules and 'gevent' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_stall_beyond_timeout_counts_timeouts(
    start_reference_service: StartService, tmp_path: Path
) -> None:
    """A 0.5 s stall with a 0.2 s request timeout: failures counted under cause 'timeout'."""
    service = start_reference_service("--fault-stall", "2:0.5")
    proc = run_load(service.url, tmp_path, "--rps", "100", "--duration", "3s", "--timeout", "0.2")
    result = read_result(tmp_path)
    assert result["errors_by_cause"].get("timeout", 0) > 0, (proc.stderr, result["errors_by_cause"])
    assert result["requests"] == result["sent"]  # every timed-out request still completed
    assert proc.returncode == (9 if result["saturated"] else 1), result["saturation_reasons"]


def test_target_going_away_counts_refused_and_ends(
    start_reference_service: StartService, tmp_path: Path
) -> None:
    """The service stops mid-run: refused connections are errors by cause; the run still ends."""
    service = start_reference_service()
    proc = subprocess.Popen(
        load_command(service.url, tmp_path, "--rps", "100", "--duration", "4s"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        parts = read_parts(tmp_path / ".parts")
        if parts and parts[0]["sent"] >= 100:
            break
        time.sleep(0.1)
    service.stop()
    _out, err = proc.communicate(timeout=60)
    result = read_result(tmp_path)
    causes = result["errors_by_cause"]
    assert causes.get("connection_refused", 0) + causes.get("connection_reset", 0) > 0, err
    assert result["sent"] == result["scheduled"] == 400
    assert proc.returncode == (9 if result["saturated"] else 1), (err, result["saturation_reasons"])
    assert "error_rate" in result["verdict"]["failed"]


def test_plain_locustfile_runs_the_traffic_model(
    reference_service: ReferenceService, tmp_path: Path
) -> None:
    """`locust -f load/locustfile.py` (closed model) sends the mix, named by route template."""
    locustfile = Path(__file__).parents[2] / "load" / "locustfile.py"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(locustfile),
            "--headless",
            "-u",
            "10",
            "-r",
            "10",
            "-t",
            "3s",
            "--host",
            reference_service.url,
            "--json-file",
            str(tmp_path / "stats"),
            "--loglevel",
            "WARNING",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    entries = json.loads((tmp_path / "stats.json").read_text())
    names = {entry["name"] for entry in entries}
    assert "POST /v1/operators/{operator}/execute" in names
    assert all(" /" in name and "agent-" not in name for name in names), names
    assert sum(entry["num_failures"] for entry in entries) == 0
