"""``report.html``: one self-contained page (inline CSS, plots as base64 PNG, no external fetch)."""

from __future__ import annotations

import base64
from html import escape

from hypersync_slo.exitcodes import MEANINGS
from hypersync_slo.report.markdown import MARKS, observed_text
from hypersync_slo.report.model import Report
from hypersync_slo.report.plots import render_all
from hypersync_slo.timestamps import rfc3339
from hypersync_slo.verdicts import KpiResult

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;padding:0 2em;max-width:1400px;color:#222}
table{border-collapse:collapse;width:100%;font-size:14px}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
.pass{background:#e5f5e0}.fail{background:#fde0dd}.no_data{background:#fff3cd}
.error{background:#f2dede}code,pre{font-size:12px;background:#f6f6f6}
pre{padding:8px;white-space:pre-wrap}img{max-width:100%}h1 span{padding:0 .3em}
td code{word-break:break-all}td:last-child{max-width:420px}
"""


def _row(kpi: KpiResult) -> str:
    note = "" if kpi.gating else " <small>(not gating)</small>"
    return (
        f'<tr class="{kpi.verdict.value}"><td>{escape(kpi.name)}</td>'
        f"<td>{MARKS[kpi.verdict.value]}{note}</td><td>{escape(observed_text(kpi))}</td>"
        f"<td>{escape(kpi.objective)}</td><td>{escape(kpi.source)}</td>"
        f"<td>{kpi.samples}</td><td>{escape(kpi.reason)}</td>"
        f"<td><code>{escape(kpi.query)}</code></td></tr>"
    )


def render(report: Report, *, plots: dict[str, bytes] | None = None) -> str:
    """report.html text, plots embedded."""
    verdict = report.verdict
    code = report.exit_code
    start, end = (rfc3339(m) for m in report.window)
    rows = [_row(kpi) for kpi in report.kpis]
    log_section = ""
    if report.log_kpis and report.log_kpis != report.kpis:
        log_section = (
            "<h2>The log source (not gating)</h2><table><tr><th>KPI</th><th>verdict</th>"
            "<th>observed</th><th>objective</th><th>source</th><th>samples</th><th>why</th>"
            "<th>computed from</th></tr>" + "".join(_row(k) for k in report.log_kpis) + "</table>"
        )
    source = (
        f"Prometheus at {escape(report.prometheus_url)}"
        + (f", job <code>{escape(report.job)}</code>" if report.job else "")
        if report.prometheus_url
        else "the service's request log lines (<code>log</code>)"
    )
    images = []
    for title, png in (plots if plots is not None else render_all(report)).items():
        data = base64.b64encode(png).decode("ascii")
        images.append(
            f"<h3>{escape(title)}</h3>"
            f'<img alt="{escape(title)}" src="data:image/png;base64,{data}">'
        )
    findings = "".join(f"<pre>{escape(f.message)}</pre>" for f in report.findings)
    if findings:
        reconciliation = "<h2>Reconciliation findings (client vs server)</h2>" + findings
    elif report.target.startswith("http"):  # a load's window: its client figures were compared
        reconciliation = "<h2>Reconciliation</h2><p>Client and server agree within tolerance.</p>"
    else:
        reconciliation = ""
    errors = "".join(f"<pre>{escape(e)}</pre>" for e in report.errors)
    coverage = report.coverage
    scrapes = (
        escape(coverage.describe())
        + "".join(f"<br><small>{escape(note)}</small>" for note in coverage.edge_notes())
        if coverage is not None
        else "not read"
    )
    scrapes_line = f"<li>scrapes: {scrapes}</li>\n" if report.prometheus_url else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>SLO report: {MARKS[verdict.value]}</title><style>{STYLE}</style></head>
<body>
<h1>SLO report: <span class="{verdict.value}">{MARKS[verdict.value]}</span>{" (interrupted)" if report.interrupted else ""}</h1>
<ul>
<li>verdict: <b>{verdict.value}</b> (exit {int(code)}: {escape(MEANINGS[code])})</li>
<li>window: {start} – {end} ({report.seconds:g} s)</li>
{scrapes_line}<li>target: {escape(report.target)}</li>
<li>source: {source}</li>
<li>SLO file: {escape(report.slo_file)}</li>
</ul>
<table><tr><th>KPI</th><th>verdict</th><th>observed</th><th>objective</th><th>source</th>
<th>samples</th><th>why</th><th>query</th></tr>
{"".join(rows)}
</table>
<p>Latency verdicts are exact: <code>p95 &lt; 100 ms</code> holds when at least 95 % of requests
fell in the histogram bucket <code>le="0.1"</code>. Values are <code>histogram_quantile</code>
estimates, interpolated inside the bucket whose bounds are shown.</p>
{log_section}
{reconciliation}
{"<h2>Errors while querying</h2>" + errors if errors else ""}
<h2>Plots</h2>
{"".join(images)}
<p><small>{report.queries} queries, {report.query_seconds:.3f} s waiting for Prometheus,
{report.compute_seconds:.3f} s computing; step {report.step:g} s.</small></p>
</body></html>
"""
