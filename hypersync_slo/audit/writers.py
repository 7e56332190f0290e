"""Write an audit: ``audit.json`` (machine-readable) and ``audit.md`` (for people).

Every figure names its source (prometheus), the period and its counts; the Markdown links the
period in Prometheus's graph UI. ``audit.json`` never holds NaN or infinities (null instead).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from hypersync_slo import markup
from hypersync_slo.audit.criteria import Evaluation
from hypersync_slo.audit.model import AuditReport, SloAudit
from hypersync_slo.errors import OutputUnwritable, explain
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.outputs import write_text
from hypersync_slo.redaction import redact_url
from hypersync_slo.results import finite
from hypersync_slo.timestamps import rfc3339_seconds
from hypersync_slo.verdicts import Verdict, exit_code_for

AUDIT_JSON = "audit.json"
AUDIT_MD = "audit.md"


def audit_exit_code(report: AuditReport, criteria: Evaluation | None) -> ExitCode:
    """0 compliant, 1 budget exhausted (or criteria failed), 3 no data / coverage too low.

    Relative criteria only turn a pass into a fail: an audit without data stays no_data (3),
    never a violation judged against nothing.
    """
    verdict = report.verdict
    if criteria is not None and criteria.score == "fail" and verdict is Verdict.PASS:
        verdict = Verdict.FAIL
    return exit_code_for(verdict)


def _num(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _pct(value: float, digits: int = 1) -> str:
    return "n/a" if math.isnan(value) else f"{value * 100:.{digits}f} %"


def _times(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}x"


def human_seconds(seconds: float) -> str:
    """``inf`` -> ``never (not burning)``, else days/hours/minutes."""
    if math.isnan(seconds):
        return "n/a"
    if math.isinf(seconds):
        return "never (not burning)"
    if seconds <= 0:
        return "now (exhausted)"
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min"


def slo_document(slo: SloAudit) -> dict[str, Any]:
    """One SLO's figures as a dict."""
    worst = slo.worst_day
    return {
        "name": slo.name,
        "description": slo.description,
        "objective": slo.objective,
        "verdict": slo.verdict.value,
        "reasons": list(slo.reasons),
        "event_based": {
            "compliance": _num(slo.events.compliance),
            "events": slo.events.units,
            "bad_events": slo.events.bad,
            "budget_total": slo.events.total,
            "budget_consumed": slo.events.consumed,
            "budget_remaining": slo.events.remaining,
            "budget_remaining_ratio": _num(slo.events.remaining_fraction),
            "exhausted": slo.events.exhausted,
        },
        "time_slice_based": {
            "slice_seconds": slo.slice_seconds,
            "compliance": _num(slo.slices.compliance),
            "slices_with_data": slo.slices_with_data,
            "bad_slices": int(slo.slices.bad),
            "budget_total": slo.slices.total,
            "budget_consumed": slo.slices.consumed,
            "budget_remaining": slo.slices.remaining,
            "budget_remaining_ratio": _num(slo.slices.remaining_fraction),
            "exhausted": slo.slices.exhausted,
        },
        "burn_rates": [
            {
                "window": rate.window,
                "burn_rate": _num(rate.rate),
                "factor": rate.factor,
                "severity": rate.severity,
                "above_factor": rate.above_factor,
                "events": rate.total,
                "bad_events": rate.bad,
            }
            for rate in slo.burn_rates
        ],
        "worst_day": None
        if worst is None
        else {
            "start": rfc3339_seconds(worst.start),
            "end": rfc3339_seconds(worst.end),
            "bad_ratio": worst.bad_ratio,
            "events": worst.total,
            "bad_events": worst.bad,
        },
        "time_to_exhaustion_seconds": _num(slo.time_to_exhaustion),
        "queries": dict(slo.queries),
    }


def audit_document(
    report: AuditReport,
    criteria: Evaluation | None = None,
    recorded: str = "",
) -> dict[str, Any]:
    """The audit.json document."""
    cov = report.coverage
    code = audit_exit_code(report, criteria)
    return {
        "kind": "audit",
        "verdict": report.verdict.value,
        "exit_code": int(code),
        "source": "prometheus",
        "window": {
            "start": rfc3339_seconds(report.window[0].timestamp()),
            "end": rfc3339_seconds(report.window[1].timestamp()),
            "seconds": report.period,
        },
        "prometheus_url": report.prometheus_url,
        "link": report.link(),
        "job": report.job,
        "slo_file": report.slo_file,
        "budgeting": report.budgeting,
        "coverage": {
            "ratio": cov.ratio,
            "min_ratio": report.min_coverage,
            "slices_expected": cov.slices_expected,
            "slices_with_data": cov.slices_with_data,
            "first_data": None if cov.first_data is None else rfc3339_seconds(cov.first_data),
            "last_data": None if cov.last_data is None else rfc3339_seconds(cov.last_data),
            "down_slices": cov.down_slices,
            "gaps": [
                {
                    "start": rfc3339_seconds(gap.start),
                    "end": rfc3339_seconds(gap.end),
                    "missing_slices": gap.missing_slices,
                }
                for gap in cov.gaps
            ],
        },
        "slos": [slo_document(slo) for slo in report.slos],
        "slis": {name: _num(value) for name, value in report.slis.items()},
        "criteria": None
        if criteria is None
        else {
            "score": criteria.score,
            "total_percent": criteria.total_percent,
            "reason": criteria.reason,
            "objectives": [
                {
                    "sli": o.sli,
                    "score": o.score,
                    "observed": o.observed,
                    "baseline": o.baseline,
                    "compared": o.compared,
                    "weight": o.weight,
                    "key_sli": o.key_sli,
                    "details": list(o.details),
                }
                for o in criteria.objectives
            ],
        },
        "history": recorded,
        "notes": list(report.notes),
        "timings": {
            "queries": report.queries,
            "query_seconds": round(report.query_seconds, 4),
            "seconds": round(report.seconds, 4),
        },
        "generated_at": rfc3339_seconds(report.generated_at.timestamp()),
    }


def coverage_lines(report: AuditReport) -> list[str]:
    """The coverage paragraph: ratio, first/last data, gaps."""
    cov = report.coverage
    lines = [
        f"coverage: {cov.ratio * 100:.2f} % of the period has data "
        f"({cov.slices_with_data} of {cov.slices_expected} "
        f"{report.slice_seconds / 60:g}-minute slices; at least {report.min_coverage * 100:g} % "
        "needed to claim compliance)"
    ]
    if cov.down_slices:
        lines.append(
            f"target down: {cov.down_slices} slices with every target of the job down (up == 0); "
            "counted as covered, and as bad slices of the success-rate SLO (requests that could "
            "not reach the service are not in the event-based count)"
        )
    start = report.window[0].timestamp()
    if cov.first_data is not None and cov.first_data > start + report.slice_seconds:
        lines.append(
            f"data starts at {rfc3339_seconds(cov.first_data)}, {(cov.first_data - start) / 86400:.2f} days "
            f"after the period starts ({rfc3339_seconds(start)}): Prometheus's retention (or the series' age) "
            "is shorter than the period"
        )
    end = report.window[1].timestamp()
    if cov.last_data is not None and cov.last_data < end - report.slice_seconds:
        lines.append(
            f"data ends at {rfc3339_seconds(cov.last_data)}, before the period ends ({rfc3339_seconds(end)})"
        )
    lines.extend(f"gap: {gap.describe(report.slice_seconds)}" for gap in cov.gaps)
    return lines


def summary_lines(report: AuditReport, criteria: Evaluation | None = None) -> list[str]:
    """The audit in a few lines for a terminal."""
    lines = [
        f"audit of {rfc3339_seconds(report.window[0].timestamp())} - {rfc3339_seconds(report.window[1].timestamp())} "
        f"(source: prometheus {report.prometheus_url}, job {report.job or 'all'}, "
        f"{report.queries} queries in {report.seconds:.2f} s)"
    ]
    lines.extend(coverage_lines(report))
    for slo in report.slos:
        ev, ts = slo.events, slo.slices
        lines.append(f"{slo.name} ({slo.description}): {slo.verdict.value}")
        if ev.units > 0:
            lines.append(
                f"  event-based: compliance {_pct(ev.compliance, 4)} over {ev.units:.0f} events; "
                f"budget {ev.total:.1f} bad events, consumed {ev.consumed:.0f} "
                f"({_pct(ev.consumed_fraction)}), remaining {ev.remaining:.1f} "
                f"({_pct(ev.remaining_fraction)})"
            )
        else:
            lines.append("  event-based: no events counted")
        if ts.units > 0:
            lines.append(
                f"  time-slice-based: compliance {_pct(ts.compliance, 4)} over "
                f"{slo.slices_with_data} slices with data; budget {ts.total:.1f} bad slices, "
                f"consumed {ts.consumed:.0f} ({_pct(ts.consumed_fraction)})"
            )
        else:
            lines.append("  time-slice-based: no slice with data")
        rates = ", ".join(
            f"{r.window} {_times(r.rate)} (factor {r.factor:g}{', ABOVE' if r.above_factor else ''})"
            for r in slo.burn_rates
        )
        lines.append(f"  burn rate: {rates or 'n/a'}")
        worst = slo.worst_day
        if worst is not None:
            lines.append(
                f"  worst day: {rfc3339_seconds(worst.start)} - {rfc3339_seconds(worst.end)}, bad ratio "
                f"{_pct(worst.bad_ratio, 4)} ({worst.bad:.0f} of {worst.total:.0f})"
            )
        lines.append(
            f"  time to exhaustion at the current burn: {human_seconds(slo.time_to_exhaustion)}"
        )
        lines.extend(f"  - {reason}" for reason in slo.reasons)
    lines.extend(f"note: {note}" for note in report.notes)
    if criteria is not None:
        lines.append(criteria.describe())
        lines.extend(f"  {o.describe()}" for o in criteria.objectives)
    return lines


def render_markdown(report: AuditReport, criteria: Evaluation | None, recorded: str) -> str:
    """audit.md text."""
    lines = [
        f"# SLO audit: {report.verdict.value}",
        "",
        f"- period: {rfc3339_seconds(report.window[0].timestamp())} - {rfc3339_seconds(report.window[1].timestamp())} "
        f"([open in Prometheus](<{report.link().replace('>', '%3E')}>))",
        f"- source: prometheus {markup.code(redact_url(report.prometheus_url))}, "
        f"job {markup.code(report.job or 'all')}, "
        f"SLO file {markup.code(report.slo_file)}, budgeting: {report.budgeting}",
        f"- history: {markup.plain(recorded or 'not recorded')}",
        "",
        *markup.fence("\n".join(summary_lines(report, criteria))),
        "",
        "## Queries",
        "",
    ]
    for slo in report.slos:
        lines.append(f"### {markup.plain(slo.name)}")
        lines.append("")
        lines.extend(f"- {key}: {markup.code(query)}" for key, query in slo.queries.items())
        lines.append("")
    return "\n".join(lines)


def write_audit(
    report: AuditReport,
    out_dir: Path,
    criteria: Evaluation | None = None,
    recorded: str = "",
) -> dict[str, Path]:
    """Write audit.json then audit.md into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    document = finite(audit_document(report, criteria, recorded))
    paths = {"json": out_dir / AUDIT_JSON, "markdown": out_dir / AUDIT_MD}
    texts = {
        "json": json.dumps(document, indent=2, allow_nan=False) + "\n",
        "markdown": render_markdown(report, criteria, recorded) + "\n",
    }
    written: list[str] = []
    failed: list[str] = []
    for key, text in texts.items():
        try:  # atomic, secrets masked: a failed write leaves no 0-byte audit.json
            write_text(paths[key], text)
            written.append(paths[key].name)
        except OutputUnwritable as exc:
            failed.append(f"{paths[key].name} ({str(exc).splitlines()[0]})")
    if failed:
        raise OutputUnwritable(
            explain(
                f"could not write {len(failed)} of the audit's files in {out_dir}.",
                not_written="; ".join(failed),
                written=", ".join(written) or "nothing",
                verdict=report.verdict.value,
                what_to_do="free space or fix permissions and run the audit again",
            )
        )
    return paths
