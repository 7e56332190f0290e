"""``verdict.json``: the machine-readable verdict of one report (a ``ReportVerdict``)."""

from __future__ import annotations

from hypersync_slo.report.model import Report
from hypersync_slo.results import ReportVerdict
from hypersync_slo.timestamps import rfc3339


def verdict_document(report: Report) -> ReportVerdict:
    """The verdict.json document of ``report``."""
    return ReportVerdict(
        verdict=report.verdict.value,
        exit_code=int(report.exit_code),
        interrupted=report.interrupted,
        window={
            "start": rfc3339(report.window[0]),
            "end": rfc3339(report.window[1]),
            "seconds": report.seconds,
            "settle_seconds": report.settle,
        },
        coverage=report.coverage.to_dict() if report.coverage is not None else None,
        target=report.target,
        prometheus_url=report.prometheus_url,
        job=report.job,
        kpis=[kpi.to_dict() for kpi in report.kpis],
        findings=[finding.to_dict() for finding in report.findings],
        errors=list(report.errors),
        generated_at=rfc3339(report.generated_at),
        slo_file=report.slo_file,
        timings={
            "queries": report.queries,
            "query_seconds": round(report.query_seconds, 4),
            "compute_seconds": round(report.compute_seconds, 4),
            "step_seconds": report.step,
        },
        log=(
            {
                "kpis": [kpi.to_dict() for kpi in report.log_kpis],
                "summary": report.log_summary,
            }
            if report.log_summary is not None
            else None
        ),
    )


def render(report: Report) -> str:
    """verdict.json text (NaN and ±Inf never appear: they are null or strings)."""
    return verdict_document(report).to_json()
