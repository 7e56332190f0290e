"""``junit.xml``: one test case per KPI, so CI shows each verdict on its own line.

One ``<testsuite name="hypersync-slo report">`` (valid against junit-10.xsd); a case per KPI,
named for it and classed by its source (``slo.prometheus``). ``fail`` is a ``<failure>``; a
gating ``no_data`` is a ``<failure type="no_data">`` (it fails closed); ``error`` is an
``<error>``; a non-gating ``no_data`` is ``<skipped>``. Each KPI's figures (verdict, observed,
objective, source, samples, window, query) are suite properties ``<kpi>.<figure>`` and the
case's ``<system-out>``: the schema has no properties inside a test case.
"""

from __future__ import annotations

from hypersync_slo.junitxml import Case, CaseOutcome, Suite, document
from hypersync_slo.report.markdown import observed_text
from hypersync_slo.report.model import Report
from hypersync_slo.timestamps import rfc3339
from hypersync_slo.verdicts import KpiResult, Verdict

SUITE_NAME = "hypersync-slo report"


def _figures(kpi: KpiResult) -> list[tuple[str, str]]:
    return [
        ("verdict", kpi.verdict.value + ("" if kpi.gating else " (not gating)")),
        ("observed", observed_text(kpi)),
        ("objective", kpi.objective),
        ("source", kpi.source),
        ("samples", str(kpi.samples)),
        ("window", f"{kpi.window[0].isoformat()} / {kpi.window[1].isoformat()}"),
        ("query", kpi.query),
    ]


def to_case(kpi: KpiResult) -> Case:
    """The JUnit case of one KPI."""
    message = kpi.describe()
    output = "\n".join(f"{name}: {value}" for name, value in _figures(kpi))
    if kpi.reason:
        output += f"\nwhy: {kpi.reason}"
    outcome: CaseOutcome = "pass"
    kind = ""
    if kpi.verdict is Verdict.FAIL:
        outcome, kind = "failure", "fail"
    elif kpi.verdict is Verdict.NO_DATA and kpi.gating:
        outcome, kind = "failure", "no_data"
    elif kpi.verdict is Verdict.ERROR and kpi.gating:
        outcome, kind = "error", "error"
    elif kpi.verdict is not Verdict.PASS:
        outcome = "skipped"
    return Case(
        classname=f"slo.{kpi.source}",
        name=kpi.name,
        outcome=outcome,
        kind=kind,
        message=message if outcome != "pass" else "",
        detail=message if outcome in ("failure", "error") else "",
        output=output,
    )


def report_suite(report: Report) -> Suite:
    """The report's ``<testsuite>``."""
    start, end = (rfc3339(m) for m in report.window)
    properties = [
        ("verdict", report.verdict.value),
        ("exit_code", str(int(report.exit_code))),
        ("window", f"{start} / {end}"),
        ("target", report.target),
        ("prometheus", report.prometheus_url),
        ("slo_file", report.slo_file),
    ]
    if report.job:
        properties.append(("job", report.job))
    properties += [
        (f"{kpi.name}.{name}", value) for kpi in report.kpis for name, value in _figures(kpi)
    ]
    return Suite(
        name=SUITE_NAME,
        cases=[to_case(kpi) for kpi in report.kpis],
        properties=properties,
        timestamp=report.generated_at,
        seconds=report.query_seconds + report.compute_seconds,
        output="\n".join(f.message for f in report.findings),
    )


def render(report: Report) -> str:
    """junit.xml text."""
    return document([report_suite(report)])
