"""O-03 and M-09: route labels are templates, and the exposition's cardinality is bounded.

``run_route_probe`` scrapes ``/metrics`` (twice), sends a declared GET whose path has a
parameter (``route_template``; ``GET /v1/receipts/{receipt_id}`` in the packaged declaration)
with a few fresh random IDs (unknown IDs: 404, which the latency histogram records like any
answer) and scrapes again, so a check can tell whether the IDs leaked into ``http_route``. The rest are pure
functions over parsed expositions: the route values of a histogram, the label names that carry
a raw URL, the series per family, and the label values that look like unbounded IDs.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from dataclasses import dataclass

from hypersync_slo.exposition import ACCEPT_TEXT, Exposition
from hypersync_slo.gate.client import Answer, TargetClient
from hypersync_slo.gate.scrape import parse_answer, scrape
from hypersync_slo.traffic_spec import TrafficSpec

#: Labels that carry the raw URL instead of the route template (OTel: never on metrics).
RAW_URL_LABELS = frozenset({"url_path", "url_full", "http_target", "http_url", "path", "uri"})
ROUTE_PROBES = 12
PROBE_TEMPLATE = "/v1/receipts/{receipt_id}"  # the packaged declaration's (kept for imports)
_PARAM = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
#: Default series budget of one exposition (OpenMetrics / Prometheus guidance: 10k per target).
SERIES_BUDGET = 10_000

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_LONG_HEX = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{16,}(?![0-9A-Za-z])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_NUMERIC_SEGMENT = re.compile(r"/\d{3,}(?=/|$)")


@dataclass(frozen=True)
class RouteProbe:
    """Scrapes before and after ``GET`` of a few random receipt IDs."""

    ids: tuple[str, ...]
    before: Exposition
    after: Exposition
    after_answer: Answer
    statuses: tuple[int, ...]
    template: str | None = PROBE_TEMPLATE


def route_template(traffic: TrafficSpec) -> str | None:
    """The path template of the first declared GET with a parameter in its path, or None."""
    for spec in traffic.requests:
        if spec.method == "GET" and _PARAM.search(spec.path):
            return spec.path
    return None


def run_route_probe(
    target: TargetClient, count: int = ROUTE_PROBES, template: str | None = PROBE_TEMPLATE
) -> RouteProbe:
    """Scrape, GET ``template`` with ``count`` fresh random IDs in its parameters, scrape again
    (no GET at all when ``template`` is None: the scrapes still serve M-09).

    A first scrape is thrown away: on a fresh target it creates ``/metrics``'s own series, which
    would otherwise count as a new route value.
    """
    scrape(target, ACCEPT_TEXT)
    before = parse_answer(scrape(target, ACCEPT_TEXT))
    ids = tuple(str(uuid.uuid4()) for _ in range(count)) if template is not None else ()
    statuses = tuple(
        target.get(
            _PARAM.sub(rid, template or ""), expected="an answer for an unknown ID"
        ).status_code
        for rid in ids
    )
    after_answer = scrape(target, ACCEPT_TEXT)
    return RouteProbe(ids, before, parse_answer(after_answer), after_answer, statuses, template)


def label_values(expo: Exposition, family: str, label: str) -> set[str]:
    """Every value of ``label`` on the series of ``family`` (empty when absent)."""
    found = expo.family(family)
    if found is None:
        return set()
    return {s.labels[label] for s in found.samples if label in s.labels}


def label_names(expo: Exposition, family: str) -> set[str]:
    """Every label name used on ``family`` (``le`` and ``quantile`` left out)."""
    found = expo.family(family)
    if found is None:
        return set()
    return {k for s in found.samples for k in s.labels} - {"le", "quantile"}


def series_per_family(expo: Exposition) -> Counter[str]:
    """Number of sample lines per family."""
    return Counter({name: len(fam.samples) for name, fam in expo.families.items()})


def looks_unbounded(value: str) -> bool:
    """Whether a label value looks like an ID: UUID, 16+ hex digits, e-mail, numeric path segment."""
    return bool(
        _UUID.search(value)
        or _LONG_HEX.search(value)
        or _EMAIL.search(value)
        or _NUMERIC_SEGMENT.search(value)
    )


def unbounded_labels(expo: Exposition, min_values: int = 2) -> dict[tuple[str, str], list[str]]:
    """``{(family, label): values}`` where at least ``min_values`` distinct values look like IDs.

    One ID-like value (a build's git revision on an info metric) is a constant, not a leak;
    several are a label that grows with traffic.
    """
    out: dict[tuple[str, str], list[str]] = {}
    for name, fam in expo.families.items():
        values: dict[str, set[str]] = {}
        for sample in fam.samples:
            for label, value in sample.labels.items():
                if label not in ("le", "quantile") and looks_unbounded(value):
                    values.setdefault(label, set()).add(value)
        for label, found in values.items():
            if len(found) >= min_values:
                out[(name, label)] = sorted(found)
    return out
