"""The promises the gate checks, one ``Contract`` per ID, as the ``slo`` marker names them.

IDs follow the research checklist (``H-`` health, ``M-`` metrics exposition, ``O-`` OpenTelemetry
naming, ``T-``/``C-``/``L-`` tracing, correlation and logs); ``B-01`` (business counters are
accountable) is ours, from §2 of the monitoring contract. ``docs/contracts.md`` restates each
promise in plain words with the test that checks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hypersync_slo.errors import ContractViolation, explain

Severity = Literal["must", "should"]


@dataclass(frozen=True)
class Contract:
    """One promise of the monitoring contract."""

    id: str
    section: str
    promise: str
    severity: Severity = "must"

    @property
    def title(self) -> str:
        """``H-01 /health/live answers 200 within its timeout``."""
        return f"{self.id} {self.promise}"


_ALL = (
    Contract("H-01", "1", "/health/live answers 200 within the liveness timeout"),
    Contract("H-02", "1", "/health/live never consults a dependency"),
    Contract("H-03", "1", "/health/ready answers exactly 200 or 503"),
    Contract("H-04", "1", "no health path redirects"),
    Contract("H-05", "1", "/health/ready reaches 200 within the readiness timeout"),
    Contract("H-07", "1", "HEAD is answered like GET, without a body"),
    Contract("H-08", "1", "/health/live and /health/ready carry Cache-Control: no-store", "should"),
    Contract("H-09", "1", "health bodies are JSON (application/health+json or application/json)"),
    Contract("H-10", "1", "/health/dependencies follows the health+json schema"),
    Contract("H-11", "1", "the HTTP status agrees with the body status (pass/warn 200, fail 503)"),
    Contract("H-12", "1", "the top-level status is the worst of the checks"),
    Contract("H-13", "1", "a failing required dependency makes /health/ready answer 503"),
    Contract("H-14", "1", "every dependency check carries its time"),
    Contract(
        "H-15",
        "1",
        "health bodies disclose no credentials, secrets, stack traces or private addresses",
        "should",
    ),
    Contract(
        "H-16",
        "1",
        "concurrent readiness probes share dependency probes (bounded fan-out)",
        "should",
    ),
    Contract("H-17", "1", "unknown query parameters and extra headers change nothing"),
    Contract("H-19", "1", "concurrent probes get the same answer, never a 5xx"),
    Contract("M-01", "2", "/metrics names its format and version in Content-Type"),
    Contract("M-02", "2", "/metrics answers OpenMetrics 1.0.0 when Accept asks for it"),
    Contract("M-03", "2", "/metrics parses as text 0.0.4"),
    Contract("M-04", "2", "/metrics has no duplicate series"),
    Contract("M-05", "2", "metric names follow the promtool naming rules"),
    Contract("M-06", "2", "histograms are whole: +Inf bucket = _count, cumulative, sorted"),
    Contract("M-07", "2", "every required metric family is present with its type and labels"),
    Contract("M-08", "2", "promtool check metrics finds nothing", "should"),
    Contract(
        "M-09",
        "2",
        "the exposition stays within its series budget and no label grows with IDs",
        "should",
    ),
    Contract("M-10", "2", "counters never decrease between two scrapes"),
    Contract("O-02", "2", "latency buckets include every latency threshold of the SLO file"),
    Contract("O-03", "2", "http_route values are route templates, never raw paths"),
    Contract("B-01", "2", "business counters move when business calls are made"),
    Contract("T-01", "3", "a valid traceparent is continued: traceresponse has the same trace-id"),
    Contract("T-02", "3", "an invalid traceparent starts a new trace and never causes 4xx/5xx"),
    Contract("C-01", "3", "a safe X-Request-ID is echoed unchanged"),
    Contract("C-02", "3", "an X-Request-ID is generated when absent"),
    Contract("C-03", "3", "an unsafe X-Request-ID is replaced, never echoed"),
    Contract("L-01", "3", "the log line of a request is one JSON object with the required fields"),
    Contract("L-02", "3", "the log line of a request carries its real trace and request IDs"),
)

#: Every contract the gate knows, by ID.
CONTRACTS: dict[str, Contract] = {c.id: c for c in _ALL}


def contract(contract_id: str) -> Contract:
    """The contract with this ID; ``KeyError`` names the known IDs."""
    try:
        return CONTRACTS[contract_id]
    except KeyError:
        raise KeyError(
            f"unknown contract ID {contract_id!r}; known: {', '.join(CONTRACTS)}"
        ) from None


def violation(
    contract_id: str, what: str, *, url: str, expected: object, observed: object, **more: object
) -> ContractViolation:
    """A ``ContractViolation`` whose lines say: promise (with ID), URL, expected, observed."""
    promise = contract(contract_id)
    return ContractViolation(
        explain(
            f"{promise.id} broken: {what}",
            promise=promise.promise,
            url=url,
            expected=expected,
            observed=observed,
            **more,
        )
    )
