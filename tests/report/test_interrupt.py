"""Ctrl-C during a report: what was computed is still written, the rest is error (interrupted)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from hypersync_slo.config import KPIS, QUANTILES, SloConfig
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.report import INTERRUPTED, write_report
from hypersync_slo.verdicts import Verdict
from tests.report.test_evaluation import END, START, FakePrometheus, evaluate, healthy

EMPTY = {
    "/api/v1/query": {"resultType": "vector", "result": []},
    "/api/v1/query_range": {"resultType": "matrix", "result": []},
}


def interrupt(_params: Mapping[str, str]) -> tuple[int, str]:
    """A recorded answer that is Ctrl-C arriving while the query waits."""
    raise KeyboardInterrupt


def test_interrupt_keeps_the_kpis_computed_so_far(tmp_path: Path) -> None:
    """Ctrl-C at the availability query: seven KPIs judged, availability error (interrupted)."""
    fake = healthy(probe_success=interrupt)
    report = evaluate(fake, keep_partial=True)
    assert report.interrupted
    assert [k.name for k in report.kpis] == list(KPIS)
    availability = report.kpi("availability")
    assert (availability.verdict, availability.reason) == (Verdict.ERROR, INTERRUPTED)
    assert report.kpi("latency_p99").verdict is Verdict.FAIL  # computed before the interrupt
    assert report.kpi("latency_p95").verdict is Verdict.PASS
    assert report.errors[-1] == "interrupted (Ctrl-C) after 7 of 8 KPIs; not computed: availability"
    assert report.exit_code is ExitCode.INTERRUPTED
    paths = write_report(report, tmp_path)
    verdict = json.loads(paths["verdict"].read_text())
    assert (verdict["interrupted"], verdict["exit_code"]) == (True, 130)
    assert {k["name"]: k["verdict"] for k in verdict["kpis"]}["availability"] == "error"
    assert "(interrupted)" in paths["markdown"].read_text().splitlines()[0]


def test_interrupt_while_plotting_keeps_every_kpi() -> None:
    """Ctrl-C during the plot queries: every KPI is already judged; the report says it stopped."""
    report = evaluate(healthy(**{"histogram_quantile(0.5": interrupt}), keep_partial=True)
    assert report.interrupted
    assert all(k.reason != INTERRUPTED for k in report.kpis)
    assert report.errors[-1].endswith("plots or reconciliation cut short")


def test_without_keep_partial_the_interrupt_propagates() -> None:
    """A library caller that did not ask for a partial report gets the KeyboardInterrupt."""
    with pytest.raises(KeyboardInterrupt):
        evaluate(FakePrometheus({"sum by (le) (increase": interrupt}))


@dataclass
class SlowPrometheus:
    """A loopback HTTP server speaking just enough of the Prometheus API: empty answers at
    once, except that a query containing ``hang_on`` waits until released (a slow store)."""

    hang_on: str
    hung: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    seen: list[str] = field(default_factory=list)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        """The request handler class bound to this server's state."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query)).get("query", "")
                fake.seen.append(query)
                if fake.hang_on in query:
                    fake.hung.set()
                    fake.release.wait(timeout=60)
                data = EMPTY.get(parts.path)
                body = json.dumps({"status": "success", "data": data}).encode()
                try:
                    self.send_response(200 if data else 404)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client went away (it was interrupted)

            do_POST = do_GET

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        return Handler


@pytest.fixture
def slow_prometheus() -> Iterator[tuple[SlowPrometheus, str]]:
    """A Prometheus stand-in on a free loopback port that hangs on the availability query."""
    fake = SlowPrometheus(hang_on="probe_success")
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_sigint_mid_report_writes_what_was_computed(
    slow_prometheus: tuple[SlowPrometheus, str], tmp_path: Path
) -> None:
    """SIGINT while Prometheus is slow to answer: exit 130, every file written, a paragraph says so."""
    fake, url = slow_prometheus
    out = tmp_path / "report"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hypersync_slo",
            "report",
            "--prometheus-url",
            url,
            "--start",
            f"{START.timestamp():.0f}",
            "--end",
            f"{END.timestamp():.0f}",
            "--out",
            str(out),
            "--timeout",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if not fake.hung.wait(timeout=60):
            pytest.fail(f"the report never asked for availability; queries: {fake.seen}")
        os.kill(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    paragraph = stderr.strip()
    assert "\n" not in paragraph, stderr
    assert paragraph.startswith("hypersync-slo: interrupted (Ctrl-C) while evaluating")
    assert f"7 of 8 KPIs were computed and written to {out}" in paragraph
    assert "the others read 'error' (interrupted): availability." in paragraph
    verdict = json.loads((out / "verdict.json").read_text())
    assert (verdict["interrupted"], verdict["exit_code"]) == (True, 130)
    kpis = {k["name"]: k for k in verdict["kpis"]}
    assert list(kpis) == list(KPIS)
    assert (kpis["availability"]["verdict"], kpis["availability"]["reason"]) == (
        "error",
        "interrupted",
    )
    for name in QUANTILES:  # an empty window: computed, and no_data (fails closed)
        assert kpis[name]["verdict"] == "no_data", kpis[name]
    assert kpis["error_rate"]["verdict"] == "no_data"
    for name in ("report.md", "report.html", "junit.xml"):
        assert (out / name).stat().st_size > 0, name
    assert "availability: error" in stdout
    assert SloConfig.default().objective("availability").describe() in stdout
