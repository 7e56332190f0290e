"""The parsed exposition: families of samples, and the findings a lint pass reports on them.

Everything here is frozen plain data. ``Exposition.families`` is keyed by the family name as
written in ``# TYPE`` (so a text-0.0.4 counter is keyed ``foo_total`` and an OpenMetrics one
``foo``); ``Exposition.family`` looks either spelling up.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

Format = Literal["text-0.0.4", "openmetrics-1.0.0"]
Severity = Literal["error", "warning"]

TEXT: Format = "text-0.0.4"
OPENMETRICS: Format = "openmetrics-1.0.0"


@dataclass(frozen=True)
class Sample:
    """One sample line: its name as written, labels, value and 1-based line number.

    ``timestamp`` is in seconds in both formats (text 0.0.4 writes milliseconds; they are
    converted).
    """

    name: str
    labels: Mapping[str, str] = field(hash=False)
    value: float
    line: int
    timestamp: float | None = None

    def series_key(self) -> tuple[str, frozenset[tuple[str, str]]]:
        """The identity of the series: name plus label set (label order does not matter)."""
        return (self.name, frozenset(self.labels.items()))

    def render_series(self) -> str:
        """The series as PromQL would write it, e.g. ``foo_total{code="200"}``."""
        if not self.labels:
            return self.name
        inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(self.labels.items()))
        return f"{self.name}{{{inner}}}"


@dataclass(frozen=True)
class Family:
    """A metric family: name as in ``# TYPE``, its type, HELP, UNIT and samples in line order."""

    name: str
    type: str
    help: str | None
    unit: str | None
    samples: tuple[Sample, ...]
    #: line of the family's ``# TYPE`` (or first line that mentions it when there is none)
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Finding:
    """One problem: a stable rule id, its severity, the metric it is about and where."""

    rule: str
    severity: Severity
    metric: str | None
    message: str
    line: int | None

    def as_dict(self) -> dict[str, object]:
        """The finding as JSON-ready data."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "metric": self.metric,
            "message": self.message,
            "line": self.line,
        }


@dataclass(frozen=True)
class Exposition:
    """A parsed ``/metrics`` body.

    ``structure`` holds what the parser noticed about the raw text that a family view
    cannot show (TYPE after samples, interleaved families, blank lines in OpenMetrics,
    missing ``# EOF``, ...); ``lint_exposition`` reports it. ``line_count`` is the number of
    lines read.
    """

    format: Format
    content_type: str | None
    families: Mapping[str, Family] = field(hash=False)
    structure: tuple[Finding, ...] = field(default=(), compare=False, repr=False)
    line_count: int = field(default=0, compare=False)

    def family(self, name: str) -> Family | None:
        """The family called ``name``; for counters ``foo`` and ``foo_total`` both work."""
        found = self.families.get(name)
        if found is not None:
            return found
        if name.endswith("_total"):
            found = self.families.get(name.removesuffix("_total"))
            if found is not None and found.type == "counter":
                return found
        found = self.families.get(name + "_total")
        if found is not None and found.type == "counter":
            return found
        return None

    def series(self) -> Iterator[Sample]:
        """Every sample of every family, in line order."""
        samples = [s for fam in self.families.values() for s in fam.samples]
        samples.sort(key=lambda s: s.line)
        return iter(samples)

    def series_count(self) -> int:
        """How many sample lines the exposition holds."""
        return sum(len(fam.samples) for fam in self.families.values())


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
