"""The reference service as a raw ASGI application: request pipeline, health, metrics, admin.

Per request (the hot path, kept lean): match the route; parse ``traceparent`` and start one
SERVER span (joining a valid incoming trace); pick the request ID (echo a safe
``X-Request-ID``, else generate); dispatch; answer with ``X-Request-ID`` and ``traceresponse``;
then record the latency histogram and write one JSON log line carrying the IDs. HEAD is answered
like GET without a body; a wrong method gets 405 with ``Allow``; an unknown path a JSON 404.

Lifespan start-up opens the receipt store and starts the event queue; the remaining
initialisation (policy rules, ``--startup-delay``) runs in the background, and
``/health/ready`` answers 503 "not initialized" until it finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import random
import time
import traceback
from collections.abc import Awaitable, Callable
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode

from hypersync_slo.reference import requestids
from hypersync_slo.reference.api import Api
from hypersync_slo.reference.dependencies import EventQueue, PolicyEngine
from hypersync_slo.reference.faults import FaultError, FaultState
from hypersync_slo.reference.health import MIB, HealthChecker, HealthLimits, check
from hypersync_slo.reference.logs import LogWriter, rfc3339
from hypersync_slo.reference.metrics import ServiceMetrics
from hypersync_slo.reference.operations import AgentRegistry
from hypersync_slo.reference.options import ServiceOptions
from hypersync_slo.reference.responses import (
    HEALTH_JSON,
    BodyError,
    ClientGone,
    Response,
    error,
    json_response,
    read_body,
)
from hypersync_slo.reference.routes import UNMATCHED, Route, match
from hypersync_slo.reference.store import ReceiptStore
from hypersync_slo.reference.tracing import (
    make_tracer,
    parent_context,
    parse_traceparent,
    traceresponse,
)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Handler = Callable[[list[str], bytes, Context | None], Awaitable[Response]]

KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"}
)
_HEALTH = frozenset({"live", "ready", "dependencies"})
_NO_STORE = (b"cache-control", b"no-store")


class ReferenceApp:
    """The ASGI application of the reference HyperSync service."""

    def __init__(self, options: ServiceOptions, log: LogWriter) -> None:
        self.options = options
        self.log = log
        self.faults: FaultState = options.faults
        self.rng = random.Random()
        self.metrics = ServiceMetrics(thresholds=options.latency_thresholds)
        self.store = ReceiptStore(options.data_dir)
        self.policy_engine = PolicyEngine()
        self.event_queue = EventQueue(limit=options.queue_limit)
        self.agents = AgentRegistry()
        self.agents.seed()
        self.tracer = None
        self.provider = None
        if options.instrumentation:
            self.tracer, self.provider = make_tracer(
                service_name=options.service_name,
                version=options.version,
                otlp_endpoint=options.otlp_endpoint,
                zipkin_endpoint=options.zipkin_endpoint,
                span_drop=lambda: self.faults.span_drop,
            )
        self.api = Api(
            self.store,
            self.policy_engine,
            self.event_queue,
            self.agents,
            self.metrics.business,
            self.tracer,
        )
        self.health = HealthChecker(
            self.store,
            self.policy_engine,
            self.event_queue,
            faults=lambda: self.faults,
            limits=HealthLimits(memory_limit_bytes=options.memory_limit_mib * MIB),
            optional=options.optional_dependencies,
        )
        state = self.metrics.state
        state.queue_depth = lambda: self.event_queue.depth
        state.agents_active = lambda: self.agents.active(time.time())
        state.storage_used = self.store.used_bytes
        state.dependency_probes = lambda: self.health.probes_run
        state.version, state.revision = options.version, options.revision
        state.service_name = options.service_name
        state.config_reloaded_at = time.time()
        self.metrics.apply_breaks(self.faults.breaks)
        self._handlers: dict[str, Handler] = {
            "execute": self.api.execute,
            "evaluate": self.api.evaluate,
            "create_receipt": self.api.create_receipt,
            "get_receipt": self.api.get_receipt,
            "list_agents": self.api.list_agents,
            "agent_action": self.api.agent_action,
        }
        # --no-instrumentation serves through the bare pipeline, chosen once here.
        self._http = self._http_traced if self.tracer is not None else self._http_bare
        self._tasks: list[asyncio.Task[None]] = []
        self._service = _quote(options.service_name)
        self.startup_error: str | None = None

    # --- fault state ---------------------------------------------------------------------

    def set_faults(self, faults: FaultState) -> None:
        """Replace the injected fault state (admin PUT)."""
        self.faults = faults
        self.metrics.apply_breaks(faults.breaks)
        self.log.log(
            "warning" if faults.active else "info", "fault state changed", faults=faults.to_json()
        )

    # --- ASGI ------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http_bare(self, scope: Scope, receive: Receive, send: Send) -> None:
        """--no-instrumentation: the bare service, for the overhead benchmark only."""
        route = match(scope["path"], admin=self.options.fault_admin)
        clen = accept = None
        for key, value in scope["headers"]:
            if key == b"content-length":
                clen = value
            elif key == b"accept":
                accept = value
        method: str = scope["method"]
        with contextlib.suppress(ClientGone):
            response = await self._respond(route, method, scope, receive, clen, accept, None)
            await _send(send, response, method)

    async def _http_traced(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.tracer is not None
        start = time.perf_counter()
        method: str = scope["method"]
        route = match(scope["path"], admin=self.options.fault_admin)
        tp = ts = rid = clen = accept = None
        tp_count = 0
        for key, value in scope["headers"]:
            if key == b"traceparent":
                tp, tp_count = value, tp_count + 1
            elif key == b"tracestate":
                ts = value
            elif key == b"x-request-id":
                rid = value
            elif key == b"content-length":
                clen = value
            elif key == b"accept":
                accept = value
        breaks = self.faults.breaks
        template = route.template if route is not None else UNMATCHED
        parsed = parse_traceparent(
            tp.decode("latin-1") if tp is not None and tp_count == 1 else None
        )
        forced = (
            error(400, "bad_traceparent", "invalid traceparent header")
            if tp is not None and parsed is None and "bad-traceparent-400" in breaks
            else None
        )
        method_label = method if method in KNOWN_METHODS else "_OTHER"
        span = self.tracer.start_span(
            f"{method_label} {template}",
            context=parent_context(
                None if "traceresponse-new-trace" in breaks else parsed,
                ts.decode("latin-1") if ts is not None else None,
            ),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method_label,
                "http.route": template,
                "url.path": scope["path"],
            },
        )
        span_context = span.get_span_context()
        if rid is not None and "request-id-unsafe-echo" in breaks:
            request_id, rid_bytes = rid.decode("latin-1"), rid
        elif "request-id-not-echoed" in breaks:
            request_id = requestids.generate()
            rid_bytes = request_id.encode()
        else:
            request_id, own = requestids.choose(rid)
            rid_bytes = rid if own and rid is not None else request_id.encode()
        state = self.metrics.state
        state.active_requests += 1
        status = 499
        try:
            child = (
                trace.set_span_in_context(span)
                if forced is None and route is not None and route.endpoint in self._handlers
                else None
            )
            response = (
                forced
                if forced is not None
                else await self._respond(route, method, scope, receive, clen, accept, child)
            )
            status = response.status
            response.headers.append((b"x-request-id", rid_bytes))
            if "no-traceresponse" not in breaks:
                response.headers.append((b"traceresponse", traceresponse(span_context).encode()))
            await _send(send, response, method)
        except ClientGone:
            pass
        finally:
            state.active_requests -= 1
            self._record(
                span,
                span_context,
                breaks,
                status,
                time.perf_counter() - start,
                method_label,
                template,
                scope,
                request_id,
            )

    def _record(  # noqa: PLR0917 - hot path: plain positional arguments
        self,
        span: trace.Span,
        span_context: trace.SpanContext,
        breaks: frozenset[str],
        status: int,
        duration: float,
        method_label: str,
        template: str,
        scope: Scope,
        request_id: str,
    ) -> None:
        """End the request's span, observe its latency and write its log line."""
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        span.end()
        if status != 499 and not (status >= 500 and "histogram-skips-errors" in breaks):
            self.metrics.observe(
                method_label,
                scope["path"] if "route-label-raw-path" in breaks else template,
                status,
                duration,
            )
        if "log-zero-ids" in breaks:
            trace_id, span_id = "0", "0"
        else:
            trace_id, span_id = f"{span_context.trace_id:032x}", f"{span_context.span_id:016x}"
        # One JSON object per line, built by hand on the hot path: every value is either
        # from a fixed set (method label, route template, hex IDs, numbers) or escaped.
        self.log.write_line(
            f'{{"timestamp":"{rfc3339(time.time())}","level":"{"error" if status >= 500 else "info"}",'
            f'"message":"request","logger":"hypersync.reference.http","service.name":{self._service},'
            f'"trace_id":"{trace_id}","span_id":"{span_id}",'
            f'"trace_flags":"{int(span_context.trace_flags) & 1:02x}","request_id":{_quote(request_id)},'
            f'"http.request.method":{_quote(method_label)},"http.route":{_quote(template)},'
            f'"url.path":{_quote(scope["path"][:256])},"http.response.status_code":{status},'
            f'"duration_ms":{duration * 1000:.3f}}}\n'
        )

    async def _respond(  # noqa: PLR0917 - hot path: plain positional arguments
        self,
        route: Route | None,
        method: str,
        scope: Scope,
        receive: Receive,
        clen: bytes | None,
        accept: bytes | None,
        ctx: Context | None,
    ) -> Response:
        """Dispatch one request; never raises except ``ClientGone``."""
        try:
            if route is None:
                return error(404, "not_found", f"no route for {scope['path'][:128]!r}")
            if method not in route.methods:
                allow = ", ".join(route.methods)
                return error(
                    405,
                    "method_not_allowed",
                    f"{method[:16]} is not allowed here; use {allow}",
                    [(b"allow", allow.encode())],
                )
            endpoint = route.endpoint
            handler = self._handlers.get(endpoint)
            if handler is not None:
                faults = self.faults
                if faults.api_faults:
                    delay = faults.api_delay(self.rng)
                    if delay:
                        await asyncio.sleep(delay)
                    if faults.error_ratio and self.rng.random() < faults.error_ratio:
                        return error(500, "injected_fault", "injected fault: error ratio")
                body = await read_body(receive, clen) if method == "POST" else b""
                return await handler(route.params, body, ctx)
            if endpoint in _HEALTH:
                return await self._health(endpoint, method, scope)
            if endpoint == "metrics":
                return self._metrics(method, scope, accept)
            if endpoint == "admin_faults":
                return await self._admin(method, receive, clen)
            return error(404, "not_found", "no such endpoint")
        except BodyError as exc:
            return exc.response
        except ClientGone:
            raise
        except Exception as exc:
            self.log.log(
                "error",
                "unhandled error",
                exception="".join(traceback.format_exception(exc))[-4000:],
            )
            return error(500, "internal_error", f"internal error: {type(exc).__name__}")

    def _metrics(self, method: str, scope: Scope, accept: bytes | None) -> Response:
        """The exposition in the format ``accept`` asks for, gzipped when large and welcome."""
        if method == "HEAD" and "head-405" in self.faults.breaks:
            return error(
                405, "method_not_allowed", "HEAD is not allowed here", [(b"allow", b"GET")]
            )
        body, content_type = self.metrics.render(
            accept.decode("latin-1") if accept is not None else None, self.faults.breaks
        )
        headers: list[tuple[bytes, bytes]] = []
        if len(body) > 1024 and _accepts_gzip(scope["headers"]):
            body = gzip.compress(body, compresslevel=5)
            headers = [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")]
        return Response(200, body, content_type.encode() if content_type else None, headers)

    # --- health ----------------------------------------------------------------------------

    async def _health(self, endpoint: str, method: str, scope: Scope) -> Response:
        breaks = self.faults.breaks
        if breaks:
            if method == "HEAD" and "head-405" in breaks:
                return error(
                    405, "method_not_allowed", "HEAD is not allowed here", [(b"allow", b"GET")]
                )
            if scope["query_string"] and "query-param-500" in breaks:
                return error(500, "internal_error", "unexpected query parameter")
            if "health-redirect" in breaks:
                return Response(
                    302, b"", None, [(b"location", b"/login?next=" + scope["path"].encode())]
                )
        if endpoint == "live":
            status, body = await self._live()
        elif endpoint == "ready":
            if "ready-500" in breaks:
                status, body = (
                    500,
                    {"status": "fail", "output": "readiness handler crashed: RuntimeError"},
                )
            else:
                status, body = await self.health.ready(
                    ignore_dependencies="ready-ignores-dependencies" in breaks
                )
        else:
            status, body = await self.health.dependencies()
            if "dependencies-wrong-aggregate" in breaks:
                status = 200 if status == 503 else 503
                body["status"] = "pass" if status == 200 else "fail"
            if "dependencies-bad-schema" in breaks:
                body = {
                    "status": "healthy" if status == 200 else "unhealthy",
                    "checks": {
                        key.split(":")[0]: {"healthy": c[0]["status"] != "fail"}
                        for key, c in body["checks"].items()
                    },
                }
        headers = [] if endpoint != "dependencies" and "no-cache-control" in breaks else [_NO_STORE]
        if "health-plain-text" in breaks:
            return Response(
                status,
                b"OK\n" if status < 400 else b"FAIL\n",
                b"text/plain; charset=utf-8",
                headers,
            )
        return json_response(status, body, HEALTH_JSON, headers)

    async def _live(self) -> tuple[int, dict[str, Any]]:
        faults = self.faults
        if faults.live == "fail":
            now = time.time()
            return 503, {
                "status": "fail",
                "checks": {
                    "process:uptime": [
                        check("system", "fail", 0, "s", now, "injected fault: live fail")
                    ]
                },
            }
        if isinstance(faults.live, float):
            await asyncio.sleep(faults.live)
        if "live-checks-dependencies" in faults.breaks and await self.health.any_dependency_down():
            _, deps = await self.health.dependencies()
            return 503, {"status": "fail", "checks": deps["checks"]}
        return self.health.live()

    # --- admin -----------------------------------------------------------------------------

    async def _admin(self, method: str, receive: Receive, clen: bytes | None) -> Response:
        if method == "PUT":
            body = await read_body(receive, clen)
            try:
                data = json.loads(body)
            except (ValueError, UnicodeDecodeError) as exc:
                return error(400, "malformed_json", f"the body is not valid JSON: {exc}")
            try:
                self.set_faults(FaultState.from_json(data))
            except FaultError as exc:
                return error(400, "bad_faults", str(exc))
        return json_response(200, self.faults.to_json())

    # --- lifespan --------------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    self.startup_error = f"{type(exc).__name__}: {exc}"
                    self.log.log("critical", "start-up failed", error=self.startup_error)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Open the store, start the queue; finish initialising in the background."""
        self.store.open()
        await self.event_queue.start()
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._initialise(), name="initialise"))
        self._tasks.append(loop.create_task(self._stall_loop(), name="stall"))
        self.log.log(
            "info",
            "service starting",
            data_dir=str(self.options.data_dir),
            instrumentation=self.options.instrumentation,
            fault_admin=self.options.fault_admin,
            faults=self.faults.to_json(),
            buckets=list(self.metrics.buckets),
        )

    async def _initialise(self) -> None:
        await self.policy_engine.load()
        if self.options.startup_delay > 0:
            await asyncio.sleep(self.options.startup_delay)
        self.health.initialized = True
        self.log.log("info", "service initialized: ready")

    async def _stall_loop(self) -> None:
        """The stall fault: block the whole event loop for DURATION every PERIOD seconds."""
        while True:
            stall = self.faults.stall
            if stall is None:
                await asyncio.sleep(0.1)
                continue
            await asyncio.sleep(stall.period - stall.duration)
            stall = self.faults.stall
            if stall is not None:
                self.log.log("warning", "injected stall", seconds=stall.duration)
                time.sleep(stall.duration)  # deliberately blocks: the server stops answering

    async def shutdown(self) -> None:
        """Stop background work, close the store, flush spans and logs."""
        self.health.draining = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.event_queue.stop()
        self.store.close()
        if self.provider is not None:
            self.provider.shutdown()
        self.log.log("info", "service stopped")
        self.log.flush()


def _accepts_gzip(headers: list[tuple[bytes, bytes]]) -> bool:
    for key, value in headers:
        if key == b"accept-encoding":
            for coding in value.lower().split(b","):
                name, _, params = coding.partition(b";")
                if name.strip() == b"gzip" and params.replace(b" ", b"") not in (b"q=0", b"q=0.0"):
                    return True
    return False


async def _send(send: Send, response: Response, method: str) -> None:
    body = response.body
    headers = [(b"content-length", str(len(body)).encode())]
    if response.content_type is not None:
        headers.append((b"content-type", response.content_type))
    headers.extend(response.headers)
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
