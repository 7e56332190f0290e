"""docs/contracts.md §2: ``/metrics`` names its format, parses in text 0.0.4 and (when asked)
OpenMetrics 1.0.0, has no duplicate series, follows the promtool naming rules and keeps its
histograms whole."""

from __future__ import annotations

import pytest

from hypersync_slo.errors import MalformedExposition
from hypersync_slo.exposition import (
    ACCEPT_OPENMETRICS,
    ACCEPT_TEXT,
    PROMETHEUS3_ACCEPT,
    Exposition,
    Finding,
    compare,
    lint_exposition,
    media_type,
    parse_exposition,
    run_promtool,
)
from hypersync_slo.gate.client import Answer, TargetClient
from hypersync_slo.gate.contracts import violation
from hypersync_slo.gate.fixtures import Evidence
from hypersync_slo.gate.scrape import content_type_problem, scrape

#: Accept headers a scraper may send, and the media type each must produce.
ACCEPTS = {
    "prometheus3-default": (PROMETHEUS3_ACCEPT, "application/openmetrics-text"),
    "openmetrics": (ACCEPT_OPENMETRICS, "application/openmetrics-text"),
    "text-0.0.4": (ACCEPT_TEXT, "text/plain"),
    "any": ("*/*", None),
    "none": (None, None),
}
STRUCTURE_RULES = frozenset(
    {
        "official-parser",
        "type-after-sample",
        "interleaved-family",
        "duplicate-metadata",
        "missing-final-newline",
        "carriage-return",
        "byte-order-mark",
        "counter-value",
    }
)
OPENMETRICS_RULES = frozenset(
    {
        "om-missing-eof",
        "om-text-after-eof",
        "om-blank-line",
        "om-comment",
        "om-unit-suffix",
        "metadata-after-sample",
        "om-exemplar-too-long",
    }
)
HISTOGRAM_RULES = frozenset(
    {
        "histogram-no-inf",
        "histogram-not-cumulative",
        "histogram-count-mismatch",
        "histogram-bucket-order",
        "histogram-bad-le",
    }
)
NAMING_RULES = frozenset(
    {
        "help",
        "base-units",
        "counter-total",
        "non-counter-total",
        "reserved-suffix",
        "type-in-name",
        "reserved-chars",
        "camel-case",
        "unit-abbreviation",
        "reserved-label",
    }
)


def render(findings: list[Finding], limit: int = 6) -> str:
    """Findings as one line: ``line 12 rule metric: message; ...``."""
    parts = [
        f"{'line ' + str(f.line) + ' ' if f.line else ''}[{f.rule}] {f.metric or ''}: {f.message}".strip()
        for f in findings[:limit]
    ]
    more = f" (+{len(findings) - limit} more)" if len(findings) > limit else ""
    return "; ".join(parts) + more


def parse_or_violate(answer: Answer, contract_id: str, fmt: str) -> Exposition:
    """Parse the answer; a body that does not parse breaks ``contract_id``."""
    try:
        return parse_exposition(answer.text, answer.content_type)
    except MalformedExposition as exc:
        raise violation(
            contract_id,
            f"/metrics does not parse as {fmt}.",
            url=f"GET {answer.url}",
            expected=f"a valid {fmt} exposition",
            observed=str(exc).replace("\n", "; "),
            content_type=answer.content_type or "(absent)",
        ) from None


@pytest.mark.slo(contract="M-01")
@pytest.mark.parametrize("accept", list(ACCEPTS))
def test_metrics_content_type_names_format(target: TargetClient, accept: str) -> None:
    """/metrics answers 200 with a Content-Type Prometheus 3 accepts, matching the body's format."""
    header, expected_media = ACCEPTS[accept]
    answer = scrape(target, header)
    problem: str | None
    if answer.status_code != 200:
        problem = f"HTTP {answer.status_code}"
    else:
        problem = content_type_problem(answer.content_type)
    if problem is None:
        media, _params = media_type(answer.content_type)
        if expected_media is not None and media != expected_media:
            raise violation(
                "M-01",
                "/metrics answers a media type its Accept header did not ask for.",
                url=f"GET {answer.url} (Accept: {header or '(none)'})",
                expected=f"Content-Type: {expected_media}",
                observed=f"Content-Type: {answer.content_type}",
            )
        says_openmetrics = media == "application/openmetrics-text"
        ends_with_eof = answer.text.rstrip("\n").endswith("# EOF")
        if says_openmetrics != ends_with_eof:
            problem = (
                f"Content-Type {answer.content_type!r} but the body "
                f"{'ends' if ends_with_eof else 'does not end'} with # EOF"
            )
    if problem:
        raise violation(
            "M-01",
            "/metrics does not name its format correctly.",
            url=f"GET {answer.url} (Accept: {header or '(none)'})",
            expected="HTTP 200, Content-Type one of text/plain;version=0.0.4|1.0.0, "
            "application/openmetrics-text;version=0.0.1|1.0.0, protobuf; matching the body",
            observed=problem,
        )


@pytest.mark.slo(contract="M-02")
@pytest.mark.parametrize("accept", ["prometheus3-default", "openmetrics"])
def test_metrics_answers_openmetrics_when_asked(
    target: TargetClient, accept: str, evidence: Evidence
) -> None:
    """/metrics answers OpenMetrics 1.0.0 (ending in # EOF) when Accept prefers it, and it parses."""
    header, _ = ACCEPTS[accept]
    answer = scrape(target, header)
    media, params = media_type(answer.content_type)
    if media != "application/openmetrics-text" or params.get("version") != "1.0.0":
        raise violation(
            "M-02",
            "/metrics ignores an Accept header that asks for OpenMetrics.",
            url=f"GET {answer.url} (Accept: {header})",
            expected="Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8",
            observed=f"Content-Type: {answer.content_type or '(absent)'}",
        )
    expo = parse_or_violate(answer, "M-02", "OpenMetrics 1.0.0")
    bad = [
        f
        for f in lint_exposition(expo, answer.text)
        if f.severity == "error" and f.rule in OPENMETRICS_RULES | STRUCTURE_RULES
    ]
    if bad:
        raise violation(
            "M-02",
            "the OpenMetrics exposition is malformed.",
            url=f"GET {answer.url} (Accept: {header})",
            expected="a valid OpenMetrics 1.0.0 body ending in # EOF",
            observed=render(bad),
        )
    evidence.figure("openmetrics_series", expo.series_count())


@pytest.mark.slo(contract="M-03")
def test_metrics_parses_as_text_004(metrics_answer: Answer, evidence: Evidence) -> None:
    """/metrics in text 0.0.4 parses, with each family one group and TYPE before its samples."""
    expo = parse_or_violate(metrics_answer, "M-03", "text 0.0.4")
    bad = [
        f
        for f in lint_exposition(expo, metrics_answer.text, check_content_type=False)
        if f.severity == "error" and f.rule in STRUCTURE_RULES
    ]
    if bad:
        raise violation(
            "M-03",
            "the text 0.0.4 exposition is malformed.",
            url=f"GET {metrics_answer.url} (Accept: {ACCEPT_TEXT})",
            expected="a valid text 0.0.4 body",
            observed=render(bad),
        )
    evidence.figure("series", expo.series_count())
    evidence.figure("families", len(expo.families))


def _duplicates(expo: Exposition) -> list[str]:
    seen: set[tuple[str, frozenset[tuple[str, str]]]] = set()
    dups: list[str] = []
    for sample in expo.series():
        key = sample.series_key()
        if key in seen:
            dups.append(f"line {sample.line}: {sample.render_series()}")
        seen.add(key)
    return dups


@pytest.mark.slo(contract="M-04")
@pytest.mark.parametrize("fmt", ["text-0.0.4", "openmetrics"])
def test_metrics_has_no_duplicate_series(target: TargetClient, fmt: str) -> None:
    """No two samples of /metrics share a name and label set, in either format."""
    header = ACCEPT_TEXT if fmt == "text-0.0.4" else ACCEPT_OPENMETRICS
    answer = scrape(target, header)
    try:
        expo = parse_exposition(answer.text, answer.content_type)
    except MalformedExposition:
        pytest.skip(f"the {fmt} body does not parse; M-02/M-03 judge that")
    dups = _duplicates(expo)
    if dups:
        raise violation(
            "M-04",
            f"/metrics repeats {len(dups)} series.",
            url=f"GET {answer.url} (Accept: {header})",
            expected="every name + label set once (ingestion of duplicates is undefined)",
            observed="; ".join(dups[:5]),
        )


@pytest.mark.slo(contract="M-05")
def test_metric_names_follow_promtool_rules(
    metrics_exposition: Exposition, metrics_answer: Answer, evidence: Evidence
) -> None:
    """Metric names follow promtool's rules: counters end in _total, base units, snake_case, HELP."""
    findings = [
        f
        for f in lint_exposition(metrics_exposition, check_content_type=False)
        if f.rule in NAMING_RULES
    ]
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        raise violation(
            "M-05",
            "metric names break the naming rules.",
            url=f"GET {metrics_answer.url}",
            expected="counters end in _total; base units; no reserved suffixes or characters",
            observed=render(errors),
        )
    if findings:
        evidence.warn(
            f"M-05 naming lint (SHOULD): {len(findings)} finding(s)\n"
            f"url: GET {metrics_answer.url}\n"
            f"observed: {render(findings)}"
        )


@pytest.mark.slo(contract="M-06")
def test_histograms_are_whole(metrics_exposition: Exposition, metrics_answer: Answer) -> None:
    """Every histogram has an le="+Inf" bucket equal to _count, cumulative and sorted buckets."""
    bad = [
        f
        for f in lint_exposition(metrics_exposition, check_content_type=False)
        if f.rule in HISTOGRAM_RULES
    ]
    if bad:
        raise violation(
            "M-06",
            "a histogram is broken.",
            url=f"GET {metrics_answer.url}",
            expected='le="+Inf" present and equal to _count; buckets cumulative in increasing le',
            observed=render(bad),
        )


@pytest.mark.slo(contract="M-08")
def test_promtool_check_metrics_agrees(
    metrics_answer: Answer, metrics_exposition: Exposition, evidence: Evidence
) -> None:
    """The real ``promtool check metrics`` finds nothing (problems warn; a parse error fails)."""
    result = run_promtool(metrics_answer.text)
    if result is None:
        pytest.skip("promtool is not installed (apt-get install prometheus): M-08 not checked")
    ours = lint_exposition(metrics_exposition, check_content_type=False)
    comparison = compare(ours, result)
    evidence.figure("promtool_exit", result.exit_code)
    evidence.figure("promtool_agreed", len(comparison.agreed))
    if result.parse_error is not None:
        raise violation(
            "M-08",
            "promtool cannot parse /metrics.",
            url=f"GET {metrics_answer.url}",
            expected="promtool check metrics exit 0",
            observed=f"exit {result.exit_code}: {result.parse_error.message} "
            f"(line {result.parse_error.line})",
            promtool=result.version,
        )
    if result.exit_code != 0:
        missed = "; ".join(f"{m} {msg}" for m, msg in comparison.only_promtool) or "none"
        evidence.warn(
            f"M-08 promtool check metrics found {len(result.findings)} problem(s)\n"
            f"url: GET {metrics_answer.url}\n"
            f"observed: {render(list(result.findings))}\n"
            f"promtool {result.version}; also found by our linter: {len(comparison.agreed)}; "
            f"missed by our linter: {missed}"
        )
