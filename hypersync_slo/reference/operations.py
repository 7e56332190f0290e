"""The business side of the reference service: operators and the agent registry.

Pure, fast functions over JSON values; the ASGI layer validates input and counts successes.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypersync_slo.reference.logs import rfc3339

#: The operators ``POST /v1/operators/{operator}/execute`` knows.
OPERATORS: tuple[str, ...] = ("transform", "aggregate", "validate", "enrich")
#: The actions ``POST /v1/agents/{agent_id}/actions`` accepts.
AGENT_ACTIONS: tuple[str, ...] = ("sync", "heartbeat", "deploy", "rollback")
AGENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
#: An agent counts as active this long after its last action.
ACTIVE_WINDOW_SECONDS = 300.0


class BadInput(ValueError):
    """The request body is well-formed JSON but not what the operation takes (-> 400)."""


def _numbers(value: Any, out: list[float], depth: int = 0) -> None:
    if depth > 8:
        return
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        out.append(float(value))
    elif isinstance(value, dict):
        for item in value.values():
            _numbers(item, out, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _numbers(item, out, depth + 1)


def transform(data: dict[str, Any]) -> dict[str, Any]:
    """Normalise keys to lower case and string values to stripped upper case."""
    return {
        str(k).lower(): (v.strip().upper() if isinstance(v, str) else v) for k, v in data.items()
    }


def aggregate(data: dict[str, Any]) -> dict[str, Any]:
    """Count, sum, min, max and mean of every number in the input."""
    numbers: list[float] = []
    _numbers(data, numbers)
    if not numbers:
        return {"count": 0, "sum": 0.0, "min": None, "max": None, "mean": None}
    total = sum(numbers)
    return {
        "count": len(numbers),
        "sum": total,
        "min": min(numbers),
        "max": max(numbers),
        "mean": total / len(numbers),
    }


def validate(data: dict[str, Any]) -> dict[str, Any]:
    """Report fields that are null or empty strings."""
    errors = [f"{k}: empty" for k, v in data.items() if v is None or v == ""]
    return {"valid": not errors, "errors": errors, "fields": len(data)}


def enrich(data: dict[str, Any]) -> dict[str, Any]:
    """The input plus provenance fields."""
    out = dict(data)
    out["_enriched"] = {"at": rfc3339(time.time()), "region": "local", "fields": len(data)}
    return out


OPERATOR_FUNCTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "transform": transform,
    "aggregate": aggregate,
    "validate": validate,
    "enrich": enrich,
}


@dataclass
class AgentRegistry:
    """Known agents, their status and last action (bounded: the oldest are forgotten)."""

    capacity: int = 1000
    agents: OrderedDict[str, tuple[str, float | None]] = field(default_factory=OrderedDict)

    def seed(self, names: tuple[str, ...] = ("agent-1", "agent-2", "agent-3")) -> None:
        """Register idle agents that have not acted yet."""
        for name in names:
            self.agents.setdefault(name, ("idle", None))

    def record(self, agent_id: str, action: str, now: float) -> None:
        """Note an action by ``agent_id`` at epoch ``now``."""
        self.agents[agent_id] = ("active" if action != "rollback" else "rolling-back", now)
        self.agents.move_to_end(agent_id)
        while len(self.agents) > self.capacity:
            self.agents.popitem(last=False)

    def active(self, now: float) -> int:
        """Agents with an action in the last ``ACTIVE_WINDOW_SECONDS``."""
        return sum(
            1
            for _, at in self.agents.values()
            if at is not None and now - at <= ACTIVE_WINDOW_SECONDS
        )

    def listing(self, limit: int = 100) -> list[dict[str, Any]]:
        """The most recently active agents first, at most ``limit``."""
        out = []
        for agent_id, (status, at) in reversed(self.agents.items()):
            out.append(
                {
                    "agent_id": agent_id,
                    "status": status,
                    "last_action_at": None if at is None else rfc3339(at),
                }
            )
            if len(out) >= limit:
                break
        return out
