"""Pure rules of the gate: health+json schema, aggregation, caching, traceresponse, Content-Type,
the ledger's exit code and table."""

from __future__ import annotations

import pytest

from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.gate.contracts import CONTRACTS, contract, violation
from hypersync_slo.gate.health import cache_problem, failing_required, schema_problems, worst
from hypersync_slo.gate.outcomes import CheckOutcome, GateLedger
from hypersync_slo.gate.runner import exit_code_for
from hypersync_slo.gate.scrape import content_type_problem
from hypersync_slo.gate.tracing import (
    is_span_id,
    is_trace_id,
    parse_traceresponse,
    raw_traceresponse_trace_id,
)

GOOD = {
    "status": "warn",
    "checks": {
        "receipt-store:responseTime": [
            {
                "componentType": "datastore",
                "status": "pass",
                "observedValue": 1.2,
                "observedUnit": "ms",
                "time": "2026-11-27T01:02:03Z",
            }
        ],
        "event-queue:depth": [
            {"status": "warn", "required": False, "time": "2026-11-27T01:02:03.5Z"}
        ],
    },
}


def test_good_body_has_no_schema_problems() -> None:
    """A draft-conformant body passes the schema."""
    assert schema_problems(GOOD, require_time=True) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([], "the body is a JSON list, not an object"),
        ({"status": "healthy"}, "top-level status is 'healthy', not one of pass/warn/fail"),
        (
            {"status": "pass", "checks": {"db": {"healthy": True}}},
            "checks['db'] is not a non-empty array",
        ),
        (
            {"status": "pass", "checks": {"db": [{"status": "ok"}]}},
            "checks['db'][0].status is 'ok'",
        ),
        (
            {"status": "pass", "checks": {"db": [{"status": "pass", "observedValue": 3}]}},
            "observedValue without observedUnit",
        ),
        (
            {"status": "pass", "checks": {"db": [{"status": "pass", "time": "yesterday"}]}},
            "is not an RFC 3339 date-time",
        ),
        ({"status": "pass", "checks": {"a:b:c": [{"status": "pass"}]}}, "check key 'a:b:c'"),
    ],
)
def test_schema_problems_name_the_defect(body: object, problem: str) -> None:
    """Each schema defect is named with where it is."""
    assert any(problem in p for p in schema_problems(body)), schema_problems(body)


def test_worst_and_failing_required() -> None:
    """fail > warn > pass; optional checks (required: false) never count as a required failure."""
    assert worst(["pass", "warn", "pass"]) == "warn"
    assert worst([]) == "pass"
    body = {"checks": {"a": [{"status": "fail"}], "b": [{"status": "fail", "required": False}]}}
    assert failing_required(body) == ["a"]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("no-store", True),
        ("no-cache, max-age=0", True),
        ("no-cache", True),
        ("public, max-age=3600", False),
        (None, False),
    ],
)
def test_cache_problem(value: str | None, ok: bool) -> None:
    """no-store (or no-cache with max-age 0) makes a probe answer uncacheable."""
    assert (cache_problem(value) is None) is ok


def test_traceresponse_parsing() -> None:
    """traceresponse parses 00-trace-span-flags; all-zero and uppercase IDs are refused."""
    parsed = parse_traceresponse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert parsed is not None
    assert parsed.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert parse_traceresponse("00-" + "0" * 32 + "-00f067aa0ba902b7-01") is None
    assert parse_traceresponse("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01") is None
    assert parse_traceresponse(None) is None
    assert is_trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
    assert not is_trace_id("0")
    assert not is_span_id("0" * 16)


def test_raw_traceresponse_trace_id_keeps_the_zero_trace() -> None:
    """The raw trace-id field is read even when all zeros, so an echoed zero trace is seen."""
    assert raw_traceresponse_trace_id("00-" + "0" * 32 + "-00f067aa0ba902b7-01") == "0" * 32
    assert raw_traceresponse_trace_id("00-4BF92F3577B34DA6A3CE929D0E0E4736-x") == (
        "4bf92f3577b34da6a3ce929d0e0e4736"
    )
    assert raw_traceresponse_trace_id("not-a-traceparent") is None
    assert raw_traceresponse_trace_id(None) is None


@pytest.mark.parametrize(
    ("content_type", "ok"),
    [
        ("text/plain; version=0.0.4; charset=utf-8", True),
        ("application/openmetrics-text; version=1.0.0; charset=utf-8", True),
        ("text/plain", True),
        ("application/json", False),
        ("application/openmetrics-text; version=2.0.0", False),
        (None, False),
    ],
)
def test_content_type_problem(content_type: str | None, ok: bool) -> None:
    """Only the Content-Types Prometheus 3 accepts pass."""
    assert (content_type_problem(content_type) is None) is ok


def test_violation_message_lines() -> None:
    """A violation names the promise with its ID, then url, expected and observed on own lines."""
    exc = violation("H-01", "late.", url="GET http://x/health/live", expected="200", observed="503")
    assert str(exc).splitlines() == [
        "H-01 broken: late.",
        "promise: /health/live answers 200 within the liveness timeout",
        "url: GET http://x/health/live",
        "expected: 200",
        "observed: 503",
    ]
    assert isinstance(exc, AssertionError)
    with pytest.raises(KeyError, match="unknown contract ID 'X-1'"):
        contract("X-1")
    assert all(c.id == key for key, c in CONTRACTS.items())


def outcome(kind: str, code: int | None = None, name: str = "t") -> CheckOutcome:
    """A ledger row."""
    return CheckOutcome(f"m::{name}", name, ("H-01",), kind, "detail", exit_code=code)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        ([("pass", None)], ExitCode.PASS),
        ([("pass", None), ("fail", None), ("error", 4)], ExitCode.FAIL),
        ([("error", 4), ("error", 4)], ExitCode.TARGET_UNREACHABLE),
        ([("error", 4), ("error", 3)], ExitCode.COULD_NOT_RUN),
        ([("error", 3), ("skip", None)], ExitCode.NO_DATA),
        ([("warn", None)], ExitCode.PASS),
        ([("skip", None), ("pass", None)], ExitCode.PASS),
        ([("skip", None), ("skip", None)], ExitCode.NO_DATA),
        ([("skip", None), ("error", 4)], ExitCode.TARGET_UNREACHABLE),
    ],
)
def test_ledger_exit_code(kinds: list[tuple[str, int | None]], expected: ExitCode) -> None:
    """Any failure is 1; errors all of one fault give that fault's code; mixed faults give 10."""
    ledger = GateLedger()
    for i, (kind, code) in enumerate(kinds):
        ledger.add(outcome(kind, code, name=f"t{i}"))
    assert ledger.exit_code() is expected


def test_ledger_keeps_the_worst_phase_and_renders_a_table() -> None:
    """A teardown pass never hides a call failure; the table has one row per check."""
    ledger = GateLedger()
    ledger.add(outcome("fail"))
    ledger.add(outcome("pass"))
    assert ledger.counts()["fail"] == 1
    table = ledger.table()
    assert table[0].split() == ["contract", "outcome", "check", "detail"]
    assert table[2].split() == ["H-01", "FAIL", "t", "detail"]


def test_pytest_exit_codes_map_to_ours() -> None:
    """pytest's codes become the tool's: usage and 'nothing selected' are 2."""
    assert exit_code_for(0, None) is ExitCode.PASS
    assert exit_code_for(0, ExitCode.PASS) is ExitCode.PASS
    assert exit_code_for(0, ExitCode.NO_DATA) is ExitCode.NO_DATA
    assert exit_code_for(1, ExitCode.TARGET_UNREACHABLE) is ExitCode.TARGET_UNREACHABLE
    assert exit_code_for(1, None) is ExitCode.FAIL
    assert exit_code_for(4, None) is ExitCode.USAGE
    assert exit_code_for(5, None) is ExitCode.USAGE
    assert exit_code_for(2, None) is ExitCode.INTERRUPTED
    assert exit_code_for(3, None) is ExitCode.COULD_NOT_RUN
