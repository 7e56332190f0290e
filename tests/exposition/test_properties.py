"""Hypothesis: the parser never crashes on any input, and real writers' output round-trips."""

from __future__ import annotations

import math
from collections.abc import Iterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.registry import Collector

from hypersync_slo.errors import MalformedExposition
from hypersync_slo.exposition import Exposition, lint_exposition, parse_exposition

CONTENT_TYPES = st.sampled_from(
    [
        None,
        "text/plain; version=0.0.4; charset=utf-8",
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
        "text/html",
    ]
)
# Characters that matter to the grammar, so random text reaches deep into the parser.
GRAMMAR = st.sampled_from(
    [*'#{}=",\\ \t\n\r_:.+-eE0123456789aZ', "# EOF", "NaN", "+Inf", "# TYPE ", "# HELP "]
)
VALID_BODY = (
    "# HELP rpc_seconds RPC.\n# TYPE rpc_seconds histogram\n"
    'rpc_seconds_bucket{le="0.1",a="x"} 1\nrpc_seconds_bucket{le="+Inf",a="x"} 2\n'
    'rpc_seconds_count{a="x"} 2\nrpc_seconds_sum{a="x"} 0.3\n'
    "# TYPE c counter\nc_total 1 1700000000\n# EOF\n"
)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_or_refuse(text: str, content_type: str | None) -> Exposition | None:
    """Parse; a MalformedExposition is an allowed outcome (None), anything else propagates."""
    refused: MalformedExposition | None = None
    try:
        return parse_exposition(text, content_type)
    except MalformedExposition as exc:
        refused = exc
    assert str(refused).startswith("malformed ")
    return None


@SETTINGS
@given(text=st.text(), content_type=CONTENT_TYPES)
def test_any_text_parses_or_raises_malformed_exposition(
    text: str, content_type: str | None
) -> None:
    """Arbitrary text gives an Exposition or MalformedExposition, never another exception."""
    expo = parse_or_refuse(text, content_type)
    if expo is not None:
        lint_exposition(expo, text)


@SETTINGS
@given(data=st.binary(max_size=2000), content_type=CONTENT_TYPES)
def test_any_bytes_decoded_parse_or_raise_malformed_exposition(
    data: bytes, content_type: str | None
) -> None:
    """Arbitrary bytes, decoded leniently, give an Exposition or MalformedExposition only."""
    text = data.decode("utf-8", "replace")
    expo = parse_or_refuse(text, content_type)
    if expo is not None:
        lint_exposition(expo, text)


@SETTINGS
@given(pieces=st.lists(GRAMMAR, max_size=60), content_type=CONTENT_TYPES)
def test_grammar_soup_parses_or_raises_malformed_exposition(
    pieces: list[str], content_type: str | None
) -> None:
    """Random sequences of grammar tokens give an Exposition or MalformedExposition only."""
    text = "".join(pieces)
    expo = parse_or_refuse(text, content_type)
    if expo is not None:
        lint_exposition(expo, text)


@SETTINGS
@given(
    position=st.integers(min_value=0, max_value=len(VALID_BODY)), insert=GRAMMAR, cut=st.booleans()
)
def test_mutated_valid_bodies_parse_or_raise_malformed_exposition(
    position: int, insert: str, cut: bool
) -> None:
    """A valid body with a token inserted (or cut short) parses or raises MalformedExposition only."""
    text = VALID_BODY[:position] if cut else VALID_BODY[:position] + insert + VALID_BODY[position:]
    for content_type in (
        None,
        "text/plain; version=0.0.4",
        "application/openmetrics-text; version=1.0.0",
    ):
        expo = parse_or_refuse(text, content_type)
        if expo is not None:
            lint_exposition(expo, text)


NAMES = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: not n.endswith(("_total", "_created", "_count", "_sum", "_bucket", "_info"))
)
LABEL_NAMES = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,8}", fullmatch=True)
VALUES = st.floats(allow_nan=True, allow_infinity=True)
SERIES = st.dictionaries(LABEL_NAMES, st.text(max_size=12), max_size=3)
GAUGES = st.dictionaries(
    NAMES,
    st.lists(
        st.tuples(SERIES, VALUES),
        min_size=1,
        max_size=4,
        unique_by=lambda s: frozenset(s[0].items()),
    ),
    min_size=1,
    max_size=4,
)


class _Fixed(Collector):
    def __init__(self, gauges: dict[str, list[tuple[dict[str, str], float]]]) -> None:
        self.gauges = gauges

    def collect(self) -> Iterator[Metric]:
        for name, series in self.gauges.items():
            family = GaugeMetricFamily(name, f"help of {name}")
            for labels, value in series:
                family.add_sample(name, labels, value)
            yield family


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@SETTINGS
@given(gauges=GAUGES)
def test_prometheus_client_output_round_trips_in_both_formats(
    gauges: dict[str, list[tuple[dict[str, str], float]]],
) -> None:
    """What prometheus_client writes (text and OpenMetrics) parses back to the same series and values."""
    registry = CollectorRegistry()
    registry.register(_Fixed(gauges))
    text = generate_latest(registry).decode()
    openmetrics = generate_openmetrics(registry).decode()
    for body, content_type in (
        (text, "text/plain; version=0.0.4; charset=utf-8"),
        (openmetrics, "application/openmetrics-text; version=1.0.0; charset=utf-8"),
    ):
        expo = parse_exposition(body, content_type)
        assert set(expo.families) == set(gauges)
        for name, series in gauges.items():
            family = expo.families[name]
            assert family.type == "gauge"
            assert family.help == f"help of {name}"
            assert len(family.samples) == len(series)
            for sample, (labels, value) in zip(family.samples, series, strict=True):
                assert dict(sample.labels) == labels
                assert _same(sample.value, value)
        assert expo.structure == ()
        findings = lint_exposition(expo, body)
        assert [f for f in findings if f.rule in ("duplicate-metric", "official-parser")] == []
