"""The pre-release job's combined verdict and its summary files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.pipeline import JobSettings, StageResult, combine, write_summary


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([0, 0, 0], ExitCode.PASS),
        ([0, 1, 0], ExitCode.FAIL),
        ([1, 5], ExitCode.FAIL),
        ([0, 0, 5], ExitCode.PROMETHEUS_UNAVAILABLE),
        ([0, 9, 0], ExitCode.LOAD_SATURATED),
        ([0, 0, 3], ExitCode.NO_DATA),
        ([4, 9, 3], ExitCode.TARGET_UNREACHABLE),
        ([0, 130], ExitCode.INTERRUPTED),
        ([1, 130], ExitCode.INTERRUPTED),
        ([0, 77], ExitCode.COULD_NOT_RUN),
        ([], ExitCode.NO_DATA),
    ],
)
def test_combine_ranks_violation_over_fault_over_void_over_no_data(
    codes: list[int], expected: ExitCode
) -> None:
    """A violation is definitive; then faults; then saturation; then no data; Ctrl-C wins."""
    assert combine(codes) == expected


def test_summary_is_written_with_every_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """summary.json and summary.md name each stage's exit code, meaning and outputs."""
    settings = JobSettings("http://127.0.0.1:1", None, tmp_path, rps=10, duration=1)
    results = [
        StageResult(
            "contract gate",
            ["x"],
            0,
            "every check and KPI passed",
            1.2,
            {"junit": str(tmp_path / "c.xml")},
        ),
        StageResult("load", ["y"], 9, "saturated", 2.0),
    ]
    write_summary(
        tmp_path, settings, results, combine([0, 9]), __import__("datetime").datetime.now()
    )
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["verdict"] == "load_saturated"
    assert data["exit_code"] == 9
    assert [s["name"] for s in data["stages"]] == ["contract gate", "load"]
    markdown = (tmp_path / "summary.md").read_text()
    assert "| load | 9 | saturated |" in markdown
    assert "[junit](c.xml)" in markdown
    assert "verdict" in capsys.readouterr().out
