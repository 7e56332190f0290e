"""Alerting rules, Alertmanager routing, dashboards and CloudWatch EMF generated from the SLO file.

Public API::

    build_rules(config, *, job, runbook_base, timing) -> RuleSet      Prometheus rules (rules.py)
    rule_tests(rule_set) -> dict                                       promtool unit tests (rule_tests.py)
    load_routing(path | None) -> RoutingSpec                           routing file (alertmanager.py)
    render_alertmanager(spec) -> str                                   Alertmanager 0.25 config
    build_dashboard(config, *, job) -> dict / dashboard_json(...)      Grafana dashboard (dashboards.py)
    kpi_record(kpis, ...) -> dict / validate_record(record) -> list    CloudWatch EMF (emf.py)
    load_run_kpis(verdict.json) -> [RunKpis] / run_records(runs, ...)   EMF from a run, fresh
    fired_alerts(prometheus_url, start, end) -> list[FiredAlert]       what fired in a window (fired.py)
    render_files(config, ...) / render_all(out, config, ...)           everything, byte-stable (render.py)
    write_files(out, files) / parse_labels(pairs)                      writing them; manifest labels
"""

from hypersync_slo.alerting.alertmanager import (
    RoutingSpec,
    load_routing,
    render_alertmanager,
    routing_from_mapping,
)
from hypersync_slo.alerting.dashboards import build_dashboard, dashboard_json, dashboard_queries
from hypersync_slo.alerting.emf import (
    RunKpis,
    emf_lines,
    kpi_record,
    load_run_kpis,
    run_records,
    validate_record,
)
from hypersync_slo.alerting.fired import FiredAlert, fired_alerts
from hypersync_slo.alerting.operator import parse_labels
from hypersync_slo.alerting.render import render_all, render_files, write_files
from hypersync_slo.alerting.rule_tests import rule_tests
from hypersync_slo.alerting.rules import (
    DEFAULT_JOB,
    DEFAULT_RUNBOOK_BASE,
    RuleSet,
    Timing,
    build_rules,
)

__all__ = [
    "DEFAULT_JOB",
    "DEFAULT_RUNBOOK_BASE",
    "FiredAlert",
    "RoutingSpec",
    "RuleSet",
    "RunKpis",
    "Timing",
    "build_dashboard",
    "build_rules",
    "dashboard_json",
    "dashboard_queries",
    "emf_lines",
    "fired_alerts",
    "kpi_record",
    "load_routing",
    "load_run_kpis",
    "parse_labels",
    "render_alertmanager",
    "render_all",
    "render_files",
    "routing_from_mapping",
    "rule_tests",
    "run_records",
    "validate_record",
    "write_files",
]
