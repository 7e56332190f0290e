"""The built-in HyperSync traffic model as it was before the traffic declaration (frozen copy).

Kept only so ``bench/bench_traffic.py`` can compare, in one run, the generator CPU per request of
today's declared mix with the hard-coded model it replaced. Not used by the package.

The original docstring follows.

The HyperSync traffic model: a weighted mix of API calls with realistic payloads.

Pure (no Locust, no I/O): ``TrafficModel.next()`` plans the next request from a seeded RNG, and
``TrafficModel.settle()`` reads the answer to count the successful business operation it stands
for (operator executions by operator, policy evaluations by decision, receipts generated, agent
actions by action) and to remember created receipt ids for later reads. Both the open-model
driver and the classic Locust user in ``load/locustfile.py`` use it.

Every request is named by its route template (``POST /v1/operators/{operator}/execute``), never by
its raw URL, so per-request statistics line up with the server's ``http_route`` label.
"""

from __future__ import annotations

import json
import random
from collections import deque
from dataclasses import dataclass
from typing import Literal

BusinessKind = Literal[
    "operator_executions", "policy_evaluations", "receipts_generated", "agent_actions"
]
BUSINESS_KINDS: tuple[BusinessKind, ...] = (
    "operator_executions",
    "policy_evaluations",
    "receipts_generated",
    "agent_actions",
)

OPERATORS = ("transform", "aggregate", "validate", "enrich")
POLICIES = ("access", "rate-limit", "data-residency")
AGENT_ACTIONS = ("sync", "heartbeat", "deploy", "rollback")
AGENT_ACTION_WEIGHTS = (30, 60, 7, 3)
AGENTS = tuple(f"agent-{n}" for n in range(1, 17))
SUBJECTS = ("user:alice", "user:bob", "service:billing", "service:etl", "user:carol")
RESOURCES = ("dataset:orders", "dataset:customers", "bucket:eu-archive", "queue:events")
ACTIONS = ("read", "write", "delete", "export")

EXECUTE = "POST /v1/operators/{operator}/execute"
EVALUATE = "POST /v1/policies/{policy}/evaluate"
CREATE_RECEIPT = "POST /v1/receipts"
READ_RECEIPT = "GET /v1/receipts/{receipt_id}"
LIST_AGENTS = "GET /v1/agents"
AGENT_ACTION = "POST /v1/agents/{agent_id}/actions"
HEALTH_PROBE = "GET /health/ready"

#: Request kind -> relative weight in the mix (sums to 100: read as percent).
DEFAULT_MIX: dict[str, int] = {
    EXECUTE: 35,
    EVALUATE: 25,
    CREATE_RECEIPT: 12,
    READ_RECEIPT: 10,
    LIST_AGENTS: 5,
    AGENT_ACTION: 10,
    HEALTH_PROBE: 3,
}
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
GET_HEADERS = {"Accept": "application/json"}


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    """One request to send: its route-template name, method, path, body and what success is."""

    name: str
    method: str
    path: str
    body: bytes | None
    expect: tuple[int, ...]
    business: BusinessKind | None = None
    label: str | None = None  # operator or agent action: the business counter's label

    @property
    def headers(self) -> dict[str, str]:
        """Request headers (JSON content type when there is a body)."""
        return JSON_HEADERS if self.body is not None else GET_HEADERS


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class TrafficModel:
    """A seeded generator of HyperSync requests following a weighted mix."""

    def __init__(
        self, seed: int | str = 0, mix: dict[str, int] | None = None, remember_receipts: int = 1024
    ) -> None:
        self.mix = dict(mix or DEFAULT_MIX)
        unknown = set(self.mix) - set(DEFAULT_MIX)
        if unknown or not self.mix or min(self.mix.values()) < 0 or sum(self.mix.values()) <= 0:
            raise ValueError(f"a traffic mix needs non-negative weights over {sorted(DEFAULT_MIX)}")
        self._rng = random.Random(f"hypersync-traffic:{seed}")
        self._names = list(self.mix)
        self._weights = [self.mix[name] for name in self._names]
        self.receipts: deque[str] = deque(maxlen=remember_receipts)
        self._counter = 0

    def next(self) -> PlannedRequest:
        """Plan the next request of the mix."""
        name = self._rng.choices(self._names, self._weights)[0]
        return self.plan(name)

    def plan(self, name: str) -> PlannedRequest:
        """Plan one request of kind ``name`` (a route template of ``DEFAULT_MIX``)."""
        rng = self._rng
        self._counter += 1
        if name == EXECUTE:
            operator = rng.choice(OPERATORS)
            records = [
                {
                    "id": self._counter * 10 + i,
                    "value": round(rng.uniform(0, 1000), 3),
                    "region": rng.choice(("eu-west", "us-east", "ap-south")),
                }
                for i in range(rng.randint(1, 8))
            ]
            body = {
                "input": {"records": records, "options": {"strict": rng.random() < 0.5}},
                "agent_id": rng.choice(AGENTS),
            }
            return PlannedRequest(
                EXECUTE,
                "POST",
                f"/v1/operators/{operator}/execute",
                _json(body),
                (200,),
                "operator_executions",
                operator,
            )
        if name == EVALUATE:
            policy = rng.choice(POLICIES)
            body = {
                "subject": rng.choice(SUBJECTS),
                "action": rng.choice(ACTIONS),
                "resource": rng.choice(RESOURCES),
            }
            return PlannedRequest(
                EVALUATE,
                "POST",
                f"/v1/policies/{policy}/evaluate",
                _json(body),
                (200,),
                "policy_evaluations",
            )
        if name == READ_RECEIPT and self.receipts:
            receipt_id = rng.choice(self.receipts)
            return PlannedRequest(READ_RECEIPT, "GET", f"/v1/receipts/{receipt_id}", None, (200,))
        if name in (CREATE_RECEIPT, READ_RECEIPT):  # nothing to read yet: create one first
            body = {
                "operation": rng.choice(("execute", "evaluate", "sync", "export")),
                "payload": {
                    "sequence": self._counter,
                    "bytes": rng.randint(64, 4096),
                    "agent_id": rng.choice(AGENTS),
                },
            }
            return PlannedRequest(
                CREATE_RECEIPT, "POST", "/v1/receipts", _json(body), (201,), "receipts_generated"
            )
        if name == LIST_AGENTS:
            return PlannedRequest(LIST_AGENTS, "GET", "/v1/agents", None, (200,))
        if name == AGENT_ACTION:
            action = rng.choices(AGENT_ACTIONS, AGENT_ACTION_WEIGHTS)[0]
            return PlannedRequest(
                AGENT_ACTION,
                "POST",
                f"/v1/agents/{rng.choice(AGENTS)}/actions",
                _json({"action": action}),
                (202,),
                "agent_actions",
                action,
            )
        if name == HEALTH_PROBE:
            return PlannedRequest(HEALTH_PROBE, "GET", "/health/ready", None, (200,))
        raise ValueError(f"unknown request kind {name!r}")

    def settle(
        self, request: PlannedRequest, status: int, body: bytes
    ) -> tuple[BusinessKind, str] | None:
        """The business operation a successful answer stands for, as ``(kind, label)``, else None.

        Receipts ids of created receipts are remembered for later reads. An answer with an
        unexpected status, or a body that does not confirm the operation, counts nothing.
        """
        if status not in request.expect or request.business is None:
            return None
        kind = request.business
        if kind == "agent_actions":
            return kind, str(request.label)
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        if kind == "operator_executions":
            outcome = data.get("outcome", "success")
            return (kind, str(request.label)) if outcome == "success" else None
        if kind == "policy_evaluations":
            decision = data.get("decision")
            return (kind, decision) if isinstance(decision, str) else None
        receipt_id = data.get("receipt_id")
        if isinstance(receipt_id, str):
            self.receipts.append(receipt_id)
        return kind, ""
