"""evaluate_window through the injected client: exact verdicts, no data, errors, reconciliation."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hypersync_slo.config import SloConfig
from hypersync_slo.prometheus.client import PrometheusClient, RecordedAnswers
from hypersync_slo.report import evaluate_window, html, markdown, write_report
from hypersync_slo.report.scrapes import read_coverage
from hypersync_slo.results import LoadResult
from hypersync_slo.verdicts import Verdict
from tests.junit_schema import assert_valid_junit

START = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
END = START + timedelta(seconds=120)
URL = "http://prometheus.recorded:9090"

#: 1000 requests: 960 within 100 ms (p95 passes), 989 within 500 ms (p99 fails: 990 needed).
BUCKETS = {"0.05": 900, "0.1": 960, "0.25": 985, "0.5": 989, "1.0": 1000, "+Inf": 1000}


def vector(*items: tuple[Mapping[str, str], float | str]) -> str:
    """An instant-query answer body."""
    result = [{"metric": dict(m), "value": [END.timestamp(), str(v)]} for m, v in items]
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}})


def matrix(points: Sequence[tuple[float, float]], metric: Mapping[str, str] | None = None) -> str:
    """A range-query answer body with one series."""
    result = [{"metric": dict(metric or {}), "values": [[t, str(v)] for t, v in points]}]
    return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}})


Reply = tuple[int, str] | Callable[[Mapping[str, str]], tuple[int, str]]


def at_end(before: str, after: str) -> Reply:
    """An instant answer that is ``after`` at the window's end and ``before`` earlier."""
    return lambda params: (200, after if float(params["time"]) >= END.timestamp() else before)


class FakePrometheus:
    """Answers a query by exact match, else by the longest matching substring, else empty."""

    def __init__(self, answers: Mapping[str, Reply]) -> None:
        self.answers = answers
        self.transport = RecordedAnswers(self.answer)

    def answer(self, path: str, params: Mapping[str, str]) -> tuple[int, str]:
        """The recorded answer for one request (a key starting with ``^`` matches a prefix)."""
        found = self.answers.get(params["query"])
        if found is None:
            found = next(
                (
                    r
                    for n, r in self.answers.items()
                    if params["query"].startswith(n[1:]) and n[0] == "^"
                ),
                None,
            )
        if found is None:
            found = next((r for n, r in self.answers.items() if n in params["query"]), None)
        if found is not None:
            return found(params) if callable(found) else found
        if path.endswith("query_range"):
            return 200, json.dumps(
                {"status": "success", "data": {"resultType": "matrix", "result": []}}
            )
        return 200, vector()

    def client(self) -> PrometheusClient:
        """A client talking to this fake."""
        return PrometheusClient(URL, transport=self.transport)


UP = '^up{job="hypersync"}['


def scrapes(first: float, *, every: float = 15.0, last: float = 140.0) -> Reply:
    """Raw ``up`` samples (one target, all successful) from ``first`` to ``last`` s after START."""
    points: list[tuple[float, float]] = []
    moment = first
    while moment <= last:
        points.append((START.timestamp() + moment, 1.0))
        moment += every
    return (200, matrix(points, {"job": "hypersync", "instance": "127.0.0.1:8080"}))


#: Scraped every 15 s, the last scrape before the window 5 s before its start.
BRACKETED = scrapes(-295.0)


def healthy(**overrides: Reply) -> FakePrometheus:
    """A window of 1000 requests, one 5xx, every scrape up, and a rate series.

    The target is scraped every 15 s from 10 s into the window (no scrape before it, so the
    counts are ``increase()``) to 20 s after its end.
    """
    rate = [(START.timestamp() + i, 8.0) for i in range(0, 121, 5)]
    answers: dict[str, Reply] = {
        UP: scrapes(10.0),
        "sum by (le) (increase": (200, vector(*(({"le": le}, n) for le, n in BUCKETS.items()))),
        "sum by (http_response_status_code)": (
            200,
            vector(
                ({"http_response_status_code": "200"}, 999),
                ({"http_response_status_code": "503"}, 1),
            ),
        ),
        "sum(sum_over_time(up": (200, vector(({}, 120))),
        "sum(count_over_time(up": (200, vector(({}, 120))),
        "sum(rate(http_server_request_duration_seconds_count": (200, matrix(rate)),
        "histogram_quantile(0.99": (200, matrix([(START.timestamp() + 60, 0.545)])),
    }
    answers.update(overrides)
    return FakePrometheus(dict(sorted(answers.items(), key=lambda kv: -len(kv[0]))))


def evaluate(
    fake: FakePrometheus, *, load_result: dict[str, Any] | None = None, **kwargs: Any
) -> Any:
    """evaluate_window over the test window with the default SLO file (and a load result
    written as its JSON document)."""
    load = LoadResult.from_dict(load_result) if load_result is not None else None
    return evaluate_window(
        fake.client(), SloConfig.default(), START, END, job="hypersync", load_result=load, **kwargs
    )


def test_latency_verdicts_are_exact_from_the_bucket_at_the_threshold() -> None:
    """p95 passes (96 % <= 100 ms) and p99 fails (98.9 % <= 500 ms), with bucket bounds shown."""
    report = evaluate(healthy())
    p95, p99 = report.kpi("latency_p95"), report.kpi("latency_p99")
    assert p95.verdict is Verdict.PASS
    assert p95.detail["exact"] is True
    assert p95.detail["share_at_or_below_threshold"] == pytest.approx(0.96)
    assert (p95.detail["bucket_lower"], p95.detail["bucket_upper"]) == (0.05, 0.1)
    assert p99.verdict is Verdict.FAIL
    assert p99.observed == pytest.approx(0.5 + 0.5 / 11)
    assert (p99.detail["bucket_lower"], p99.detail["bucket_upper"]) == (0.5, 1.0)
    assert p99.samples == 1000
    assert p99.source == "prometheus"
    assert "sum by (le) (increase(http_server_request_duration_seconds_bucket{" in p99.query


def test_too_few_samples_for_p999_is_no_data_with_count() -> None:
    """p99.9 with 1000 samples (10 000 needed) is no_data, the count stated; it is report-only."""
    p999 = evaluate(healthy()).kpi("latency_p999")
    assert p999.verdict is Verdict.NO_DATA
    assert p999.reason.startswith("only 1000 samples; at least 10000 needed")


def test_rates_throughput_and_availability() -> None:
    """Error 0.1 % fails '< 0.1 %'; success, throughput and availability computed from counts."""
    report = evaluate(healthy())
    error = report.kpi("error_rate")
    assert error.observed == pytest.approx(0.001)
    assert error.verdict is Verdict.FAIL
    assert report.kpi("success_rate").observed == pytest.approx(0.999)
    throughput = report.kpi("throughput_rps")
    assert throughput.observed == pytest.approx(1000 / 120)
    assert throughput.detail["worst_60s_rps"] == 8.0
    assert throughput.verdict is Verdict.FAIL
    assert throughput.reason.startswith("worst 60 s sub-window 8 req/s is outside objective")
    availability = report.kpi("availability")
    assert (availability.observed, availability.samples) == (1.0, 120)
    assert availability.verdict is Verdict.PASS
    assert report.verdict is Verdict.FAIL


def test_empty_window_is_no_data_everywhere() -> None:
    """No series at all: every KPI no_data, overall no_data, never pass."""
    report = evaluate(FakePrometheus({}))
    assert {k.verdict for k in report.kpis} == {Verdict.NO_DATA}
    assert report.verdict is Verdict.NO_DATA


def test_nan_and_inf_samples_never_become_numbers() -> None:
    """NaN bucket counts are dropped and counted; NaN-only status counts are no data."""
    fake = healthy(
        **{
            "sum by (le) (increase": (200, vector(({"le": "0.1"}, "NaN"), ({"le": "+Inf"}, "NaN"))),
            "sum by (http_response_status_code)": (
                200,
                vector(({"http_response_status_code": "200"}, "+Inf")),
            ),
        }
    )
    report = evaluate(fake)
    p95 = report.kpi("latency_p95")
    assert p95.verdict is Verdict.NO_DATA
    assert p95.detail["dropped_non_finite"] == 2
    assert report.kpi("error_rate").verdict is Verdict.NO_DATA


def test_a_failing_query_errors_its_kpis_and_keeps_the_rest() -> None:
    """bad_data on the bucket query: latency KPIs error, the others are still judged."""
    error = (Path(__file__).parent.parent / "data/report/error-bad-query.json").read_text()
    report = evaluate(healthy(**{"sum by (le) (increase": (400, error)}))
    assert report.kpi("latency_p99").verdict is Verdict.ERROR
    assert report.kpi("latency_p99").reason == "Prometheus refused the query."
    assert report.kpi("availability").verdict is Verdict.PASS
    assert any("unclosed left parenthesis" in e for e in report.errors)
    assert report.verdict is Verdict.FAIL  # error_rate 0.1 % still fails


def test_threshold_off_bucket_is_no_data_not_a_guess() -> None:
    """A p95 threshold between buckets that the counts cannot decide is no_data, naming buckets."""
    config = SloConfig.from_mapping(
        {"objectives": {"latency_p95": {"objective": "< 70ms"}}}, source="t.yaml"
    )
    buckets = {"0.05": 900, "0.1": 960, "+Inf": 1000}
    fake = healthy(
        **{"sum by (le) (increase": (200, vector(*(({"le": le}, n) for le, n in buckets.items())))}
    )
    report = evaluate_window(fake.client(), config, START, END, job="hypersync")
    p95 = report.kpi("latency_p95")
    assert p95.verdict is Verdict.NO_DATA
    assert p95.gating
    assert "0.07 s is not a bucket" in p95.reason
    assert "between buckets 0.05 and 0.1 s" in p95.reason
    assert "bucket bounds (s): 0.05, 0.1" in p95.reason


RAW_COUNTERS = 'http_server_request_duration_seconds_count{job="hypersync",http_route=~"/v1/.*"}'


def _load_result(requests: int, transform: int) -> dict[str, Any]:
    latency = {"p50": 0.03, "p95": 0.09, "p99": 0.7, "p999": 0.9, "max": 1.0, "samples": requests}
    return {
        "target_url": "http://127.0.0.1:8080",
        "window": {"start": START.isoformat(), "end": END.isoformat()},
        "requests": requests,
        "errors": 1,
        "latency": {"corrected": latency, "uncorrected": latency},
        "business_calls": {
            "operator_executions": {"operator=transform,outcome=success": transform},
            "receipts_generated": {"": 10},
        },
    }


def test_reconciliation_counts_through_a_restart_and_flags_disagreements() -> None:
    """Exact server count survives a counter reset; a frozen business counter is a finding."""
    raw = [(START.timestamp() + i * 30, v) for i, v in enumerate([100, 400, 700, 50, 350])]
    operator = {"operator": "transform", "outcome": "success"}
    fake = healthy(
        **{
            UP: BRACKETED,
            "^" + RAW_COUNTERS + "[": (200, matrix(raw, {"http_response_status_code": "200"})),
            f"last_over_time({RAW_COUNTERS}[5m])": (
                200,
                vector(({"http_response_status_code": "200"}, 100)),
            ),
            "^hypersync_operator_executions_total{": (
                200,
                matrix([(START.timestamp() + 60, 270), (START.timestamp() + 120, 520)], operator),
            ),
            "last_over_time(hypersync_operator_executions_total": (200, vector((operator, 20))),
            "^hypersync_receipts_generated_total{": (
                200,
                matrix([(START.timestamp() + 60, 7), (START.timestamp() + 120, 7)]),
            ),
            "last_over_time(hypersync_receipts_generated_total": (200, vector(({}, 7))),
        }
    )
    report = evaluate(fake, load_result=_load_result(950, 500))
    error_rate = report.kpi("error_rate")
    assert error_rate.detail["counting"] == (
        "counter growth of the raw counter samples between the scrapes bracketing the window "
        "(edges not covered: see coverage), resets counted"
    )
    assert error_rate.samples == 950  # 300 + 300 + 50 (after the restart) + 300
    kinds = {(f.kind, f.subject) for f in report.findings}
    assert ("request_count", "requests") not in kinds
    assert ("business_counter", "receipts_generated") in kinds
    assert (
        "business_counter",
        "operator_executions{operator=transform,outcome=success}",
    ) not in kinds
    assert ("latency", "latency p99") not in kinds  # 0.7 s lies within the (0.5, 1] bucket
    receipts = next(f for f in report.findings if f.subject == "receipts_generated")
    assert receipts.message.splitlines()[:3] == [
        "receipts_generated: client and server counts disagree",
        "client: 10 (load generator)",
        "server: 0 (prometheus)",
    ]


def test_client_much_slower_than_server_is_a_finding() -> None:
    """A client p50 far above the server's bucket is 'time before the service's timer starts'."""
    result = _load_result(950, 500)
    result["latency"]["uncorrected"] = dict(result["latency"]["uncorrected"], p50=0.4)
    report = evaluate(healthy(), load_result=result)
    finding = next(f for f in report.findings if f.subject == "latency p50")
    assert "before the service's timer starts" in finding.message


def test_write_report_outputs(tmp_path: Path) -> None:
    """verdict.json, report.md, junit.xml (one case per KPI) and a self-contained report.html."""
    report = evaluate(healthy(), load_result=_load_result(950, 500))
    paths = write_report(report, tmp_path)
    assert set(paths) == {"verdict", "markdown", "junit", "html"}
    verdict = json.loads(paths["verdict"].read_text())
    assert verdict["verdict"] == "fail"
    assert verdict["exit_code"] == 1
    assert [k["name"] for k in verdict["kpis"]] == [
        "availability",
        "latency_p50",
        "latency_p95",
        "latency_p99",
        "latency_p999",
        "throughput_rps",
        "error_rate",
        "success_rate",
    ]
    for kpi in verdict["kpis"]:
        assert {
            "name",
            "source",
            "observed",
            "objective",
            "unit",
            "samples",
            "query",
            "verdict",
        } <= set(kpi)
    assert verdict["window"]["start"] == "2026-11-27T02:00:00Z"
    assert verdict["slo_file"] == "<default slo.yaml>"
    assert verdict["findings"]
    assert_valid_junit(paths["junit"])
    suite = ET.parse(paths["junit"]).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("name") == "hypersync-slo report"
    props = {p.get("name"): p.get("value") for p in suite.iterfind("properties/property")}
    assert props["latency_p99.verdict"] == "fail"
    assert props["verdict"] == "fail"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [k["name"] for k in verdict["kpis"]]
    p99 = next(c for c in cases if c.get("name") == "latency_p99")
    assert p99.find("failure") is not None
    html = paths["html"].read_text()
    assert html.count('src="data:image/png;base64,') == 7  # 4 + client, per request x2
    assert "http://" not in html.replace(URL, "").replace("http://127.0.0.1:8080", "")
    markdown = paths["markdown"].read_text()
    assert "| latency_p99 | FAIL |" in markdown
    # Which scrapes bracket the window, and the uncovered edge, for people too.
    assert (
        "- scrapes: counted from each series' first scrape in the window to the scrape "
        "2026-11-27T02:02:10.000Z (1 target; edges not covered)" in markdown
    )
    assert "  - start edge: no successful scrape of hypersync/127.0.0.1:8080" in markdown
    assert "<li>scrapes: counted from each series&#x27; first scrape" in html
    assert verdict["coverage"]["settled"] is True


def _by_request(**entries: tuple[int, int]) -> dict[str, Any]:
    return {
        name: {"requests": requests, "errors": errors}
        for name, (requests, errors) in entries.items()
    }


ROUTE_ANSWER = "sum by (http_request_method, http_route) (increase"


def test_health_probes_of_the_load_run_give_availability() -> None:
    """Health checks in the load's traffic are the availability source ('probe')."""
    result = _load_result(1000, 500)
    result["by_request"] = _by_request(
        **{"GET /health/ready": (200, 1), "POST /v1/receipts": (1000, 0)}
    )
    availability = evaluate(healthy(), load_result=result).kpi("availability")
    assert availability.source == "probe"
    assert (availability.observed, availability.samples) == (0.995, 200)
    assert availability.verdict is Verdict.FAIL
    assert "GET /health/ready" in availability.query


def test_route_counts_are_reconciled_and_health_checks_left_out() -> None:
    """A route the server never counted is a finding; health checks do not skew the total."""
    result = _load_result(1050, 500)
    result["by_request"] = _by_request(
        **{
            "GET /health/ready": (50, 0),
            "POST /v1/receipts": (500, 0),
            "POST /v1/operators/{operator}/execute": (500, 1),
        }
    )
    routes = vector(({"http_request_method": "POST", "http_route": "/v1/receipts"}, 500))
    report = evaluate(healthy(**{ROUTE_ANSWER: (200, routes)}), load_result=result)
    subjects = {(f.kind, f.subject) for f in report.findings}
    assert ("request_count", "requests") not in subjects  # 1000 API requests on both sides
    assert ("route_count", "POST /v1/operators/{operator}/execute") in subjects
    assert ("route_count", "POST /v1/receipts") not in subjects


def _two_statuses() -> dict[str, Reply]:
    """Raw request counters: 200 from 10 to 1010, a 503 series created in the window (2)."""
    ok, failed = {"http_response_status_code": "200"}, {"http_response_status_code": "503"}
    t = START.timestamp()
    body = json.dumps(
        {
            "status": "success",
            "data": {
                "resultType": "matrix",
                "result": [
                    {"metric": ok, "values": [[t + 60, "500"], [t + 115, "1010"]]},
                    {"metric": failed, "values": [[t + 115, "2"]]},
                ],
            },
        }
    )
    return {
        UP: BRACKETED,
        "^" + RAW_COUNTERS + "[": (200, body),
        f"last_over_time({RAW_COUNTERS}[5m])": (200, vector((ok, 10))),
    }


def test_counts_between_the_bracketing_scrapes_state_the_uncovered_edges() -> None:
    """Raw samples from the scrape before to the one after: counted, but edges not covered."""
    error_rate = evaluate(healthy(**_two_statuses())).kpi("error_rate")
    assert error_rate.samples == 1002  # 1000 more 200s, and a 503 series counted from 0
    assert error_rate.observed == pytest.approx(2 / 1002)
    assert error_rate.detail["counting"].startswith("counter growth of the raw counter samples")
    assert "edges not covered" in error_rate.detail["counting"]
    assert error_rate.detail["edges"] == [
        "start edge: the last scrape before the window was at 2026-11-27T01:59:50.000Z, 10 s "
        "before its start; requests sent in those 10 s (by anyone) are counted in the window",
        "end edge: the first scrape after the window was at 2026-11-27T02:02:05.000Z, 5 s "
        "after its end; requests sent in those 5 s are counted in the window",
    ]


def test_counts_are_exact_when_both_edges_are_quiet() -> None:
    """Quiet since before the baseline scrape and a load window's end: the counts are exact."""
    fake = healthy(**_two_statuses())
    client = fake.client()
    coverage = read_coverage(
        client,
        'up{job="hypersync"}',
        START.timestamp(),
        END.timestamp(),
        now=END.timestamp() + 30,
        quiet_since=START.timestamp() - 10,
        quiet_after_end=True,
    )
    assert coverage.exact
    report = evaluate_window(
        client, SloConfig.default(), START, END, job="hypersync", coverage=coverage
    )
    error_rate = report.kpi("error_rate")
    assert error_rate.samples == 1002
    assert error_rate.detail["counting"] == (
        "exact growth of the raw counter samples between the scrapes bracketing the window, "
        "resets counted"
    )
    assert "edges" not in error_rate.detail


def test_no_scrape_after_the_window_makes_the_counts_no_data() -> None:
    """The target never scraped after the end: counted KPIs are no_data, saying which target."""
    report = evaluate(healthy(**{UP: scrapes(10.0, last=118.0)}))
    for name in ("latency_p95", "error_rate", "throughput_rps"):
        kpi = report.kpi(name)
        assert kpi.verdict is Verdict.NO_DATA, name
        assert kpi.reason.startswith(
            "no successful scrape of hypersync/127.0.0.1:8080 after the window's end "
            "(2026-11-27T02:02:00.000Z) yet (scrape interval 15 s)"
        )
    assert report.kpi("availability").verdict is Verdict.PASS
    assert report.coverage is not None
    assert not report.coverage.settled


def test_html_says_when_client_and_server_agree() -> None:
    """report.html, like report.md, says so when the load's figures reconcile with Prometheus."""
    report = evaluate(healthy(), load_result=_load_result(950, 500))
    report.findings = []
    page = html.render(report, plots={})
    assert "Client and server agree within tolerance." in page
    assert "Client and server agree within tolerance." in markdown.render(report)


def test_worst_subwindow_tiles_the_window_between_scrapes() -> None:
    """10 req/s then 5 req/s, scraped every 15 s: parts [0, 65 s] and [65 s, 120 s] add up."""
    series = {
        "job": "hypersync",
        "instance": "127.0.0.1:8080",
        "http_response_status_code": "200",
    }

    def requests_by(moment: float) -> float:
        moment = min(max(moment, 0.0), 120.0)
        return 10 * min(moment, 60.0) + 5 * max(0.0, moment - 60.0)

    raw = [(START.timestamp() + t, requests_by(t)) for t in range(5, 126, 15)]
    fake = healthy(
        **{
            UP: BRACKETED,
            "^" + RAW_COUNTERS + "[": (200, matrix(raw, series)),
            f"last_over_time({RAW_COUNTERS}[5m])": (200, vector((series, 0))),
        }
    )
    throughput = evaluate(fake, load_result=_load_result(900, 0)).kpi("throughput_rps")
    assert throughput.samples == 900
    assert throughput.observed == pytest.approx(7.5)
    assert throughput.detail["subwindow_rps"] == [pytest.approx(625 / 65), pytest.approx(5.0)]
    assert throughput.detail["worst_60s_rps"] == pytest.approx(5.0)
    assert throughput.detail["worst_60s_rps"] <= throughput.observed
    assert throughput.detail["worst_60s_method"].startswith("2 consecutive sub-windows")


def test_extrapolated_worst_60s_above_the_average_is_bounded_by_it() -> None:
    """rate() over sparse scrapes says 12 req/s, the window averaged 8.33: the average bounds it."""
    rate = [(START.timestamp() + i, 12.0) for i in range(60, 121, 5)]
    fake = healthy(**{"sum(rate(http_server_request_duration_seconds_count": (200, matrix(rate))})
    throughput = evaluate(fake).kpi("throughput_rps")
    assert throughput.observed == pytest.approx(1000 / 120)
    assert throughput.detail["worst_60s_rps"] == pytest.approx(1000 / 120)
    assert "above the window average" in throughput.detail["worst_60s_note"]
