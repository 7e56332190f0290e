"""W3C Trace Context and request-ID rules (docs/contracts.md §3), with the W3C test vectors.

``VALID_TRACEPARENTS`` must be continued and ``INVALID_TRACEPARENTS`` restarted (the vectors of
``w3c/trace-context`` ``test/test.py``, research checklist section 4.1). ``parse_traceresponse``
reads ``00-<trace-id>-<span-id>-<flags>``; ``raw_traceresponse_trace_id`` reads the
trace-id field even when it is all zeros (an echoed all-zero trace is still a continuation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
SPAN_ID = re.compile(r"^[0-9a-f]{16}$")
_TRACERESPONSE = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
ZERO_TRACE = "0" * 32
ZERO_SPAN = "0" * 16

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
VALID_TRACEPARENT = f"00-{TRACE}-{PARENT}-01"

#: (name, header value) of traceparents the target must ignore: a new trace, never a 4xx/5xx.
INVALID_TRACEPARENTS: tuple[tuple[str, str], ...] = (
    ("version ff", f"ff-{TRACE}-{PARENT}-01"),
    ("version 00 with trailing data", f"00-{TRACE}-{PARENT}-01-extra"),
    ("all-zero trace-id", f"00-{ZERO_TRACE}-{PARENT}-01"),
    ("all-zero parent-id", f"00-{TRACE}-{ZERO_SPAN}-01"),
    ("uppercase hex", f"00-{TRACE.upper()}-{PARENT}-01"),
    ("short trace-id", f"00-{TRACE[:-1]}-{PARENT}-01"),
    ("non-hex flags", f"00-{TRACE}-{PARENT}-0g"),
    ("three-character version", f"000-{TRACE}-{PARENT}-01"),
    ("future version without dash", f"cc-{TRACE}-{PARENT}-01.what-the-future-will-be-like"),
    ("garbage", "not-a-traceparent"),
)


@dataclass(frozen=True)
class TraceResponse:
    """A parsed ``traceresponse`` header."""

    version: str
    trace_id: str
    span_id: str
    flags: str


def parse_traceresponse(value: str | None) -> TraceResponse | None:
    """The parsed header, or None when absent or malformed (all-zero IDs are malformed)."""
    if value is None:
        return None
    match = _TRACERESPONSE.match(value.strip())
    if not match or match.group(2) == ZERO_TRACE or match.group(3) == ZERO_SPAN:
        return None
    return TraceResponse(*match.groups())


def raw_traceresponse_trace_id(value: str | None) -> str | None:
    """The trace-id field of a ``traceresponse`` as sent (lowercased), all-zero included, or
    None when the header is absent or its second field is not 32 hex digits."""
    if value is None:
        return None
    fields = value.strip().split("-")
    if len(fields) < 2 or not re.fullmatch(r"[0-9a-fA-F]{32}", fields[1]):
        return None
    return fields[1].lower()


def is_trace_id(value: object) -> bool:
    """A real trace-id: 32 lowercase hex, not all zeros."""
    return isinstance(value, str) and bool(TRACE_ID.match(value)) and value != ZERO_TRACE


def is_span_id(value: object) -> bool:
    """A real span-id: 16 lowercase hex, not all zeros."""
    return isinstance(value, str) and bool(SPAN_ID.match(value)) and value != ZERO_SPAN


#: Request IDs the target must echo unchanged (printable, bounded).
SAFE_REQUEST_IDS = ("hypersync-slo-gate-7f3a9c", "0f8fad5b-d9cb-469f-a165-70867728950e")
#: (name, value) of request IDs the target must replace, never echo.
UNSAFE_REQUEST_IDS: tuple[tuple[str, bytes], ...] = (
    ("longer than 200 characters", b"a" * 201),
    ("tab character", b"gate\tprobe"),
    ("non-ASCII bytes", "gate-prüfung".encode()),
)
