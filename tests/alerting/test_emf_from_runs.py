"""EMF from a run's own files: verdict.json read directly, stale or empty runs refused with a reason."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hypersync_slo.alerting.emf import load_run_kpis, run_records, validate_record
from hypersync_slo.cli import main
from hypersync_slo.errors import UsageError
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.report import write_report
from tests.report.test_evaluation import evaluate, healthy

DAY_MS = 86_400_000


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def own_verdict(tmp_path: Path, *, end: datetime | None = None, **edits: Any) -> Path:
    """The tool's own verdict.json (a report on recorded answers), its window moved to end at
    ``end`` (default: a minute ago)."""
    paths = write_report(evaluate(healthy()), tmp_path / "report")
    data = json.loads(paths["verdict"].read_text("utf-8"))
    end = end or datetime.now(UTC) - timedelta(minutes=1)
    data["window"] = {**data["window"], "start": _iso(end - timedelta(minutes=2)), "end": _iso(end)}
    data.update(edits)
    paths["verdict"].write_text(json.dumps(data), "utf-8")
    return paths["verdict"]


def test_render_reads_the_tools_own_verdict_json(tmp_path: Path) -> None:
    """`render --kpis verdict.json` writes valid EMF: one record per source, timed at the
    window's end, KPIs with data as metrics, verdicts as plain members, no_data left out."""
    verdict = own_verdict(tmp_path)
    document = json.loads(verdict.read_text("utf-8"))
    out = tmp_path / "out"
    assert main(["render", "--out", str(out), "--kpis", str(verdict)]) == ExitCode.PASS
    records = [
        json.loads(line) for line in (out / "cloudwatch/kpis.emf.jsonl").read_text().splitlines()
    ]
    assert records
    assert {r["Source"] for r in records} == {k["source"] for k in document["kpis"]}
    end_ms = int(
        datetime.fromisoformat(document["window"]["end"].replace("Z", "+00:00")).timestamp() * 1000
    )
    for record in records:
        assert validate_record(record) == []
        assert record["_aws"]["Timestamp"] == end_ms
        assert record["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    merged = {k: v for r in records for k, v in r.items()}
    for kpi in document["kpis"]:
        assert merged[f"{kpi['name']}_verdict"] == kpi["verdict"]
        published = kpi["name"] in merged
        assert published == (
            kpi["observed"] is not None and kpi["verdict"] not in ("no_data", "error")
        )


def test_stale_run_is_refused_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A verdict.json whose window ended 20 days ago: exit 2, the age and CloudWatch's 14-day
    limit named, nothing written."""
    verdict = own_verdict(tmp_path, end=datetime.now(UTC) - timedelta(days=20))
    out = tmp_path / "out"
    assert main(["render", "--out", str(out), "--kpis", str(verdict)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "days old; CloudWatch drops metric data older than 14 days" in err
    assert "20.0 days" in err
    assert not out.exists()


def test_freshness_bounds(tmp_path: Path) -> None:
    """13.9 days old and 1 hour ahead are accepted; 14.1 days old and 3 hours ahead are refused."""
    runs = load_run_kpis(own_verdict(tmp_path, end=datetime(2026, 11, 27, 2, 2, tzinfo=UTC)))
    end_ms = runs[0].timestamp_ms
    assert run_records(runs, service="s", now_ms=end_ms + int(13.9 * DAY_MS))
    assert run_records(runs, service="s", now_ms=end_ms - 3_600_000)
    with pytest.raises(UsageError, match=r"14\.1 days old"):
        run_records(runs, service="s", now_ms=end_ms + int(14.1 * DAY_MS))
    with pytest.raises(UsageError, match=r"3\.0 hours in the future"):
        run_records(runs, service="s", now_ms=end_ms - 3 * 3_600_000)


def test_all_no_data_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A run where no KPI had data: exit 3 with the reason, no file with an empty directive."""
    verdict = own_verdict(tmp_path)
    data = json.loads(verdict.read_text())
    for kpi in data["kpis"]:
        kpi["observed"], kpi["verdict"] = None, "no_data"
    verdict.write_text(json.dumps(data))
    out = tmp_path / "out"
    assert main(["render", "--out", str(out), "--kpis", str(verdict)]) == ExitCode.NO_DATA
    err = capsys.readouterr().err
    assert "no KPI of the run had data" in err
    assert not (out / "cloudwatch").exists()


def test_void_load_is_not_published(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A load-result.json whose load was void (saturated): exit 9, its figures never published."""
    end = datetime.now(UTC)
    load = tmp_path / "load-result.json"
    load.write_text(
        json.dumps(
            {
                "window": {"start": _iso(end - timedelta(minutes=1)), "end": _iso(end)},
                "saturated": True,
                "verdict": {"status": "void", "kpis": []},
            }
        )
    )
    assert main(["render", "--out", str(tmp_path / "out"), "--kpis", str(load)]) == (
        ExitCode.LOAD_SATURATED
    )
    assert "the load was void" in capsys.readouterr().err


def test_validator_refuses_empty_directives() -> None:
    """An empty Metrics list or an empty CloudWatchMetrics array is a problem, not valid EMF."""
    stamp = int(time.time() * 1000)
    empty_metrics = {
        "_aws": {
            "Timestamp": stamp,
            "CloudWatchMetrics": [{"Namespace": "n", "Dimensions": [["S"]], "Metrics": []}],
        },
        "S": "x",
    }
    assert any("Metrics: empty" in p for p in validate_record(empty_metrics))
    no_directive = {"_aws": {"Timestamp": stamp, "CloudWatchMetrics": []}}
    assert any("CloudWatchMetrics: empty" in p for p in validate_record(no_directive))
