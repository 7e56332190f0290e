"""One business call of each kind, with a scrape of ``/metrics`` before and after.

CONTRACT section 2: business counters are accountable. ``run_business_calls`` makes one
operator execution, one policy evaluation, one receipt and one agent action (the documented
HyperSync API) and returns the two scrapes, so a check can tell that each counter grew.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hypersync_slo.config import SloConfig
from hypersync_slo.exposition import Exposition
from hypersync_slo.gate.client import Answer, TargetClient
from hypersync_slo.gate.scrape import TEXT_ACCEPT, parse_answer, scrape


@dataclass(frozen=True)
class BusinessCall:
    """One business request, the counter it must move and the labels of the moved series."""

    kind: str
    method: str
    path: str
    body: Mapping[str, Any]
    expected_status: int
    counter_role: str
    labels: Mapping[str, str] = field(default_factory=dict)
    label_from_response: tuple[str, str] | None = None  # (label, JSON field of the answer)


CALLS: tuple[BusinessCall, ...] = (
    BusinessCall(
        "operator execution",
        "POST",
        "/v1/operators/transform/execute",
        {"input": {"probe": "hypersync-slo gate"}, "agent_id": "agent-7"},
        200,
        "operator_executions",
        {"operator": "transform", "outcome": "success"},
    ),
    BusinessCall(
        "policy evaluation",
        "POST",
        "/v1/policies/access/evaluate",
        {"subject": "hypersync-slo-gate", "action": "read", "resource": "receipts"},
        200,
        "policy_evaluations",
        label_from_response=("decision", "decision"),
    ),
    BusinessCall(
        "receipt generation",
        "POST",
        "/v1/receipts",
        {"operation": "gate-probe", "payload": {"probe": True}},
        201,
        "receipts_generated",
    ),
    BusinessCall(
        "agent action",
        "POST",
        "/v1/agents/agent-7/actions",
        {"action": "heartbeat"},
        202,
        "agent_actions",
        {"action": "heartbeat"},
    ),
)


@dataclass(frozen=True)
class MadeCall:
    """A business call as made: the request, its answer and the labels of the series it moves."""

    call: BusinessCall
    answer: Answer
    labels: Mapping[str, str]

    @property
    def ok(self) -> bool:
        """Whether the target answered with the documented status."""
        return self.answer.status_code == self.call.expected_status


@dataclass(frozen=True)
class BusinessTraffic:
    """Two scrapes around the business calls."""

    before: Exposition
    after: Exposition
    before_answer: Answer
    after_answer: Answer
    calls: tuple[MadeCall, ...]


def counter_total(expo: Exposition, name: str, labels: Mapping[str, str]) -> float | None:
    """Sum of the counter ``name``'s series whose labels include ``labels``; None when absent.

    ``name`` may be given with or without ``_total``; ``_created`` series never count.
    """
    bare = name.removesuffix("_total")
    total: float | None = None
    for sample in expo.series():
        if sample.name not in (name, bare, f"{bare}_total"):
            continue
        if all(sample.labels.get(k) == v for k, v in labels.items()):
            total = (total or 0.0) + sample.value
    return total


def run_business_calls(target: TargetClient, config: SloConfig) -> BusinessTraffic:
    """Scrape, make one call of each kind, scrape again."""
    before_answer = scrape(target, TEXT_ACCEPT)
    before = parse_answer(before_answer)
    made: list[MadeCall] = []
    for call in CALLS:
        answer = target.request(
            call.method,
            call.path,
            json_body=dict(call.body),
            expected=f"HTTP {call.expected_status} for a {call.kind}",
        )
        labels = dict(call.labels)
        if call.label_from_response is not None:
            label, key = call.label_from_response
            try:
                value = answer.json().get(key)
            except (ValueError, AttributeError):
                value = None
            if isinstance(value, str):
                labels[label] = value
        made.append(MadeCall(call, answer, labels))
    after_answer = scrape(target, TEXT_ACCEPT)
    after = parse_answer(after_answer)
    return BusinessTraffic(before, after, before_answer, after_answer, tuple(made))
