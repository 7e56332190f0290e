"""``report.md``: the verdict for people, showing its work (values, sources, counts, queries)."""

from __future__ import annotations

from hypersync_slo import markup
from hypersync_slo.config import format_value
from hypersync_slo.exitcodes import MEANINGS
from hypersync_slo.redaction import redact_url
from hypersync_slo.report.model import Report
from hypersync_slo.timestamps import rfc3339
from hypersync_slo.verdicts import KpiResult

MARKS = {"pass": "PASS", "fail": "FAIL", "no_data": "NO DATA", "error": "ERROR"}


def observed_text(kpi: KpiResult) -> str:
    """The observed value for people, with the bucket bounds of a histogram estimate."""
    if kpi.observed is None:
        return "n/a"
    text = format_value(kpi.observed, kpi.unit)
    lower, upper = kpi.detail.get("bucket_lower"), kpi.detail.get("bucket_upper")
    if isinstance(lower, float | int) and isinstance(upper, float | int):
        text += f" (bucket {format_value(float(lower), 's')} – {format_value(float(upper), 's')})"
    worst = kpi.detail.get("worst_60s_rps")
    if isinstance(worst, float | int):
        text += f"; worst sub-window (>= 60 s): {format_value(float(worst), 'rps')}"
    return text


def _cell(text: str) -> str:
    return markup.cell(text)


def render(report: Report) -> str:
    """report.md text."""
    verdict = report.verdict
    code = report.exit_code
    start, end = (rfc3339(m) for m in report.window)
    lines = [
        f"# SLO report: {MARKS[verdict.value]}" + (" (interrupted)" if report.interrupted else ""),
        "",
        f"- verdict: **{verdict.value}** (exit {int(code)}: {MEANINGS[code]})",
        f"- window: {start} – {end} ({report.seconds:g} s)",
        *(
            [
                f"- scrapes: {report.coverage.describe()}"
                if report.coverage
                else "- scrapes: not read"
            ]
            if report.prometheus_url
            else []
        ),
        *(f"  - {note}" for note in (report.coverage.edge_notes() if report.coverage else [])),
        f"- target: {markup.code(redact_url(report.target))}",
        (
            f"- source: Prometheus at {markup.code(redact_url(report.prometheus_url))}"
            + (f", job {markup.code(report.job)}" if report.job else "")
            if report.prometheus_url
            else "- source: the service's request log lines (`log`)"
        ),
        f"- SLO file: {markup.code(report.slo_file)}",
        f"- generated: {rfc3339(report.generated_at)}",
        "",
        "| KPI | verdict | observed | objective | source | samples | why |",
        "| --- | --- | --- | --- | --- | ---: | --- |",
    ]
    for kpi in report.kpis:
        verdict_text = MARKS[kpi.verdict.value] + ("" if kpi.gating else " (not gating)")
        lines.append(
            "| "
            + " | ".join(
                _cell(x)
                for x in (
                    kpi.name,
                    verdict_text,
                    observed_text(kpi),
                    kpi.objective,
                    kpi.source,
                    str(kpi.samples),
                    kpi.reason,
                )
            )
            + " |"
        )
    if report.log_kpis and report.log_kpis != report.kpis:
        lines += [
            "",
            "## The log source (not gating)",
            "",
            "| KPI | verdict | observed | objective | samples |",
            "| --- | --- | --- | --- | ---: |",
        ]
        lines += [
            "| "
            + " | ".join(
                _cell(x)
                for x in (
                    kpi.name,
                    MARKS[kpi.verdict.value],
                    observed_text(kpi),
                    kpi.objective,
                    str(kpi.samples),
                )
            )
            + " |"
            for kpi in report.log_kpis
        ]
    lines += [
        "",
        "Latency verdicts are exact: `p95 < 100 ms` holds when at least 95 % of requests fell in",
        "the histogram bucket `le=0.1` (Prometheus's `le` is inclusive). The value shown is the",
        "`histogram_quantile` estimate, interpolated inside the bucket whose bounds are given.",
        "",
    ]
    if report.findings:
        lines += ["## Reconciliation findings (client vs server)", ""]
        for finding in report.findings:
            first, *rest = finding.message.splitlines() or [""]
            lines.append(f"- **{markup.plain(first)}**")
            lines.extend(f"  - {markup.plain(line)}" for line in rest)
        lines.append("")
    elif report.findings == [] and report.target.startswith("http"):
        lines += ["## Reconciliation", "", "Client and server agree within tolerance.", ""]
    if report.errors:
        lines += ["## Errors while querying", ""]
        for error in report.errors:
            lines += [*markup.fence(error), ""]
    lines += ["## Queries", ""]
    for kpi in report.kpis:
        lines += [f"- {markup.code(kpi.name)}: {markup.code(kpi.query)}"]
    lines += [
        "",
        f"{report.queries} queries, {report.query_seconds:.3f} s waiting for Prometheus, "
        f"{report.compute_seconds:.3f} s computing.",
        "",
    ]
    return "\n".join(lines)
