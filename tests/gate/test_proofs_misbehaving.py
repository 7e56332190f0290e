"""Proofs for promises the reference service has no break for: a loopback server that breaks
exactly that promise makes the check named for it fail (or warn, for SHOULD promises)."""

from __future__ import annotations

import re

import pytest

from tests.gate.conftest import Misbehaving, RunGate
from tests.gate.test_proofs import assert_fails

pytest_plugins = ["pytester"]

PROOFS = {
    "H-11": (
        "mismatch",
        "test_ready_status_code_matches_body",
        (
            "H-11 broken",
            "status disagrees with its body",
            "expected: HTTP 503 for body status 'fail'",
        ),
    ),
    "H-14": (
        "notime",
        "test_dependency_checks_carry_time",
        ("H-14 broken", "dependency checks without a time", "no 'time' in db:responseTime[0]"),
    ),
    "H-19": (
        "flaky",
        "test_concurrent_probes_get_the_same_answer[/health/live]",
        ("H-19 broken", "concurrent probes of /health/live got different answers", "HTTP 503"),
    ),
    "C-02": (
        "fixedid",
        "test_request_id_is_generated_when_absent",
        ("C-02 broken", "no fresh X-Request-ID", "always-the-same, then always-the-same"),
    ),
    "M-01": (
        "omalways",
        "test_metrics_content_type_names_format[text-0.0.4]",
        (
            "M-01 broken",
            "media type its Accept header did not ask for",
            "Accept: text/plain;version=0.0.4",
            "expected: Content-Type: text/plain",
            "observed: Content-Type: application/openmetrics-text; version=1.0.0",
        ),
    ),
    "T-02": (
        "echotrace",
        "test_invalid_traceparent_starts_a_new_trace[all-zero-trace-id]",
        (
            "T-02 broken",
            "continued instead of restarted",
            "observed: traceresponse: 00-00000000000000000000000000000000-1111111111111111-01",
        ),
    ),
    "M-06": (
        "badhist",
        "test_histograms_are_whole",
        ("M-06 broken", "a histogram is broken", "histogram-no-inf"),
    ),
}


@pytest.mark.parametrize("contract", list(PROOFS))
def test_misbehaviour_fails_the_check_of_its_promise(
    misbehaving: Misbehaving, run_gate: RunGate, contract: str
) -> None:
    """A server breaking just this promise makes its check fail with the promise's message."""
    mode, failing, message = PROOFS[contract]
    gate = run_gate(misbehaving.url(mode), "-k", failing.split("[")[0])
    assert_fails(gate, failing, message)


def test_log_line_without_fields_fails_l01(misbehaving: Misbehaving, run_gate: RunGate) -> None:
    """A log line with only the request ID fails L-01 naming the missing fields."""
    gate = run_gate(
        misbehaving.url("badlog"),
        "-k",
        "test_log_lines_have_required_fields",
        "--slo-log-file",
        str(misbehaving.log_path),
    )
    assert_fails(
        gate,
        "test_log_lines_have_required_fields",
        ("L-01 broken", "lacks required fields", "missing level, span_id, timestamp, trace_id"),
    )


def test_promtool_problems_are_a_warning(misbehaving: Misbehaving, run_gate: RunGate) -> None:
    """A family without HELP: promtool's complaint is a WARN row (SHOULD), not a failure."""
    gate = run_gate(misbehaving.url("nohelp"), "-k", "test_promtool_check_metrics_agrees")
    assert gate.outcomes().get("passed") == 1, gate.output[-3000:]
    assert re.search(r"M-08\s+WARN\s+test_promtool_check_metrics_agrees", gate.output)
    assert "M-08 promtool check metrics found 1 problem(s)" in gate.output
    assert "no help text" in gate.output
    assert "also found by our linter: 1; missed by our linter: none" in gate.output
