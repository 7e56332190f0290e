"""A second test target: a HyperSync-style "ledger" service that is not the reference service.

Starlette on uvicorn with prometheus_client, written the way a team would write its own
service: the monitoring contract (health+json probes, the contract's metric families, W3C
trace context, X-Request-ID) on top of an API that differs from the reference in every way the
traffic declaration must cover:

* routes ``POST /api/v2/ops/{op}:run`` (202), ``POST /api/v2/ledger`` (201, ids ``led_<hex>``),
  ``GET /api/v2/ledger/{id}`` (200, 404 for ids it never issued), ``PUT
  /api/v2/agents/{agent}/heartbeat`` (204, no body), ``POST /api/v2/authz/check`` (200 with a
  ``verdict``);
* every ``/api/`` route needs ``X-Api-Key: <token>`` (401 otherwise), the token from the
  environment variable named by ``--token-env``;
* ``--error-ratio R`` answers 500 to that share of API requests (seeded).

Run: ``python -m tests.targets.ledger --port 8000 --token-env LEDGER_TOKEN``.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.process_collector import ProcessCollector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_SAFE_ID = re.compile(rb"^[\x21-\x7e]{1,200}$")
HEALTH = {"Content-Type": "application/health+json", "Cache-Control": "no-store"}


class Metrics:
    """The contract's families in the service's own registry."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        ProcessCollector(registry=r)
        self.duration = Histogram(
            "http_server_request_duration_seconds",
            "Duration of HTTP server requests.",
            ("http_request_method", "http_route", "http_response_status_code"),
            buckets=BUCKETS,
            registry=r,
        )
        self.active = Gauge("http_server_active_requests", "Requests in flight.", registry=r)
        Gauge("hypersync_active_connections", "Open client connections.", registry=r).set(1)
        Gauge("hypersync_queue_depth", "Queued jobs.", registry=r).set(0)
        self.ops = Counter(
            "hypersync_operator_executions", "Operator runs.", ("operator", "outcome"), registry=r
        )
        self.decisions = Counter(
            "hypersync_policy_evaluations", "Authorisation checks.", ("decision",), registry=r
        )
        self.entries = Counter("hypersync_receipts_generated", "Ledger entries.", registry=r)
        self.agents = Gauge("hypersync_agents_active", "Agents seen.", registry=r)
        self.actions = Counter("hypersync_agent_actions", "Agent actions.", ("action",), registry=r)
        self.compute = Counter(
            "hypersync_compute_seconds", "Compute time by operator.", ("operator",), registry=r
        )
        Gauge("hypersync_storage_used_bytes", "Ledger size.", registry=r).set(4096)
        Gauge("hypersync_build_info", "Build.", ("version", "revision"), registry=r).labels(
            "2.4.1", "ledger"
        ).set(1)
        Gauge("hypersync_config_last_reload_timestamp_seconds", "Config reload.", registry=r).set(
            time.time()
        )


class Contract:
    """ASGI middleware: trace context, request IDs, the request histogram, auth, faults."""

    def __init__(
        self, app: Starlette, metrics: Metrics, token: str, error_ratio: float, seed: int
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.token = token.encode()
        self.error_ratio = error_ratio
        self.rng = random.Random(seed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        trace, flags = secrets.token_hex(16), "01"
        parsed = _TRACEPARENT.match(headers.get(b"traceparent", b"").decode("latin-1"))
        if parsed:
            version, tid, pid, fl, rest = parsed.groups()
            valid = version != "ff" and not (version == "00" and rest)
            if valid and set(tid) != {"0"} and set(pid) != {"0"}:
                trace, flags = tid, fl
        given = headers.get(b"x-request-id")
        request_id = given if given and _SAFE_ID.match(given) else secrets.token_hex(8).encode()
        started = time.perf_counter()
        status = [500]
        path = scope["path"]
        method = scope["method"]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"traceresponse", f"00-{trace}-{secrets.token_hex(8)}-{flags}".encode()),
                    (b"x-request-id", request_id),
                ]
            await send(message)

        route = _route_of(self.app, scope)
        self.metrics.active.inc()
        try:
            if path.startswith("/api/") and headers.get(b"x-api-key") != self.token:
                await JSONResponse({"error": "unauthorized"}, 401)(scope, receive, send_wrapper)
            elif path.startswith("/api/") and self.rng.random() < self.error_ratio:
                await JSONResponse({"error": "injected"}, 500)(scope, receive, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.active.dec()
            if route is not None and path != "/metrics":
                self.metrics.duration.labels(method, route, str(status[0])).observe(
                    time.perf_counter() - started
                )


def _route_of(app: Starlette, scope: Scope) -> str | None:
    """The route template a request matches (the ``http_route`` label), None when none does."""
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match.name == "FULL":
            return str(getattr(route, "path", ""))
    return None


def build(token: str, error_ratio: float = 0.0, seed: int = 0) -> ASGIApp:
    """The ledger service as an ASGI app."""
    metrics = Metrics()
    ledger: dict[str, dict[str, Any]] = {}
    agents: set[str] = set()

    def now() -> str:
        return datetime.now(UTC).isoformat().replace("+00:00", "Z")

    async def live(_request: Request) -> Response:
        return JSONResponse({"status": "pass"}, headers=HEALTH)

    def checks() -> dict[str, Any]:
        return {
            "ledger-store:responseTime": [
                {
                    "componentType": "datastore",
                    "status": "pass",
                    "observedValue": 0.2,
                    "observedUnit": "ms",
                    "time": now(),
                    "required": True,
                }
            ]
        }

    async def ready(_request: Request) -> Response:
        return JSONResponse({"status": "pass", "checks": checks()}, headers=HEALTH)

    async def dependencies(_request: Request) -> Response:
        return JSONResponse({"status": "pass", "checks": checks()}, headers=HEALTH)

    async def exposition(request: Request) -> Response:
        encoder, media_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(metrics.registry), headers={"Content-Type": media_type})

    async def run_op(request: Request) -> Response:
        op = request.path_params["op"]
        started = time.process_time()
        body = await request.json()
        total = sum(range(int(body.get("rows", 1)) * 10))
        metrics.ops.labels(op, "success").inc()
        metrics.compute.labels(op).inc(time.process_time() - started)
        return JSONResponse({"op": op, "outcome": "success", "checksum": total}, 202)

    async def create_entry(request: Request) -> Response:
        body = await request.json()
        entry_id = f"led_{secrets.token_hex(6)}"
        ledger[entry_id] = {"id": entry_id, "amount": body.get("amount"), "at": now()}
        metrics.entries.inc()
        return JSONResponse(ledger[entry_id], 201)

    async def read_entry(request: Request) -> Response:
        entry = ledger.get(request.path_params["entry_id"])
        if entry is None:
            return JSONResponse({"error": "no such entry"}, 404)
        return JSONResponse(entry)

    async def heartbeat(request: Request) -> Response:
        agents.add(request.path_params["agent"])
        metrics.agents.set(len(agents))
        metrics.actions.labels("heartbeat").inc()
        return Response(status_code=204)

    async def authz(request: Request) -> Response:
        body = await request.json()
        verdict = "deny" if body.get("action") == "delete" else "allow"
        metrics.decisions.labels(verdict).inc()
        return JSONResponse({"allowed": verdict == "allow", "verdict": verdict})

    app = Starlette(
        routes=[
            Route("/health/live", live, methods=["GET"]),
            Route("/health/ready", ready, methods=["GET"]),
            Route("/health/dependencies", dependencies, methods=["GET"]),
            Route("/metrics", exposition, methods=["GET"]),
            Route("/api/v2/ops/{op}:run", run_op, methods=["POST"]),
            Route("/api/v2/ledger", create_entry, methods=["POST"]),
            Route("/api/v2/ledger/{entry_id}", read_entry, methods=["GET"]),
            Route("/api/v2/agents/{agent}/heartbeat", heartbeat, methods=["PUT"]),
            Route("/api/v2/authz/check", authz, methods=["POST"]),
        ]
    )
    return Contract(app, metrics, token, error_ratio, seed)


def main() -> None:
    """``python -m tests.targets.ledger --port N [--token-env VAR] [--error-ratio R]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token-env", default="LEDGER_TOKEN")
    parser.add_argument("--error-ratio", type=float, default=0.0)
    args = parser.parse_args()
    app = build(os.environ[args.token_env], args.error_ratio)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
