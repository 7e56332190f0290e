"""Tests of the lint rules: the corpus, hand-made broken examples, the real promtool, Content-Type."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hypersync_slo.exposition import (
    NODE_EXPORTER_ALLOW,
    RULES,
    VALID_CONTENT_TYPES,
    Finding,
    compare,
    lint_exposition,
    parse_exposition,
    run_promtool,
)
from hypersync_slo.exposition.lint import content_type_findings
from tests.exposition.conftest import BROKEN, CORPUS, captured_content_type, corpus_files

TEXT_CT = "text/plain; version=0.0.4; charset=utf-8"
OM_CT = "application/openmetrics-text; version=1.0.0; charset=utf-8"


@pytest.fixture
def promtool() -> str:
    """The real promtool; the test fails (not skips) when it is missing."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed: apt-get install prometheus (./quickstart does it)")
    return path


def lint_file(path: Path, **kwargs: object) -> list[Finding]:
    """Parse and lint a data file, OpenMetrics when named *.om.txt."""
    text = path.read_text()
    content_type = OM_CT if path.name.endswith(".om.txt") else TEXT_CT
    return lint_exposition(parse_exposition(text, content_type), text, **kwargs)  # type: ignore[arg-type]


def errors(findings: list[Finding]) -> list[tuple[str, int | None]]:
    """The (rule, line) of every error."""
    return [(f.rule, f.line) for f in findings if f.severity == "error"]


@pytest.mark.parametrize("capture", corpus_files(), ids=lambda p: p.name)
def test_corpus_captures_have_no_errors(capture: Path) -> None:
    """Real exporters' output has no error-level finding (warnings are naming lint)."""
    text = capture.read_text()
    findings = lint_exposition(parse_exposition(text, captured_content_type(capture)), text)
    assert errors(findings) == []


def test_node_exporter_trips_camel_case_unless_allow_listed() -> None:
    """node_exporter's kernel-named families are camelCase warnings; the node_* allow-list silences them."""
    capture = CORPUS / "node-exporter-1.5.text.txt"
    text = capture.read_text()
    expo = parse_exposition(text, captured_content_type(capture))
    findings = lint_exposition(expo, text)
    camel = {f.metric for f in findings if f.rule == "camel-case"}
    assert "node_memory_MemAvailable_bytes" in camel
    assert len(camel) == 66
    assert {f.rule for f in findings} == {"camel-case", "base-units"}
    assert all(f.severity == "warning" for f in findings)
    bits = [f for f in findings if f.rule == "base-units"]
    assert bits[0].message == 'use base unit "bytes" instead of "bits"'
    assert bits[0].line == text.splitlines().index("# TYPE node_entropy_available_bits gauge") + 1
    assert lint_exposition(expo, text, allow=NODE_EXPORTER_ALLOW) == []
    only_one = lint_exposition(expo, text, allow=["node_memory_MemAvailable_bytes"])
    assert len(only_one) == len(findings) - 1


@pytest.mark.usefixtures("promtool")
@pytest.mark.parametrize(
    "capture",
    [p for p in corpus_files() if ".text." in p.name] + [BROKEN / "promlint.txt"],
    ids=lambda p: p.name,
)
def test_our_promlint_rules_agree_with_the_real_promtool(capture: Path) -> None:
    """On real captures and the promlint example, promtool's problems and ours are the same set."""
    text = capture.read_text()
    findings = lint_exposition(parse_exposition(text, TEXT_CT), text)
    result = run_promtool(text)
    assert result is not None
    comparison = compare(findings, result)
    assert comparison.only_promtool == ()
    assert comparison.only_ours == ()
    assert result.exit_code == (3 if comparison.agreed else 0)
    if capture.name.startswith("node-exporter"):
        assert len(comparison.agreed) == 68


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("duplicate-series.txt", [("duplicate-metric", 5)]),
        ("histogram-no-inf.txt", [("histogram-no-inf", 3)]),
        ("histogram-not-cumulative.txt", [("histogram-not-cumulative", 4)]),
        ("histogram-count-mismatch.txt", [("histogram-count-mismatch", 7)]),
        ("histogram-bucket-order.txt", [("histogram-bucket-order", 4)]),
        ("type-after-sample.txt", [("type-after-sample", 3)]),
        ("interleaved-family.txt", [("interleaved-family", 7)]),
        ("counter-no-total.txt", [("counter-total", 2)]),
        ("counter-value.txt", [("counter-value", 3), ("counter-value", 4)]),
        ("missing-final-newline.txt", [("missing-final-newline", 3)]),
        ("duplicate-metadata.txt", [("duplicate-metadata", 3)]),
        ("om-duplicate-series.om.txt", [("duplicate-metric", 4)]),
        ("om-missing-eof.om.txt", [("official-parser", None), ("om-missing-eof", 3)]),
        ("om-blank-line.om.txt", [("official-parser", None), ("om-blank-line", 3)]),
        ("om-unit-suffix.om.txt", [("official-parser", None), ("om-unit-suffix", 2)]),
        ("om-counter-sample-no-total.om.txt", [("official-parser", None), ("counter-total", 3)]),
        ("om-counter-family-total.om.txt", [("official-parser", None), ("counter-total", 1)]),
        ("om-text-after-eof.om.txt", [("official-parser", None), ("om-text-after-eof", 5)]),
        ("om-comment.om.txt", [("official-parser", None), ("om-comment", 3)]),
    ],
)
def test_each_extra_rule_catches_its_broken_example_on_the_right_line(
    name: str, expected: list[tuple[str, int | None]]
) -> None:
    """Each hand-made broken example gives exactly its rule's error, on the offending line."""
    assert errors(lint_file(BROKEN / name)) == expected


def test_duplicate_series_message_names_both_lines() -> None:
    """A duplicate series starts with promtool's wording and names the series and its first line."""
    (finding,) = [
        f for f in lint_file(BROKEN / "duplicate-series.txt") if f.rule == "duplicate-metric"
    ]
    assert finding.message == (
        'metric not unique: hypersync_agents_active{region="eu"} is already on line 3'
    )


def test_the_python_openmetrics_parser_misses_duplicates_but_we_do_not() -> None:
    """prometheus_client's strict OM parser accepts a duplicate series; our lint reports it."""
    findings = lint_file(BROKEN / "om-duplicate-series.om.txt")
    assert [f.rule for f in findings] == ["duplicate-metric"]


def test_counter_without_total_is_an_error_and_other_naming_lint_a_warning() -> None:
    """counter-total is an error (the contract requires _total); the other promlint rules warn."""
    findings = lint_file(BROKEN / "promlint.txt")
    by_rule = {f.rule: f.severity for f in findings}
    assert by_rule.pop("counter-total") == "error"
    assert set(by_rule.values()) == {"warning"}
    assert set(by_rule) == {
        "help",
        "base-units",
        "non-counter-total",
        "reserved-suffix",
        "type-in-name",
        "reserved-chars",
        "camel-case",
        "unit-abbreviation",
    }


def test_allow_list_never_silences_errors() -> None:
    """An allow-listed family keeps its errors (here a counter without _total)."""
    findings = lint_file(BROKEN / "counter-no-total.txt", allow=["hypersync_*"])
    assert errors(findings) == [("counter-total", 2)]


def test_reserved_label_names_are_warned_about() -> None:
    """A label starting with '__' is a reserved-label warning naming the label."""
    findings = lint_file(BROKEN / "reserved-label.txt")
    (reserved,) = [f for f in findings if f.rule == "reserved-label"]
    assert reserved.severity == "warning"
    assert "__tenant" in reserved.message


def test_real_openmetrics_output_lints_clean(python_client_openmetrics: tuple[str, str]) -> None:
    """prometheus_client's real OpenMetrics answer has no finding at all (Content-Type included)."""
    body, content_type = python_client_openmetrics
    assert lint_exposition(parse_exposition(body, content_type), body) == []


def test_real_text_output_lints_clean(python_client_text: tuple[str, str]) -> None:
    """prometheus_client's real text answer has no error (its _created gauges are allowed)."""
    body, content_type = python_client_text
    findings = lint_exposition(parse_exposition(body, content_type), body)
    assert errors(findings) == []


@pytest.mark.parametrize("content_type", VALID_CONTENT_TYPES)
def test_the_five_valid_content_types_pass(content_type: str) -> None:
    """Each of the five Content-Types Prometheus 3 accepts passes, also with charset and spaces."""
    assert content_type_findings(content_type) == []
    assert content_type_findings(content_type.replace(";", "; ") + "; charset=utf-8") == []


@pytest.mark.parametrize(
    ("content_type", "severity", "words"),
    [
        (None, "error", "no Content-Type header; Prometheus 3 fails the scrape"),
        ("", "error", "no Content-Type header"),
        ("text/html; charset=utf-8", "error", "is not one Prometheus 3 accepts"),
        ("application/json", "error", "is not one Prometheus 3 accepts"),
        ("text/plain; version=0.0.5", "error", "unknown version '0.0.5'"),
        (
            "application/vnd.google.protobuf",
            "error",
            "lacks proto=io.prometheus.client.MetricFamily",
        ),
        ("text/plain", "warning", "has no version parameter"),
        ("text/plain; version=0.0.4; charset=latin-1", "warning", "charset 'latin-1'"),
    ],
)
def test_missing_or_invalid_content_types_are_reported(
    content_type: str | None, severity: str, words: str
) -> None:
    """A missing or unknown Content-Type is an error; a missing version or odd charset a warning."""
    (finding,) = content_type_findings(content_type)
    assert (finding.rule, finding.severity) == ("content-type", severity)
    assert words in finding.message


def test_content_type_check_can_be_skipped_for_files() -> None:
    """check_content_type=False (a file has no header) drops the content-type rule."""
    expo = parse_exposition("# HELP a_bytes A.\n# TYPE a_bytes gauge\na_bytes 1\n")
    assert [f.rule for f in lint_exposition(expo)] == ["content-type"]
    assert lint_exposition(expo, check_content_type=False) == []


def test_every_rule_has_a_documented_severity() -> None:
    """RULES lists every rule id the linter can emit, with severity and what it checks."""
    assert len([r for r in RULES.values() if r.promtool]) == 10
    assert RULES["counter-total"].severity == "error"
    assert RULES["camel-case"].severity == "warning"
    assert all(r.checks for r in RULES.values())
