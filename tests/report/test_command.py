"""``hypersync-slo report`` argument handling: windows, load results, bad usage."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hypersync_slo import cli
from hypersync_slo.commands.report import parse_time, window_of
from hypersync_slo.errors import UsageError
from hypersync_slo.results import read_load_result


def _args(**kwargs: object) -> argparse.Namespace:
    defaults: dict[str, object] = {"start": None, "end": None, "last": None}
    return argparse.Namespace(**{**defaults, **kwargs})


def test_window_from_load_result(tmp_path: Path) -> None:
    """Without --start/--end the window is the load run's, read from load-result.json."""
    (tmp_path / "load-result.json").write_text(
        json.dumps({"window": {"start": "2026-11-27T02:00:00Z", "end": "2026-11-27T02:01:00Z"}})
    )
    load = read_load_result(tmp_path)
    start, end = window_of(_args(), load)
    assert start == datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    assert (end - start).total_seconds() == 60


def test_times_parse_rfc3339_and_unix() -> None:
    """RFC 3339 with Z or an offset, and Unix seconds, all become aware UTC."""
    assert parse_time("2026-11-27T03:00:00+01:00", "--start") == datetime(
        2026, 11, 27, 2, 0, tzinfo=UTC
    )
    assert parse_time("0", "--start") == datetime(1970, 1, 1, tzinfo=UTC)
    with pytest.raises(UsageError, match="has no time zone; add Z for UTC"):
        parse_time("2026-11-27T02:00:00", "--start")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"last": "30m", "start": "0"}, "either --start and --end, or --last"),
        ({"start": "0"}, "--start and --end go together"),
        ({}, "say which window"),
        ({"last": "30 parsecs"}, "--last"),
    ],
)
def test_window_usage_errors(kwargs: dict[str, object], message: str) -> None:
    """Contradictory or missing window options are bad usage with a sentence saying why."""
    with pytest.raises(UsageError, match=message):
        window_of(_args(**kwargs), None)


def test_bad_usage_exits_2_and_missing_load_result_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reversed window or an unreadable --load-result exits 2 with the reason on stderr."""
    url = "http://127.0.0.1:9"
    code = cli.main(
        ["report", "--prometheus-url", url, "--start", "10", "--end", "5", "--out", str(tmp_path)]
    )
    assert code == 2
    assert "The report window is empty or reversed." in capsys.readouterr().err
    code = cli.main(["report", "--prometheus-url", url, "--load-result", str(tmp_path / "nowhere")])
    assert code == 2
    assert "--load-result: cannot read" in capsys.readouterr().err


def test_bad_slo_file_exits_7(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An SLO file with p99 below p95 exits 7 before any query."""
    slo = tmp_path / "slo.yaml"
    slo.write_text("objectives:\n  latency_p95: '< 500ms'\n  latency_p99: '< 100ms'\n")
    code = cli.main(
        [
            "report",
            "--prometheus-url",
            "http://127.0.0.1:9",
            "--last",
            "5m",
            "--slo-config",
            str(slo),
        ]
    )
    assert code == 7
    assert "p99 can never be smaller than p95" in capsys.readouterr().err


def test_help_teaches_examples_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """--help shows real examples and the exit-code table."""
    with pytest.raises(SystemExit):
        cli.main(["report", "--help"])
    out = capsys.readouterr().out
    assert "hypersync-slo report --prometheus-url http://127.0.0.1:9090 --last 30m" in out
    assert "exit codes:" in out
    assert "inconclusive" in out
