"""The HyperSync API handlers: operators, policies, receipts, agents.

Each handler takes the path parameters, the request body and the OpenTelemetry context of the
server span (None without instrumentation), and returns a ``Response``. Business counters move
only after an operation succeeded, once each.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Tracer

from hypersync_slo.reference.dependencies import POLICIES, EventQueue, PolicyEngine
from hypersync_slo.reference.logs import rfc3339
from hypersync_slo.reference.metrics import BusinessCounters
from hypersync_slo.reference.operations import (
    AGENT_ACTIONS,
    AGENT_ID,
    OPERATOR_FUNCTIONS,
    AgentRegistry,
    BadInput,
)
from hypersync_slo.reference.responses import Response, error, field, json_response, parse_object
from hypersync_slo.reference.store import ReceiptStore

_MAX_TEXT = 256


@dataclass
class Api:
    """The business handlers and the components they use."""

    store: ReceiptStore
    policy_engine: PolicyEngine
    event_queue: EventQueue
    agents: AgentRegistry
    counters: BusinessCounters
    tracer: Tracer | None

    def _span(self, name: str, ctx: Context | None, attributes: dict[str, Any]) -> Any:
        if self.tracer is None or ctx is None:
            return None
        return self.tracer.start_span(name, context=ctx, attributes=attributes)

    async def execute(self, params: list[str], body: bytes, ctx: Context | None) -> Response:
        """``POST /v1/operators/{operator}/execute``."""
        operator = params[0]
        function = OPERATOR_FUNCTIONS.get(operator)
        if function is None:
            return error(
                404,
                "unknown_operator",
                f"no operator '{operator[:64]}'; known: {', '.join(OPERATOR_FUNCTIONS)}",
            )
        data = parse_object(body)
        try:
            payload = field(data, "input", dict, required=False, default={})
            agent_id = field(data, "agent_id", str, required=False)
        except BadInput as exc:
            return error(400, "bad_request", str(exc))
        if agent_id is not None and not AGENT_ID.match(agent_id):
            return error(
                400, "bad_request", "'agent_id' must be 1-64 characters of A-Z a-z 0-9 . _ : -"
            )
        span = self._span("operator.execute", ctx, {"hypersync.operator": operator})
        start = time.perf_counter()
        try:
            output = function(payload)
        finally:
            seconds = time.perf_counter() - start
            if span is not None:
                span.end()
        execution_id = "exec_" + os.urandom(12).hex()
        now = time.time()
        if agent_id is not None:
            self.agents.record(agent_id, "execute", now)
        self.counters.operator(operator, "success", seconds)
        self.event_queue.publish({"kind": "operator", "operator": operator, "at": now})
        return json_response(
            200,
            {
                "execution_id": execution_id,
                "operator": operator,
                "outcome": "success",
                "output": output,
                "compute_seconds": seconds,
            },
        )

    async def evaluate(self, params: list[str], body: bytes, ctx: Context | None) -> Response:
        """``POST /v1/policies/{policy}/evaluate``."""
        policy = params[0]
        if policy not in POLICIES:
            return error(
                404, "unknown_policy", f"no policy '{policy[:64]}'; known: {', '.join(POLICIES)}"
            )
        data = parse_object(body)
        try:
            subject = _text(data, "subject")
            action = _text(data, "action")
            resource = _text(data, "resource")
        except BadInput as exc:
            return error(400, "bad_request", str(exc))
        span = self._span("policy.evaluate", ctx, {"hypersync.policy": policy})
        try:
            decision, reason = self.policy_engine.evaluate(policy, subject, action, resource)
        finally:
            if span is not None:
                span.end()
        self.counters.policy(decision)
        self.event_queue.publish({"kind": "policy", "policy": policy, "decision": decision})
        return json_response(200, {"policy": policy, "decision": decision, "reason": reason})

    async def create_receipt(self, params: list[str], body: bytes, ctx: Context | None) -> Response:
        """``POST /v1/receipts``."""
        data = parse_object(body)
        try:
            operation = _text(data, "operation", limit=128)
            payload = data.get("payload", {})
        except BadInput as exc:
            return error(400, "bad_request", str(exc))
        span = self._span("receipt.write", ctx, {"db.system": "sqlite", "db.operation": "INSERT"})
        try:
            receipt = self.store.create(operation, payload)
        except sqlite3.Error as exc:
            return _store_unavailable(exc)
        finally:
            if span is not None:
                span.end()
        self.counters.receipt()
        self.event_queue.publish({"kind": "receipt", "receipt_id": receipt["receipt_id"]})
        return json_response(201, receipt)

    async def get_receipt(self, params: list[str], body: bytes, ctx: Context | None) -> Response:
        """``GET /v1/receipts/{receipt_id}``."""
        receipt_id = params[0]
        try:
            found = self.store.get(receipt_id) if len(receipt_id) <= 64 else None
        except sqlite3.Error as exc:
            return _store_unavailable(exc)
        if found is None:
            return error(404, "receipt_not_found", f"no receipt '{receipt_id[:64]}'")
        return json_response(200, found)

    async def list_agents(self, params: list[str], body: bytes, ctx: Context | None) -> Response:
        """``GET /v1/agents``."""
        return json_response(200, {"agents": self.agents.listing()})

    async def agent_action(self, params: list[str], body: bytes, ctx: Context | None) -> Response:
        """``POST /v1/agents/{agent_id}/actions``."""
        agent_id = params[0]
        if not AGENT_ID.match(agent_id):
            return error(
                400, "bad_request", "agent_id must be 1-64 characters of A-Z a-z 0-9 . _ : -"
            )
        data = parse_object(body)
        try:
            action = _text(data, "action")
        except BadInput as exc:
            return error(400, "bad_request", str(exc))
        if action not in AGENT_ACTIONS:
            return error(
                400,
                "bad_request",
                f"unknown action '{action[:32]}'; known: {', '.join(AGENT_ACTIONS)}",
            )
        now = time.time()
        self.agents.record(agent_id, action, now)
        self.counters.agent_action(action)
        self.event_queue.publish({"kind": "agent", "agent_id": agent_id, "action": action})
        return json_response(
            202, {"agent_id": agent_id, "action": action, "accepted_at": rfc3339(now)}
        )


def _store_unavailable(exc: sqlite3.Error) -> Response:
    return error(503, "receipt_store_unavailable", f"the receipt store did not answer: {exc}")


def _text(data: dict[str, Any], name: str, limit: int = _MAX_TEXT) -> str:
    value = field(data, name, str)
    if not value or len(value) > limit:
        raise BadInput(f"'{name}' must be a non-empty string of at most {limit} characters")
    return str(value)
