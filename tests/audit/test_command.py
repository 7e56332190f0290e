"""The audit and history commands end to end, against the backfilled Prometheus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hypersync_slo.audit.history import Entry, History
from hypersync_slo.cli import main
from hypersync_slo.processes import free_port
from tests.audit.conftest import DAY, END, Backfilled

END_TEXT = "2026-11-01T00:00:00Z"


def audit(backfilled: Backfilled, tmp_path: Path, *extra: str) -> int:
    """Run ``hypersync-slo audit`` over the 30 days ending at END."""
    return main(
        [
            "audit",
            "--prometheus-url",
            backfilled.url,
            "--end",
            END_TEXT,
            "--job",
            "hypersync",
            "--history",
            str(tmp_path / "history.sqlite"),
            "--out",
            str(tmp_path / "out"),
            *extra,
        ]
    )


def test_audit_fails_on_the_time_slice_budget(
    backfilled: Backfilled, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Default budgeting (both): the 2 h outage exhausts the 1-minute-slice budget: exit 1."""
    assert audit(backfilled, tmp_path) == 1
    out = capsys.readouterr().out
    assert "time-slice-based error budget exhausted" in out
    assert "worst day: 2026-10-13T00:00:00Z - 2026-10-14T00:00:00Z" in out
    assert "burn rate: 1h 0.23x (factor 14.4)" in out
    assert "gap: 2026-10-21T23:00:00Z - 2026-10-22T06:00:00Z: 361 of 420" in out
    document = json.loads((tmp_path / "out" / "audit.json").read_text())
    assert document["exit_code"] == 1
    assert document["window"] == {
        "start": "2026-10-02T00:00:00Z",
        "end": END_TEXT,
        "seconds": 30 * DAY,
    }
    assert document["coverage"]["slices_with_data"] == 43200 - 361 - 2
    assert document["coverage"]["down_slices"] == 29
    assert "target down: 29 slices with every target of the job down (up == 0)" in out
    assert document["slos"][0]["event_based"]["exhausted"] is False
    assert document["slos"][0]["time_slice_based"]["exhausted"] is True
    assert document["link"].startswith(f"{backfilled.url}/graph?")
    assert "g0.range_input=2592000000ms" in document["link"]
    assert "open in Prometheus" in (tmp_path / "out" / "audit.md").read_text()


def test_audit_is_idempotent_per_window(
    backfilled: Backfilled, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Auditing the same window twice appends once; occurrences-only budgeting passes: exit 0."""
    assert audit(backfilled, tmp_path, "--budgeting", "occurrences") == 0
    assert audit(backfilled, tmp_path, "--budgeting", "occurrences") == 0
    out = capsys.readouterr().out
    assert "as entry 1" in out
    assert "already in" in out
    assert "(same window): not appended" in out
    with History(tmp_path / "history.sqlite") as history:
        assert len(history.entries()) == 1


@pytest.mark.parametrize(("regression", "code"), [(1.20, 1), (1.05, 0)])
def test_planted_p95_regression_against_history(
    backfilled: Backfilled,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    regression: float,
    code: int,
) -> None:
    """p95 +20 % against the median of the last 5 passing audits fails; +5 % passes."""
    p95 = 0.0941104181327003  # the backfilled period's histogram_quantile(0.95, ...)
    with History(tmp_path / "history.sqlite") as history:
        for k in range(1, 6):
            end = END - k * DAY
            history.record(
                Entry(
                    "audit",
                    "hypersync",
                    end - 30 * DAY,
                    end,
                    "pass",
                    {"latency_p95": p95 / regression},
                )
            )
    assert audit(backfilled, tmp_path, "--budgeting", "occurrences") == code
    out = capsys.readouterr().out
    if code:
        assert "criteria: fail" in out
        assert "<=+10%: not met" in out
    else:
        assert "criteria: pass" in out
    with History(tmp_path / "history.sqlite") as history:
        newest = history.entries(last=1)[0]
    # A regressed audit is recorded as failed, so it never joins a later passing baseline.
    assert newest.verdict == ("fail" if code else "pass")
    assert newest.sli_verdicts["criteria"] == ("fail" if code else "pass")


def test_retention_shorter_than_period_exits_3(
    backfilled: Backfilled, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 40-day audit over 31 days of data: coverage too low to claim compliance: exit 3."""
    assert audit(backfilled, tmp_path, "--last", "40d", "--budgeting", "occurrences") == 3
    out = capsys.readouterr().out
    assert "coverage: 76.87 % of the period has data" in out
    assert "data starts at 2026-10-01T00:00:00Z, 9.00 days after the period starts" in out


def test_prometheus_unavailable_exits_5(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listening at --prometheus-url: exit 5 with the URL in the message."""
    url = f"http://127.0.0.1:{free_port()}"
    code = main(
        [
            "audit",
            "--prometheus-url",
            url,
            "--no-history",
            "--out",
            str(tmp_path / "o"),
            "--timeout",
            "2",
        ]
    )
    assert code == 5
    assert url in capsys.readouterr().err


def test_corrupt_history_fails_before_querying(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A corrupt history file: a clear error naming the path, before any query is sent."""
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"\x00garbage" * 1000)
    url = f"http://127.0.0.1:{free_port()}"
    code = main(["audit", "--prometheus-url", url, "--history", str(path)])
    err = capsys.readouterr().err
    assert code == 10
    assert "not a readable SQLite database" in err
    assert str(path) in err
    assert url not in err


def test_history_trends_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``history`` shows one row per entry with changes and a trend line; empty history: exit 3."""
    path = tmp_path / "h.sqlite"
    assert main(["history", "--history", str(path)]) == 3
    with History(path) as history:
        for k, p95 in enumerate([0.100, 0.100, 0.120]):
            history.record(
                Entry("audit", "hypersync", k * DAY, (k + 1) * DAY, "pass", {"latency_p95": p95})
            )
    capsys.readouterr()
    assert main(["history", "--history", str(path), "--kpi", "latency_p95", "--last", "5"]) == 0
    out = capsys.readouterr().out
    assert "120.0 ms (+20.0 %)" in out
    assert "trend latency_p95: newest 120.0 ms vs median of the 2 before 100.0 ms (+20.0 %)" in out
    assert main(["history", "--history", str(path), "--json", "--last", "1"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["slis"]["latency_p95"] == 0.12


def test_history_imports_a_run_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A run's verdict.json is imported once, with its KPIs and verdicts."""
    verdict = tmp_path / "verdict.json"
    verdict.write_text(
        json.dumps(
            {
                "verdict": "pass",
                "window": {"start": "2026-11-27T02:00:00Z", "end": "2026-11-27T02:10:00Z"},
                "job": "hypersync",
                "kpis": [{"name": "latency_p95", "observed": 0.05, "verdict": "pass"}],
            }
        )
    )
    path = tmp_path / "h.sqlite"
    args = ["history", "--history", str(path), "--import", str(verdict), "--kind", "run"]
    assert main(args) == 0
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "as entry 1" in out
    assert "not imported again" in out
    assert "50.0 ms" in out


def test_help_teaches(capsys: pytest.CaptureFixture[str]) -> None:
    """``audit --help`` shows examples and the exit codes."""
    with pytest.raises(SystemExit):
        main(["audit", "--help"])
    out = capsys.readouterr().out
    assert "hypersync-slo audit --prometheus-url http://127.0.0.1:9090 --last 30d" in out
    assert "exit codes:" in out


def test_no_data_exits_3(
    backfilled: Backfilled, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A job with no series: exit 3, 'no events', coverage 0 %, never a compliance figure."""
    code = main(
        [
            "audit",
            "--prometheus-url",
            backfilled.url,
            "--end",
            END_TEXT,
            "--job",
            "nothing",
            "--no-history",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 3
    assert "coverage: 0.00 % of the period has data" in out
    assert "event-based: no events counted" in out
    assert "compliance is not claimed" in out
    assert "nan" not in out
