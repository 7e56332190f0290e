"""One page per run: ``index.html`` and its Markdown twin ``index.md`` at the top of a run directory.

``write_run_page(out)`` reads what the stages of ``run``/``demo`` left in ``out`` —
``summary.json``, ``contract/junit.xml``, ``load/load-result.json``, ``report/verdict.json``,
``alerts-fired.json`` — and writes one page a person reads first: the combined verdict, each
stage's outcome, the contract gate's failures with their contract IDs, the load's void or
saturated state with its reason, the KPIs (client and Prometheus), the reconciliation of the two,
and a link to every file of the run. It also writes ``junit.xml`` at the top: one
``<testsuite>`` per stage (contract gate, load, report) for CI systems.

A void load (the generator could not hold its rate) makes the load's KPIs ``void`` on the page,
never ``fail``: its figures describe the generator, not the service. The report's Prometheus
KPIs for the same window are shown with that caveat. The page reads files only, so it can be
written again at any time (the demo rewrites it once the fired alerts are known).
"""

from __future__ import annotations

import contextlib
import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from hypersync_slo import markup
from hypersync_slo.config import format_value
from hypersync_slo.exitcodes import MEANINGS, ExitCode
from hypersync_slo.junitxml import Case, Suite, document, read_suites
from hypersync_slo.outputs import write_text
from hypersync_slo.redaction import redact_url
from hypersync_slo.results import LOAD_RESULT_FILE, VERDICT_FILE, LoadResult, ReportVerdict
from hypersync_slo.timestamps import parse_rfc3339, rfc3339_seconds

#: Directories with more files than this are linked as one line (a Prometheus TSDB, say).
MAX_FILES_PER_DIR = 20
PAGE_FILES = ("index.html", "index.md", "junit.xml")

OUTCOMES = {
    int(ExitCode.PASS): "pass",
    int(ExitCode.FAIL): "fail",
    int(ExitCode.NO_DATA): "no_data",
    int(ExitCode.LOAD_SATURATED): "void",
    int(ExitCode.INTERRUPTED): "interrupted",
}
LABELS = {
    "pass": "PASS",
    "fail": "FAIL",
    "no_data": "NO DATA",
    "void": "VOID",
    "error": "ERROR",
    "interrupted": "INTERRUPTED",
    "skip": "SKIP",
    "warn": "WARN",
}


def outcome_of(code: int) -> str:
    """``pass``, ``fail``, ``no_data``, ``void``, ``interrupted`` or ``error`` for an exit code."""
    return OUTCOMES.get(code, "error")


@dataclass(frozen=True)
class GateCheck:
    """One check of the contract gate, read back from its JUnit file."""

    name: str
    contracts: str
    outcome: str
    message: str = ""
    detail: str = ""
    output: str = ""


@dataclass(frozen=True)
class KpiRow:
    """One KPI as the page shows it."""

    name: str
    source: str
    verdict: str
    observed: str
    objective: str
    samples: int
    reason: str = ""
    gating: bool = True
    origin: str = "report"


@dataclass
class RunPage:
    """Everything the page shows, read from the run directory."""

    out: Path
    summary: Mapping[str, Any]
    gate: list[GateCheck] | None = None
    gate_file: str | None = None
    load: LoadResult | None = None
    report: ReportVerdict | None = None
    #: ``load/traces.json`` of a load run with ``--trace-sample``: its ``trace_completeness``.
    traces: Mapping[str, Any] | None = None
    alerts: list[Mapping[str, Any]] | None = None
    files: list[tuple[str, str]] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """The combined verdict's outcome name."""
        return outcome_of(int(self.summary.get("exit_code", int(ExitCode.COULD_NOT_RUN))))

    @property
    def load_void(self) -> bool:
        """True when the load was void (saturated or cut short): its KPIs are not judged."""
        return self.load is not None and self.load.void

    @property
    def void_reasons(self) -> list[str]:
        """Why the load was void, in the load's own words."""
        if self.load is None:
            return []
        reasons = list(self.load.saturation_reasons)
        verdict = self.load.verdict
        reasons += [r for r in verdict.get("saturation_reasons") or [] if r not in reasons]
        return reasons or ["the load generator could not hold its rate"]

    def load_kpis(self) -> list[KpiRow]:
        """The load's KPIs (client); ``void`` for every one of them when the load was void."""
        items: list[Mapping[str, Any]] = (
            list(self.load.verdict.get("kpis") or []) if self.load else []
        )
        if isinstance(self.traces, Mapping) and isinstance(self.traces.get("kpi"), Mapping):
            items.append(self.traces["kpi"])  # source "trace": the backend asked afterwards
        rows = [_kpi_row(item, "load") for item in items]
        if self.load_void:
            return [
                KpiRow(
                    r.name,
                    r.source,
                    "void",
                    r.observed,
                    r.objective,
                    r.samples,
                    "not judged: the load was void (see Load)",
                    r.gating,
                    "load",
                )
                for r in rows
            ]
        return rows

    def report_kpis(self) -> list[KpiRow]:
        """The report's KPIs (Prometheus over the load's window)."""
        return [_kpi_row(item, "report") for item in (self.report.kpis if self.report else [])]


def _kpi_row(item: Mapping[str, Any], origin: str) -> KpiRow:
    observed = item.get("observed")
    unit = str(item.get("unit") or "")
    shown = "n/a" if observed is None else format_value(float(observed), unit)
    return KpiRow(
        name=str(item.get("name", "?")),
        source=str(item.get("source", "")),
        verdict=str(item.get("verdict", "error")),
        observed=shown,
        objective=str(item.get("objective", "")),
        samples=int(item.get("samples") or 0),
        reason=str(item.get("reason") or ""),
        gating=bool(item.get("gating", True)),
        origin=origin,
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _read_load(path: Path) -> LoadResult | None:
    """The run's load result, or None when there is none or it is not a JSON object."""
    try:
        return LoadResult.from_json(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _read_verdict(path: Path) -> ReportVerdict | None:
    """The report's verdict, or None when there is none or it is not a JSON object."""
    try:
        return ReportVerdict.from_json(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def read_gate(junit: Path) -> list[GateCheck] | None:
    """The gate's checks from its JUnit file (None when there is none or it cannot be read)."""
    try:
        suites = read_suites(junit.read_text("utf-8"))
    except (OSError, ET.ParseError):
        return None
    checks = []
    for suite in suites:
        for case in suite.iterfind("testcase"):
            name = case.get("name", "")
            contracts, _, test = name.partition(" ")
            outcome, message, detail = "pass", "", ""
            for tag, kind in (("failure", "fail"), ("error", "error"), ("skipped", "skip")):
                child = case.find(tag)
                if child is not None:
                    outcome, message, detail = kind, child.get("message", ""), child.text or ""
                    break
            output = case.findtext("system-out") or ""
            if outcome == "pass" and "WARN (" in output:
                outcome = "warn"
                message = output.split("WARN (", 1)[1].split("\n", 2)[1] if "\n" in output else ""
            checks.append(GateCheck(test or name, contracts, outcome, message, detail, output))
    return checks


def _list_files(out: Path) -> list[tuple[str, str]]:
    """(relative link, label) for every file of the run; big directories as one line."""
    entries: list[tuple[str, str]] = []
    if not out.is_dir():
        return entries

    def walk(directory: Path) -> None:
        children = sorted(directory.iterdir())
        files = [c for c in children if c.is_file() and not c.name.startswith(".")]
        dirs = [c for c in children if c.is_dir() and not c.name.startswith(".")]
        if len(files) > MAX_FILES_PER_DIR:
            rel = directory.relative_to(out).as_posix() + "/"
            entries.append((rel, f"{rel} ({len(files)} files)"))
        else:
            for child in files:
                rel = child.relative_to(out).as_posix()
                if directory == out and child.name in PAGE_FILES:
                    continue
                entries.append((rel, rel))
        for child in dirs:
            walk(child)

    walk(out)
    return entries


def read_run(out: Path) -> RunPage:
    """Everything the page shows, from the files in ``out``."""
    summary = _read_json(out / "summary.json") or {}
    page = RunPage(out=out, summary=summary)
    gate_junit = out / "contract" / "junit.xml"
    if gate_junit.is_file():
        page.gate = read_gate(gate_junit)
        page.gate_file = "contract/junit.xml"
    page.load = _read_load(out / "load" / LOAD_RESULT_FILE)
    page.report = _read_verdict(out / "report" / VERDICT_FILE)
    page.traces = _read_json(out / "load" / "traces.json")
    alerts = _read_json(out / "alerts-fired.json")
    page.alerts = alerts if isinstance(alerts, list) else None
    page.files = _list_files(out)
    return page


# --- shared wording -------------------------------------------------------------------------


def _iso(text: object) -> str:
    """A timestamp as ``2026-11-27T02:00:00Z`` (whole seconds, UTC), or ``?``."""
    moment = _parse_time(text)
    if moment is None:
        return str(text or "?")
    return rfc3339_seconds(moment)


def _stage_detail(page: RunPage, stage: Mapping[str, Any]) -> str:
    """One line saying what the stage found."""
    name = str(stage.get("name", ""))
    if name == "contract gate" and page.gate is not None:
        counts: dict[str, int] = {}
        for check in page.gate:
            counts[check.outcome] = counts.get(check.outcome, 0) + 1
        text = ", ".join(f"{n} {k}" for k, n in counts.items())
        broken = sorted({c.contracts for c in page.gate if c.outcome in ("fail", "error")})
        return text + (f"; broken: {', '.join(broken)}" if broken else "")
    if name == "load" and page.load is not None:
        load = page.load
        text = (
            f"{load.achieved_rps or 0:g} of {load.target_rps or 0:g} req/s, "
            f"{load.requests or 0} requests, {load.errors or 0} errors (client)"
        )
        return text + ("; saturated: " + "; ".join(page.void_reasons) if page.load_void else "")
    if name == "report" and page.report is not None:
        kpis = page.report.kpis
        failed = [k["name"] for k in kpis if k.get("verdict") != "pass"]
        sources = ", ".join(sorted({str(k.get("source")) for k in kpis}))
        text = f"{len(kpis)} KPIs ({sources})"
        text += f"; not passing: {', '.join(failed)}" if failed else "; all pass"
        return text + ("; measured under a void load" if page.load_void else "")
    return str(stage.get("meaning", ""))


def _stage_links(page: RunPage, stage: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """(label, link inside the run directory) of a stage's outputs; None for one outside it."""
    links: list[tuple[str, str | None]] = []
    out = page.out.resolve()
    for key, value in (stage.get("outputs") or {}).items():
        path = Path(str(value)).resolve()
        if path.is_relative_to(out):
            links.append((str(key), path.relative_to(out).as_posix()))
        else:
            links.append((f"{key}: {value}", None))
    return links


def _headline(page: RunPage) -> str:
    summary = page.summary
    code = int(summary.get("exit_code", int(ExitCode.COULD_NOT_RUN)))
    meaning = (
        MEANINGS.get(ExitCode(code), "unknown") if code in ExitCode._value2member_map_ else "?"
    )
    return f"{LABELS[page.verdict]} (exit {code}: {meaning})"


def _why(page: RunPage) -> list[str]:
    """Sentences saying what decided the combined verdict."""
    lines = []
    for stage in page.summary.get("stages", []):
        outcome = outcome_of(int(stage.get("exit_code", 10)))
        if outcome != "pass" and stage.get("name") != "history":
            lines.append(f"{stage.get('name')}: {LABELS[outcome]}: {_stage_detail(page, stage)}")
    if page.load_void:
        lines.append(
            "the load was void, so its client-side KPIs are not judged; the report's "
            "Prometheus figures describe the service under a load other than the one asked for"
        )
    return lines


# --- Markdown ---------------------------------------------------------------------------------


def render_markdown(page: RunPage) -> str:
    """index.md: the same content as index.html, for terminals and code review."""
    summary = page.summary
    lines = [
        f"# hypersync-slo run: {_headline(page)}",
        "",
        f"- target: {markup.code(redact_url(summary.get('target_url')) or '?')}",
        f"- prometheus: {markup.code(redact_url(summary.get('prometheus_url')) or 'none')}",
        f"- started: {_iso(summary.get('started_at'))}, finished: "
        f"{_iso(summary.get('finished_at'))} (UTC)",
    ]
    why = _why(page)
    if why:
        lines += ["", "Why:", ""] + [f"- {markup.plain(w)}" for w in why]
    lines += ["", "## Stages", "", "| stage | outcome | exit | seconds | what it found | files |"]
    lines.append("| --- | --- | ---: | ---: | --- | --- |")
    for stage in summary.get("stages", []):
        code = int(stage.get("exit_code", 10))
        links = ", ".join(
            f"[{markup.cell(k)}]({v})" if v else markup.cell(k)
            for k, v in _stage_links(page, stage)
        )
        lines.append(
            f"| {markup.cell(stage.get('name', ''))} | {LABELS[outcome_of(code)]} | {code} | "
            f"{float(stage.get('seconds', 0)):.1f} | {markup.cell(_stage_detail(page, stage))} | "
            f"{links} |"
        )
    lines += ["", "## Contract gate", ""]
    if page.gate is None:
        lines.append("No gate JUnit file in this run (the stage was skipped or did not write it).")
    else:
        problems = [c for c in page.gate if c.outcome in ("fail", "error")]
        if not problems:
            lines.append("Every selected contract check passed or was skipped with a reason.")
        for check in problems:
            lines += [f"- **{check.contracts} {LABELS[check.outcome]}** {markup.code(check.name)}"]
            lines += ["", *("  " + x for x in markup.fence(check.detail or check.message)), ""]
        for check in page.gate:
            if check.outcome in ("warn", "skip"):
                lines.append(
                    f"- {check.contracts} {LABELS[check.outcome]} {markup.code(check.name)}: "
                    f"{markup.plain(check.message)}"
                )
    lines += ["", "## Load (client)", ""]
    lines += _load_markdown(page)
    lines += ["", "## KPIs", ""]
    lines += _kpi_markdown(page)
    lines += ["", "## Reconciliation (client vs Prometheus)", ""]
    for text in _reconciliation(page):
        first, *rest = text.splitlines() or [""]
        lines.append(f"- {markup.plain(first)}")
        lines += [f"  - {markup.plain(line)}" for line in rest]
    if page.alerts is not None:
        lines += ["", "## Alerts that fired during the run (prometheus, ALERTS)", ""]
        lines += [f"- {markup.plain(_alert_text(a))}" for a in page.alerts] or ["- none"]
    lines += ["", "## Files", ""]
    lines += [f"- [{markup.cell(label)}]({rel})" for rel, label in page.files]
    return "\n".join(lines) + "\n"


def _load_facts(load: LoadResult) -> list[str]:
    """Window, rate, counts and client latencies of the load, one sentence each."""
    window = load.window
    facts = [
        f"window: {_iso(window.get('start'))} – {_iso(window.get('end'))}",
        f"rate: asked {load.target_rps or 0:g} req/s, achieved "
        f"{load.achieved_rps or 0:g} req/s; {load.requests or 0} requests, "
        f"{load.errors or 0} errors, {load.dropped or 0} dropped, "
        f"{load.late or 0} late sends",
    ]
    latency = load.latency
    for kind, block in (
        ("corrected", latency.get("corrected")),
        ("uncorrected", latency.get("uncorrected")),
    ):
        lat: Mapping[str, Any] = block or {}
        if lat:
            facts.append(
                f"latency ({kind}, client, {lat.get('samples', '?')} samples): "
                + ", ".join(
                    f"{q} {format_value(float(lat[q]), 's')}"
                    for q in ("p50", "p95", "p99", "p999")
                    if lat.get(q) is not None
                )
            )
    return facts


def _load_markdown(page: RunPage) -> list[str]:
    if page.load is None:
        return [f"No {LOAD_RESULT_FILE} in this run."]
    lines = []
    if page.load_void:
        lines += [
            "**VOID**: the load generator could not hold its rate; its KPIs are not judged.",
            "",
            *(f"- {markup.plain(r)}" for r in page.void_reasons),
            "",
        ]
    return lines + [f"- {markup.plain(fact)}" for fact in _load_facts(page.load)]


def _kpi_rows(page: RunPage) -> list[KpiRow]:
    return page.report_kpis() + page.load_kpis()


def _verdict_text(page: RunPage, row: KpiRow) -> str:
    text = LABELS.get(row.verdict, row.verdict.upper())
    if not row.gating:
        text += " (not gating)"
    if page.load_void and row.origin == "report":
        text += " (void load)"
    return text


KPI_GROUPS = (
    ("report", "Prometheus, over the load's window (report)"),
    ("load", "Client, as the load generator measured (load)"),
)


def _kpi_note(page: RunPage) -> str:
    if page.load_void:
        return (
            "The load was void: the client KPIs are not judged, and the Prometheus KPIs describe "
            "the service under a load other than the one asked for (marked 'void load')."
        )
    return ""


def _kpi_markdown(page: RunPage) -> list[str]:
    rows = _kpi_rows(page)
    if not rows:
        return ["No KPI was judged in this run."]
    lines = [_kpi_note(page), ""] if _kpi_note(page) else []
    if page.report is not None:
        lines += ["Plots: [report/report.html](report/report.html)", ""]
    for origin, title in KPI_GROUPS:
        group = [r for r in rows if r.origin == origin]
        if not group:
            continue
        lines += [
            f"### {title}",
            "",
            "| KPI | source | verdict | observed | objective | samples | why |",
            "| --- | --- | --- | --- | --- | ---: | --- |",
        ]
        for row in group:
            cells = (
                row.name,
                row.source,
                _verdict_text(page, row),
                row.observed,
                row.objective,
                str(row.samples),
                row.reason,
            )
            lines.append("| " + " | ".join(markup.cell(x) for x in cells) + " |")
        lines.append("")
    return lines


def _reconciliation(page: RunPage) -> list[str]:
    if page.report is None:
        return ["No report in this run: nothing to reconcile."]
    findings = page.report.findings
    if not findings:
        if page.load is None:
            return ["No client figures (no load in this run): nothing to reconcile."]
        return ["Client and Prometheus agree within tolerance."]
    return [str(f.get("message", f)) for f in findings]


def _alert_text(alert: Mapping[str, Any]) -> str:
    hidden = {"__name__", "alertname", "alertstate", "severity"}
    labels = ", ".join(
        f"{k}={v}" for k, v in sorted((alert.get("labels") or {}).items()) if k not in hidden
    )
    return (
        f"{alert.get('alertname')} ({alert.get('severity')}) {labels}: "
        f"{alert.get('samples')} samples"
    )


# --- HTML -------------------------------------------------------------------------------------

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d1d1f;
 background:#fafafa;font-size:15px;line-height:1.45}
main{max-width:1280px;margin:0 auto;padding:24px 32px 48px}
h1{font-size:26px;margin:0 0 8px}h3{font-size:16px;margin:16px 0 6px}h2{font-size:20px;margin:32px 0 8px;
 border-bottom:1px solid #ddd;padding-bottom:4px}
.banner{padding:16px 20px;border-radius:8px;margin:8px 0 16px;border:2px solid}
.banner h1 span{font-weight:800}
.pass{background:#e6f4ea;border-color:#34a853}.fail{background:#fce8e6;border-color:#d93025}
.no_data,.warn,.skip{background:#fef7e0;border-color:#f9ab00}
.void,.interrupted{background:#eceff1;border-color:#607d8b}
.error{background:#fbe9e7;border-color:#e64a19}
table{border-collapse:collapse;width:100%;background:#fff;font-size:14px}
td,th{border:1px solid #ddd;padding:6px 10px;text-align:left;vertical-align:top}
th{background:#f1f3f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.tag{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:700;font-size:13px;
 border:1px solid}
pre{background:#fff;border:1px solid #ddd;border-left:4px solid #d93025;padding:8px 12px;
 white-space:pre-wrap;font-size:13px;margin:4px 0 12px}
code{font-size:13px;background:#f1f3f4;padding:0 3px;border-radius:3px}
ul.files{columns:2;font-size:14px}.meta{color:#5f6368}
"""


def _tag(outcome: str, text: str | None = None) -> str:
    return f'<span class="tag {outcome}">{escape(text or LABELS.get(outcome, outcome))}</span>'


def render_html(page: RunPage) -> str:
    """index.html: self-contained (inline CSS, no script, no external fetch)."""
    summary = page.summary
    parts = [
        f'<div class="banner {page.verdict}"><h1>hypersync-slo run: '
        f"<span>{escape(_headline(page))}</span></h1>",
        '<div class="meta">target <code>'
        + escape(redact_url(summary.get("target_url")) or "?")
        + "</code> · prometheus <code>"
        + escape(redact_url(summary.get("prometheus_url")) or "none")
        + f"</code> · {escape(_iso(summary.get('started_at')))} – "
        f"{escape(_iso(summary.get('finished_at')))} (UTC)</div>",
    ]
    why = _why(page)
    if why:
        parts.append("<ul>" + "".join(f"<li>{escape(w)}</li>" for w in why) + "</ul>")
    parts.append("</div>")
    parts.append(
        "<h2>Stages</h2><table><tr><th>stage</th><th>outcome</th><th>exit</th>"
        "<th>seconds</th><th>what it found</th><th>files</th></tr>"
    )
    for stage in summary.get("stages", []):
        code = int(stage.get("exit_code", 10))
        links = ", ".join(
            f'<a href="{escape(v)}">{escape(k)}</a>' if v else escape(k)
            for k, v in _stage_links(page, stage)
        )
        parts.append(
            f"<tr><td>{escape(str(stage.get('name', '')))}</td>"
            f"<td>{_tag(outcome_of(code))}</td><td class=num>{code}</td>"
            f"<td class=num>{float(stage.get('seconds', 0)):.1f}</td>"
            f"<td>{escape(_stage_detail(page, stage))}</td><td>{links}</td></tr>"
        )
    parts.append("</table>")
    parts.append("<h2>Contract gate</h2>")
    parts += _gate_html(page)
    parts.append("<h2>Load (client)</h2>")
    parts += _load_html(page)
    parts.append("<h2>KPIs</h2>")
    parts += _kpi_html(page)
    parts.append("<h2>Reconciliation (client vs Prometheus)</h2>")
    findings = _reconciliation(page)
    if page.report is not None and page.report.findings:
        parts += [f"<pre>{escape(f)}</pre>" for f in findings]
    else:
        parts += [f"<p>{escape(f)}</p>" for f in findings]
    if page.alerts is not None:
        parts.append("<h2>Alerts that fired during the run (prometheus, ALERTS)</h2><ul>")
        parts += [f"<li>{escape(_alert_text(a))}</li>" for a in page.alerts] or ["<li>none</li>"]
        parts.append("</ul>")
    parts.append('<h2>Files</h2><ul class="files">')
    parts += [f'<li><a href="{escape(rel)}">{escape(label)}</a></li>' for rel, label in page.files]
    parts.append("</ul>")
    title = f"hypersync-slo run: {LABELS[page.verdict]}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body><main>\n"
        + "\n".join(parts)
        + "\n</main></body></html>\n"
    )


def _gate_html(page: RunPage) -> list[str]:
    if page.gate is None:
        return [
            "<p>No gate JUnit file in this run (the stage was skipped or did not write it).</p>"
        ]
    parts = []
    problems = [c for c in page.gate if c.outcome in ("fail", "error")]
    if not problems:
        parts.append("<p>Every selected contract check passed or was skipped with a reason.</p>")
    for check in problems:
        parts.append(
            f"<p>{_tag(check.outcome)} <b>{escape(check.contracts)}</b> "
            f"<code>{escape(check.name)}</code></p><pre>{escape(check.detail or check.message)}</pre>"
        )
    others = [c for c in page.gate if c.outcome in ("warn", "skip")]
    if others:
        parts.append("<table><tr><th>contract</th><th>outcome</th><th>check</th><th>why</th></tr>")
        parts += [
            f"<tr><td>{escape(c.contracts)}</td><td>{_tag(c.outcome)}</td>"
            f"<td><code>{escape(c.name)}</code></td><td>{escape(c.message)}</td></tr>"
            for c in others
        ]
        parts.append("</table>")
    passed = sum(1 for c in page.gate if c.outcome == "pass")
    parts.append(f'<p class="meta">{passed} checks passed; full list in the gate\'s JUnit.</p>')
    return parts


def _load_html(page: RunPage) -> list[str]:
    if page.load is None:
        return [f"<p>No {LOAD_RESULT_FILE} in this run.</p>"]
    parts = []
    if page.load_void:
        parts.append(
            '<div class="banner void"><b>VOID</b>: the load generator could not hold its rate; '
            "its KPIs are not judged.<ul>"
            + "".join(f"<li>{escape(r)}</li>" for r in page.void_reasons)
            + "</ul></div>"
        )
    facts = _load_facts(page.load)
    parts.append("<ul>" + "".join(f"<li>{escape(f)}</li>" for f in facts) + "</ul>")
    return parts


def _kpi_html(page: RunPage) -> list[str]:
    rows = _kpi_rows(page)
    if not rows:
        return ["<p>No KPI was judged in this run.</p>"]
    parts = [f"<p>{escape(_kpi_note(page))}</p>"] if _kpi_note(page) else []
    if page.report is not None:
        parts.append('<p>Plots: <a href="report/report.html">report/report.html</a></p>')
    for origin, title in KPI_GROUPS:
        group = [r for r in rows if r.origin == origin]
        if not group:
            continue
        parts.append(
            f"<h3>{escape(title)}</h3>"
            "<table><tr><th>KPI</th><th>source</th><th>verdict</th><th>observed</th>"
            "<th>objective</th><th>samples</th><th>why</th></tr>"
        )
        for row in group:
            parts.append(
                f"<tr><td>{escape(row.name)}</td><td>{escape(row.source)}</td>"
                f"<td>{_tag(row.verdict, _verdict_text(page, row))}</td>"
                f"<td class=num>{escape(row.observed)}</td><td>{escape(row.objective)}</td>"
                f"<td class=num>{row.samples}</td><td>{escape(row.reason)}</td></tr>"
            )
        parts.append("</table>")
    return parts


# --- combined JUnit ---------------------------------------------------------------------------


def load_suite(page: RunPage) -> Suite | None:
    """The load stage as a JUnit suite: one case per client KPI; a void load is an error case
    and its KPIs skipped (not judged), never failures."""
    if page.load is None:
        return None
    cases = []
    if page.load_void:
        reasons = "; ".join(page.void_reasons)
        cases.append(
            Case(
                "load",
                "load held its rate",
                "error",
                message=f"void: {reasons}",
                detail=reasons,
                kind="LoadGeneratorSaturated",
            )
        )
    else:
        cases.append(Case("load", "load held its rate"))
    for row in page.load_kpis():
        text = (
            f"{row.name}: {row.verdict}, observed {row.observed} (client, {row.samples} "
            f"samples), objective {row.objective}"
        )
        if row.verdict == "fail" and row.gating:
            cases.append(
                Case("load.client", row.name, "failure", message=text, detail=text, kind="fail")
            )
        elif row.verdict in ("no_data", "error") and row.gating:
            cases.append(
                Case(
                    "load.client", row.name, "failure", message=text, detail=text, kind=row.verdict
                )
            )
        elif row.verdict in ("void", "no_data", "error"):
            cases.append(Case("load.client", row.name, "skipped", message=row.reason or text))
        else:
            cases.append(Case("load.client", row.name, output=text))
    stage: Mapping[str, Any] = next(
        (s for s in page.summary.get("stages", []) if s.get("name") == "load"), {}
    )
    return Suite(
        name="hypersync-slo load",
        cases=cases,
        properties=[
            ("target_rps", str(page.load.target_rps)),
            ("achieved_rps", str(page.load.achieved_rps)),
            ("requests", str(page.load.requests)),
            ("errors", str(page.load.errors)),
            ("saturated", str(page.load.saturated).lower()),
        ],
        timestamp=_parse_time(page.load.window.get("start")),
        seconds=float(stage.get("seconds", 0) or 0),
    )


def _parse_time(text: object) -> datetime | None:
    try:
        return parse_rfc3339(str(text)).astimezone(UTC)
    except ValueError:
        return None


def combined_junit(page: RunPage) -> str | None:
    """junit.xml at the top of the run: one suite per stage that left results."""
    suites: list[Suite | ET.Element] = []
    with contextlib.suppress(OSError, ET.ParseError):
        suites += read_suites((page.out / "contract" / "junit.xml").read_text("utf-8"))
    load = load_suite(page)
    if load is not None:
        suites.append(load)
    with contextlib.suppress(OSError, ET.ParseError):
        suites += read_suites((page.out / "report" / "junit.xml").read_text("utf-8"))
    return document(suites, name="hypersync-slo run") if suites else None


def write_run_page(out: Path) -> dict[str, Path]:
    """Write index.html, index.md and the combined junit.xml at the top of ``out``."""
    page = read_run(out)
    written = {
        "html": write_text(out / "index.html", render_html(page)),
        "markdown": write_text(out / "index.md", render_markdown(page)),
    }
    junit = combined_junit(page)
    if junit is not None:
        written["junit"] = write_text(out / "junit.xml", junit)
    return written


def publish_run_page(out: Path, *, update: str = "") -> None:
    """Write the run page and say where it is; a failure here is said, never lost silently,
    and never changes the run's verdict (every other file is already written). ``update``
    says what a second writing adds (the line then says so, rather than repeat itself)."""
    try:
        written = write_run_page(out)
    except Exception as exc:  # the page is a view of files already on disk
        print(f"  run page: could not write {out}/index.html: {type(exc).__name__}: {exc}")
        return
    names = ", ".join(path.name for path in written.values())
    if update:
        print(f"  run page updated with {update}: {written['html']}", flush=True)
    else:
        print(f"  run page: {written['html']} ({names})", flush=True)
