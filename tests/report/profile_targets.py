"""Test targets instrumented with the real libraries each instrumentation profile describes.

``python -m tests.report.profile_targets KIND PORT`` serves one FastAPI app on 127.0.0.1:PORT with
``GET /v1/items/{item}`` (``?fail=1`` answers 500, ``?sleep=S`` waits S seconds first), exposed
by KIND's own instrumentation:

* ``opentelemetry`` / ``opentelemetry-legacy``: the OpenTelemetry SDK with
  opentelemetry-instrumentation-fastapi and opentelemetry-exporter-prometheus on ``/metrics``
  (the stable HTTP conventions when the environment sets OTEL_SEMCONV_STABILITY_OPT_IN=http);
* ``prometheus-fastapi-instrumentator``: ``Instrumentator().instrument(app).expose(app)``;
* ``micrometer``: the text Spring Boot 3's Actuator serves on ``/actuator/prometheus``, written by
  hand from a real capture (micrometer-registry-prometheus with simpleclient: label order
  ``error, exception, method, outcome, status, uri``, a trailing comma in each label set, a
  separate ``_max`` gauge family, the process and JVM families), with the SLO buckets Spring Boot
  adds for ``management.metrics.distribution.slo.http.server.requests=100ms,500ms,1s,5s``.
  The durations are the app's real ones.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request, Response
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_fastapi_instrumentator import Instrumentator

#: The SLO buckets (seconds) of the Micrometer target, as Spring Boot adds them.
MICROMETER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 5.0)


def api() -> FastAPI:
    """The app: one templated route that fails or waits on request."""
    app = FastAPI()

    @app.get("/v1/items/{item}")
    async def item(item: str, fail: int = 0, sleep: float = 0.0) -> dict[str, str]:
        if sleep:
            await asyncio.sleep(sleep)
        if fail:
            raise HTTPException(status_code=500, detail="injected")
        return {"item": item}

    return app


def opentelemetry() -> FastAPI:
    """FastAPI instrumented by OpenTelemetry, exported to Prometheus on /metrics."""
    provider = MeterProvider(metric_readers=[PrometheusMetricReader()])
    app = api()

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    FastAPIInstrumentor.instrument_app(app, meter_provider=provider)
    return app


def instrumentator() -> FastAPI:
    """FastAPI instrumented by prometheus-fastapi-instrumentator with its defaults."""
    app = api()
    Instrumentator().instrument(app).expose(app)
    return app


class MicrometerRegistry:
    """``http.server.requests`` timers as Micrometer keeps them, rendered as Actuator does."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.timers: dict[tuple[str, ...], dict[str, Any]] = {}

    def record(self, method: str, uri: str, status: int, seconds: float) -> None:
        """One request, as WebMvcObservationFilter records it."""
        outcome = {2: "SUCCESS", 3: "REDIRECTION", 4: "CLIENT_ERROR", 5: "SERVER_ERROR"}.get(
            status // 100, "UNKNOWN"
        )
        key = ("none", "none", method, outcome, str(status), uri)
        with self.lock:
            timer = self.timers.setdefault(
                key, {"buckets": [0] * len(MICROMETER_BUCKETS), "count": 0, "sum": 0.0, "max": 0.0}
            )
            for i, bound in enumerate(MICROMETER_BUCKETS):
                if seconds <= bound:
                    timer["buckets"][i] += 1
            timer["count"] += 1
            timer["sum"] += seconds
            timer["max"] = max(timer["max"], seconds)

    def render(self) -> str:
        """The Actuator text (simpleclient format, as in the capture)."""
        names = ("error", "exception", "method", "outcome", "status", "uri")
        lines = [
            '# HELP process_cpu_usage The "recent cpu usage" for the Java Virtual Machine process',
            "# TYPE process_cpu_usage gauge",
            "process_cpu_usage 0.0123",
            "# HELP process_files_open_files The open file descriptor count",
            "# TYPE process_files_open_files gauge",
            "process_files_open_files 101.0",
            "# HELP process_files_max_files The maximum file descriptor count",
            "# TYPE process_files_max_files gauge",
            "process_files_max_files 10240.0",
            "# HELP jvm_memory_used_bytes The amount of used memory",
            "# TYPE jvm_memory_used_bytes gauge",
            'jvm_memory_used_bytes{area="heap",id="G1 Eden Space",} 2.5165824E7',
            "# HELP http_server_requests_seconds  ",
            "# TYPE http_server_requests_seconds histogram",
        ]
        maxes = []
        with self.lock:
            for key, timer in sorted(self.timers.items()):
                labels = ",".join(f'{n}="{v}"' for n, v in zip(names, key, strict=True)) + ","
                for bound, count in zip(MICROMETER_BUCKETS, timer["buckets"], strict=True):
                    lines.append(
                        f'http_server_requests_seconds_bucket{{{labels}le="{bound!r}",}} '
                        f"{float(count)!r}"
                    )
                lines.append(
                    f'http_server_requests_seconds_bucket{{{labels}le="+Inf",}} '
                    f"{float(timer['count'])!r}"
                )
                lines.append(
                    f"http_server_requests_seconds_count{{{labels}}} {float(timer['count'])!r}"
                )
                lines.append(f"http_server_requests_seconds_sum{{{labels}}} {timer['sum']!r}")
                maxes.append(f"http_server_requests_seconds_max{{{labels}}} {timer['max']!r}")
        lines += [
            "# HELP http_server_requests_seconds_max  ",
            "# TYPE http_server_requests_seconds_max gauge",
            *maxes,
        ]
        return "\n".join(lines) + "\n"


def micrometer() -> FastAPI:
    """FastAPI timed the way Spring Boot times requests, exposed as Actuator exposes them."""
    app = api()
    registry = MicrometerRegistry()

    @app.middleware("http")
    async def timed(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        began = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        uri = getattr(route, "path", None) or "UNKNOWN"
        if uri != "/actuator/prometheus":
            registry.record(request.method, uri, response.status_code, time.perf_counter() - began)
        return response

    @app.get("/actuator/prometheus")
    async def prometheus() -> Response:
        return Response(registry.render(), media_type="text/plain;version=0.0.4;charset=utf-8")

    return app


BUILDERS: dict[str, Callable[[], FastAPI]] = {
    "opentelemetry": opentelemetry,
    "opentelemetry-legacy": opentelemetry,
    "prometheus-fastapi-instrumentator": instrumentator,
    "micrometer": micrometer,
}


def main(argv: list[str]) -> None:
    """Serve KIND on 127.0.0.1:PORT until terminated."""
    kind, port = argv[0], int(argv[1])
    uvicorn.run(BUILDERS[kind](), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])
