"""Scheduled SLO audits: error budget, burn rate, coverage, history and relative criteria.

Public API (used by the ``audit`` and ``history`` commands, and by ``run`` to record itself)::

    report = audit_period(client, SloConfig.load(None), start, end, job="hypersync")
    with History("reports/history.sqlite") as history:
        scored = evaluate(Criteria.default(), report.slis, history, before=end.timestamp())
        history.record(entry_from_audit(report))
    write_audit(report, Path("reports/audit"), scored)
    publish(report, "http://127.0.0.1:9091")
"""

from __future__ import annotations

from hypersync_slo.audit.budget import (
    BurnRate,
    ErrorBudget,
    burn_rate,
    compliance_event_based,
    compliance_time_slice_based,
    time_to_exhaustion,
)
from hypersync_slo.audit.criteria import Criteria, Evaluation, evaluate
from hypersync_slo.audit.history import DEFAULT_PATH, Entry, History, resolve_path
from hypersync_slo.audit.model import AuditReport, Coverage, SloAudit
from hypersync_slo.audit.period import audit_period
from hypersync_slo.audit.publish import PUSH_JOB, publish
from hypersync_slo.audit.recording import (
    entry_from_audit,
    entry_from_report,
    entry_from_verdict_json,
    record_report,
)
from hypersync_slo.audit.writers import audit_exit_code, summary_lines, write_audit

__all__ = [
    "DEFAULT_PATH",
    "PUSH_JOB",
    "AuditReport",
    "BurnRate",
    "Coverage",
    "Criteria",
    "Entry",
    "ErrorBudget",
    "Evaluation",
    "History",
    "SloAudit",
    "audit_exit_code",
    "audit_period",
    "burn_rate",
    "compliance_event_based",
    "compliance_time_slice_based",
    "entry_from_audit",
    "entry_from_report",
    "entry_from_verdict_json",
    "evaluate",
    "publish",
    "record_report",
    "resolve_path",
    "summary_lines",
    "time_to_exhaustion",
    "write_audit",
]
