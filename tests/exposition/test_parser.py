"""Tests of the raw-text parser: real captures, both formats, line numbers, clear syntax errors."""

from __future__ import annotations

import math
import pickle
import time
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as strict_openmetrics,
)

from hypersync_slo.errors import MalformedExposition
from hypersync_slo.exposition import ExpositionSyntaxError, parse_exposition
from tests.exposition.conftest import captured_content_type, corpus_files

TEXT_CT = "text/plain; version=0.0.4; charset=utf-8"
OM_CT = "application/openmetrics-text; version=1.0.0; charset=utf-8"


@pytest.mark.parametrize("capture", corpus_files(), ids=lambda p: p.name)
def test_every_corpus_capture_parses_in_the_format_its_content_type_names(capture: Path) -> None:
    """Each real capture parses in the format of the Content-Type its program answered with."""
    content_type = captured_content_type(capture)
    expo = parse_exposition(capture.read_text(), content_type)
    assert expo.format == "text-0.0.4"  # every corpus program answered text, even to an OM Accept
    assert expo.content_type == content_type
    assert expo.structure == ()
    assert len(expo.families) > 10
    assert expo.series_count() == sum(
        1 for line in capture.read_text().splitlines() if line and not line.startswith("#")
    )


def test_the_corpus_openmetrics_captures_are_really_text_0_0_4() -> None:
    """The '.openmetrics' captures were answered as text 0.0.4/1.0.0: no '# EOF', text Content-Type."""
    for capture in corpus_files():
        if ".openmetrics." in capture.name:
            assert captured_content_type(capture).startswith("text/plain")
            assert not capture.read_text().rstrip().endswith("# EOF")


def test_real_openmetrics_output_parses_and_the_strict_parser_agrees(
    python_client_openmetrics: tuple[str, str],
) -> None:
    """prometheus_client's real OpenMetrics answer parses here and in its own strict parser."""
    body, content_type = python_client_openmetrics
    list(strict_openmetrics(body))  # the strict path: raises on any framing error
    expo = parse_exposition(body, content_type)
    assert expo.format == "openmetrics-1.0.0"
    assert expo.structure == ()
    counter = expo.families["hypersync_operator_executions"]
    assert counter.type == "counter"
    assert [s.name for s in counter.samples][:2] == [
        "hypersync_operator_executions_total",
        "hypersync_operator_executions_created",
    ]
    histogram = expo.families["http_server_request_duration_seconds"]
    assert (histogram.type, histogram.unit, histogram.help) == (
        "histogram",
        "seconds",
        "Request latency.",
    )
    assert expo.families["hypersync_build"].type == "info"
    assert expo.families["agent_state"].type == "stateset"


def test_family_lookup_accepts_either_counter_spelling(
    python_client_openmetrics: tuple[str, str], python_client_text: tuple[str, str]
) -> None:
    """family('x_total') and family('x') find a counter in both formats."""
    om = parse_exposition(*python_client_openmetrics)
    text = parse_exposition(*python_client_text)
    for expo in (om, text):
        for name in ("hypersync_operator_executions", "hypersync_operator_executions_total"):
            found = expo.family(name)
            assert found is not None
            assert found.type == "counter"
    assert "hypersync_operator_executions_total" in text.families
    assert "hypersync_operator_executions" in om.families
    assert om.family("hypersync_agents_active_total") is None
    assert om.family("absent") is None


def test_samples_keep_name_labels_value_line_and_timestamp_in_seconds() -> None:
    """A sample keeps what was written; a 0.0.4 millisecond timestamp becomes seconds."""
    body = '# TYPE a gauge\na{x="1",y="two words"} 1.5e3 1700000000123\na{x="2"} -Inf\n'
    expo = parse_exposition(body, TEXT_CT)
    first, second = expo.families["a"].samples
    assert (first.name, dict(first.labels), first.value, first.line) == (
        "a",
        {"x": "1", "y": "two words"},
        1500.0,
        2,
    )
    assert first.timestamp == pytest.approx(1700000000.123)
    assert second.value == -math.inf
    assert second.timestamp is None
    assert [s.line for s in expo.series()] == [2, 3]


def test_label_value_escapes_are_decoded() -> None:
    """Backslash, double quote and newline escapes in label values are decoded."""
    expo = parse_exposition('a{p="C:\\\\x",q="say \\"hi\\"",r="l1\\nl2"} 1\n', TEXT_CT)
    assert dict(expo.families["a"].samples[0].labels) == {
        "p": "C:\\x",
        "q": 'say "hi"',
        "r": "l1\nl2",
    }


def test_whitespace_and_trailing_comma_are_tolerated_like_the_go_parser() -> None:
    """Spaces inside braces and a trailing comma are accepted, as the Go text parser does."""
    expo = parse_exposition('a { b = "c" , } 1\n', TEXT_CT)
    assert dict(expo.families["a"].samples[0].labels) == {"b": "c"}


def test_utf8_quoted_metric_name_inside_braces() -> None:
    """A text 1.0.0 quoted name inside the braces is read as the metric name."""
    expo = parse_exposition('{"my.dotted.metric", "error.message"="Not Found"} 1\n', TEXT_CT)
    sample = next(expo.series())
    assert sample.name == "my.dotted.metric"
    assert dict(sample.labels) == {"error.message": "Not Found"}


def test_histogram_and_summary_samples_join_their_family_in_text() -> None:
    """_bucket/_count/_sum join a histogram family; _count/_sum a summary; a bare name stays alone."""
    body = (
        "# TYPE h histogram\n"
        'h_bucket{le="+Inf"} 1\n'
        "h_count 1\n"
        "h_sum 2\n"
        "# TYPE s summary\n"
        's{quantile="0.5"} 1\n'
        "s_count 1\n"
        "s_sum 1\n"
        "h_created 5\n"
    )
    expo = parse_exposition(body, TEXT_CT)
    assert [s.name for s in expo.families["h"].samples] == ["h_bucket", "h_count", "h_sum"]
    assert [s.name for s in expo.families["s"].samples] == ["s", "s_count", "s_sum"]
    assert expo.families["h_created"].type == "untyped"


def test_format_is_sniffed_from_eof_when_there_is_no_content_type() -> None:
    """Without a Content-Type, a body ending in '# EOF' is OpenMetrics, anything else text."""
    assert parse_exposition("# TYPE a gauge\na 1\n# EOF\n").format == "openmetrics-1.0.0"
    assert parse_exposition("# TYPE a gauge\na 1\n").format == "text-0.0.4"
    assert parse_exposition("").format == "text-0.0.4"
    assert parse_exposition("a 1\n", "text/html").format == "text-0.0.4"


def test_the_content_type_overrides_sniffing() -> None:
    """A text Content-Type reads an OpenMetrics-looking body as text, and notes the mismatch."""
    expo = parse_exposition("# TYPE a gauge\na 1\n# EOF\n", TEXT_CT)
    assert expo.format == "text-0.0.4"
    assert [f.rule for f in expo.structure] == ["format-mismatch"]


def test_protobuf_content_type_is_refused_with_a_clear_message() -> None:
    """A protobuf body is refused as MalformedExposition saying to ask for a text format."""
    with pytest.raises(MalformedExposition, match="protobuf") as info:
        parse_exposition(
            "\x00\x01",
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
        )
    assert "Accept header" in str(info.value)


@pytest.mark.parametrize(
    ("body", "line", "problem"),
    [
        ('# TYPE a gauge\na{x="1" 1\n', 2, "expected ',' or '}' after a label"),
        ("a 1\nb\n", 2, "expected a space and the sample value"),
        ("a one\n", 1, "expected a float as the sample value, got 'one'"),
        ("a 1_000\n", 1, "expected a float as the sample value, got '1_000'"),
        ("a 1 1.5\n", 1, "expected an integer timestamp in milliseconds"),
        ("a 1 2 3\n", 1, "unexpected text after the sample value"),
        ('a{x="\\q"} 1\n', 1, "invalid escape sequence '\\q'"),
        ('a{x="1} 1\n', 1, "has no closing double quote"),
        ('a{x="1",x="2"} 1\n', 1, "label 'x' appears twice"),
        ('a{1x="1"} 1\n', 1, "expected a label name"),
        ("# TYPE a foo\n", 1, "unknown metric type 'foo'"),
        ("# TYPE\n", 1, "'# TYPE' without a metric name"),
        ("ok 1\n\x00\x01\x02 garbage\n", 2, "expected a metric name"),
        ('{x="1"} 1\n', 1, "sample without a metric name"),
    ],
)
def test_syntax_errors_name_the_line_and_what_was_expected(
    body: str, line: int, problem: str
) -> None:
    """An unreadable line raises ExpositionSyntaxError with its line, the problem and the expectation."""
    with pytest.raises(ExpositionSyntaxError) as info:
        parse_exposition(body, TEXT_CT)
    error = info.value
    assert isinstance(error, MalformedExposition)
    assert error.line == line
    assert problem in error.problem
    text = str(error)
    assert text.startswith(f"malformed text-0.0.4 exposition at line {line}: ")
    assert "\nexpected: " in text
    assert "\nobserved: " in text


def test_openmetrics_specific_syntax() -> None:
    """OpenMetrics timestamps are seconds, exemplars parse, and 'untyped' is not an OM type."""
    body = (
        "# TYPE c counter\n"
        '# HELP c C.\nc_total 1 1700000000.5 # {trace_id="abc"} 0.5 1700000000.1\n# EOF\n'
    )
    sample = next(parse_exposition(body, OM_CT).series())
    assert sample.timestamp == 1700000000.5
    with pytest.raises(ExpositionSyntaxError, match="unknown metric type 'untyped'"):
        parse_exposition("# TYPE a untyped\n# EOF\n", OM_CT)
    with pytest.raises(ExpositionSyntaxError, match="unexpected text after the sample value"):
        parse_exposition('a 1 # {trace_id="abc"} 0.5\n', TEXT_CT)


def test_binary_garbage_fails_fast_at_line_one() -> None:
    """Random binary bytes decoded leniently fail at line 1 with a clear message, fast."""
    garbage = bytes(range(256)).decode("latin-1") * 4000
    started = time.perf_counter()
    with pytest.raises(ExpositionSyntaxError) as info:
        parse_exposition(garbage)
    assert time.perf_counter() - started < 1.0
    assert info.value.line == 1
    assert "expected a metric name" in info.value.problem
    assert len(str(info.value)) < 600  # the observed line is shortened, not dumped


def test_a_10_mb_exposition_parses_in_seconds_not_minutes() -> None:
    """A 10 MB text body (about 120k series) parses within a generous bound on a shared 2-core box."""
    line = 'big_metric_bytes{instance="i-%06d",zone="eu-west-1a",pod="api-7f9c"} 12345.678\n'
    body = "# HELP big_metric_bytes B.\n# TYPE big_metric_bytes gauge\n" + "".join(
        line % i for i in range(10_000_000 // len(line % 0))
    )
    assert len(body) >= 9_900_000
    started = time.perf_counter()
    expo = parse_exposition(body, TEXT_CT)
    elapsed = time.perf_counter() - started
    assert expo.series_count() > 100_000
    assert elapsed < 20.0, f"10 MB took {elapsed:.1f} s"


def test_syntax_errors_survive_pickling_with_their_line() -> None:
    """An ExpositionSyntaxError pickles (child processes report it) with line and message intact."""
    with pytest.raises(ExpositionSyntaxError) as info:
        parse_exposition("ok 1\nbad{\n")
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.line, str(copy)) == (2, str(info.value))
