"""The contract gate's JUnit file (``--slo-junit-xml``, ``check --junit-xml``).

One ``<testsuite name="hypersync-slo contract gate">``; one case per check, named
``H-03 test_ready_answers_200_or_503`` (contract IDs first, so CI lists and searches by ID),
classed by the suite module (``contract.health_ready``); the promise, the figures and any
SHOULD-level warning in the case's ``<system-out>``; the figures also as suite properties
``H-03.<test>.<figure>`` (junit-10.xsd has no ``<properties>`` inside a ``<testcase>``). A broken
promise is a ``<failure>``, a fault (the gate could not judge) an ``<error>``, a skip
``<skipped>`` with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import PurePosixPath

from hypersync_slo import __version__
from hypersync_slo.gate.contracts import CONTRACTS
from hypersync_slo.gate.outcomes import CheckOutcome, GateLedger
from hypersync_slo.junitxml import Case, CaseOutcome, Suite, document

SUITE_NAME = "hypersync-slo contract gate"

_OUTCOMES: dict[str, CaseOutcome] = {
    "pass": "pass",
    "warn": "pass",
    "fail": "failure",
    "error": "error",
    "skip": "skipped",
}


def case_name(outcome: CheckOutcome) -> str:
    """``H-03 test_ready_answers_200_or_503``: the contract IDs, then pytest's test name."""
    return f"{','.join(outcome.contracts)} {outcome.name}".strip()


def _classname(nodeid: str) -> str:
    module = PurePosixPath(nodeid.split("::", 1)[0]).stem.removeprefix("test_")
    return f"contract.{module}"


def _output(outcome: CheckOutcome, warnings: Sequence[str]) -> str:
    lines = [
        CONTRACTS[cid].title + (" (SHOULD)" if CONTRACTS[cid].severity == "should" else "")
        for cid in outcome.contracts
        if cid in CONTRACTS
    ]
    lines += [f"{name}: {value}" for name, value in outcome.figures]
    for warning in warnings:
        lines += ["WARN (a SHOULD-level promise, not a failure):", warning]
    return "\n".join(lines)


def to_case(outcome: CheckOutcome, warnings: Sequence[str] = ()) -> Case:
    """One JUnit case for one check outcome."""
    kind = _OUTCOMES[outcome.outcome]
    detail = outcome.detail
    message = detail.splitlines()[0] if detail else ""
    return Case(
        classname=_classname(outcome.nodeid),
        name=case_name(outcome),
        outcome=kind,
        seconds=outcome.seconds,
        message=message if kind != "pass" else "",
        detail=detail if kind in ("failure", "error") else "",
        kind={"failure": "ContractViolation", "error": outcome.error_type or "error"}.get(kind, ""),
        output=_output(outcome, warnings),
    )


def gate_suite(
    ledger: GateLedger,
    *,
    started: datetime,
    seconds: float,
    properties: Sequence[tuple[str, str]] = (),
) -> Suite:
    """The gate's ``<testsuite>``: one case per check, figures as suite properties."""
    figures = [
        (f"{','.join(o.contracts)}.{o.name}.{name}", value)
        for o in ledger.outcomes
        for name, value in o.figures
    ]
    return Suite(
        name=SUITE_NAME,
        cases=[to_case(o, ledger.warnings.get(o.nodeid, ())) for o in ledger.outcomes],
        properties=[("hypersync_slo.version", __version__), *properties, *figures],
        timestamp=started,
        seconds=seconds,
    )


def render(
    ledger: GateLedger,
    *,
    started: datetime,
    seconds: float,
    properties: Sequence[tuple[str, str]] = (),
) -> str:
    """The gate's JUnit file text."""
    return document([gate_suite(ledger, started=started, seconds=seconds, properties=properties)])
