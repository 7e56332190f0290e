"""Lint rules for a parsed exposition: promtool's nine, plus what promtool misses.

Each finding has a stable ``rule`` id (listed in ``RULES``). Where ``promtool check metrics``
has a message for the problem, ours starts with promtool's exact wording.

Severity: structural defects (duplicate series, broken histograms, TYPE placement, missing
``# EOF``, a bad Content-Type, NaN or negative counters) are errors; naming lint is a
warning, except a counter without ``_total``, which the HyperSync contract requires and is
therefore an error. An allow-list (shell-style patterns such as ``node_*``) silences the
*warnings* of third-party families whose names the contract requires as they are, e.g.
node_exporter's ``node_memory_MemAvailable_bytes`` (camelCase).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from itertools import pairwise

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

from hypersync_slo.exposition.model import OPENMETRICS, Exposition, Family, Finding, Severity
from hypersync_slo.exposition.parser import media_type


@dataclass(frozen=True)
class Rule:
    """A lint rule: id, default severity, whether promtool has it, and what it checks."""

    id: str
    severity: Severity
    promtool: bool
    checks: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        # promtool's promlint rules (client_golang prometheus/testutil/promlint)
        Rule("help", "warning", True, "every family has # HELP"),
        Rule(
            "base-units",
            "warning",
            True,
            "base units: seconds, bytes, ... (not milliseconds, bits)",
        ),
        Rule("counter-total", "error", True, "counters end in _total (OpenMetrics: every sample)"),
        Rule("non-counter-total", "warning", True, "only counters end in _total"),
        Rule(
            "reserved-suffix",
            "warning",
            True,
            "_bucket/_count/_sum and le/quantile only on histograms/summaries",
        ),
        Rule("type-in-name", "warning", True, "no type word (counter, gauge, ...) in the name"),
        Rule("reserved-chars", "warning", True, "no ':' in names (reserved for recording rules)"),
        Rule("camel-case", "warning", True, "metric and label names in snake_case"),
        Rule("unit-abbreviation", "warning", True, "no abbreviated units (_ms, _s, _kb, ...)"),
        Rule("duplicate-metric", "error", True, "no two samples with the same name and label set"),
        # what promtool misses
        Rule("histogram-no-inf", "error", False, 'each histogram series has an le="+Inf" bucket'),
        Rule(
            "histogram-not-cumulative", "error", False, "bucket counts never decrease as le grows"
        ),
        Rule("histogram-count-mismatch", "error", False, '_count equals the le="+Inf" bucket'),
        Rule(
            "histogram-bucket-order", "error", False, "buckets are written in increasing le order"
        ),
        Rule("histogram-bad-le", "error", False, "every bucket has a numeric, non-NaN le"),
        Rule("counter-value", "error", False, "counters are neither NaN nor negative"),
        Rule("reserved-label", "warning", False, "no label names starting with __ (reserved)"),
        Rule(
            "content-type", "error", False, "Content-Type is one of the five Prometheus 3 accepts"
        ),
        Rule(
            "official-parser",
            "error",
            False,
            "prometheus_client's parser for the format accepts the body",
        ),
        # structure, found by the parser
        Rule("type-after-sample", "error", False, "# TYPE comes before the family's first sample"),
        Rule(
            "interleaved-family",
            "error",
            False,
            "all lines of a family form one uninterrupted group",
        ),
        Rule("duplicate-metadata", "error", False, "at most one HELP/TYPE/UNIT per family"),
        Rule("missing-final-newline", "error", False, "text 0.0.4: the last line ends with \\n"),
        Rule("carriage-return", "error", False, "lines end with \\n, not \\r\\n"),
        Rule("byte-order-mark", "error", False, "no UTF-8 byte order mark"),
        Rule("trailing-whitespace", "warning", False, "no whitespace after a sample's last token"),
        Rule(
            "format-mismatch", "warning", False, "a body ending in # EOF is served as OpenMetrics"
        ),
        Rule("om-missing-eof", "error", False, "OpenMetrics: ends with # EOF"),
        Rule("om-text-after-eof", "error", False, "OpenMetrics: nothing after # EOF"),
        Rule("om-blank-line", "error", False, "OpenMetrics: no blank lines"),
        Rule("om-comment", "error", False, "OpenMetrics: only HELP/TYPE/UNIT/EOF comment lines"),
        Rule(
            "om-unit-suffix", "error", False, "OpenMetrics: # UNIT is a suffix of the family name"
        ),
        Rule("metadata-after-sample", "error", False, "OpenMetrics: metadata precedes the samples"),
        Rule(
            "om-exemplar-too-long", "error", False, "OpenMetrics: exemplar labels <= 128 characters"
        ),
    )
}

#: The content types Prometheus 3 accepts (prometheus/prometheus docs/migration.md).
VALID_CONTENT_TYPES = (
    "text/plain;version=0.0.4",
    "text/plain;version=1.0.0",
    "application/openmetrics-text;version=0.0.1",
    "application/openmetrics-text;version=1.0.0",
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
)
_VERSIONS = {
    "text/plain": ("0.0.4", "1.0.0"),
    "application/openmetrics-text": ("0.0.1", "1.0.0"),
}

#: Allow-list for node_exporter: its names are fixed by the kernel's field names
#: (``node_memory_MemAvailable_bytes``) and the contract requires them as they are.
NODE_EXPORTER_ALLOW = ("node_*",)

# promlint's tables (client_golang prometheus/testutil/promlint/validations/units.go).
_UNITS = {
    "amperes": "amperes",
    "bytes": "bytes",
    "celsius": "celsius",
    "grams": "grams",
    "joules": "joules",
    "kelvin": "kelvin",
    "meters": "meters",
    "metres": "metres",
    "seconds": "seconds",
    "volts": "volts",
    "minutes": "seconds",
    "hours": "seconds",
    "days": "seconds",
    "weeks": "seconds",
    "kelvins": "kelvin",
    "fahrenheit": "celsius",
    "rankine": "celsius",
    "inches": "meters",
    "yards": "meters",
    "miles": "meters",
    "bits": "bytes",
    "calories": "joules",
    "pounds": "grams",
    "ounces": "grams",
}
_UNIT_PREFIXES = (
    "pico",
    "nano",
    "micro",
    "milli",
    "centi",
    "deci",
    "deca",
    "hecto",
    "kilo",
    "kibi",
    "mega",
    "mibi",
    "giga",
    "gibi",
    "tera",
    "tebi",
    "peta",
    "pebi",
)
_UNIT_ABBREVIATIONS = (
    "s",
    "ms",
    "us",
    "ns",
    "sec",
    "b",
    "kb",
    "mb",
    "gb",
    "tb",
    "pb",
    "m",
    "h",
    "d",
)
_TYPE_WORDS = ("counter", "gauge", "summary", "histogram", "gauge_histogram")
_CAMEL = re.compile(r"[a-z][A-Z]")
_LE_ONLY = ("histogram", "gaugehistogram")


def lint_exposition(
    expo: Exposition,
    raw_text: str | None = None,
    *,
    allow: Iterable[str] = (),
    check_content_type: bool = True,
) -> list[Finding]:
    """Every finding on ``expo``, sorted by line.

    ``raw_text`` (the body as received) adds the cross-check with prometheus_client's own
    parser for the format. ``allow`` holds shell-style family-name patterns whose warnings
    are dropped (errors are never dropped). ``check_content_type=False`` skips the
    Content-Type rule (for a file, which has none).
    """
    findings: list[Finding] = list(expo.structure)
    if check_content_type:
        findings.extend(content_type_findings(expo.content_type))
    for family in expo.families.values():
        findings.extend(_family_findings(expo, family))
    findings.extend(duplicate_series(expo))
    if raw_text is not None:
        findings.extend(official_parser_findings(expo, raw_text))
    kept, _ = apply_allow(findings, allow)
    return sorted(kept, key=lambda f: (f.line or 0, f.rule, f.metric or "", f.message))


def apply_allow(
    findings: Iterable[Finding], allow: Iterable[str]
) -> tuple[list[Finding], list[Finding]]:
    """Split findings into (kept, suppressed): warnings on allow-listed families are suppressed."""
    patterns = tuple(allow)
    kept: list[Finding] = []
    suppressed: list[Finding] = []
    for finding in findings:
        if finding.severity == "warning" and finding.metric and _allowed(finding.metric, patterns):
            suppressed.append(finding)
        else:
            kept.append(finding)
    return kept, suppressed


def _allowed(metric: str, patterns: tuple[str, ...]) -> bool:
    names = (metric, metric + "_total", metric.removesuffix("_total"))
    return any(fnmatchcase(name, pattern) for pattern in patterns for name in names)


def content_type_findings(content_type: str | None) -> list[Finding]:
    """Is ``content_type`` one of the five Prometheus 3 accepts? (checklist §2.1)."""
    valid = " | ".join(VALID_CONTENT_TYPES)
    if content_type is None or not content_type.strip():
        return [
            Finding(
                "content-type",
                "error",
                None,
                "no Content-Type header; Prometheus 3 fails the scrape "
                "(expected e.g. text/plain; version=0.0.4; charset=utf-8)",
                None,
            )
        ]
    media, params = media_type(content_type)
    version = params.get("version")
    found: list[Finding] = []
    if media in _VERSIONS:
        if version is None:
            found.append(
                Finding(
                    "content-type",
                    "warning",
                    None,
                    f"Content-Type {content_type!r} has no version parameter; "
                    f"name it (version={_VERSIONS[media][-1]})",
                    None,
                )
            )
        elif version not in _VERSIONS[media]:
            found.append(
                Finding(
                    "content-type",
                    "error",
                    None,
                    f"Content-Type {content_type!r} has an unknown version {version!r}; "
                    f"Prometheus 3 accepts: {valid}",
                    None,
                )
            )
    elif media == "application/vnd.google.protobuf":
        if (
            params.get("proto") != "io.prometheus.client.MetricFamily"
            or params.get("encoding") != "delimited"
        ):
            found.append(
                Finding(
                    "content-type",
                    "error",
                    None,
                    f"Content-Type {content_type!r} lacks proto=io.prometheus.client.MetricFamily; "
                    "encoding=delimited",
                    None,
                )
            )
    else:
        found.append(
            Finding(
                "content-type",
                "error",
                None,
                f"Content-Type {content_type!r} is not one Prometheus 3 accepts: {valid}",
                None,
            )
        )
    charset = params.get("charset")
    if charset is not None and charset.lower() != "utf-8":
        found.append(
            Finding(
                "content-type", "warning", None, f"charset {charset!r}; expositions are UTF-8", None
            )
        )
    return found


def _promlint_name(expo: Exposition, family: Family) -> tuple[str, str]:
    """The family's name and type as promtool would see them in the text format."""
    if expo.format != OPENMETRICS:
        return family.name, family.type
    kind = {"unknown": "untyped", "info": "gauge", "stateset": "gauge"}.get(
        family.type, family.type
    )
    name = family.name
    if family.type == "counter" and not name.endswith("_total"):
        name += "_total"
    elif family.type == "info" and not name.endswith("_info"):
        name += "_info"
    return name, kind


def _label_names(family: Family) -> list[str]:
    """Label names of the family's metrics (without histogram ``le`` / summary ``quantile``)."""
    names: dict[str, None] = {}
    for sample in family.samples:
        for label in sample.labels:
            if label == "le" and family.type in _LE_ONLY and sample.name.endswith("_bucket"):
                continue
            if label == "quantile" and family.type == "summary" and sample.name == family.name:
                continue
            names[label] = None
    return list(names)


def metric_units(name: str) -> tuple[str, str] | None:
    """promlint's unit detection: the first name segment that is a (prefixed) known unit."""
    for segment in name.split("_"):
        if segment in _UNITS:
            return segment, _UNITS[segment]
        for prefix in _UNIT_PREFIXES:
            if segment.startswith(prefix) and segment[len(prefix) :] in _UNITS:
                return segment, _UNITS[segment[len(prefix) :]]
    return None


def _family_findings(expo: Exposition, family: Family) -> list[Finding]:
    name, kind = _promlint_name(expo, family)
    labels = _label_names(family)
    out = _at_family(family, _help_and_unit(expo, family, name))
    if kind == "counter" and expo.format == OPENMETRICS:
        out.extend(_openmetrics_counter_names(family))
    else:
        out.extend(_at_family(family, _total_suffix(name, kind)))
    out.extend(_at_family(family, _reserved_names(name, kind, labels)))
    out.extend(_at_family(family, _spelling(name, labels)))
    if kind == "counter":
        out.extend(_counter_values(family))
    if family.type in _LE_ONLY:
        out.extend(_histogram_findings(family))
    return out


def _at_family(family: Family, problems: list[tuple[str, str]]) -> list[Finding]:
    """``(rule, message)`` pairs as findings on the family's line, with the rule's severity."""
    return [
        Finding(rule, RULES[rule].severity, family.name, message, family.line)
        for rule, message in problems
    ]


def _help_and_unit(expo: Exposition, family: Family, name: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if family.help is None or (expo.format == OPENMETRICS and family.help == ""):
        out.append(("help", "no help text"))
    units = metric_units(name)
    if units is not None and units[0] != units[1]:
        out.append(("base-units", f'use base unit "{units[1]}" instead of "{units[0]}"'))
    return out


def _total_suffix(name: str, kind: str) -> list[tuple[str, str]]:
    """The ``_total`` rules of the text format (OpenMetrics counters have their own)."""
    has_total = name.endswith("_total")
    if kind == "counter" and not has_total:
        return [("counter-total", 'counter metrics should have "_total" suffix')]
    if kind not in ("untyped", "counter") and has_total:
        return [("non-counter-total", 'non-counter metrics should not have "_total" suffix')]
    return []


def _reserved_names(name: str, kind: str, labels: list[str]) -> list[tuple[str, str]]:
    """Suffixes and labels reserved for histograms and summaries (untyped: no rule)."""
    if kind == "untyped":
        return []
    out: list[tuple[str, str]] = []
    is_histogram = kind in _LE_ONLY
    is_summary = kind == "summary"
    if not is_histogram and name.endswith("_bucket"):
        out.append(("reserved-suffix", 'non-histogram metrics should not have "_bucket" suffix'))
    for suffix in ("_count", "_sum"):
        if not is_histogram and not is_summary and name.endswith(suffix):
            out.append(
                (
                    "reserved-suffix",
                    f'non-histogram and non-summary metrics should not have "{suffix}" suffix',
                )
            )
    if not is_histogram and "le" in labels:
        out.append(("reserved-suffix", 'non-histogram metrics should not have "le" label'))
    if not is_summary and "quantile" in labels:
        out.append(("reserved-suffix", 'non-summary metrics should not have "quantile" label'))
    return out


def _spelling(name: str, labels: list[str]) -> list[tuple[str, str]]:
    """Type words, ``:``, camelCase, ``__`` labels and abbreviated units in the names."""
    out: list[tuple[str, str]] = []
    lower = name.lower()
    for word in _TYPE_WORDS:
        if f"_{word}_" in lower or lower.endswith(f"_{word}"):
            out.append(("type-in-name", f"metric name should not include type '{word}'"))
    if ":" in name:
        out.append(("reserved-chars", "metric names should not contain ':'"))
    if _CAMEL.search(name):
        out.append(("camel-case", "metric names should be written in 'snake_case' not 'camelCase'"))
    for label in labels:
        if _CAMEL.search(label):
            out.append(
                (
                    "camel-case",
                    f"label names should be written in 'snake_case' not 'camelCase': {label}",
                )
            )
        if label.startswith("__"):
            out.append(
                (
                    "reserved-label",
                    f"label name {label} starts with '__', which is reserved for Prometheus",
                )
            )
    if any(f"_{a}_" in lower or lower.endswith(f"_{a}") for a in _UNIT_ABBREVIATIONS):
        out.append(("unit-abbreviation", "metric names should not contain abbreviated units"))
    return out


def _openmetrics_counter_names(family: Family) -> list[Finding]:
    out: list[Finding] = []
    if family.name.endswith("_total"):
        out.append(
            Finding(
                "counter-total",
                "error",
                family.name,
                f'counter metrics should have "_total" suffix: in OpenMetrics the family is named '
                f"without it (# TYPE {family.name.removesuffix('_total')} counter) and each sample "
                "adds it",
                family.line,
            )
        )
        return out
    for sample in family.samples:
        if sample.name not in (family.name + "_total", family.name + "_created"):
            out.append(
                Finding(
                    "counter-total",
                    "error",
                    family.name,
                    f'counter metrics should have "_total" suffix: sample {sample.name} of counter '
                    f"{family.name} must be written {family.name}_total",
                    sample.line,
                )
            )
    return out


def _counter_values(family: Family) -> list[Finding]:
    out: list[Finding] = []
    for sample in family.samples:
        if sample.name.endswith("_created"):
            continue
        if math.isnan(sample.value):
            problem = "is NaN"
        elif sample.value < 0:
            problem = f"is negative ({sample.value:g})"
        else:
            continue
        out.append(
            Finding(
                "counter-value",
                "error",
                family.name,
                f"counter {sample.render_series()} {problem}; counters start at 0 and only grow",
                sample.line,
            )
        )
    return out


def parse_le(text: str) -> float | None:
    """An ``le`` bound as a float (``+Inf`` included), or None when not a number or NaN."""
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) or "_" in text else value


_LabelSet = frozenset[tuple[str, str]]
#: One bucket as written: (le, cumulative count, line).
_Bucket = tuple[float, float, int]


def _histogram_findings(family: Family) -> list[Finding]:
    count_name = family.name + ("_gcount" if family.type == "gaugehistogram" else "_count")
    out, groups, counts = _histogram_series(family, count_name)
    for key in counts.keys() - groups.keys():
        out.append(
            Finding(
                "histogram-no-inf",
                "error",
                family.name,
                f'histogram {_series(family.name, key)} has a count but no buckets, so no le="+Inf" bucket',
                counts[key][1],
            )
        )
    for key, buckets in groups.items():
        problems = _bucket_problems(_series(family.name, key), buckets, counts.get(key), count_name)
        out.extend(
            Finding(rule, "error", family.name, message, at) for rule, message, at in problems
        )
    return out


def _histogram_series(
    family: Family, count_name: str
) -> tuple[list[Finding], dict[_LabelSet, list[_Bucket]], dict[_LabelSet, tuple[float, int]]]:
    """The buckets and the count of each series (labels but ``le``); unreadable ``le`` found."""
    out: list[Finding] = []
    groups: dict[_LabelSet, list[_Bucket]] = {}
    counts: dict[_LabelSet, tuple[float, int]] = {}
    for sample in family.samples:
        if sample.name == count_name:
            counts[frozenset(sample.labels.items())] = (sample.value, sample.line)
            continue
        if sample.name != family.name + "_bucket":
            continue
        le_text = sample.labels.get("le")
        rest = frozenset((k, v) for k, v in sample.labels.items() if k != "le")
        if le_text is None:
            problem = f"bucket {sample.render_series()} has no le label"
        elif (le := parse_le(le_text)) is None:
            problem = f'bucket {sample.render_series()} has le="{le_text}", not a number'
        else:
            groups.setdefault(rest, []).append((le, sample.value, sample.line))
            continue
        out.append(Finding("histogram-bad-le", "error", family.name, problem, sample.line))
    return out, groups, counts


def _bucket_problems(
    series: str, buckets: list[_Bucket], count: tuple[float, int] | None, count_name: str
) -> list[tuple[str, str, int]]:
    """What is wrong with one series' buckets: order, cumulation, ``+Inf``, the count."""
    out: list[tuple[str, str, int]] = []
    for (prev_le, _, _), (le, _, at) in pairwise(buckets):
        if le <= prev_le:
            out.append(
                (
                    "histogram-bucket-order",
                    f"bucket le={_fmt(le)} of {series} follows le={_fmt(prev_le)}; "
                    "buckets must be written in increasing le order",
                    at,
                )
            )
            break
    for (prev_le, prev_value, _), (le, value, at) in pairwise(sorted(buckets)):
        if value < prev_value:
            out.append(
                (
                    "histogram-not-cumulative",
                    f"bucket le={_fmt(le)} of {series} holds {value:g}, less than "
                    f"{prev_value:g} in le={_fmt(prev_le)}; buckets are cumulative",
                    at,
                )
            )
            break
    inf = [b for b in buckets if b[0] == math.inf]
    if not inf:
        out.append(
            ("histogram-no-inf", f'histogram {series} has no le="+Inf" bucket', buckets[0][2])
        )
    elif count is not None and count[0] != inf[0][1]:
        out.append(
            (
                "histogram-count-mismatch",
                f'{count_name} is {count[0]:g} but the le="+Inf" bucket of {series} is '
                f"{inf[0][1]:g} (line {inf[0][2]}); they must be equal",
                count[1],
            )
        )
    return out


def _series(name: str, labels: frozenset[tuple[str, str]]) -> str:
    if not labels:
        return name
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels)) + "}"


def _fmt(le: float) -> str:
    return "+Inf" if le == math.inf else f"{le:g}"


def duplicate_series(expo: Exposition) -> list[Finding]:
    """Samples with the same name and label set as an earlier one (promlint's "metric not unique")."""
    first: dict[tuple[str, frozenset[tuple[str, str]]], tuple[int, str]] = {}
    out: list[Finding] = []
    for family in expo.families.values():
        for sample in family.samples:
            key = sample.series_key()
            seen = first.get(key)
            if seen is None:
                first[key] = (sample.line, family.name)
                continue
            out.append(
                Finding(
                    "duplicate-metric",
                    "error",
                    family.name,
                    f"metric not unique: {sample.render_series()} is already on line {seen[0]}",
                    sample.line,
                )
            )
    return out


def official_parser_findings(expo: Exposition, raw_text: str) -> list[Finding]:
    """Does prometheus_client's own parser for the format accept the body?"""
    label = "OpenMetrics" if expo.format == OPENMETRICS else "text 0.0.4"
    parse = parse_openmetrics if expo.format == OPENMETRICS else parse_text
    try:
        for _ in parse(raw_text):
            pass
    except Exception as exc:  # a third-party parser: any exception is its verdict
        return [
            Finding(
                "official-parser",
                "error",
                None,
                f"prometheus_client's {label} parser rejects the body: {type(exc).__name__}: {exc}",
                None,
            )
        ]
    return []
