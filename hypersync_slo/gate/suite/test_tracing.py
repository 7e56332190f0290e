"""docs/contracts.md §3: W3C trace context is continued or restarted, never refused; X-Request-ID
is echoed when safe, generated when absent, replaced when unsafe; the request's log line carries
its real IDs."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hypersync_slo.config import SloConfig
from hypersync_slo.gate.business import probe_request
from hypersync_slo.gate.client import Answer, TargetClient
from hypersync_slo.gate.contracts import violation
from hypersync_slo.gate.fixtures import Evidence
from hypersync_slo.gate.tracing import (
    INVALID_TRACEPARENTS,
    PARENT,
    SAFE_REQUEST_IDS,
    TRACE,
    UNSAFE_REQUEST_IDS,
    VALID_TRACEPARENT,
    is_span_id,
    is_trace_id,
    parse_traceresponse,
    raw_traceresponse_trace_id,
)
from hypersync_slo.traffic import PlannedRequest

LOG_WAIT = 3.0
LOG_FIELDS = ("timestamp", "level", "message", "trace_id", "span_id", "request_id")


@dataclass(frozen=True)
class TracedProbe:
    """The declared request the tracing and request-ID checks send (``traffic.probe``)."""

    target: TargetClient
    planned: PlannedRequest

    def get(self, headers: list[tuple[str, str | bytes]]) -> Answer:
        """Send the probe request with ``headers`` added."""
        merged: Any = [*self.planned.headers.items(), *headers]  # str and bytes values
        return self.target.request(
            self.planned.method, self.planned.path, content=self.planned.body, headers=merged
        )

    @property
    def describe(self) -> str:
        """``GET http://host/v1/agents`` (method and absolute URL)."""
        return f"{self.planned.method} {self.target.url(self.planned.path)}"


@pytest.fixture(scope="module")
def traced(target: TargetClient, slo_config: SloConfig) -> TracedProbe:
    """The declared probe request (an API call: traced like every API call) on the target."""
    return TracedProbe(target, probe_request(slo_config))


@pytest.mark.slo(contract="T-01")
def test_valid_traceparent_is_continued(traced: TracedProbe, evidence: Evidence) -> None:
    """A valid traceparent comes back in traceresponse with the same trace-id and a new span-id."""
    answer = traced.get([("traceparent", VALID_TRACEPARENT)])
    header = answer.headers.get("traceresponse")
    parsed = parse_traceresponse(header)
    url = f"{answer.method} {answer.url} (traceparent: {VALID_TRACEPARENT})"
    if answer.status_code >= 400:
        raise violation(
            "T-01",
            "a request with a valid traceparent failed.",
            url=url,
            expected="HTTP 2xx",
            observed=answer.describe(),
        )
    if parsed is None:
        raise violation(
            "T-01",
            "no usable traceresponse header.",
            url=url,
            expected=f"traceresponse: 00-{TRACE}-<server span-id>-<flags>",
            observed=f"traceresponse: {header or '(absent)'}",
        )
    if parsed.trace_id != TRACE or parsed.span_id == PARENT:
        raise violation(
            "T-01",
            "the incoming trace was not continued.",
            url=url,
            expected=f"trace-id {TRACE} and a server span-id other than the caller's {PARENT}",
            observed=f"traceresponse: {header}",
        )
    evidence.figure("server_span_id", parsed.span_id)


@pytest.mark.slo(contract="T-02")
@pytest.mark.parametrize(
    "value",
    [v for _, v in INVALID_TRACEPARENTS],
    ids=[n.replace(" ", "-") for n, _ in INVALID_TRACEPARENTS],
)
def test_invalid_traceparent_starts_a_new_trace(traced: TracedProbe, value: str) -> None:
    """An invalid traceparent (W3C vectors) is ignored: the request succeeds in a new trace."""
    answer = traced.get([("traceparent", value), ("tracestate", "gate=1")])
    url = f"{answer.method} {answer.url} (traceparent: {value})"
    if answer.status_code >= 400:
        raise violation(
            "T-02",
            "an invalid traceparent made the request fail.",
            url=url,
            expected="HTTP 2xx in a new trace (W3C: ignore the header, never refuse the request)",
            observed=f"{answer.describe()}: {answer.excerpt()!r}",
        )
    header = answer.headers.get("traceresponse")
    parsed = parse_traceresponse(header)
    # parse_traceresponse refuses an all-zero trace-id, so an echoed zero trace is only seen raw.
    raw_trace_id = raw_traceresponse_trace_id(header)
    sent = raw_trace_id is not None and (raw_trace_id == TRACE or raw_trace_id in value.lower())
    if sent or (parsed is not None and (parsed.trace_id == TRACE or parsed.trace_id in value)):
        raise violation(
            "T-02",
            "an invalid traceparent was continued instead of restarted.",
            url=url,
            expected="traceresponse with a new, random trace-id",
            observed=f"traceresponse: {header}",
        )


@pytest.mark.slo(contract="C-01")
@pytest.mark.parametrize("request_id", SAFE_REQUEST_IDS)
def test_safe_request_id_is_echoed(traced: TracedProbe, request_id: str) -> None:
    """A safe X-Request-ID comes back unchanged."""
    answer = traced.get([("X-Request-ID", request_id)])
    echoed = answer.headers.get("x-request-id")
    if echoed != request_id:
        raise violation(
            "C-01",
            "a safe X-Request-ID was not echoed.",
            url=f"{answer.method} {answer.url} (X-Request-ID: {request_id})",
            expected=f"X-Request-ID: {request_id}",
            observed=f"X-Request-ID: {echoed or '(absent)'}",
        )


@pytest.mark.slo(contract="C-02")
def test_request_id_is_generated_when_absent(traced: TracedProbe) -> None:
    """Without X-Request-ID the target generates one, different for each request."""
    ids = [traced.get([]).headers.get("x-request-id") for _ in range(2)]
    if not all(ids) or ids[0] == ids[1]:
        raise violation(
            "C-02",
            "no fresh X-Request-ID was generated.",
            url=f"{traced.describe} twice, without X-Request-ID",
            expected="an X-Request-ID on each answer, different each time",
            observed=f"X-Request-ID: {ids[0] or '(absent)'}, then {ids[1] or '(absent)'}",
        )


@pytest.mark.slo(contract="C-03")
@pytest.mark.parametrize(
    "value",
    [v for _, v in UNSAFE_REQUEST_IDS],
    ids=[n.replace(" ", "-") for n, _ in UNSAFE_REQUEST_IDS],
)
def test_unsafe_request_id_is_replaced(traced: TracedProbe, value: bytes) -> None:
    """An unsafe X-Request-ID (too long, tab, non-ASCII) is replaced, never echoed."""
    answer = traced.get([("X-Request-ID", value)])
    sent_back = [v for k, v in answer.headers.raw if k.lower() == b"x-request-id"]
    if value in sent_back or not sent_back:
        raise violation(
            "C-03",
            "an unsafe X-Request-ID was echoed (header and log injection risk)."
            if value in sent_back
            else "no X-Request-ID in place of an unsafe one.",
            url=f"{answer.method} {answer.url} (X-Request-ID: {value[:40]!r}{'…' if len(value) > 40 else ''})",
            expected="a generated X-Request-ID, not the unsafe value",
            observed=f"X-Request-ID: {sent_back[0][:60]!r}" if sent_back else "X-Request-ID absent",
        )


def _log_lines(path: Path, offset: int) -> list[dict[str, Any]]:
    with path.open("rb") as handle:
        handle.seek(offset)
        data = handle.read()
    records = []
    for line in data.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


@pytest.mark.slo(contract="L-02")
def test_log_line_carries_request_ids(traced: TracedProbe, target_log: Path) -> None:
    """The log line of a request has its real trace-id, span-id and request ID, never '0'."""
    trace_id = os.urandom(16).hex()
    request_id = f"hypersync-slo-gate-{os.urandom(6).hex()}"
    offset = target_log.stat().st_size
    answer = traced.get(
        [("traceparent", f"00-{trace_id}-{os.urandom(8).hex()}-01"), ("X-Request-ID", request_id)],
    )
    deadline = time.monotonic() + LOG_WAIT
    mine: list[dict[str, Any]] = []
    while not mine and time.monotonic() < deadline:
        mine = [r for r in _log_lines(target_log, offset) if r.get("request_id") == request_id]
        if not mine:
            time.sleep(0.05)
    url = f"{answer.method} {answer.url} (X-Request-ID: {request_id}, trace-id {trace_id})"
    if not mine:
        raise violation(
            "L-02",
            "no log line carries the request's ID.",
            url=url,
            expected=f'a JSON line in {target_log} with "request_id": "{request_id}" within {LOG_WAIT:g} s',
            observed="no such line (is --slo-log-file the target's log?)",
        )
    for record in mine:
        bad = []
        if record.get("trace_id") != trace_id:
            bad.append(f"trace_id {record.get('trace_id')!r}")
        if not is_trace_id(record.get("trace_id")):
            bad.append("trace_id is not 32 lowercase hex")
        if not is_span_id(record.get("span_id")):
            bad.append(f"span_id {record.get('span_id')!r} is not 16 lowercase hex, non-zero")
        if bad:
            raise violation(
                "L-02",
                "the request's log line carries wrong trace IDs.",
                url=url,
                expected=f'"trace_id": "{trace_id}", "span_id": <16 hex, not "0">',
                observed="; ".join(bad) + f" in {json.dumps(record)[:300]}",
                log=str(target_log),
            )


@pytest.mark.slo(contract="L-01")
def test_log_lines_have_required_fields(traced: TracedProbe, target_log: Path) -> None:
    """Each log line of a request is a JSON object with timestamp, level, message and the IDs."""
    request_id = f"hypersync-slo-gate-{os.urandom(6).hex()}"
    offset = target_log.stat().st_size
    traced.get([("X-Request-ID", request_id)])
    deadline = time.monotonic() + LOG_WAIT
    mine: list[dict[str, Any]] = []
    while not mine and time.monotonic() < deadline:
        mine = [r for r in _log_lines(target_log, offset) if r.get("request_id") == request_id]
        if not mine:
            time.sleep(0.05)
    if not mine:
        pytest.skip("no log line for the request (L-02 reports that)")
    missing = sorted({f for r in mine for f in LOG_FIELDS if f not in r})
    if missing:
        raise violation(
            "L-01",
            "the request's log line lacks required fields.",
            url=f"{traced.describe} (X-Request-ID: {request_id})",
            expected=f"fields {', '.join(LOG_FIELDS)}",
            observed=f"missing {', '.join(missing)}",
            log=str(target_log),
        )
