"""History entries from an audit, from a reporter ``Report`` (a ``run``) or its verdict.json.

The ``run`` job records its report with ``record_report(History(path), report)``; a finished
run's directory can be added later with ``entry_from_verdict_json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hypersync_slo.audit.criteria import Evaluation
from hypersync_slo.audit.history import Entry, History
from hypersync_slo.audit.model import AuditReport
from hypersync_slo.errors import UsageError
from hypersync_slo.report.model import Report
from hypersync_slo.results import VERDICT_FILE
from hypersync_slo.timestamps import parse_rfc3339


def entry_from_audit(report: AuditReport, criteria: Evaluation | None = None) -> Entry:
    """The history entry of an audit: its verdict, each SLO's verdict and the period SLIs.

    A failed criteria evaluation makes the recorded verdict ``fail`` and a warning makes a
    passing audit ``warning``, so a regressed audit never becomes part of a later baseline of
    passing results (as Keptn did).
    """
    slis: dict[str, float | None] = {
        name: (value if math.isfinite(value) else None) for name, value in report.slis.items()
    }
    states = {f"slo:{slo.name}": slo.verdict.value for slo in report.slos}
    verdict = report.verdict.value
    if criteria is not None:
        states["criteria"] = criteria.score
        if criteria.total_percent is not None:
            slis["criteria_score_percent"] = criteria.total_percent
        if criteria.score == "fail":
            verdict = "fail"
        elif criteria.score == "warning" and verdict == "pass":
            verdict = "warning"
    return Entry(
        kind="audit",
        job=report.job or "",
        window_start=report.window[0].timestamp(),
        window_end=report.window[1].timestamp(),
        verdict=verdict,
        slis=slis,
        sli_verdicts=states,
        source=report.prometheus_url,
    )


def entry_from_report(report: Report, *, kind: str = "run") -> Entry:
    """The history entry of a reporter window (a ``run`` or ``report``): each KPI and verdict."""
    return Entry(
        kind=kind,
        job=report.job or "",
        window_start=report.window[0].timestamp(),
        window_end=report.window[1].timestamp(),
        verdict=report.verdict.value,
        slis={k.name: k.observed for k in report.kpis},
        sli_verdicts={k.name: k.verdict.value for k in report.kpis},
        source=report.prometheus_url,
    )


def record_report(history: History, report: Report, *, kind: str = "run") -> tuple[int, bool]:
    """Append a reporter window to ``history`` (idempotent for the same window)."""
    return history.record(entry_from_report(report, kind=kind))


def entry_from_verdict_json(path: Path, *, kind: str = "run") -> Entry:
    """The history entry of a written verdict.json (a directory holding one, or the file)."""
    file = path / VERDICT_FILE if path.is_dir() else path
    try:
        data: Any = json.loads(file.read_text("utf-8"))
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8, not JSON
        raise UsageError(f"cannot read the verdict file {file}: {exc}") from None
    if not isinstance(data, Mapping) or "window" not in data or "kpis" not in data:
        raise UsageError(f"{file} is not a verdict.json (no window or kpis).")

    def unix(text: str) -> float:
        return parse_rfc3339(str(text)).timestamp()

    try:
        return _entry(data, kind=kind, file=file, unix=unix)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise UsageError(
            f"{file} is not a verdict.json this tool wrote: {type(exc).__name__}: {exc}."
        ) from None


def _entry(data: Mapping[str, Any], *, kind: str, file: Path, unix: Any) -> Entry:
    """The entry of a parsed verdict.json (raises KeyError/TypeError/ValueError on a bad shape)."""
    window = data["window"]
    kpis = [k for k in data["kpis"] if isinstance(k, Mapping)]
    return Entry(
        kind=kind,
        job=str(data.get("job") or ""),
        window_start=unix(window["start"]),
        window_end=unix(window["end"]),
        verdict=str(data.get("verdict", "no_data")),
        slis={
            str(k["name"]): (float(k["observed"]) if k.get("observed") is not None else None)
            for k in kpis
        },
        sli_verdicts={str(k["name"]): str(k.get("verdict", "")) for k in kpis},
        source=str(data.get("prometheus_url") or file),
    )
