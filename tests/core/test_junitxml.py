"""The shared JUnit writer: junit-10.xsd-valid whatever the text, counts that add up."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from hypersync_slo.junitxml import Case, Suite, document, read_suites
from tests.junit_schema import assert_valid_junit

WHEN = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def _suite(name: str) -> Suite:
    return Suite(
        name=name,
        cases=[
            Case("contract.health_ready", "H-03 test_ready", seconds=0.25, output="figure: 1"),
            Case("c", "H-04 broke", "failure", message="first", detail="first\nsecond", kind="x"),
            Case("c", "H-05 fault", "error", message="no answer", kind="TargetUnreachable"),
            Case("c", "L-01 skipped", "skipped", message="no --slo-log-file"),
            Case("c", "bell \x07 and nul \x00 in a name", output="escape \x1b[31m"),
        ],
        properties=[("H-03.test_ready.figure", "1"), ("control", "\x0b")],
        timestamp=WHEN,
        seconds=1.5,
        output="suite output",
    )


def test_document_validates_and_counts(tmp_path: Path) -> None:
    """Two suites in one file validate against junit-10.xsd; totals and per-suite counts add up;
    control characters XML cannot carry are replaced, never written."""
    path = tmp_path / "junit.xml"
    path.write_text(document([_suite("a"), _suite("b")]), "utf-8")
    assert_valid_junit(path)
    root = ET.parse(path).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("10", "2", "2")
    assert root.get("time") == "3.000"
    first = root.findall("testsuite")[0]
    assert first.get("skipped") == "1"
    assert first.get("timestamp") == "2026-11-27T02:00:00+00:00"
    assert first.find("testcase/properties") is None
    assert "bell \ufffd and nul \ufffd" in path.read_text("utf-8")


def test_read_suites_recombines_stage_files(tmp_path: Path) -> None:
    """Suites read back from stage files combine into one valid file, one suite per stage."""
    combined = document(
        [*read_suites(document([_suite("gate")])), *read_suites(document([_suite("report")]))]
    )
    path = tmp_path / "all.xml"
    path.write_text(combined, "utf-8")
    assert_valid_junit(path)
    assert [s.get("name") for s in ET.parse(path).getroot()] == ["gate", "report"]
