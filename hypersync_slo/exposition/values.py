"""Values read out of a parsed exposition: histogram bucket bounds and counter readings."""

from __future__ import annotations

from hypersync_slo.errors import ContractViolation, explain
from hypersync_slo.exposition.lint import parse_le
from hypersync_slo.exposition.model import Exposition

CounterKey = tuple[str, frozenset[tuple[str, str]]]


def histogram_buckets(expo: Exposition, family: str) -> tuple[float, ...]:
    """The sorted distinct ``le`` bounds of histogram ``family`` (``+Inf`` included as ``inf``).

    Raises ``ContractViolation`` when the family is absent or is not a histogram.
    """
    found = expo.family(family)
    if found is None or found.type not in ("histogram", "gaugehistogram"):
        raise ContractViolation(
            explain(
                f"histogram {family} is not in the exposition",
                expected=f"# TYPE {family} histogram",
                observed="absent" if found is None else f"# TYPE {found.name} {found.type}",
                format=expo.format,
            )
        )
    bounds: set[float] = set()
    for sample in found.samples:
        if sample.name == found.name + "_bucket" and "le" in sample.labels:
            le = parse_le(sample.labels["le"])
            if le is not None:
                bounds.add(le)
    return tuple(sorted(bounds))


def counter_values(expo: Exposition) -> dict[CounterKey, float]:
    """Every counter reading keyed by (sample name, label set), for "never decreases" checks.

    Keys use the sample name as written (``foo_total`` in both formats for a well-formed
    counter), so readings of two scrapes compare even across formats. ``_created`` samples are
    left out.
    """
    values: dict[CounterKey, float] = {}
    for family in expo.families.values():
        if family.type != "counter":
            continue
        for sample in family.samples:
            if not sample.name.endswith("_created"):
                values[sample.series_key()] = sample.value
    return values
