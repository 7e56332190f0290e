"""``verdict.json``: the machine-readable verdict of one report."""

from __future__ import annotations

import json
import math
from typing import Any

from hypersync_slo.report.model import Report
from hypersync_slo.timestamps import rfc3339


def verdict_document(report: Report) -> dict[str, Any]:
    """The verdict.json document as a dict."""
    verdict = report.verdict
    document: dict[str, Any] = {
        "verdict": verdict.value,
        "exit_code": int(report.exit_code),
        "interrupted": report.interrupted,
        "window": {
            "start": rfc3339(report.window[0]),
            "end": rfc3339(report.window[1]),
            "seconds": report.seconds,
            "settle_seconds": report.settle,
        },
        "coverage": report.coverage.to_dict() if report.coverage is not None else None,
        "target": report.target,
        "prometheus_url": report.prometheus_url,
        "job": report.job,
        "kpis": [kpi.to_dict() for kpi in report.kpis],
        "findings": [finding.to_dict() for finding in report.findings],
        "errors": list(report.errors),
        "generated_at": rfc3339(report.generated_at),
        "slo_file": report.slo_file,
        "timings": {
            "queries": report.queries,
            "query_seconds": round(report.query_seconds, 4),
            "compute_seconds": round(report.compute_seconds, 4),
            "step_seconds": report.step,
        },
    }
    if report.log_summary is not None:
        document["log"] = {
            "kpis": [kpi.to_dict() for kpi in report.log_kpis],
            "summary": report.log_summary,
        }
    return document


def render(report: Report) -> str:
    """verdict.json text (NaN and ±Inf never appear: they are null or strings)."""
    return json.dumps(finite(verdict_document(report)), indent=2, allow_nan=False) + "\n"


def finite(value: Any) -> Any:
    """``value`` with every NaN and ±Inf float (however deeply nested) replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value
