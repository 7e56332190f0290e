"""O-03/M-09 rules over parsed expositions: route values, raw-URL labels, ID-like values."""

from __future__ import annotations

import pytest

from hypersync_slo.exposition import parse_exposition
from hypersync_slo.gate.cardinality import (
    label_names,
    label_values,
    looks_unbounded,
    series_per_family,
    unbounded_labels,
)

TEXT = """\
# HELP h Duration.
# TYPE h histogram
h_bucket{http_route="/v1/receipts/{receipt_id}",le="+Inf"} 2
h_sum{http_route="/v1/receipts/{receipt_id}"} 0.1
h_count{http_route="/v1/receipts/{receipt_id}"} 2
h_bucket{http_route="/v1/receipts/4bf92f35-77b3-4da6-a3ce-929d0e0e4736",url_path="/x",le="+Inf"} 1
h_sum{http_route="/v1/receipts/4bf92f35-77b3-4da6-a3ce-929d0e0e4736",url_path="/x"} 0.1
h_count{http_route="/v1/receipts/4bf92f35-77b3-4da6-a3ce-929d0e0e4736",url_path="/x"} 1
h_bucket{http_route="/v1/agents/123456/actions",le="+Inf"} 1
h_sum{http_route="/v1/agents/123456/actions"} 0.1
h_count{http_route="/v1/agents/123456/actions"} 1
# HELP build_info Build.
# TYPE build_info gauge
build_info{revision="a4b2d08c2f1e9b7a6d5c4b3a2f1e0d9c8b7a6f5e"} 1
"""


def test_route_values_and_label_names() -> None:
    """Route values and label names of a family are read from every series."""
    expo = parse_exposition(TEXT, "text/plain; version=0.0.4")
    assert len(label_values(expo, "h", "http_route")) == 3
    assert label_names(expo, "h") == {"http_route", "url_path"}
    assert label_values(expo, "absent", "http_route") == set()
    assert series_per_family(expo).most_common(1) == [("h", 9)]


def test_several_id_like_values_are_unbounded_one_revision_is_not() -> None:
    """Two ID-like route values flag the label; one git revision on build_info does not."""
    expo = parse_exposition(TEXT, "text/plain; version=0.0.4")
    assert list(unbounded_labels(expo)) == [("h", "http_route")]


@pytest.mark.parametrize(
    ("value", "unbounded"),
    [
        ("/v1/receipts/{receipt_id}", False),
        ("_OTHER", False),
        ("/health/ready", False),
        ("4bf92f35-77b3-4da6-a3ce-929d0e0e4736", True),
        ("/v1/items/00f067aa0ba902b7", True),
        ("alice@example.com", True),
        ("/v1/agents/1234/actions", True),
        ("/v2/x", False),
    ],
)
def test_looks_unbounded(value: str, unbounded: bool) -> None:
    """UUIDs, 16+ hex digits, e-mails and numeric path segments look like IDs; templates do not."""
    assert looks_unbounded(value) is unbounded
