"""The load result: merge the parts of every load process into ``load-result.json``.

Output contract (other tools read it; keys are kept, new ones may be added). Times in seconds,
timestamps RFC 3339 UTC::

    {"target_url", "target_rps", "achieved_rps", "window": {"start", "end"}, "requests",
     "errors", "errors_by_cause": {...}, "dropped", "late", "saturated": bool,
     "latency": {"corrected": {"p50", "p95", "p99", "p999", "max", "samples"},
                 "uncorrected": {...}, "source": "client"},
     "by_request": {"<route template>": {"requests", "errors", "errors_by_cause", "latency"}},
     "business_calls": {"<declared counter metric>": {"<label=value,...>" or "": n}},
     "rate_over_time": [[t_offset_s, rps], ...],
     "verdict": {"status": "pass"|"fail"|"no_data"|"void", "failed", "no_data", ...,
                 "kpis": [<a verdict.json KPI item: name, source, observed, objective, unit,
                          samples, window, query, verdict, reason, gating, detail> + message,
                          min_samples, no_data_policy]}}

``requests`` counts completed requests (answered or failed), ``errors`` those that failed (a
transport error, or a status the traffic declaration does not count as success: its cause says
which, ``unexpected status 200 (expected 202) on POST /v1/...`` or ``404 Not Found on GET ...``), ``dropped`` scheduled sends never made because
the client-side queue was full. ``late`` sends started more than the late tolerance after their
intended time: the generator's own delay.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypersync_slo import markup
from hypersync_slo.config import SloConfig, format_value
from hypersync_slo.loadgen import load_verdict
from hypersync_slo.loadgen.histogram import LatencyHistogram
from hypersync_slo.outputs import write_text
from hypersync_slo.redaction import redact_url

RESULT_FILE = "load-result.json"
SUMMARY_FILE = "load-summary.md"
#: Fidelity bounds: below these the run is "load generator saturated" and its verdict void.
MIN_SENT_RATIO = 0.99
MAX_LATE_FRACTION = 0.01


def rfc3339(timestamp: float) -> str:
    """Epoch seconds as RFC 3339 UTC with milliseconds, e.g. ``2026-11-27T03:30:00.123Z``."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


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


def _merge_counts(into: Counter[str], more: dict[str, int]) -> None:
    for key, value in more.items():
        into[key] += int(value)


def merge_parts(
    parts: Sequence[dict[str, Any]], info: RunInfo, config: SloConfig
) -> dict[str, Any]:
    """The whole run's result from the per-process parts (one per load process)."""
    by_name: dict[str, dict[str, Any]] = {}
    corrected = LatencyHistogram()
    uncorrected = LatencyHistogram()
    lag = LatencyHistogram()
    causes: Counter[str] = Counter()
    business: dict[str, Counter[str]] = {}
    seconds: list[int] = []
    sent = late = dropped = scheduled = completed = 0
    starts: list[float] = []
    ends: list[float] = []
    elapsed = 0.0
    cpu_warning = info.locust_cpu_warning
    for part in parts:
        sent += int(part["sent"])
        late += int(part["late"])
        dropped += int(part["dropped"])
        completed += int(part["completed"])
        scheduled += int(part.get("scheduled_due", part["sent"] + part["dropped"]))
        elapsed = max(elapsed, float(part["elapsed"]))
        cpu_warning = cpu_warning or bool(part.get("cpu_warning"))
        if "origin_wall" in part:
            starts.append(float(part["origin_wall"]))
            ends.append(float(part["origin_wall"]) + float(part["elapsed"]))
        lag.merge(LatencyHistogram.decode(part.get("lag", "")))
        for i, count in enumerate(part.get("sends_per_second", [])):
            while len(seconds) <= i:
                seconds.append(0)
            seconds[i] += int(count)
        for kind, counts in part.get("business", {}).items():
            _merge_counts(business.setdefault(kind, Counter()), counts)
        for name, tally in part.get("by_request", {}).items():
            entry = by_name.setdefault(
                name,
                {
                    "requests": 0,
                    "errors": 0,
                    "errors_by_cause": Counter(),
                    "corrected": LatencyHistogram(),
                    "uncorrected": LatencyHistogram(),
                },
            )
            entry["requests"] += int(tally["requests"])
            entry["errors"] += int(tally["errors"])
            _merge_counts(entry["errors_by_cause"], tally["errors_by_cause"])
            _merge_counts(causes, tally["errors_by_cause"])
            entry["corrected"].merge(LatencyHistogram.decode(tally["corrected"]))
            entry["uncorrected"].merge(LatencyHistogram.decode(tally["uncorrected"]))
        for name, count in part.get("dropped_by_name", {}).items():
            by_name.setdefault(
                name,
                {
                    "requests": 0,
                    "errors": 0,
                    "errors_by_cause": Counter(),
                    "corrected": LatencyHistogram(),
                    "uncorrected": LatencyHistogram(),
                },
            )
            by_name[name].setdefault("dropped", 0)
            by_name[name]["dropped"] += int(count)
    for entry in by_name.values():
        corrected.merge(entry["corrected"])
        uncorrected.merge(entry["uncorrected"])
    if dropped:
        causes["dropped_client_queue_full"] += dropped
    requests = sum(e["requests"] for e in by_name.values())
    errors = sum(e["errors"] for e in by_name.values())
    start = min(starts) if starts else None
    end = max(ends) if ends else None
    achieved = sent / elapsed if elapsed > 0 else 0.0
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
    if cpu_warning:
        reasons.append("Locust reported its CPU above 90 %")
    if not parts:
        reasons.append("no load process reported any figures")
    result: dict[str, Any] = {
        "target_url": info.target_url,
        "target_rps": info.target_rps,
        "achieved_rps": achieved,
        "scheduled": scheduled,
        "sent": sent,
        "elapsed": elapsed,
        "duration": info.duration,
        "arrival": info.arrival,
        "seed": info.seed,
        "workers": info.workers,
        "connections": info.connections,
        "window": {
            "start": rfc3339(start) if start else None,
            "end": rfc3339(end) if end else None,
            "start_unix": start,
            "end_unix": end,
        },
        "requests": requests,
        "errors": errors,
        "errors_by_cause": dict(sorted(causes.items())),
        "dropped": dropped,
        "late": late,
        "unfinished": max(0, sent - completed),
        "schedule_lag": {**lag.summary(), "source": "client, generator scheduling delay"},
        "saturated": bool(reasons),
        "saturation_reasons": reasons,
        "interrupted": info.interrupted,
        "aborted": info.aborted,
        "latency": {
            "corrected": corrected.summary(),
            "uncorrected": uncorrected.summary(),
            "source": "client",
            "unit": "s",
            "method": "nearest-rank over HDR buckets of 3 significant figures (<= 0.1 % "
            "above the true sample)",
        },
        "by_request": {
            name: {
                "requests": e["requests"],
                "errors": e["errors"],
                "errors_by_cause": dict(sorted(e["errors_by_cause"].items())),
                "dropped": e.get("dropped", 0),
                "latency": {
                    "corrected": e["corrected"].summary(),
                    "uncorrected": e["uncorrected"].summary(),
                },
            }
            for name, e in sorted(by_name.items())
        },
        "business_calls": {
            metric: dict(sorted(counts.items())) for metric, counts in sorted(business.items())
        },
        "rate_over_time": [[float(i), float(n)] for i, n in enumerate(seconds)],
        "generator": info.generator,
    }
    result["verdict"] = load_verdict.evaluate(result, config)
    return result


def _ms(value: object) -> str:
    return "n/a" if not isinstance(value, int | float) else format_value(float(value), "s")


def summary_markdown(result: dict[str, Any]) -> str:
    """A short human summary of a result, every figure with its source."""
    corrected = result["latency"]["corrected"]
    uncorrected = result["latency"]["uncorrected"]
    verdict = result["verdict"]
    lines = [
        f"# Load run against {markup.code(redact_url(str(result['target_url'])))}",
        "",
        f"- window: {result['window']['start']} – {result['window']['end']} "
        f"({result['elapsed']:.1f} s, {result['arrival']} arrivals, seed {result['seed']}, "
        f"{result['workers'] or 1} load process(es))",
        f"- rate: target {result['target_rps']:g} req/s, achieved {result['achieved_rps']:.1f} "
        f"req/s (client, {result['sent']} sent of {result['scheduled']} scheduled)",
        f"- requests: {result['requests']} completed, {result['errors']} errors, "
        f"{result['dropped']} dropped, {result['late']} late sends (client)",
        f"- verdict: **{verdict['status']}**"
        + (
            f" (saturated: {markup.plain('; '.join(result['saturation_reasons']))})"
            if result["saturated"]
            else ""
        )
        + (f" (aborted: {markup.plain(result['aborted'])})" if result.get("aborted") else "")
        + (" (interrupted: partial results)" if result.get("interrupted") else ""),
        "",
        "| latency | p50 | p95 | p99 | p99.9 | max | source |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, figures in (("corrected", corrected), ("uncorrected", uncorrected)):
        lines.append(
            f"| {label} | {_ms(figures['p50'])} | {_ms(figures['p95'])} | {_ms(figures['p99'])} | "
            f"{_ms(figures['p999'])} | {_ms(figures['max'])} | client, {label}, "
            f"{figures['samples']} samples |"
        )
    lines += [
        "",
        "| request | requests | errors | p50 | p95 | p99 | source |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, entry in result["by_request"].items():
        lat = entry["latency"]["corrected"]
        lines.append(
            f"| `{name}` | {entry['requests']} | {entry['errors']} | {_ms(lat['p50'])} | "
            f"{_ms(lat['p95'])} | {_ms(lat['p99'])} | client, corrected, "
            f"{lat['samples']} samples |"
        )
    failing = [(name, e) for name, e in result["by_request"].items() if e.get("errors_by_cause")]
    if failing:
        lines += ["", "| request | error cause (client) | count |", "| --- | --- | ---: |"]
        for name, entry in failing:
            for cause, count in entry["errors_by_cause"].items():
                lines.append(f"| `{name}` | {cause.removesuffix(f' on {name}')} | {count} |")
    if result["errors_by_cause"].get("dropped_client_queue_full"):
        lines += [
            "",
            f"Dropped (client queue full): {result['errors_by_cause']['dropped_client_queue_full']}",
        ]
    lines += [
        "",
        "| KPI | verdict | observed | objective | samples | source | reason |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kpi in verdict["kpis"]:
        observed = "n/a" if kpi["observed"] is None else format_value(kpi["observed"], kpi["unit"])
        reason = kpi.get("reason") or ""
        if not kpi.get("gating", True) and "gate" not in reason and kpi["verdict"] != "pass":
            reason = f"{reason} (does not gate)".strip()
        lines.append(
            f"| {kpi['name']} | {kpi['verdict']} | {observed} | {kpi['objective']} | "
            f"{kpi['samples']} | {kpi['source']} | {markup.cell(reason)} |"
        )
    return "\n".join(lines) + "\n"


def write_result(result: dict[str, Any], out_dir: Path) -> Path:
    """Write ``load-result.json`` (atomically) and ``load-summary.md`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RESULT_FILE
    # atomic, secrets and URL userinfo masked
    write_text(path, json.dumps(result, indent=2, sort_keys=False) + "\n")
    write_text(out_dir / SUMMARY_FILE, summary_markdown(result))
    return path
