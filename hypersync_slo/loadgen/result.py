"""The load result: merge the parts of every load process into ``load-result.json``.

The output contract (the keys, their meaning and units) is ``hypersync_slo.results.LoadResult``;
this module builds one from the parts, in steps: the parts' counts are added up
(``_Totals.add``), per request (``_RequestTally``), the run's fidelity is judged
(``saturation_reasons``), the figures are laid out as a ``LoadResult``, and the client KPIs are
judged on it (``loadgen/load_verdict.py``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hypersync_slo import markup
from hypersync_slo.config import SloConfig, format_value
from hypersync_slo.loadgen import load_verdict
from hypersync_slo.loadgen.histogram import LatencyHistogram
from hypersync_slo.outputs import write_text
from hypersync_slo.redaction import redact_url
from hypersync_slo.results import (
    LOAD_RESULT_FILE,
    LOAD_SUMMARY_FILE,
    LoadResult,
    RequestFigures,
    RunWindow,
)
from hypersync_slo.timestamps import rfc3339_millis

#: Fidelity bounds: below these the run is "load generator saturated" and its verdict void.
MIN_SENT_RATIO = 0.99
MAX_LATE_FRACTION = 0.01
#: How latency percentiles are computed from the histograms (stated in the result).
LATENCY_METHOD = (
    "nearest-rank over HDR buckets of 3 significant figures (<= 0.1 % above the true sample)"
)


@dataclass(frozen=True)
class RunInfo:
    """What the launcher knows about the run, beside the parts the load processes wrote."""

    target_url: str
    target_rps: float
    duration: float
    arrival: str
    seed: int
    workers: int
    connections: int
    interrupted: bool = False
    aborted: str | None = None
    generator: dict[str, Any] = field(default_factory=dict)
    locust_cpu_warning: bool = False


def _merge_counts(into: Counter[str], more: Mapping[str, int]) -> None:
    for key, value in more.items():
        into[key] += int(value)


@dataclass
class _RequestTally:
    """One declared request's counts and histograms, added up over the parts."""

    requests: int = 0
    errors: int = 0
    errors_by_cause: Counter[str] = field(default_factory=Counter)
    dropped: int = 0
    corrected: LatencyHistogram = field(default_factory=LatencyHistogram)
    uncorrected: LatencyHistogram = field(default_factory=LatencyHistogram)

    def add(self, tally: Mapping[str, Any]) -> None:
        """Add one part's tally of this request."""
        self.requests += int(tally["requests"])
        self.errors += int(tally["errors"])
        _merge_counts(self.errors_by_cause, tally["errors_by_cause"])
        self.corrected.merge(LatencyHistogram.decode(tally["corrected"]))
        self.uncorrected.merge(LatencyHistogram.decode(tally["uncorrected"]))

    def figures(self) -> RequestFigures:
        """The ``by_request`` item of the result."""
        return {
            "requests": self.requests,
            "errors": self.errors,
            "errors_by_cause": dict(sorted(self.errors_by_cause.items())),
            "dropped": self.dropped,
            "latency": {
                "corrected": self.corrected.summary(),
                "uncorrected": self.uncorrected.summary(),
            },
        }


@dataclass
class _Totals:
    """The parts' figures added up: counts, wall-clock bounds, histograms, per request."""

    cpu_warning: bool = False
    sent: int = 0
    late: int = 0
    dropped: int = 0
    scheduled: int = 0
    completed: int = 0
    elapsed: float = 0.0
    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    lag: LatencyHistogram = field(default_factory=LatencyHistogram)
    sends_per_second: list[int] = field(default_factory=list)
    business: dict[str, Counter[str]] = field(default_factory=dict)
    by_name: dict[str, _RequestTally] = field(default_factory=dict)

    def add(self, part: Mapping[str, Any]) -> None:
        """Add one load process's part."""
        self.sent += int(part["sent"])
        self.late += int(part["late"])
        self.dropped += int(part["dropped"])
        self.completed += int(part["completed"])
        self.scheduled += int(part.get("scheduled_due", part["sent"] + part["dropped"]))
        self.elapsed = max(self.elapsed, float(part["elapsed"]))
        self.cpu_warning = self.cpu_warning or bool(part.get("cpu_warning"))
        if "origin_wall" in part:
            self.starts.append(float(part["origin_wall"]))
            self.ends.append(float(part["origin_wall"]) + float(part["elapsed"]))
        self.lag.merge(LatencyHistogram.decode(part.get("lag", "")))
        for i, count in enumerate(part.get("sends_per_second", [])):
            while len(self.sends_per_second) <= i:
                self.sends_per_second.append(0)
            self.sends_per_second[i] += int(count)
        for kind, counts in part.get("business", {}).items():
            _merge_counts(self.business.setdefault(kind, Counter()), counts)
        for name, tally in part.get("by_request", {}).items():
            self.by_name.setdefault(name, _RequestTally()).add(tally)
        for name, count in part.get("dropped_by_name", {}).items():
            self.by_name.setdefault(name, _RequestTally()).dropped += int(count)

    def latency(self) -> tuple[LatencyHistogram, LatencyHistogram]:
        """(corrected, uncorrected) of every request: the union of the per-request histograms."""
        corrected, uncorrected = LatencyHistogram(), LatencyHistogram()
        for tally in self.by_name.values():
            corrected.merge(tally.corrected)
            uncorrected.merge(tally.uncorrected)
        return corrected, uncorrected

    def causes(self) -> dict[str, int]:
        """Errors by cause over every request, and the sends dropped on a full client queue."""
        causes: Counter[str] = Counter()
        for tally in self.by_name.values():
            causes.update(tally.errors_by_cause)
        if self.dropped:
            causes["dropped_client_queue_full"] += self.dropped
        return dict(sorted(causes.items()))

    def window(self) -> RunWindow:
        """The run's arrival window (None bounds when no part said when it started)."""
        start = min(self.starts) if self.starts else None
        end = max(self.ends) if self.ends else None
        return {
            "start": rfc3339_millis(start) if start else None,
            "end": rfc3339_millis(end) if end else None,
            "start_unix": start,
            "end_unix": end,
        }


def saturation_reasons(totals: _Totals, *, any_part: bool) -> list[str]:
    """Why the generator did not hold the schedule (empty when it did): the run is void."""
    sent, late, scheduled = totals.sent, totals.late, totals.scheduled
    reasons: list[str] = []
    if scheduled and sent < MIN_SENT_RATIO * scheduled:
        reasons.append(
            f"sent {sent} of {scheduled} scheduled requests "
            f"({sent / scheduled:.2%} < {MIN_SENT_RATIO:.0%})"
        )
    if sent and late > MAX_LATE_FRACTION * sent:
        reasons.append(
            f"{late} of {sent} sends ({late / sent:.2%}) started more than the late "
            f"tolerance after their intended time (> {MAX_LATE_FRACTION:.0%}): the "
            "generator's own delay"
        )
    if totals.cpu_warning:
        reasons.append("Locust reported its CPU above 90 %")
    if not any_part:
        reasons.append("no load process reported any figures")
    return reasons


def merge_parts(parts: Sequence[Mapping[str, Any]], info: RunInfo, config: SloConfig) -> LoadResult:
    """The whole run's result from the per-process parts (one per load process), judged."""
    totals = _Totals(cpu_warning=info.locust_cpu_warning)
    for part in parts:
        totals.add(part)
    return judged(laid_out(totals, info, saturation_reasons(totals, any_part=bool(parts))), config)


def laid_out(totals: _Totals, info: RunInfo, reasons: list[str]) -> LoadResult:
    """The merged figures as a ``LoadResult`` (not judged yet)."""
    corrected, uncorrected = totals.latency()
    by_name = sorted(totals.by_name.items())
    return LoadResult(
        target_url=info.target_url,
        target_rps=info.target_rps,
        achieved_rps=totals.sent / totals.elapsed if totals.elapsed > 0 else 0.0,
        scheduled=totals.scheduled,
        sent=totals.sent,
        elapsed=totals.elapsed,
        duration=info.duration,
        arrival=info.arrival,
        seed=info.seed,
        workers=info.workers,
        connections=info.connections,
        window=totals.window(),
        requests=sum(tally.requests for _, tally in by_name),
        errors=sum(tally.errors for _, tally in by_name),
        errors_by_cause=totals.causes(),
        dropped=totals.dropped,
        late=totals.late,
        unfinished=max(0, totals.sent - totals.completed),
        schedule_lag={**totals.lag.summary(), "source": "client, generator scheduling delay"},
        saturated=bool(reasons),
        saturation_reasons=reasons,
        interrupted=info.interrupted,
        aborted=info.aborted,
        latency={
            "corrected": corrected.summary(),
            "uncorrected": uncorrected.summary(),
            "source": "client",
            "unit": "s",
            "method": LATENCY_METHOD,
        },
        by_request={name: tally.figures() for name, tally in by_name},
        business_calls={
            metric: dict(sorted(counts.items()))
            for metric, counts in sorted(totals.business.items())
        },
        rate_over_time=[[float(i), float(n)] for i, n in enumerate(totals.sends_per_second)],
        generator=info.generator,
    )


def judged(result: LoadResult, config: SloConfig) -> LoadResult:
    """``result`` with its verdict block: the client KPIs judged against ``config``."""
    return replace(result, verdict=load_verdict.evaluate(result, config))


def _ms(value: object) -> str:
    return "n/a" if not isinstance(value, int | float) else format_value(float(value), "s")


def _headline(result: LoadResult) -> list[str]:
    """Title and the run's window, rate, counts and verdict, every figure with its source."""
    window = result.window
    verdict = result.verdict
    flags = ""
    if result.saturated:
        flags += f" (saturated: {markup.plain('; '.join(result.saturation_reasons))})"
    if result.aborted:
        flags += f" (aborted: {markup.plain(result.aborted)})"
    if result.interrupted:
        flags += " (interrupted: partial results)"
    return [
        f"# Load run against {markup.code(redact_url(str(result.target_url)))}",
        "",
        f"- window: {window.get('start')} – {window.get('end')} "
        f"({result.elapsed:.1f} s, {result.arrival} arrivals, seed {result.seed}, "
        f"{result.workers or 1} load process(es))",
        f"- rate: target {result.target_rps:g} req/s, achieved {result.achieved_rps:.1f} "
        f"req/s (client, {result.sent} sent of {result.scheduled} scheduled)",
        f"- requests: {result.requests} completed, {result.errors} errors, "
        f"{result.dropped} dropped, {result.late} late sends (client)",
        f"- verdict: **{verdict.get('status')}**{flags}",
    ]


def _latency_rows(result: LoadResult) -> list[str]:
    lines = [
        "",
        "| latency | p50 | p95 | p99 | p99.9 | max | source |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    latency = result.latency
    for label, block in (
        ("corrected", latency.get("corrected")),
        ("uncorrected", latency.get("uncorrected")),
    ):
        figures: Mapping[str, Any] = block or {}
        lines.append(
            f"| {label} | {_ms(figures.get('p50'))} | {_ms(figures.get('p95'))} | "
            f"{_ms(figures.get('p99'))} | {_ms(figures.get('p999'))} | "
            f"{_ms(figures.get('max'))} | client, {label}, {figures.get('samples')} samples |"
        )
    return lines


def _request_rows(result: LoadResult) -> list[str]:
    lines = [
        "",
        "| request | requests | errors | p50 | p95 | p99 | source |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, entry in result.by_request.items():
        lat = entry["latency"]["corrected"]
        lines.append(
            f"| `{name}` | {entry['requests']} | {entry['errors']} | {_ms(lat.get('p50'))} | "
            f"{_ms(lat.get('p95'))} | {_ms(lat.get('p99'))} | client, corrected, "
            f"{lat.get('samples')} samples |"
        )
    failing = [(name, e) for name, e in result.by_request.items() if e.get("errors_by_cause")]
    if failing:
        lines += ["", "| request | error cause (client) | count |", "| --- | --- | ---: |"]
        for name, entry in failing:
            for cause, count in entry["errors_by_cause"].items():
                lines.append(f"| `{name}` | {cause.removesuffix(f' on {name}')} | {count} |")
    dropped = result.errors_by_cause.get("dropped_client_queue_full")
    if dropped:
        lines += ["", f"Dropped (client queue full): {dropped}"]
    return lines


def _kpi_rows(result: LoadResult) -> list[str]:
    lines = [
        "",
        "| KPI | verdict | observed | objective | samples | source | reason |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kpi in result.verdict.get("kpis", []):
        observed = "n/a" if kpi["observed"] is None else format_value(kpi["observed"], kpi["unit"])
        reason = kpi.get("reason") or ""
        if not kpi.get("gating", True) and "gate" not in reason and kpi["verdict"] != "pass":
            reason = f"{reason} (does not gate)".strip()
        lines.append(
            f"| {kpi['name']} | {kpi['verdict']} | {observed} | {kpi['objective']} | "
            f"{kpi['samples']} | {kpi['source']} | {markup.cell(reason)} |"
        )
    return lines


def summary_markdown(result: LoadResult) -> str:
    """A short human summary of a result, every figure with its source."""
    lines = _headline(result) + _latency_rows(result) + _request_rows(result) + _kpi_rows(result)
    return "\n".join(lines) + "\n"


def write_result(result: LoadResult, out_dir: Path) -> Path:
    """Write ``load-result.json`` (atomically) and ``load-summary.md`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOAD_RESULT_FILE
    # atomic, secrets and URL userinfo masked
    write_text(path, result.to_json())
    write_text(out_dir / LOAD_SUMMARY_FILE, summary_markdown(result))
    return path
