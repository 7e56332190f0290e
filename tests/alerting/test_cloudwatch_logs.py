"""CloudWatch Logs: the request log and a run's EMF records share one log group, the log source
reads its lines past the EMF ones, and its KPIs become an EMF record with Source=log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypersync_slo.alerting.emf import load_run_kpis, validate_record
from hypersync_slo.cli import main
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.report.logs import read_request_logs
from tests.report.test_logs import line


def request_log(path: Path, count: int) -> None:
    """``count`` reference-style request lines over the last ten minutes (fresh for CloudWatch)."""
    start = datetime.now(UTC) - timedelta(minutes=10)
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            route = ("POST", "/v1/receipts") if i % 2 else ("GET", "/v1/agents")
            out.write(line(start + timedelta(milliseconds=20 * i), *route, 200, 1.0 + i % 7))


def test_log_kpis_become_an_emf_record_with_source_log(tmp_path: Path) -> None:
    """`report --logs` -> verdict.json -> `render --kpis`: a valid EMF record whose Source is log."""
    log = tmp_path / "service.log"
    request_log(log, 2000)
    main(["report", "--logs", str(log), "--out", str(tmp_path / "report")])
    verdict = tmp_path / "report" / "verdict.json"
    assert [run.source for run in load_run_kpis(verdict)] == ["log"]
    out = tmp_path / "monitoring"
    assert main(["render", "--out", str(out), "--kpis", str(verdict)]) == ExitCode.PASS
    records = [
        json.loads(raw)
        for raw in (out / "cloudwatch" / "kpis.emf.jsonl").read_text("utf-8").splitlines()
    ]
    assert [r["Source"] for r in records] == ["log"]
    assert all(validate_record(r) == [] for r in records)
    assert records[0]["latency_p50_samples"] == 2000  # every request line of the window


def test_verdict_with_both_sources_gives_one_record_per_source(tmp_path: Path) -> None:
    """A verdict.json from `report --prometheus-url ... --logs ...` yields a prometheus and a log run."""
    end = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    item = {"name": "latency_p99", "observed": 0.2, "samples": 5000, "verdict": "pass"}
    document = {
        "window": {"start": end, "end": end},
        "kpis": [{**item, "source": "prometheus"}],
        "log": {"kpis": [{**item, "source": "log", "observed": 0.19}], "summary": {}},
    }
    path = tmp_path / "verdict.json"
    path.write_text(json.dumps(document), "utf-8")
    runs = {run.source: run for run in load_run_kpis(path)}
    assert sorted(runs) == ["log", "prometheus"]
    assert runs["log"].kpis["latency_p99"] == 0.19


def test_one_log_group_holds_request_lines_and_emf_records(tmp_path: Path) -> None:
    """EMF records mixed into the request log (one log group) change nothing the log source computes."""
    log = tmp_path / "service.log"
    request_log(log, 600)
    alone = read_request_logs([str(log)])
    main(["report", "--logs", str(log), "--out", str(tmp_path / "r")])
    main(["render", "--out", str(tmp_path / "m"), "--kpis", str(tmp_path / "r" / "verdict.json")])
    emf = (tmp_path / "m" / "cloudwatch" / "kpis.emf.jsonl").read_text("utf-8")
    group = tmp_path / "log-group.jsonl"
    lines = log.read_text("utf-8").splitlines(keepends=True)
    group.write_text("".join(lines[:300]) + emf + "".join(lines[300:]) + emf, "utf-8")
    mixed = read_request_logs([str(group)])
    assert (mixed.requests, mixed.durations.counts) == (alone.requests, alone.durations.counts)
    assert mixed.skipped["not a request line"] == 2 * len(emf.splitlines())
    for raw in group.read_text("utf-8").splitlines():
        assert len(raw.encode()) < 256 * 1024  # every line fits one CloudWatch Logs event
        json.loads(raw)  # and is one JSON object: Logs Insights discovers its fields
