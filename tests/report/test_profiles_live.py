"""Services instrumented with the real libraries, each judged with its profile by a real Prometheus.

One target per profile (tests/report/profile_targets.py): OpenTelemetry's SDK and Prometheus
exporter with and without the stable HTTP conventions (OTEL_SEMCONV_STABILITY_OPT_IN=http),
prometheus-fastapi-instrumentator, and a Micrometer exposition written from a real Spring Boot
capture. Each takes three windows of client traffic: healthy, 20 % injected 500s, 20 % injected
0.6 s waits. The report built from Prometheus with the profile's SLO file must count the client's
requests and errors exactly, put the client's p95 inside the bucket it names, pass the healthy
window and fail exactly the KPI that was broken.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from hypersync_slo.alerting.dashboards import build_dashboard, dashboard_queries
from hypersync_slo.alerting.rules import build_rules
from hypersync_slo.config import SloConfig
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.processes import ManagedProcess, free_port, python_module_argv
from hypersync_slo.prometheus.client import PrometheusClient
from hypersync_slo.report.evaluation import evaluate_window, settle_window
from hypersync_slo.report.model import Report
from hypersync_slo.stack import PrometheusServer, ScrapeJob
from hypersync_slo.verdicts import Verdict

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = 150
#: Every fifth request is broken in the faulty windows: 20 %, far beyond the 5 % budgets.
EVERY = 5
SLOW = 0.6
SLO = """
version: 1
service: {kind}
min_tail_samples: 5
objectives:
  latency_p95: {{objective: "< 500ms"}}
  error_rate: {{objective: "< 5%"}}
  latency_p50: {{report_only: true}}
  latency_p99: {{report_only: true}}
  latency_p999: {{report_only: true}}
  success_rate: {{report_only: true}}
  throughput_rps: {{report_only: true}}
  availability: {{report_only: true}}
alerts:
  critical: {{error_rate: 10%, latency_p99: 1s}}
  warning: {{error_rate: 5%, latency_p99: 500ms}}
metrics:
  profile: {profile}
  http: {{api_routes: "/v1/.*"}}
"""


@dataclass(frozen=True)
class Target:
    """One instrumented service: its profile, scrape job and SLO file."""

    kind: str
    profile: str
    port: int
    metrics_path: str
    env: dict[str, str]

    @property
    def url(self) -> str:
        """Base URL on loopback."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> SloConfig:
        """The SLO file naming this target's profile."""
        return SloConfig.from_text(
            SLO.format(kind=self.kind, profile=self.profile), source=f"{self.kind}.yaml"
        )


KINDS = {
    # kind: (profile, metrics path, extra environment)
    "otel-stable": ("opentelemetry", "/metrics", {"OTEL_SEMCONV_STABILITY_OPT_IN": "http"}),
    "otel-legacy": ("opentelemetry-legacy", "/metrics", {}),
    "instrumentator": ("prometheus-fastapi-instrumentator", "/metrics", {}),
    "micrometer": ("micrometer", "/actuator/prometheus", {}),
}


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[PrometheusServer, dict[str, Target]]]:
    """The four targets and one Prometheus scraping each every second."""
    workdir = tmp_path_factory.mktemp("profiles")
    targets: dict[str, Target] = {}
    processes: list[ManagedProcess] = []
    prometheus: PrometheusServer | None = None
    try:
        for kind, (profile, path, extra) in KINDS.items():
            target = Target(kind, profile, free_port(), path, extra)
            env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
            process = ManagedProcess(
                kind,
                python_module_argv(
                    "tests.report.profile_targets",
                    "opentelemetry" if kind.startswith("otel") else profile,
                    str(target.port),
                ),
                workdir / f"{kind}.log",
                env={**env, **extra},
                cwd=ROOT,
            ).start()
            processes.append(process)
            targets[kind] = target
        for process, target in zip(processes, targets.values(), strict=True):
            process.wait_http(f"{target.url}{target.metrics_path}", timeout=60)
        jobs = [
            ScrapeJob(t.kind, (f"127.0.0.1:{t.port}",), t.metrics_path) for t in targets.values()
        ]
        prometheus = PrometheusServer(workdir / "prometheus", jobs, interval=1.0).start()
        prometheus.wait_for_targets()
        yield prometheus, targets
    finally:
        if prometheus is not None:
            prometheus.stop()
        for process in reversed(processes):
            process.stop()


@dataclass
class ClientWindow:
    """What the client sent and saw in one window."""

    start: datetime
    end: datetime
    sent: int
    errors: int
    latencies: list[float]

    def quantile(self, q: float) -> float:
        """The client's own q-quantile (nearest rank)."""
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def send_window(target: Target, *, fail: bool = False, slow: bool = False) -> ClientWindow:
    """REQUESTS requests (8 at a time); every EVERY-th fails or waits SLOW s when asked to."""
    # The scrape that settled the previous window (or Prometheus's first) is this one's baseline.
    start = datetime.now(UTC)

    def one(i: int, client: httpx.Client) -> tuple[int, float]:
        params: dict[str, str] = {}
        if i % EVERY == 0 and fail:
            params["fail"] = "1"
        if i % EVERY == 0 and slow:
            params["sleep"] = str(SLOW)
        began = time.perf_counter()
        status = client.get(f"{target.url}/v1/items/{i % 7}", params=params).status_code
        return status, time.perf_counter() - began

    with httpx.Client(timeout=10) as client, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: one(i, client), range(REQUESTS)))
    end = datetime.now(UTC)
    return ClientWindow(
        start,
        end,
        len(answers),
        sum(1 for status, _ in answers if status >= 500),
        [seconds for _, seconds in answers],
    )


def judge(prometheus: PrometheusServer, target: Target, window: ClientWindow) -> Report:
    """The report of the window from Prometheus, once a scrape after the window has counted it."""
    with PrometheusClient(prometheus.url, timeout=10) as client:
        coverage = settle_window(
            client, target.config, window.start, window.end, job=target.kind, quiet_after_end=True
        )
        return evaluate_window(
            client,
            target.config,
            window.start,
            window.end,
            job=target.kind,
            coverage=coverage,
            plots=False,
        )


def check_counts(report: Report, window: ClientWindow, where: str) -> None:
    """Prometheus counted the client's requests and errors exactly."""
    error_rate = report.kpi("error_rate")
    assert error_rate.samples == window.sent, (where, error_rate.detail, report.errors)
    assert error_rate.detail["errors_5xx"] == window.errors, (where, error_rate.detail)


def check_p95_bucket(report: Report, window: ClientWindow, where: str) -> None:
    """The client's p95 lies inside the bucket the server's p95 estimate names."""
    p95 = report.kpi("latency_p95")
    lower, upper = p95.detail["bucket_lower"], p95.detail["bucket_upper"]
    client = window.quantile(0.95)
    assert lower <= client <= upper, (where, client, lower, upper, p95.detail)


@pytest.mark.parametrize("kind", list(KINDS))
def test_profile_judges_the_real_library(
    stack: tuple[PrometheusServer, dict[str, Target]], kind: str
) -> None:
    """Healthy passes; injected 500s fail error_rate only; injected waits fail latency_p95 only;
    the rules and dashboard generated for the profile query the library's series."""
    prometheus, targets = stack
    target = targets[kind]

    healthy = send_window(target)
    report = judge(prometheus, target, healthy)
    check_counts(report, healthy, f"{kind} healthy")
    assert report.kpi("error_rate").verdict is Verdict.PASS
    assert report.kpi("latency_p95").verdict is Verdict.PASS, report.kpi("latency_p95")
    assert report.verdict is Verdict.PASS

    failing = send_window(target, fail=True)
    report = judge(prometheus, target, failing)
    check_counts(report, failing, f"{kind} errors")
    assert failing.errors == REQUESTS // EVERY
    error_rate = report.kpi("error_rate")
    assert error_rate.verdict is Verdict.FAIL
    assert error_rate.observed == pytest.approx(failing.errors / failing.sent, rel=1e-12)
    assert report.kpi("latency_p95").verdict is Verdict.PASS
    assert report.verdict is Verdict.FAIL

    slow = send_window(target, slow=True)
    report = judge(prometheus, target, slow)
    check_counts(report, slow, f"{kind} latency")
    check_p95_bucket(report, slow, f"{kind} latency")
    p95 = report.kpi("latency_p95")
    assert p95.verdict is Verdict.FAIL, p95
    assert p95.detail["exact"], p95.detail
    assert report.kpi("error_rate").verdict is Verdict.PASS
    assert report.verdict is Verdict.FAIL

    check_rules_and_dashboard(prometheus, target)
    if kind in COMMAND_KINDS:
        check_report_command(prometheus, target, slow)


#: The profile the ``report`` command is also run for (its preflight reads buckets in ms).
COMMAND_KINDS = ("otel-legacy",)


def check_report_command(
    prometheus: PrometheusServer, target: Target, window: ClientWindow
) -> None:
    """``hypersync-slo report`` (preflight of the buckets, the profile's routes) fails the slow
    window on latency_p95 only, from the profile's own series."""
    out = Path(tempfile.mkdtemp(prefix=f"report-{target.kind}-"))
    slo = out / "slo.yaml"
    slo.write_text(SLO.format(kind=target.kind, profile=target.profile), "utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hypersync_slo",
            "report",
            "--prometheus-url",
            prometheus.url,
            "--job",
            target.kind,
            "--slo-config",
            str(slo),
            "--start",
            window.start.isoformat(),
            "--end",
            window.end.isoformat(),
            "--out",
            str(out / "report"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == ExitCode.FAIL, done.stdout[-3000:] + done.stderr[-3000:]
    verdict = json.loads((out / "report" / "verdict.json").read_text("utf-8"))
    failed = sorted(k["name"] for k in verdict["kpis"] if k["verdict"] == "fail")
    assert failed == ["latency_p95"], verdict["kpis"]
    shutil.rmtree(out)


#: An alert expression ``<measure> > 0.05``: the measure must return the target's data.
THRESHOLD = re.compile(r"(.*) [<>] [0-9.e+-]+")


def check_rules_and_dashboard(prometheus: PrometheusServer, target: Target) -> None:
    """Every generated rule and dashboard query runs; those over the request metrics have data."""
    config = target.config
    http = config.http
    queries: list[str] = [
        expr.replace("$__rate_interval", "1m")
        .replace("$job", target.kind)
        .replace("$instance", ".*")
        for expr in dashboard_queries(build_dashboard(config, job=target.kind))
    ]
    for groups in build_rules(config, job=target.kind).files.values():
        for group in groups:
            for rule in group.rules:
                measure = THRESHOLD.fullmatch(rule.expr)
                queries.append(measure.group(1) if measure else rule.expr)
    empty = []
    for expr in queries:
        answer = httpx.get(
            f"{prometheus.url}/api/v1/query", params={"query": expr}, timeout=10
        ).json()
        assert answer["status"] == "success", (target.kind, expr, answer)
        request_query = http.requests in expr or http.bucket in expr
        if request_query and "slo:" not in expr and not answer["data"]["result"]:
            empty.append(expr)
    assert not empty, f"{target.kind}: request queries without data: {empty}"
