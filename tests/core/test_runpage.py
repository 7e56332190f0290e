"""The run page: index.html and index.md say the combined verdict, each stage, the broken
contracts by ID, a void load as void (never FAIL), the KPIs, the reconciliation, and link to
every file; the top junit.xml holds one suite per stage."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from hypersync_slo.gate import junit as gate_junit
from hypersync_slo.gate.outcomes import CheckOutcome, GateLedger
from hypersync_slo.report import write_report
from hypersync_slo.runpage import write_run_page
from tests.junit_schema import assert_valid_junit
from tests.report.test_evaluation import evaluate, healthy

BROKEN = (
    "H-03 broken: /health/ready answered 500.\n"
    "url: GET http://127.0.0.1:8080/health/ready\n"
    "expected: HTTP 200 (ready) or 503 (not ready), nothing else\n"
    "observed: HTTP 500"
)


class Links(HTMLParser):
    """Every href and src of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.srcs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Collect href/src."""
        for name, value in attrs:
            if name == "href" and value:
                self.hrefs.append(value)
            if name == "src" and value:
                self.srcs.append(value)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One report (recorded Prometheus answers) written once for the module: plots are slow."""
    out = tmp_path_factory.mktemp("report") / "report"
    write_report(evaluate(healthy()), out)
    return out


def make_run(out: Path, report: Path, *, void: bool, gate_broken: bool) -> None:
    """A run directory as `run` leaves it: summary, gate JUnit, load result, report."""
    ledger = GateLedger()
    ledger.add(CheckOutcome("suite/test_health_live.py::test_live", "test_live", ("H-01",), "pass"))
    ledger.add(
        CheckOutcome(
            "suite/test_health_ready.py::test_ready_answers_200_or_503",
            "test_ready_answers_200_or_503",
            ("H-03",),
            "fail" if gate_broken else "pass",
            BROKEN if gate_broken else "",
        )
    )
    ledger.add(
        CheckOutcome("suite/test_tracing.py::test_log", "test_log", ("L-01",), "skip", "no log")
    )
    (out / "contract").mkdir(parents=True)
    (out / "contract" / "junit.xml").write_text(
        gate_junit.render(ledger, started=datetime.now(UTC), seconds=1.0), "utf-8"
    )
    shutil.copytree(report, out / "report")
    report_paths = {
        name: out / "report" / f"{stem}"
        for name, stem in (("verdict", "verdict.json"), ("html", "report.html"))
    }
    verdict = json.loads(report_paths["verdict"].read_text())
    load_kpis = [
        {**k, "source": "client", "verdict": "fail" if k["name"] == "latency_p99" else k["verdict"]}
        for k in verdict["kpis"]
    ]
    reasons = ["57% of sends started late: the generator's own delay"] if void else []
    load: dict[str, Any] = {
        "target_rps": 1000,
        "achieved_rps": 640.5,
        "requests": 12810,
        "errors": 3,
        "dropped": 0,
        "late": 7000,
        "saturated": void,
        "saturation_reasons": reasons,
        "window": verdict["window"],
        "latency": {"corrected": {"p50": 0.01, "p95": 0.2, "p99": 0.9, "p999": 1.2, "samples": 9}},
        "verdict": {"status": "void" if void else "fail", "kpis": load_kpis},
    }
    (out / "load").mkdir()
    (out / "load" / "load-result.json").write_text(json.dumps(load), "utf-8")
    stages = [
        ("contract gate", 1 if gate_broken else 0, {"junit": out / "contract" / "junit.xml"}),
        ("load", 9 if void else 1, {"load_result": out / "load" / "load-result.json"}),
        ("report", 1, {"verdict": report_paths["verdict"], "html": report_paths["html"]}),
    ]
    summary = {
        "verdict": "fail",
        "exit_code": 1,
        "meaning": "a contract or SLO was violated",
        "target_url": "http://user:hunter22@127.0.0.1:8080",
        "prometheus_url": "http://127.0.0.1:9090",
        "started_at": "2026-11-27T02:00:00.123456Z",
        "finished_at": "2026-11-27T02:03:00Z",
        "stages": [
            {
                "name": n,
                "argv": [],
                "exit_code": c,
                "meaning": "m",
                "seconds": 1.5,
                "outputs": {k: str(v) for k, v in o.items()},
            }
            for n, c, o in stages
        ],
    }
    (out / "summary.json").write_text(json.dumps(summary), "utf-8")


@pytest.fixture
def void_run(tmp_path: Path, report_dir: Path) -> Path:
    """A run whose gate broke H-03 and whose load was void."""
    out = tmp_path / "run"
    make_run(out, report_dir, void=True, gate_broken=True)
    write_run_page(out)
    return out


def test_page_says_verdict_stages_and_broken_contracts(void_run: Path) -> None:
    """index.html: the combined verdict, every stage's outcome, H-03's failure with its
    message, the skipped L-01 with its reason; no credential of the URL."""
    page = (void_run / "index.html").read_text("utf-8")
    text = re.sub(r"<[^>]+>", "", page)
    assert "hypersync-slo run: FAIL (exit 1: a contract or SLO was violated)" in text
    for stage in ("contract gate", "load", "report"):
        assert f"<td>{stage}</td>" in page
    assert '<span class="tag void">VOID</span>' in page
    assert "<b>H-03</b>" in page
    assert "H-03 broken: /health/ready answered 500." in page
    assert "expected: HTTP 200 (ready) or 503 (not ready), nothing else" in page
    assert "no log" in page
    assert "hunter22" not in page
    assert "2026-11-27T02:00:00Z" in page


def test_void_load_makes_its_kpis_void_never_fail(void_run: Path) -> None:
    """The load's failing latency_p99 shows VOID with the reason; the load's section says why."""
    page = (void_run / "index.html").read_text("utf-8")
    client = page.split("Client, as the load generator measured")[1]
    assert "latency_p99" in client
    assert "FAIL" not in client.split("<h2>")[0]
    assert "not judged: the load was void" in client
    assert "57% of sends started late: the generator&#x27;s own delay" in page
    assert "(void load)" in page.split("Client, as the load generator")[0]


def test_judged_load_keeps_its_fail(tmp_path: Path, report_dir: Path) -> None:
    """A load that held its rate: its failing KPI is FAIL, nothing is called void."""
    out = tmp_path / "run"
    make_run(out, report_dir, void=False, gate_broken=False)
    write_run_page(out)
    page = (out / "index.html").read_text("utf-8")
    client = page.split("Client, as the load generator measured")[1]
    assert re.search(r'<td>latency_p99</td><td>client</td><td><span class="tag fail">FAIL', client)
    assert "VOID" not in page
    assert "Every selected contract check passed" in page


def test_page_links_every_file_and_fetches_nothing(void_run: Path) -> None:
    """Every file of the run is linked and every link resolves; no script, no external fetch."""
    page = (void_run / "index.html").read_text("utf-8")
    links = Links()
    links.feed(page)
    assert links.srcs == []
    assert "<script" not in page
    for href in links.hrefs:
        assert not href.startswith(("http:", "https:", "//")), href
        assert (void_run / href).exists(), href
    linked = {(void_run / h).resolve() for h in links.hrefs}
    every = {
        p.resolve()
        for p in void_run.rglob("*")
        if p.is_file() and p.name not in ("index.html", "index.md", "junit.xml")
    }
    assert every <= linked, sorted(str(p) for p in every - linked)


def test_markdown_twin_says_the_same(void_run: Path) -> None:
    """index.md: same verdict line, stages, H-03 and the void load, relative links."""
    text = (void_run / "index.md").read_text("utf-8")
    assert text.startswith("# hypersync-slo run: FAIL (exit 1: a contract or SLO was violated)")
    assert "| load | VOID | 9 |" in text
    assert "**H-03 FAIL**" in text
    assert "**VOID**: the load generator could not hold its rate" in text
    assert "[report/report.html](report/report.html)" in text
    assert "hunter22" not in text


def test_top_junit_has_one_suite_per_stage(void_run: Path) -> None:
    """junit.xml at the top validates against junit-10.xsd: gate, load, report suites; the
    void load is an error case and its KPIs skipped, never failures."""
    path = void_run / "junit.xml"
    assert_valid_junit(path)
    suites = ET.parse(path).getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == [
        "hypersync-slo contract gate",
        "hypersync-slo load",
        "hypersync-slo report",
    ]
    load = suites[1]
    assert load.get("failures") == "0"
    assert load.get("errors") == "1"
    assert load.find("testcase/error").get("message", "").startswith("void: 57% of sends")  # type: ignore[union-attr]


def test_trace_completeness_shows_beside_the_load_kpis(tmp_path: Path, report_dir: Path) -> None:
    """A load with --trace-sample left load/traces.json: its KPI is a row with source trace."""
    out = tmp_path / "run"
    make_run(out, report_dir, void=False, gate_broken=False)
    kpi = {
        "name": "trace_completeness",
        "source": "trace",
        "observed": 0.75,
        "objective": ">= 99 %",
        "unit": "ratio",
        "samples": 40,
        "verdict": "fail",
        "reason": "outside objective >= 99 %",
        "gating": True,
    }
    (out / "load" / "traces.json").write_text(json.dumps({"kpi": kpi, "tagged": 40}), "utf-8")
    write_run_page(out)
    page = (out / "index.html").read_text("utf-8")
    client = page.split("Client, as the load generator measured")[1]
    assert re.search(
        r'<td>trace_completeness</td><td>trace</td><td><span class="tag fail">FAIL', client
    )
    assert "trace_completeness" in (out / "index.md").read_text("utf-8")
