"""The `log` KPI source: exact KPIs from request log lines, streamed from plain, gzip, rotated and
stdin logs, and its reconciliation with Prometheus and the client."""

from __future__ import annotations

import gzip
import io
import json
import math
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hypersync_slo.cli import main
from hypersync_slo.config import QUANTILES, SloConfig
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.report.logs import (
    Distribution,
    log_counts,
    log_kpis,
    read_request_logs,
    rotated_files,
    stamp,
)
from hypersync_slo.report.reconcile import LogCounts, ServerCounts, reconcile_log
from hypersync_slo.results import LoadResult
from hypersync_slo.stack import PrometheusServer, ReferenceService, ScrapeJob
from hypersync_slo.verdicts import Verdict

StartService = Callable[..., ReferenceService]
StartPrometheus = Callable[..., PrometheusServer]
T0 = datetime(2026, 12, 3, 9, 0, 0, tzinfo=UTC)
ROUTES = [
    ("POST", "/v1/receipts"),
    ("GET", "/v1/agents"),
    ("POST", "/v1/policies/{policy}/evaluate"),
]


def line(when: datetime, method: str, route: str, status: int, ms: float) -> str:
    """A request line exactly as the reference service writes it."""
    return (
        f'{{"timestamp":"{stamp(when)}","level":"{"error" if status >= 500 else "info"}",'
        f'"message":"request","logger":"hypersync.reference.http","service.name":"x",'
        f'"trace_id":"{"a" * 32}","span_id":"{"b" * 16}","trace_flags":"01","request_id":"r",'
        f'"http.request.method":"{method}","http.route":"{route}","url.path":"{route}",'
        f'"http.response.status_code":{status},"duration_ms":{ms:.3f}}}\n'
    )


def nearest_rank(values: list[float], q: float) -> float:
    """The ceil(q * n)-th smallest value: the direct computation the source must equal."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered) - 1e-9)) - 1]


def synthetic(seed: int, n: int) -> tuple[list[str], list[tuple[datetime, str, int, float]]]:
    """``n`` request lines over 120 s (plus noise lines) and the (time, key, status, ms) of each."""
    rng = random.Random(seed)
    lines: list[str] = []
    kept: list[tuple[datetime, str, int, float]] = []
    for i in range(n):
        when = T0 + timedelta(seconds=120 * i / n)
        method, route = ROUTES[rng.randrange(len(ROUTES))]
        status = 500 if rng.random() < 0.05 else 200
        ms = round(rng.lognormvariate(1.5, 1.0), 3)
        lines.append(line(when, method, route, status, ms))
        kept.append((when, f"{method} {route}", status, ms))
        if i % 50 == 0:
            lines.append('{"timestamp":"2026-12-03T09:00:00.000Z","message":"service starting"}\n')
            lines.append(line(when, "GET", "/health/ready", 200 if i % 100 else 503, 0.5))
    lines.append('{"message":"request", broken json\n')
    return lines, kept


def test_kpis_equal_a_direct_computation_over_plain_gzip_and_rotated_files(tmp_path: Path) -> None:
    """Percentiles, error rate, throughput and counts equal a direct computation over the same lines,
    read from FILE, FILE.1 and FILE.2.gz together; lines outside the window are left out."""
    lines, kept = synthetic(7, 6000)
    log = tmp_path / "service.log"
    third = len(lines) // 3
    with gzip.open(tmp_path / "service.log.2.gz", "wt") as older:
        older.writelines(lines[:third])
    (tmp_path / "service.log.1").write_text("".join(lines[third : 2 * third]), "utf-8")
    log.write_text("".join(lines[2 * third :]), "utf-8")
    assert [p.name for p in rotated_files(log)] == [
        "service.log.2.gz",
        "service.log.1",
        "service.log",
    ]

    start, end = T0 + timedelta(seconds=10), T0 + timedelta(seconds=100)
    summary = read_request_logs([str(log)], (start, end))
    inside = [k for k in kept if start <= k[0] <= end]
    durations = [k[3] / 1000 for k in inside]
    assert summary.requests == len(inside)
    assert summary.errors == sum(1 for k in inside if k[2] >= 500)
    assert summary.skipped["malformed"] == 1
    assert summary.skipped["outside the window"] > 0
    config = SloConfig.default()
    results = {k.name: k for k in log_kpis(summary, config)}
    for name, q in QUANTILES.items():
        assert results[name].observed == pytest.approx(nearest_rank(durations, q), abs=1e-9), name
        assert results[name].source == "log"
        assert results[name].samples == len(inside)
    errors = sum(1 for k in inside if k[2] >= 500)
    assert results["error_rate"].observed == pytest.approx(errors / len(inside))
    assert results["success_rate"].observed == pytest.approx(1 - errors / len(inside))
    assert results["throughput_rps"].observed == pytest.approx(len(inside) / 90.0)
    worst = results["throughput_rps"].detail["worst_60s_rps"]
    assert worst is not None
    assert 0 < worst <= len(inside) / 60
    probes = results["availability"]
    assert probes.source == "log"
    assert probes.samples > 0
    assert probes.observed is not None
    assert probes.observed < 1.0
    per_route = results["latency_p99"].detail["by_route"]
    for key in {k[1] for k in inside}:
        values = [k[3] / 1000 for k in inside if k[1] == key]
        assert per_route[key] == pytest.approx(nearest_rank(values, 0.99), abs=1e-9)


def test_stdin_and_gzip_detected_by_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`-` reads standard input; a gzip file is recognised by its bytes, whatever its name."""
    lines, kept = synthetic(3, 500)
    text = "".join(lines).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text)))
    from_stdin = read_request_logs(["-"])
    hidden = tmp_path / "no-extension"
    hidden.write_bytes(gzip.compress(text))
    from_gzip = read_request_logs([str(hidden)])
    assert from_stdin.requests == from_gzip.requests == len(kept)
    assert from_stdin.durations.counts == from_gzip.durations.counts


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000_000), min_size=1, max_size=400))
def test_distribution_quantiles_are_nearest_rank(values: list[int]) -> None:
    """Any multiset of microsecond durations: each quantile is the ceil(q*n)-th smallest, ordered."""
    dist = Distribution()
    for v in values:
        dist.add(v)
    qs = [0.5, 0.95, 0.99, 0.999]
    got = dist.quantiles(qs)
    assert got == [nearest_rank([v / 1e6 for v in values], q) for q in qs]
    assert got == sorted(got)  # type: ignore[type-var]


def test_any_json_layout_gives_the_same_summary(tmp_path: Path) -> None:
    """Lines in another field order and spacing (another logger) count exactly like the reference's."""
    lines, _ = synthetic(9, 800)
    own = tmp_path / "own.log"
    own.write_text("".join(lines), "utf-8")
    other = tmp_path / "other.log"
    with other.open("w", encoding="utf-8") as out:
        for raw in lines:
            try:
                record = json.loads(raw)
            except ValueError:
                out.write(raw)
                continue
            out.write(json.dumps(record, sort_keys=True) + "\n")  # spaces, sorted keys
    a, b = read_request_logs([str(own)]), read_request_logs([str(other)])
    assert (a.requests, a.errors, a.probes, a.probes_ok) == (
        b.requests,
        b.errors,
        b.probes,
        b.probes_ok,
    )
    assert a.durations.counts == b.durations.counts
    assert a.by_route == b.by_route
    assert (a.first, a.last) == (b.first, b.last)


def test_too_few_lines_is_no_data_and_empty_log_fails_closed(tmp_path: Path) -> None:
    """A thin log gives no_data for the tail percentiles; a log without request lines is exit 3."""
    log = tmp_path / "thin.log"
    log.write_text("".join(line(T0, "GET", "/v1/agents", 200, 2.0) for _ in range(50)), "utf-8")
    results = {k.name: k for k in log_kpis(read_request_logs([str(log)]), SloConfig.default())}
    assert results["latency_p99"].verdict is Verdict.NO_DATA
    assert "only 50 samples" in results["latency_p99"].reason
    assert results["availability"].verdict is Verdict.NO_DATA
    empty = tmp_path / "empty.log"
    empty.write_text('{"message":"service starting"}\n', "utf-8")
    assert main(["report", "--logs", str(empty), "--out", str(tmp_path / "r")]) == ExitCode.NO_DATA


def test_report_from_the_log_alone_writes_log_kpis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`report --logs FILE` without Prometheus judges the log's own window and labels it `log`."""
    lines, _ = synthetic(11, 3000)
    log = tmp_path / "service.log"
    log.write_text("".join(lines), "utf-8")
    out = tmp_path / "report"
    code = main(["report", "--logs", str(log), "--out", str(out)])
    verdict = json.loads((out / "verdict.json").read_text("utf-8"))
    assert {k["source"] for k in verdict["kpis"]} == {"log"}
    assert verdict["log"]["summary"]["requests"] == 3000
    assert code == verdict["exit_code"]
    printed = capsys.readouterr().out
    assert "log: 3000 request lines judged" in printed
    assert "(log, 3000 samples" in printed
    assert "the service's request log lines" in (out / "report.md").read_text("utf-8")
    html = (out / "report.html").read_text("utf-8")
    assert "source: the service's request log lines (<code>log</code>)" in html
    assert "Prometheus at" not in html


def test_reconcile_finds_a_histogram_that_drops_errors() -> None:
    """Fewer 5xx in Prometheus than in the log is a finding naming both figures and the cause."""
    log = LogCounts(requests=1000, errors=40, by_route={"GET /v1/agents": 1000}, where="svc.log")
    server = ServerCounts(requests=960, errors=0, by_route={"GET /v1/agents": 960})
    findings = reconcile_log(log, server, None)
    kinds = {f.kind for f in findings}
    assert {"log_error_count", "log_request_count", "log_route_count"} <= kinds
    (error,) = [f for f in findings if f.kind == "log_error_count"]
    assert "the histogram under-counts the 5xx the log shows" in error.message
    assert "40 5xx lines (svc.log)" in error.message
    assert "0 5xx (prometheus)" in error.message
    assert error.to_dict()["log"] == 40
    assert reconcile_log(log, ServerCounts(requests=1000, errors=40), None) == []


def test_reconcile_log_with_the_client() -> None:
    """Fewer request lines than requests sent, or more 5xx lines than client errors, are findings."""
    load = LoadResult(
        by_request={
            "GET /v1/agents": {"requests": 1000, "errors": 0},
            "GET /health/ready": {"requests": 50, "errors": 0},
        }
    )
    agree = LogCounts(requests=1000, errors=0, where="svc.log")
    assert reconcile_log(agree, None, load, routes="/v1/.*") == []
    short = LogCounts(requests=900, errors=30, where="svc.log")
    findings = {f.kind: f for f in reconcile_log(short, None, load, routes="/v1/.*")}
    assert findings["log_request_count"].client == 1000
    assert findings["log_request_count"].log == 900
    assert "the client and the log disagree" in findings["log_request_count"].message
    assert (
        "the log shows more 5xx than the client saw errors" in findings["log_error_count"].message
    )


def _send(url: str, count: int) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        for i in range(count):
            client.post("/v1/receipts", json={"operation": "sync", "payload": {"i": i}})
            client.get("/v1/agents")


def test_live_log_source_agrees_with_prometheus_then_finds_the_dropped_errors(
    tmp_path: Path, start_reference_service: StartService, start_prometheus: StartPrometheus
) -> None:
    """Against the real service and Prometheus: a healthy histogram agrees with the log on counts and
    quantile buckets; with --break histogram-skips-errors the report finds the missing 5xx."""
    for case, extra in (("healthy", []), ("broken", ["--break", "histogram-skips-errors"])):
        log = tmp_path / case / "service.log"
        service = start_reference_service(
            "--log-file", str(log), "--fault-error-ratio", "0.1", *extra, workdir=tmp_path / case
        )
        prometheus = start_prometheus([ScrapeJob("hypersync", (service.address,))], interval=1.0)
        prometheus.wait_for_targets()
        time.sleep(1.5)  # a scrape before the window: counts are exact differences
        start = datetime.now(UTC)
        _send(service.url, 150)
        end = datetime.now(UTC)
        time.sleep(3.5)  # the log flushes within 0.1 s; the next scrapes see every request
        out = tmp_path / case / "report"
        main(
            [
                *("report", "--prometheus-url", prometheus.url, "--logs", str(log)),
                *("--start", start.isoformat(), "--end", end.isoformat(), "--settle", "3"),
                *("--out", str(out), "--job", "hypersync"),
            ]
        )
        verdict = json.loads((out / "verdict.json").read_text("utf-8"))
        summary = verdict["log"]["summary"]
        assert summary["requests"] == 300
        log_findings = [f for f in verdict["findings"] if f["kind"].startswith("log_")]
        if case == "healthy":
            assert summary["errors_5xx"] > 0, "no 5xx injected: the comparison proves nothing"
            assert log_findings == [], f"healthy service, yet: {log_findings}"
            assert {k["source"] for k in verdict["log"]["kpis"]} == {"log"}
        else:
            kinds = {f["kind"] for f in log_findings}
            assert "log_error_count" in kinds, verdict["findings"]
            (error,) = [f for f in log_findings if f["kind"] == "log_error_count"]
            assert error["server"] == 0
            assert error["log"] == summary["errors_5xx"] > 0
        service.stop()
        prometheus.stop()


def test_log_counts_carry_exact_quantiles(tmp_path: Path) -> None:
    """The reconciliation's view of the log has the same exact quantiles as its KPIs."""
    lines, _ = synthetic(5, 2000)
    log = tmp_path / "a.log"
    log.write_text("".join(lines), "utf-8")
    summary = read_request_logs([str(log)])
    counts = log_counts(summary)
    results = {k.name: k for k in log_kpis(summary, SloConfig.default())}
    assert counts.quantiles["p99"] == results["latency_p99"].observed
    assert counts.requests == summary.requests
