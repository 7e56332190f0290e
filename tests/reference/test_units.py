"""Pure parts of the reference service: fault parsing, traceparent grammar, request IDs, negotiation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from opentelemetry.trace import SpanContext, TraceFlags

from hypersync_slo.reference.faults import BREAKS, FaultError, FaultState, LatencyFault, StallFault
from hypersync_slo.reference.metrics import (
    FINE_BUCKETS,
    OTEL_BUCKETS,
    buckets_with,
    wants_openmetrics,
)
from hypersync_slo.reference.requestids import choose, is_safe
from hypersync_slo.reference.routes import match
from hypersync_slo.reference.tracing import parse_traceparent, traceresponse

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_flags_parse_into_fault_state() -> None:
    """The command-line forms P:SECONDS, slow:SECONDS and PERIOD:DURATION parse into the state."""
    state = FaultState.from_flags(
        latency=["0.02:0.6", "0.5:0.01"],
        error_ratio=0.01,
        dependencies_down=["receipt-store"],
        live="slow:2",
        ready_stuck=True,
        stall="5:1",
        span_drop=0.25,
        breaks=["ready-500"],
    )
    assert state.latency == (LatencyFault(0.02, 0.6), LatencyFault(0.5, 0.01))
    assert state.live == 2.0
    assert state.stall == StallFault(5.0, 1.0)
    assert state.to_json()["live"] == {"slow": 2.0}
    assert state.span_drop == 0.25
    assert FaultState.from_json(state.to_json()) == state


def test_default_state_is_healthy() -> None:
    """No flags and an empty admin body both mean: nothing injected."""
    assert not FaultState().active
    assert FaultState.from_json({}) == FaultState()
    assert FaultState.from_json({}).to_json() == {
        "latency": [],
        "error_ratio": 0.0,
        "dependencies_down": [],
        "live": "ok",
        "ready_stuck": False,
        "stall": None,
        "span_drop": 0.0,
        "breaks": [],
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"breaks": ["no-such-break"]}, "unknown break 'no-such-break'"),
        ({"dependencies_down": ["redis"]}, "unknown dependency 'redis'"),
        ({"error_ratio": 1.5}, "error_ratio: expected a number in [0, 1]"),
        ({"span_drop": -0.1}, "span_drop: expected a number in [0, 1]"),
        ({"live": "sometimes"}, "live: expected"),
        ({"stall": {"period": 1, "duration": 2}}, "must be shorter than the period"),
        ({"latency": [{"ratio": 0.1}]}, "latency[0]"),
        ({"colour": "red"}, "unknown key(s) colour"),
        ([], "must be a JSON object"),
    ],
)
def test_bad_fault_state_is_refused_with_a_reason(data: object, message: str) -> None:
    """A nonsensical admin body raises FaultError naming the field."""
    with pytest.raises(FaultError) as caught:
        FaultState.from_json(data)
    assert message in str(caught.value)


def test_bad_flag_forms_are_refused() -> None:
    """Malformed --fault-* values are refused with the expected form in the message."""
    with pytest.raises(FaultError, match="expected P:SECONDS"):
        FaultState.from_flags(latency=["0.5"])
    with pytest.raises(FaultError, match="'fail' or 'slow:SECONDS'"):
        FaultState.from_flags(live="slow")


def test_every_break_is_documented() -> None:
    """The 24 breaks of the brief, the gate's 3 later ones and the log source's one, each with a
    sentence and a row of the break table in docs/reference-service.md."""
    assert len(BREAKS) == 28
    assert all(len(text) > 20 for text in BREAKS.values())
    docs = (Path(__file__).parents[2] / "docs" / "reference-service.md").read_text("utf-8")
    assert [name for name in BREAKS if f"| `{name}` |" not in docs] == []


def test_valid_traceparent_parses() -> None:
    """A well-formed version-00 header gives its trace-id, parent-id and flags."""
    parsed = parse_traceparent(VALID)
    assert parsed is not None
    assert f"{parsed.trace_id:032x}" == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert f"{parsed.span_id:016x}" == "00f067aa0ba902b7"
    assert parsed.flags == 1


@pytest.mark.parametrize(
    "header",
    [
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # 00 has exactly 4 fields
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff is invalid
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace-id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero parent-id
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # uppercase hex
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  # short trace-id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",  # bad flags
        "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # short version
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",  # wrong separators
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  # future version, bad suffix
    ],
)
def test_invalid_traceparent_is_rejected(header: str) -> None:
    """Every W3C invalid vector parses to None (the service then starts a new trace)."""
    assert parse_traceparent(header) is None


def test_future_version_with_suffix_is_continued() -> None:
    """A higher version with extra '-' fields is read by its first four fields (W3C)."""
    parsed = parse_traceparent(
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future"
    )
    assert parsed is not None
    assert parsed.flags == 1


def test_traceresponse_format() -> None:
    """traceresponse is 00-<32 hex>-<16 hex>-<2 hex>."""
    ctx = SpanContext(trace_id=0xABC, span_id=0xDEF, is_remote=False, trace_flags=TraceFlags(1))
    assert traceresponse(ctx) == f"00-{0xABC:032x}-{0xDEF:016x}-01"


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [
        (b"abc-123", True),
        (b"x" * 128, True),
        (b"x" * 129, False),
        (b"has space", False),
        (b"tab\there", False),
        (b"\xc3\xa9t\xc3\xa9", False),
        (b"", False),
        (None, False),
    ],
)
def test_request_id_echoed_only_when_safe(sent: bytes | None, echoed: bool) -> None:
    """Safe IDs (1-128 printable ASCII, no spaces) are echoed; others replaced by 32 hex."""
    request_id, own = choose(sent)
    assert own is echoed
    if echoed:
        assert sent is not None
        assert request_id == sent.decode()
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert is_safe(request_id.encode())


def test_buckets_include_thresholds() -> None:
    """The OTel advisory buckets plus SLO thresholds, ascending and without duplicates."""
    assert {0.1, 0.5, 1.0, 5.0} <= set(OTEL_BUCKETS)
    assert buckets_with([0.3, 0.1, 20.0]) == tuple(
        sorted({*FINE_BUCKETS, *OTEL_BUCKETS, 0.3, 20.0})
    )


@pytest.mark.parametrize(
    ("accept", "openmetrics"),
    [
        (None, False),
        ("*/*", False),
        ("text/plain;version=0.0.4", False),
        ("application/openmetrics-text;version=1.0.0", True),
        (
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
            "text/plain;version=1.0.0;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
            True,
        ),
        ("application/openmetrics-text;q=0", False),
    ],
)
def test_accept_negotiation(accept: str | None, openmetrics: bool) -> None:
    """OpenMetrics only when Accept asks for it with q > 0 (Prometheus 3's header does)."""
    assert wants_openmetrics(accept) is openmetrics


def test_routes_are_templates() -> None:
    """Paths map to route templates; admin only when enabled; a trailing slash is unknown."""
    route = match("/v1/operators/transform/execute", admin=False)
    assert route is not None
    assert route.template == "/v1/operators/{operator}/execute"
    assert route.params == ["transform"]
    assert match("/admin/faults", admin=False) is None
    assert match("/admin/faults", admin=True) is not None
    assert match("/health/live/", admin=False) is None
    assert match("/v1/receipts/", admin=False) is None
