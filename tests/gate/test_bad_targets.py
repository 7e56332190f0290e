"""The gate against targets that misbehave: each is a clear error or failure naming URL,
expected and observed, never a traceback and never a hang past the timeout."""

from __future__ import annotations

import re

from tests.gate.conftest import Misbehaving, RunGate

pytest_plugins = ["pytester"]


def test_unreachable_target_is_an_error_not_a_failure(
    closed_port_url: str, run_gate: RunGate
) -> None:
    """Nothing listening: the checks error with 'cannot connect', none fails, no traceback."""
    gate = run_gate(closed_port_url, "-k", "test_ready_answers_200_or_503 or test_metrics_parses")
    outcomes = gate.outcomes()
    assert outcomes.get("errors") == 2, gate.output[-3000:]
    assert "failed" not in outcomes
    assert f"TargetUnreachable: cannot connect to {closed_port_url}/health/ready." in gate.output
    assert re.search(r"H-03\s+ERROR\s+test_ready_answers_200_or_503", gate.output)
    assert "Traceback" not in gate.output


def test_silent_target_errors_within_the_timeout(
    misbehaving: Misbehaving, run_gate: RunGate
) -> None:
    """A target that never answers: 'timed out' after --slo-timeout, the run does not hang."""
    gate = run_gate(
        misbehaving.silent, "--slo-timeout", "0.5", "-k", "test_ready_answers_200_or_503"
    )
    assert gate.outcomes().get("errors") == 1, gate.output[-3000:]
    assert "timed out" in gate.output
    assert "within 0.5 s (--slo-timeout)" in gate.output
    assert gate.seconds < 10


def test_html_health_body_fails_h09(misbehaving: Misbehaving, run_gate: RunGate) -> None:
    """A health endpoint answering HTML fails the health+json check, naming the Content-Type."""
    gate = run_gate(misbehaving.url("html"), "-k", "test_live_body_is_health_json")
    assert gate.outcomes().get("failed") == 1, gate.output[-3000:]
    assert "H-09 broken: the /health/live body is not health+json." in gate.output
    assert (
        "observed: Content-Type text/html; HTTP 200, body: '<html><body>OK</body></html>'"
        in gate.output
    )


def test_ten_megabyte_metrics_is_refused(misbehaving: Misbehaving, run_gate: RunGate) -> None:
    """A 10 MiB /metrics stops the exposition checks with the size limit in the message."""
    gate = run_gate(misbehaving.url("huge"), "-k", "test_metrics_parses_as_text_004")
    assert gate.outcomes().get("errors") == 1, gate.output[-3000:]
    assert "sent a body larger than the gate reads" in gate.output
    assert re.search(r"M-03\s+FAIL\s+test_metrics_parses_as_text_004", gate.output)


def test_binary_metrics_fails_to_parse(misbehaving: Misbehaving, run_gate: RunGate) -> None:
    """A /metrics of binary garbage fails M-03 with the parser's complaint."""
    gate = run_gate(misbehaving.url("garbage"), "-k", "test_metrics_parses_as_text_004")
    assert gate.outcomes().get("failed") == 1, gate.output[-3000:]
    assert "M-03 broken: /metrics does not parse as text 0.0.4." in gate.output
    assert "Traceback" not in gate.output


def test_not_http_is_an_error(misbehaving: Misbehaving, run_gate: RunGate) -> None:
    """A peer speaking no HTTP errors with 'did not answer valid HTTP'."""
    gate = run_gate(misbehaving.not_http, "-k", "test_ready_answers_200_or_503")
    assert gate.outcomes().get("errors") == 1, gate.output[-3000:]
    assert "the peer did not answer valid HTTP" in gate.output


def test_metrics_redirect_loop_is_an_error(misbehaving: Misbehaving, run_gate: RunGate) -> None:
    """/metrics redirecting to itself errors with 'redirects in a loop'."""
    gate = run_gate(misbehaving.url("loop"), "-k", "test_metrics_parses_as_text_004")
    assert gate.outcomes().get("errors") == 1, gate.output[-3000:]
    assert "redirects in a loop" in gate.output
    assert re.search(r"M-03\s+ERROR\s+test_metrics_parses_as_text_004", gate.output)
