"""The typed stage files (``hypersync_slo.results``): tolerant reading, refusals, round trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hypersync_slo.config import SloConfig
from hypersync_slo.errors import UsageError
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.report import json_report
from hypersync_slo.report.model import mark_interrupted, new_report
from hypersync_slo.results import (
    LOAD_RESULT_FILE,
    VERDICT_FILE,
    LoadResult,
    ReportVerdict,
    read_load_result,
)

START = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
END = datetime(2026, 11, 27, 2, 1, tzinfo=UTC)


def test_file_names_are_the_documented_ones() -> None:
    """The constants name the files the docs and other tools expect."""
    assert (LOAD_RESULT_FILE, VERDICT_FILE) == ("load-result.json", "verdict.json")


def test_a_figure_the_file_lacks_or_mistypes_is_none_never_zero() -> None:
    """A hand-written load result: absent or wrongly typed figures read None (no data)."""
    result = LoadResult.from_json(
        json.dumps(
            {
                "target_url": "http://127.0.0.1:8080",
                "requests": "many",
                "errors": True,
                "target_rps": 300,
                "window": {"start": "2026-11-27T02:00:00Z"},
                "by_request": [],
                "future_key": 1,
            }
        )
    )
    assert result.target_url == "http://127.0.0.1:8080"
    assert result.target_rps == 300
    assert (result.requests, result.errors, result.dropped) == (None, None, None)
    assert result.window == {"start": "2026-11-27T02:00:00Z"}
    assert result.by_request == {}
    assert result.verdict == {}
    assert result.void is False


def test_counts_written_as_whole_floats_are_read_as_counts() -> None:
    """Other tools write counts as 1200.0: read as 1200, so the reconciliation still runs."""
    result = LoadResult.from_json(json.dumps({"requests": 1200.0, "errors": 3.0, "late": 2.5}))
    assert (result.requests, result.errors) == (1200, 3)
    assert result.late is None


def test_a_void_load_is_void_by_saturation_or_by_its_verdict() -> None:
    """``void`` is true for a saturated run and for a verdict whose status is void."""
    assert LoadResult(saturated=True).void
    assert LoadResult.from_dict({"verdict": {"status": "void"}}).void
    assert not LoadResult.from_dict({"verdict": {"status": "fail"}}).void


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "--load-result: cannot read"),
        (b"{half", "is not JSON text"),
        (b"\xff\xfe", "is not JSON text"),
        (b"[1, 2]", "must hold a JSON object"),
    ],
)
def test_a_malformed_load_result_is_a_usage_error_naming_the_file(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    """Unreadable, non-JSON, non-UTF-8 or non-object files: exit 2, the option and file named."""
    if content is not None:
        (tmp_path / LOAD_RESULT_FILE).write_bytes(content)
    with pytest.raises(UsageError, match=message) as caught:
        read_load_result(tmp_path / "nowhere" if content is None else tmp_path)
    assert caught.value.exit_code is ExitCode.USAGE
    if content is not None:
        assert str(tmp_path / LOAD_RESULT_FILE) in str(caught.value)


def test_a_directory_or_the_file_itself_is_read(tmp_path: Path) -> None:
    """``--load-result`` takes the run's directory or the file; both read the same result."""
    data = {"target_url": "http://127.0.0.1:1", "requests": 5, "saturated": False}
    (tmp_path / LOAD_RESULT_FILE).write_text(json.dumps(data), "utf-8")
    from_dir = read_load_result(tmp_path)
    assert from_dir == read_load_result(tmp_path / LOAD_RESULT_FILE)
    assert from_dir == LoadResult.from_dict(data)
    assert from_dir.requests == 5


def test_verdict_json_round_trips_through_its_type(tmp_path: Path) -> None:
    """A verdict.json the report writes reads back as a ``ReportVerdict`` and is written back
    byte for byte; without a log source it has no ``log`` key."""
    config = SloConfig.default()
    load = LoadResult(target_url="http://127.0.0.1:8080", target_rps=100.0)
    report = new_report("http://127.0.0.1:9090", config, START, END, load_result=load)
    mark_interrupted(report, config)
    text = json_report.render(report)
    verdict = ReportVerdict.from_json(text)
    assert verdict.to_json() == text
    assert verdict.target == "http://127.0.0.1:8080"
    assert verdict.interrupted is True
    assert verdict.exit_code == int(ExitCode.INTERRUPTED)
    assert [k["verdict"] for k in verdict.kpis] == ["error"] * len(verdict.kpis)
    assert "log" not in json.loads(text)
    report.log_summary = {"lines": 0}
    with_log = json_report.render(report)
    assert list(json.loads(with_log))[-1] == "log"
    assert ReportVerdict.from_json(with_log).to_json() == with_log


def test_verdict_json_must_be_an_object() -> None:
    """A verdict file that is JSON but not an object is refused (ValueError)."""
    with pytest.raises(ValueError, match="must hold a JSON object"):
        ReportVerdict.from_json("[]")
