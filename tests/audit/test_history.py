"""The SQLite history: append, idempotency, baselines, and corrupt or locked files."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hypersync_slo.audit.history import Entry, History, aggregate_values, resolve_path
from hypersync_slo.audit.recording import record_report
from hypersync_slo.errors import SuiteFault, UsageError
from hypersync_slo.report.model import Report
from hypersync_slo.verdicts import KpiResult, Verdict


def test_append_and_read_back(tmp_path: Path) -> None:
    """An entry and its SLIs and verdicts come back as written, oldest first."""
    with History(tmp_path / "h.sqlite") as history:
        history.record(Entry("audit", "j", 100, 200, "pass", {"latency_p95": 0.1}, {"x": "pass"}))
        history.record(Entry("run", "j", 0, 50, "fail", {"latency_p95": None}))
        entries = history.entries()
    assert [e.window_end for e in entries] == [50, 200]
    assert entries[1].slis == {"latency_p95": 0.1, "x": None}
    assert entries[1].sli_verdicts == {"x": "pass"}
    assert entries[0].slis["latency_p95"] is None


def test_same_window_is_not_appended_twice(tmp_path: Path) -> None:
    """Recording the same kind, job and window again keeps the first record."""
    with History(tmp_path / "h.sqlite") as history:
        first = history.record(Entry("audit", "j", 0, 100, "pass", {"a": 1.0}))
        again = history.record(Entry("audit", "j", 0, 100, "fail", {"a": 2.0}))
        other = history.record(Entry("run", "j", 0, 100, "fail"))
        assert first == (first[0], True)
        assert again == (first[0], False)
        assert other[1] is True
        assert len(history.entries()) == 2


def test_baseline_median_of_last_passing(tmp_path: Path) -> None:
    """The baseline is the aggregate of the newest N passing values before the window."""
    with History(tmp_path / "h.sqlite") as history:
        for i, (value, verdict) in enumerate(
            [(9.0, "pass"), (1.0, "pass"), (2.0, "fail"), (3.0, "pass"), (5.0, "pass")]
        ):
            history.record(Entry("audit", "", i, i + 1, verdict, {"p": value}))
        assert history.baseline("p", count=3) == (3.0, 3)
        assert history.baseline("p", count=3, before=4) == (5.0, 2)  # 9 and 1
        assert history.baseline("p", count=2, aggregate="avg") == (4.0, 2)
        assert history.baseline("missing", count=5) == (None, 0)


def test_corrupt_file_is_a_clear_fault(tmp_path: Path) -> None:
    """A file that is not SQLite: SuiteFault naming the path and saying to move it aside."""
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"this is not a database, it is a note\n" * 200)
    with pytest.raises(SuiteFault) as caught:
        History(path)
    text = str(caught.value)
    assert "not a readable SQLite database" in text
    assert f"path: {path}" in text
    assert "move it aside" in text


def test_locked_file_is_a_clear_fault(tmp_path: Path) -> None:
    """Another process holding the write lock: SuiteFault after the timeout, saying what to do."""
    path = tmp_path / "history.sqlite"
    History(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(SuiteFault) as caught:
            History(path, timeout=0.2).record(Entry("audit", "", 0, 1, "pass"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    text = str(caught.value)
    assert "locked by another process" in text
    assert f"path: {path}" in text
    assert "waited: 0.2 s" in text


def test_paths_and_urls(tmp_path: Path) -> None:
    """A plain path, a sqlite:/// URL and the default resolve; other URLs are refused."""
    assert resolve_path(None) == Path("reports/history.sqlite")
    assert resolve_path(f"sqlite:///{tmp_path}/h.db") == tmp_path / "h.db"
    assert resolve_path("sqlite:///reports/h.db") == Path("reports/h.db")
    with pytest.raises(UsageError, match="sqlite:///path"):
        resolve_path("postgres://db/history")


def test_aggregates() -> None:
    """median, avg, min, max and pNN; an unknown name is refused."""
    values = [1.0, 2.0, 3.0, 10.0]
    assert aggregate_values(values, "median") == 2.5
    assert aggregate_values(values, "avg") == 4.0
    assert aggregate_values(values, "p90") == 10.0
    with pytest.raises(UsageError, match="unknown aggregate"):
        aggregate_values(values, "mode")


def test_run_reports_are_recorded(tmp_path: Path) -> None:
    """A reporter window (a ``run``) is appended with each KPI's value and verdict, once."""
    window = (datetime(2026, 11, 27, 2, tzinfo=UTC), datetime(2026, 11, 27, 2, 10, tzinfo=UTC))
    report = Report(
        window=window, target="t", prometheus_url="http://p", job="hypersync", slo_file="s"
    )
    report.kpis.append(
        KpiResult(
            "latency_p95", "prometheus", 0.042, "< 100 ms", "s", 5000, window, "q", Verdict.PASS
        )
    )
    with History(tmp_path / "h.sqlite") as history:
        assert record_report(history, report)[1] is True
        assert record_report(history, report)[1] is False
        (entry,) = history.entries(kind="run")
    assert entry.job == "hypersync"
    assert entry.window_end == window[1].timestamp()
    assert entry.slis == {"latency_p95": 0.042}
    assert entry.sli_verdicts == {"latency_p95": "pass"}
    assert entry.verdict == "pass"
