"""Any HyperSync deployment: the gate, load and run against a second target with its own API.

The target (``tests/targets/ledger.py``, Starlette + prometheus_client) differs from the
reference service in routes, success statuses (201/202/204), id formats and auth (an
``X-Api-Key`` token); its traffic is declared in ``tests/data/traffic/``. Real servers on
loopback: the target as a subprocess, a real Prometheus scraping it for ``run``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from hypersync_slo.processes import ManagedProcess, free_port, python_module_argv
from hypersync_slo.stack import PrometheusServer, ScrapeJob

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "traffic"
TRAFFIC = DATA / "ledger.yaml"
SLO = DATA / "slo-ledger.yaml"
TOKEN = "ledger-token-5b1e9f"


@dataclass
class Ledger:
    """A running ledger target."""

    port: int
    process: ManagedProcess

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"


StartLedger = Callable[..., Ledger]


@pytest.fixture
def start_ledger(tmp_path: Path) -> Iterator[StartLedger]:
    """A factory starting the ledger target (token in LEDGER_TOKEN) with extra arguments."""
    started: list[Ledger] = []

    def start(*args: str) -> Ledger:
        port = free_port()
        process = ManagedProcess(
            "ledger target",
            python_module_argv("tests.targets.ledger", "--port", str(port), *args),
            tmp_path / f"ledger{len(started)}.log",
            env={**os.environ, "LEDGER_TOKEN": TOKEN},
            cwd=ROOT,
        ).start()
        ledger = Ledger(port, process)
        started.append(ledger)
        process.wait_http(f"{ledger.url}/health/live", timeout=30)
        return ledger

    yield start
    for ledger in reversed(started):
        ledger.process.stop()


def cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run ``hypersync-slo ARGS`` with the token in LEDGER_TOKEN."""
    return subprocess.run(
        [sys.executable, "-m", "hypersync_slo", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
        env={**os.environ, "LEDGER_TOKEN": TOKEN},
    )


def variant(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """The ledger traffic file with ``change`` applied to its ``traffic`` mapping."""
    data = yaml.safe_load(TRAFFIC.read_text("utf-8"))
    change(data["traffic"])
    path = tmp_path / "traffic.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    return path


def test_gate_passes_on_the_second_target_with_its_declaration(start_ledger: StartLedger) -> None:
    """check --traffic: B-01 sends the declared requests (202/201/204, X-Api-Key) and passes."""
    ledger = start_ledger()
    proc = cli("check", "--target-url", ledger.url, "--traffic", str(TRAFFIC), "-v")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "PASS     test_business_counters_count_business_calls" in output
    assert "PASS     test_valid_traceparent_is_continued" in output
    assert "PASS     test_route_label_is_a_template" in output
    assert TOKEN not in output


def test_gate_names_a_declared_counter_that_does_not_move(
    start_ledger: StartLedger, tmp_path: Path
) -> None:
    """A declared counter series that the call does not move fails B-01, naming it."""
    ledger = start_ledger()

    def wrong_label(traffic: dict[str, Any]) -> None:
        traffic["requests"][3]["counter"]["labels"] = {"action": "sync"}

    proc = cli(
        "check", "--target-url", ledger.url, "--traffic", str(variant(tmp_path, wrong_label))
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-4000:]
    assert "B-01 broken: business counters did not count the business calls made." in output
    assert (
        "PUT /api/v2/agents/{agent}/heartbeat: no series "
        "hypersync_agent_actions_total{action='sync'}" in output
    )


def test_gate_judges_the_declared_status_not_ours(
    start_ledger: StartLedger, tmp_path: Path
) -> None:
    """Declaring 200 where the service answers 202 fails B-01 with both statuses named."""
    ledger = start_ledger()

    def expect_200(traffic: dict[str, Any]) -> None:
        traffic["requests"][0]["expect"] = [200]

    proc = cli("check", "--target-url", ledger.url, "--traffic", str(variant(tmp_path, expect_200)))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-4000:]
    assert "answered 202, expected 200" in output


def test_load_without_the_token_is_refused_before_any_traffic(start_ledger: StartLedger) -> None:
    """The declared token variable unset: exit 2 naming it, and the target saw no request."""
    ledger = start_ledger()
    env = {k: v for k, v in os.environ.items() if k != "LEDGER_TOKEN"}
    argv = ["load", "--target-url", ledger.url, "--traffic", str(TRAFFIC), "--rps", "10"]
    proc = subprocess.run(
        [sys.executable, "-m", "hypersync_slo", *argv, "--duration", "2s", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr
    assert "$LEDGER_TOKEN is not set or empty" in proc.stderr


def test_a_bad_declaration_is_exit_7_before_any_traffic(
    start_ledger: StartLedger, tmp_path: Path
) -> None:
    """A {param} without values: exit 7 naming the key; the target's counters never moved."""
    ledger = start_ledger()

    def undeclared(traffic: dict[str, Any]) -> None:
        traffic["requests"][0]["path"] = "/api/v2/ops/{opp}:run"

    out = tmp_path / "out"
    proc = cli(
        "load", "--target-url", ledger.url, "--traffic", str(variant(tmp_path, undeclared)),
        "--rps", "10", "--duration", "2s", "--out", str(out), "--quiet",
    )  # fmt: skip
    assert proc.returncode == 7, proc.stderr
    assert "traffic.requests[0].path: {opp} has no values" in proc.stderr
    assert not out.exists()


def run_job(
    ledger: Ledger, prometheus: PrometheusServer, out: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """``hypersync-slo run`` against the ledger: gate, load at 100 req/s for 8 s, report."""
    proc = cli(
        "run", "--target-url", ledger.url, "--prometheus-url", prometheus.url, "--job", "ledger",
        "--slo-config", str(SLO), "--rps", "100", "--duration", "8s", "--out", str(out),
        "--no-history", "--late-tolerance", "0.05", *extra,
    )  # fmt: skip
    result = json.loads((out / "load" / "load-result.json").read_text("utf-8"))
    return proc, result


@pytest.fixture
def scraped_ledger(
    start_ledger: StartLedger, start_prometheus: Callable[..., PrometheusServer]
) -> Callable[..., tuple[Ledger, PrometheusServer]]:
    """A ledger target (with extra arguments) and a real Prometheus scraping it every second."""

    def start(*args: str) -> tuple[Ledger, PrometheusServer]:
        ledger = start_ledger(*args)
        prometheus = start_prometheus([ScrapeJob("ledger", (f"127.0.0.1:{ledger.port}",))])
        return ledger, prometheus

    return start


def test_run_passes_on_a_healthy_second_target(
    scraped_ledger: Callable[..., tuple[Ledger, PrometheusServer]], tmp_path: Path
) -> None:
    """run with the declared traffic: gate, load and report pass; business counters reconcile."""
    ledger, prometheus = scraped_ledger()
    proc, result = run_job(ledger, prometheus, tmp_path / "run")
    summary = (tmp_path / "run" / "summary.md").read_text("utf-8")
    assert proc.returncode == 0, summary + proc.stdout[-3000:] + proc.stderr[-3000:]
    assert result["errors"] == 0, result["errors_by_cause"]
    assert set(result["by_request"]) >= {
        "POST /api/v2/ops/{op}:run",
        "PUT /api/v2/agents/{agent}/heartbeat",
        "GET /health/ready",
    }
    assert result["business_calls"]["agent_actions"]["action=heartbeat"] > 0
    verdict = json.loads((tmp_path / "run" / "report" / "verdict.json").read_text("utf-8"))
    assert [f for f in verdict.get("findings", []) if f["kind"] == "business_counter"] == []
    assert TOKEN not in proc.stdout + proc.stderr + summary


def test_run_fails_on_server_errors_naming_the_kpi_and_cause(
    scraped_ledger: Callable[..., tuple[Ledger, PrometheusServer]], tmp_path: Path
) -> None:
    """1.5 % of API requests answer 500: error_rate fails (server and client), cause named."""
    ledger, prometheus = scraped_ledger("--error-ratio", "0.015")
    proc, result = run_job(ledger, prometheus, tmp_path / "run")
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "error_rate" in result["verdict"]["failed"]
    causes = result["errors_by_cause"]
    assert any(c.startswith("500 Internal Server Error on ") for c in causes), causes
    verdict = json.loads((tmp_path / "run" / "report" / "verdict.json").read_text("utf-8"))
    server = {k["name"]: k for k in verdict["kpis"]}
    assert server["error_rate"]["verdict"] == "fail"
    assert server["error_rate"]["source"] == "prometheus"


def test_run_fails_on_ids_the_service_never_issued(
    scraped_ledger: Callable[..., tuple[Ledger, PrometheusServer]], tmp_path: Path
) -> None:
    """Reads of ids the service never issued: 404s named per request; the server saw no 5xx."""
    ledger, prometheus = scraped_ledger()

    def made_up_ids(traffic: dict[str, Any]) -> None:
        traffic["requests"][2]["params"] = {"entry_id": ["led_000000000001", "led_00000000beef"]}

    proc, result = run_job(
        ledger, prometheus, tmp_path / "run", "--traffic", str(variant(tmp_path, made_up_ids))
    )
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "error_rate" in result["verdict"]["failed"]
    read = result["by_request"]["GET /api/v2/ledger/{entry_id}"]
    assert set(read["errors_by_cause"]) == {"404 Not Found on GET /api/v2/ledger/{entry_id}"}
    assert read["errors"] == read["requests"] > 0
    assert sum(e["errors"] for e in result["by_request"].values()) == read["errors"]
    summary = (tmp_path / "run" / "load" / "load-summary.md").read_text("utf-8")
    assert "| `GET /api/v2/ledger/{entry_id}` | 404 Not Found |" in summary
    verdict = json.loads((tmp_path / "run" / "report" / "verdict.json").read_text("utf-8"))
    assert {k["name"]: k for k in verdict["kpis"]}["error_rate"]["verdict"] == "pass"
    explained = [f for f in verdict["findings"] if f["kind"] == "client_errors"]
    assert len(explained) == 1, verdict["findings"]
    assert "404 Not Found on GET /api/v2/ledger/{entry_id} x" in explained[0]["message"]
    report_md = (tmp_path / "run" / "report" / "report.md").read_text("utf-8")
    assert "404 Not Found on GET /api/v2/ledger/" in report_md  # escaped Markdown after it


def test_plain_locustfile_sends_the_declared_traffic(
    start_ledger: StartLedger, tmp_path: Path
) -> None:
    """`locust -f load/locustfile.py --traffic FILE`: the declared requests, statuses and token."""
    ledger = start_ledger()
    argv = ["-f", str(ROOT / "load" / "locustfile.py"), "--headless", "-u", "5", "-r", "5"]
    argv += ["-t", "3s", "--host", ledger.url, "--traffic", str(TRAFFIC)]
    proc = subprocess.run(
        [sys.executable, "-m", "locust", *argv, "--json-file", str(tmp_path / "stats")],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        cwd=ROOT,
        env={**os.environ, "LEDGER_TOKEN": TOKEN},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    entries = json.loads((tmp_path / "stats.json").read_text("utf-8"))
    names = {entry["name"] for entry in entries}
    assert "PUT /api/v2/agents/{agent}/heartbeat" in names
    assert "POST /api/v2/ops/{op}:run" in names
    assert sum(entry["num_failures"] for entry in entries) == 0, proc.stderr[-2000:]
