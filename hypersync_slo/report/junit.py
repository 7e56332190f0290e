"""``junit.xml``: one test case per KPI, so CI shows each verdict on its own line.

``fail`` is a ``<failure>``; a gating ``no_data`` is a ``<failure type="no_data">`` (it fails
closed); ``error`` is an ``<error>``; a non-gating ``no_data`` is ``<skipped>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypersync_slo.report.evaluation import Report
from hypersync_slo.report.markdown import observed_text
from hypersync_slo.verdicts import Verdict


def render(report: Report) -> str:
    """junit.xml text."""
    failures = sum(
        1 for k in report.kpis if k.gating and k.verdict in (Verdict.FAIL, Verdict.NO_DATA)
    )
    errors = sum(1 for k in report.kpis if k.gating and k.verdict is Verdict.ERROR)
    skipped = sum(1 for k in report.kpis if not k.gating and k.verdict is not Verdict.PASS)
    suites = ET.Element("testsuites")
    suite = ET.SubElement(
        suites,
        "testsuite",
        {
            "name": "hypersync-slo.report",
            "tests": str(len(report.kpis)),
            "failures": str(failures),
            "errors": str(errors),
            "skipped": str(skipped),
            "timestamp": report.generated_at.isoformat().replace("+00:00", "Z"),
            "time": f"{report.query_seconds + report.compute_seconds:.3f}",
        },
    )
    for kpi in report.kpis:
        case = ET.SubElement(
            suite, "testcase", {"classname": f"slo.{kpi.source}", "name": kpi.name, "time": "0"}
        )
        props = ET.SubElement(case, "properties")
        for key, value in (
            ("verdict", kpi.verdict.value),
            ("observed", observed_text(kpi)),
            ("objective", kpi.objective),
            ("source", kpi.source),
            ("samples", str(kpi.samples)),
            ("window", f"{kpi.window[0].isoformat()} / {kpi.window[1].isoformat()}"),
            ("query", kpi.query),
        ):
            ET.SubElement(props, "property", {"name": key, "value": value})
        message = kpi.describe()
        if kpi.verdict is Verdict.FAIL:
            ET.SubElement(case, "failure", {"type": "fail", "message": message}).text = message
        elif kpi.verdict is Verdict.NO_DATA and kpi.gating:
            ET.SubElement(case, "failure", {"type": "no_data", "message": message}).text = message
        elif kpi.verdict is Verdict.ERROR and kpi.gating:
            ET.SubElement(case, "error", {"type": "error", "message": message}).text = message
        elif kpi.verdict is not Verdict.PASS:
            ET.SubElement(case, "skipped", {"message": message})
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, "unicode") + "\n"
