"""The gate's own proof: the clean reference service passes every check, and each contract
break or fault makes the check named for the broken promise fail with a message that says so."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from hypersync_slo.stack import ReferenceService
from tests.gate.conftest import Faults, RunGate

pytest_plugins = ["pytester"]


@dataclass(frozen=True)
class Proof:
    """One injected break or fault, the check that must fail and what its message must say."""

    state: dict[str, Any]
    select: str
    failing: str
    message: tuple[str, ...]
    args: tuple[str, ...] = field(default=())


def breaks(name: str) -> dict[str, Any]:
    """The admin state with one contract break."""
    return {"breaks": [name]}


PROOFS: dict[str, Proof] = {
    "live-checks-dependencies": Proof(
        breaks("live-checks-dependencies"),
        "test_live_ignores_dependency_outage",
        "test_live_ignores_dependency_outage",
        ("H-02 broken", "liveness consults it", "receipt-store taken down", "probe 1: HTTP 503"),
        ("--slo-fault-admin",),
    ),
    "ready-ignores-dependencies": Proof(
        breaks("ready-ignores-dependencies"),
        "test_ready_fails_while_a_required_dependency_fails",
        "test_ready_fails_while_a_required_dependency_fails",
        ("H-13 broken", "still accepts traffic while a required dependency fails", "HTTP 200"),
        ("--slo-fault-admin",),
    ),
    "ready-500": Proof(
        breaks("ready-500"),
        "test_ready_answers_200_or_503",
        "test_ready_answers_200_or_503",
        ("H-03 broken", "/health/ready answered 500", "expected: HTTP 200 (ready) or 503"),
    ),
    "health-redirect": Proof(
        breaks("health-redirect"),
        "test_health_path_does_not_redirect",
        "test_health_path_does_not_redirect[/health/live]",
        ("H-04 broken", "/health/live redirects", "HTTP 302, Location: /login?next=/health/live"),
    ),
    "health-plain-text": Proof(
        breaks("health-plain-text"),
        "test_live_body_is_health_json",
        "test_live_body_is_health_json",
        (
            "H-09 broken",
            "the /health/live body is not health+json",
            "Content-Type text/plain; charset=utf-8",
        ),
    ),
    "dependencies-bad-schema": Proof(
        breaks("dependencies-bad-schema"),
        "test_dependencies_body_follows_schema",
        "test_dependencies_body_follows_schema",
        ("H-10 broken", "breaks the health+json schema", "top-level status is 'healthy'"),
    ),
    "dependencies-wrong-aggregate": Proof(
        breaks("dependencies-wrong-aggregate"),
        "test_dependencies_status_is_worst_check",
        "test_dependencies_status_is_worst_check",
        ("H-12 broken", "not the worst of the checks", "observed: status 'fail'"),
    ),
    "head-405": Proof(
        breaks("head-405"),
        "test_head_answers_like_get",
        "test_head_answers_like_get[/metrics]",
        ("H-07 broken", "HEAD /metrics is not answered like GET", "HTTP 405 (GET: 200)"),
    ),
    "query-param-500": Proof(
        breaks("query-param-500"),
        "test_unknown_query_parameters_change_nothing",
        "test_unknown_query_parameters_change_nothing[/health/live]",
        ("H-17 broken", "query parameters {", "HTTP 500"),
    ),
    "metrics-no-content-type": Proof(
        breaks("metrics-no-content-type"),
        "test_metrics_content_type_names_format",
        "test_metrics_content_type_names_format[text-0.0.4]",
        ("M-01 broken", "does not name its format", "observed: no Content-Type header"),
    ),
    "metrics-duplicate-series": Proof(
        breaks("metrics-duplicate-series"),
        "test_metrics_has_no_duplicate_series",
        "test_metrics_has_no_duplicate_series[text-0.0.4]",
        ("M-04 broken", "repeats 1 series", "hypersync_receipts_generated_total"),
    ),
    "metrics-missing-family": Proof(
        breaks("metrics-missing-family"),
        "test_required_family_present",
        "test_required_family_present[queue_depth]",
        ("M-07 broken", "the required family hypersync_queue_depth is missing"),
    ),
    "metrics-bad-buckets": Proof(
        breaks("metrics-bad-buckets"),
        "test_latency_buckets_include_slo_thresholds",
        "test_latency_buckets_include_slo_thresholds",
        ("O-02 broken", "not histogram buckets", "missing 0.1, 0.5, 1, 5 s"),
    ),
    "metrics-counter-no-total": Proof(
        breaks("metrics-counter-no-total"),
        "test_metric_names_follow_promtool_rules",
        "test_metric_names_follow_promtool_rules",
        (
            "M-05 broken",
            'counter metrics should have "_total" suffix',
            "hypersync_receipts_generated",
        ),
    ),
    "metrics-ignore-accept": Proof(
        breaks("metrics-ignore-accept"),
        "test_metrics_answers_openmetrics_when_asked",
        "test_metrics_answers_openmetrics_when_asked[prometheus3-default]",
        ("M-02 broken", "ignores an Accept header", "observed: Content-Type: text/plain"),
    ),
    "route-label-raw-path": Proof(
        breaks("route-label-raw-path"),
        "test_route_label_is_a_template",
        "test_route_label_is_a_template",
        (
            "O-03 broken",
            "http_route of http_server_request_duration_seconds is the raw path",
            "12 new http_route values, 12 holding a requested ID: /v1/receipts/",
        ),
    ),
    "metrics-counter-decrease": Proof(
        breaks("metrics-counter-decrease"),
        "test_counters_never_decrease",
        "test_counters_never_decrease",
        ("M-10 broken", "decreased between consecutive scrapes", "hypersync_"),
    ),
    "business-counters-frozen": Proof(
        breaks("business-counters-frozen"),
        "test_business_counters_count_business_calls",
        "test_business_counters_count_business_calls",
        (
            "B-01 broken",
            "did not count the business calls",
            "POST /v1/operators/{operator}/execute",
        ),
    ),
    "no-traceresponse": Proof(
        breaks("no-traceresponse"),
        "test_valid_traceparent_is_continued",
        "test_valid_traceparent_is_continued",
        ("T-01 broken", "no usable traceresponse header", "traceresponse: (absent)"),
    ),
    "traceresponse-new-trace": Proof(
        breaks("traceresponse-new-trace"),
        "test_valid_traceparent_is_continued",
        "test_valid_traceparent_is_continued",
        ("T-01 broken", "the incoming trace was not continued", "trace-id 4bf92f35"),
    ),
    "bad-traceparent-400": Proof(
        breaks("bad-traceparent-400"),
        "test_invalid_traceparent_starts_a_new_trace",
        "test_invalid_traceparent_starts_a_new_trace[version-ff]",
        ("T-02 broken", "made the request fail", "HTTP 400"),
    ),
    "request-id-not-echoed": Proof(
        breaks("request-id-not-echoed"),
        "test_safe_request_id_is_echoed",
        "test_safe_request_id_is_echoed[hypersync-slo-gate-7f3a9c]",
        (
            "C-01 broken",
            "a safe X-Request-ID was not echoed",
            "expected: X-Request-ID: hypersync-slo-gate-7f3a9c",
        ),
    ),
    "request-id-unsafe-echo": Proof(
        breaks("request-id-unsafe-echo"),
        "test_unsafe_request_id_is_replaced",
        "test_unsafe_request_id_is_replaced[longer-than-200-characters]",
        (
            "C-03 broken",
            "an unsafe X-Request-ID was echoed",
        ),
    ),
    # operational faults
    "fault-live-fail": Proof(
        {"live": "fail"},
        "test_live_answers_200_within_timeout",
        "test_live_answers_200_within_timeout",
        ("H-01 broken", "did not answer 200 in time", "HTTP 503"),
    ),
    "fault-live-slow": Proof(
        {"live": {"slow": 2.0}},
        "test_live_answers_200_within_timeout",
        "test_live_answers_200_within_timeout",
        ("H-01 broken", "expected: HTTP 200 within 1 s", "observed: no answer within 1 s"),
    ),
    "fault-ready-stuck": Proof(
        {"ready_stuck": True},
        "test_ready_within_timeout",
        "test_ready_within_timeout",
        ("H-05 broken", "did not become ready", "not initialized"),
    ),
    "fault-dependency-down": Proof(
        {"dependencies_down": ["receipt-store"]},
        "test_ready_within_timeout",
        "test_ready_within_timeout",
        ("H-05 broken", "did not become ready", "receipt-store"),
    ),
    "fault-error-ratio": Proof(
        {"error_ratio": 1.0},
        "test_business_counters_count_business_calls",
        "test_business_counters_count_business_calls",
        ("B-01 broken", "answered 500, expected 200"),
    ),
}


def assert_fails(gate: Any, failing: str, message: tuple[str, ...]) -> None:
    """The named check failed (not errored) and the output carries each message fragment."""
    output = gate.output
    pattern = rf"FAILED \S*::{re.escape(failing)}( |$)"
    assert re.search(pattern, output, re.MULTILINE), f"{failing} did not fail:\n{output[-3000:]}"
    row = rf"^\S+\s+FAIL\s+{re.escape(failing)}\s+\S+ broken"
    assert re.search(row, output, re.MULTILINE), f"no FAIL row for {failing}:\n{output[-3000:]}"
    for fragment in message:
        assert fragment in output, f"{fragment!r} not in the output:\n{output[-3000:]}"
    assert "Traceback" not in output


def test_clean_reference_service_passes_everything(
    gate_service: ReferenceService, faults: Faults, run_gate: RunGate
) -> None:
    """The whole gate, fault proofs and log checks included, passes on the clean service."""
    gate = run_gate(
        gate_service.url,
        "--slo-fault-admin",
        "--slo-log-file",
        str(gate_service.log_path),
        "-m",
        "not kpi",
    )
    outcomes = gate.outcomes()
    assert outcomes.get("failed", 0) == 0, gate.output[-4000:]
    assert outcomes.get("errors", 0) == 0, gate.output[-4000:]
    assert outcomes.get("skipped", 0) == 0, gate.output[-4000:]
    assert outcomes["passed"] >= 80
    assert "hypersync-slo contract summary" in gate.output
    assert re.search(r"H-01\s+PASS\s+test_live_answers_200_within_timeout", gate.output)
    for contract_id in ("H-15", "H-16", "M-09", "O-03"):
        assert re.search(rf"^{contract_id}\s+PASS\s", gate.output, re.MULTILINE), contract_id
        assert not re.search(rf"^{contract_id}\s+WARN\s", gate.output, re.MULTILINE), contract_id


@pytest.mark.parametrize("name", list(PROOFS))
def test_break_fails_the_check_of_its_promise(
    gate_service: ReferenceService, faults: Faults, run_gate: RunGate, name: str
) -> None:
    """With one break or fault injected, the check named for that promise fails and says why."""
    proof = PROOFS[name]
    faults(**proof.state)
    gate = run_gate(gate_service.url, "-k", proof.select, *proof.args)
    assert_fails(gate, proof.failing, proof.message)


def test_log_zero_ids_fails_the_log_check(
    gate_service: ReferenceService, faults: Faults, run_gate: RunGate
) -> None:
    """With log-zero-ids, the log-correlation check fails naming the placeholder trace_id."""
    faults(breaks=["log-zero-ids"])
    gate = run_gate(
        gate_service.url,
        "-k",
        "test_log_line_carries_request_ids",
        "--slo-log-file",
        str(gate_service.log_path),
    )
    assert_fails(
        gate,
        "test_log_line_carries_request_ids",
        ("L-02 broken", "wrong trace IDs", "trace_id '0'", "span_id '0' is not 16 lowercase hex"),
    )


def test_missing_cache_control_is_a_warning_not_a_failure(
    gate_service: ReferenceService, faults: Faults, run_gate: RunGate
) -> None:
    """Without Cache-Control the H-08 checks pass, and the summary shows WARN with the reason."""
    faults(breaks=["no-cache-control"])
    gate = run_gate(gate_service.url, "-k", "is_not_cacheable")
    assert gate.outcomes() == {"passed": 2, "deselected": gate.outcomes()["deselected"]}
    assert re.search(r"H-08\s+WARN\s+test_live_is_not_cacheable", gate.output)
    assert "H-08 /health/live is cacheable: no Cache-Control header" in gate.output
    assert "expected: Cache-Control: no-store" in gate.output


def test_observed_outage_is_judged_without_the_fault_switch(
    gate_service: ReferenceService, faults: Faults, run_gate: RunGate
) -> None:
    """With a dependency really down, H-02 and H-13 are judged from what the target reports."""
    faults(dependencies_down=["policy-engine"])
    gate = run_gate(
        gate_service.url,
        "-k",
        "ignores_dependency_outage or required_dependency_fails",
    )
    assert gate.outcomes()["passed"] == 2, gate.output[-3000:]


def test_leaked_details_are_a_warning_naming_them_redacted(
    gate_service: ReferenceService, faults: Faults, run_gate: RunGate
) -> None:
    """health-leaks-details: H-15 rows WARN, naming DSN, secret, traceback and address, redacted."""
    faults(breaks=["health-leaks-details"])
    gate = run_gate(gate_service.url, "-k", "test_health_body_discloses_nothing")
    assert gate.outcomes().get("passed") == 3, gate.output[-3000:]
    assert re.search(
        r"H-15\s+PASS\s+test_health_body_discloses_nothing\[/health/live\]", gate.output
    )
    assert re.search(
        r"H-15\s+WARN\s+test_health_body_discloses_nothing\[/health/ready\]", gate.output
    )
    for fragment in (
        "H-15 /health/dependencies discloses internals to anyone who asks: 4 finding(s)",
        "credentials in a URL (postgresql://hypersync:***@)",
        "a secret value (password=***)",
        "python traceback (Traceback (most recent call last))",
        "a private network address (10.20.30.40)",
        "['output']",
    ):
        assert fragment in gate.output, f"{fragment!r} not in:\n{gate.output[-3000:]}"
    assert "Hs-s3cret-pw" not in gate.output  # the gate never repeats the secret it found


def test_probe_fan_out_is_a_warning_with_the_probe_count(
    gate_service: ReferenceService, faults: Faults, run_gate: RunGate
) -> None:
    """probe-fan-out: 20 concurrent ready calls cost 20 probes each; the H-16 row WARNs."""
    faults(breaks=["probe-fan-out"])
    gate = run_gate(gate_service.url, "-k", "test_concurrent_ready_calls_share_dependency_probes")
    assert gate.outcomes().get("passed") == 1, gate.output[-3000:]
    assert re.search(
        r"H-16\s+WARN\s+test_concurrent_ready_calls_share_dependency_probes", gate.output
    )
    assert "H-16 20 concurrent readiness calls cost 20 dependency probes" in gate.output
    assert "receipt-store +20" in gate.output
    assert "expected: at most 5 probes of each dependency" in gate.output


def test_raw_route_label_is_also_a_cardinality_warning(
    gate_service: ReferenceService, faults: Faults, run_gate: RunGate
) -> None:
    """route-label-raw-path: M-09 WARNs about ID-like route values; a tiny budget warns too."""
    faults(breaks=["route-label-raw-path"])
    gate = run_gate(
        gate_service.url, "-k", "test_series_within_budget", "--slo-series-budget", "50"
    )
    assert gate.outcomes().get("passed") == 1, gate.output[-3000:]
    assert re.search(r"M-09\s+WARN\s+test_series_within_budget", gate.output)
    assert re.search(
        r"series, over the budget of 50; largest: http_server_request_duration_seconds", gate.output
    )
    assert re.search(
        r"http_server_request_duration_seconds\{http_route\} has \d+ ID-like values, "
        r"e\.g\. '/v1/receipts/[0-9a-f-]{36}'",
        gate.output,
    )
