"""Instrumentation profiles: how a service's HTTP metrics are named, labelled and scaled.

One ``HttpMetrics`` tells every reader of the request metrics (the gate's M-07 and O-02, the
reporter, the audit, the generated rules and dashboards) where the requests are:

* the latency histogram (``histogram``), its unit (``s`` or ``ms``: the ``le`` values of a
  ``ms`` histogram are thresholds times 1000),
* the label names of the method, the route and the status code,
* how a server error is written in the status label (``5..`` for ``500``, ``5xx`` for a status
  class),
* where requests are counted per status when the histogram has no status label (a separate
  counter such as prometheus-fastapi-instrumentator's ``http_requests_total``),
* which routes are the API (a regex over the route label; ``""`` for all routes),
* whether the HyperSync metric catalogue (business counters, queue depth…) is required, and
  which process families the client library exposes.

``PROFILES`` holds the packaged profiles, each checked against the library's real output
(docs/reporter.md, "Instrumentation profiles"); ``from_mapping`` reads the SLO file's
``metrics.profile`` and ``metrics.http`` overrides.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from hypersync_slo.errors import ConfigError

#: OpenTelemetry's advisory buckets for ``http.server.request.duration`` (seconds): the
#: reference service's histogram and the mtail program's start from them.
OTEL_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)

Unit = Literal["s", "ms"]
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

#: The process families of the Prometheus client libraries (Python, Go): name -> type.
PROCESS_FAMILIES: tuple[tuple[str, str], ...] = (
    ("process_cpu_seconds_total", "counter"),
    ("process_resident_memory_bytes", "gauge"),
    ("process_open_fds", "gauge"),
    ("process_max_fds", "gauge"),
)
#: What Micrometer exposes instead (Spring Boot Actuator, /actuator/prometheus).
MICROMETER_PROCESS_FAMILIES: tuple[tuple[str, str], ...] = (
    ("process_cpu_usage", "gauge"),
    ("process_files_open_files", "gauge"),
    ("process_files_max_files", "gauge"),
    ("jvm_memory_used_bytes", "gauge"),
)


@dataclass(frozen=True)
class HttpMetrics:
    """Where and how a service's HTTP request metrics are written (one instrumentation profile)."""

    profile: str
    histogram: str
    unit: Unit = "s"
    method_label: str = "http_request_method"
    route_label: str = "http_route"
    #: The histogram's status label; None when the histogram has none (errors_counter then).
    status_label: str | None = "http_response_status_code"
    #: Regex (fully anchored, as PromQL's ``=~``) of a server-error status value.
    server_error: str = "5.."
    #: A counter of requests with a status label, used for counts and errors when set.
    requests_counter: str | None = None
    #: The status label of ``requests_counter`` (default: ``status_label``).
    counter_status_label: str | None = None
    #: Regex of the route label values that are the API ("" judges every route).
    api_routes: str = ""
    #: Whether the HyperSync catalogue (business counters, queue depth…) is required (M-07).
    catalogue: bool = False
    #: The process families the client library exposes (name, type).
    process_families: tuple[tuple[str, str], ...] = PROCESS_FAMILIES

    def __post_init__(self) -> None:
        where = f"metrics (profile {self.profile})"
        for attr in ("histogram", "requests_counter"):
            value = getattr(self, attr)
            if value is not None and not _NAME.fullmatch(value):
                raise ConfigError(f"{where}: http.{attr} {value!r} is not a valid metric name.")
        for attr in ("method_label", "route_label", "status_label", "counter_status_label"):
            value = getattr(self, attr)
            if value is not None and not _LABEL.fullmatch(value):
                raise ConfigError(f"{where}: http.{attr} {value!r} is not a valid label name.")
        if self.unit not in ("s", "ms"):
            raise ConfigError(f"{where}: http.unit must be 's' or 'ms', got {self.unit!r}.")
        if self.status_label is None and self.requests_counter is None:
            raise ConfigError(
                f"{where}: the histogram has no status label (http.status_label: null), so errors "
                "cannot be told apart: name the counter that has one (http.requests_counter)."
            )
        for attr in ("server_error", "api_routes"):
            try:
                re.compile(getattr(self, attr))
            except re.error as exc:
                raise ConfigError(f"{where}: http.{attr} is not a valid regex: {exc}.") from None

    # -- names ---------------------------------------------------------------------------------

    @property
    def bucket(self) -> str:
        """The histogram's bucket series name (``<histogram>_bucket``)."""
        return f"{self.histogram}_bucket"

    @property
    def count(self) -> str:
        """The histogram's own request count (``<histogram>_count``)."""
        return f"{self.histogram}_count"

    @property
    def requests(self) -> str:
        """The series that counts requests per status: the counter, else the histogram count."""
        return self.requests_counter or self.count

    @property
    def status(self) -> str:
        """The status label of ``requests``."""
        if self.requests_counter is not None:
            return self.counter_status_label or self.status_label or "status"
        assert self.status_label is not None  # __post_init__ refuses the other case
        return self.status_label

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels the histogram must carry (M-07)."""
        return tuple(lbl for lbl in (self.method_label, self.route_label, self.status_label) if lbl)

    # -- units ---------------------------------------------------------------------------------

    @property
    def scale(self) -> float:
        """Histogram unit per second: 1 for ``s``, 1000 for ``ms``."""
        return 1000.0 if self.unit == "ms" else 1.0

    def le(self, seconds: float) -> float:
        """The ``le`` bound of a threshold given in seconds, in the histogram's unit.

        Rounded to 9 decimals, so 0.07 s is the bucket ``70``, not ``70.00000000000001``.
        """
        return seconds if self.unit == "s" else round(seconds * self.scale, 9)

    def seconds(self, bound: float) -> float:
        """A bucket bound (or histogram_quantile value) of the histogram, in seconds."""
        return bound / self.scale

    def in_seconds(self, expr: str) -> str:
        """PromQL giving ``expr`` (in the histogram's unit) in seconds."""
        return expr if self.unit == "s" else f"({expr}) / {self.scale:g}"

    def describe(self) -> str:
        """One line naming the profile and its histogram, for messages."""
        counter = f", requests per status from {self.requests}" if self.requests_counter else ""
        return (
            f"profile {self.profile}: {self.histogram} ({self.unit}) by "
            f"{self.method_label}/{self.route_label}/{self.status_label or '-'}{counter}"
        )


#: The packaged profiles, each taken from the library's real exposition.
PROFILES: dict[str, HttpMetrics] = {
    # docs/contracts.md §2: the reference service and any HyperSync deployment.
    "hypersync": HttpMetrics(
        "hypersync",
        "http_server_request_duration_seconds",
        api_routes="/v1/.*",
        catalogue=True,
    ),
    # OpenTelemetry stable HTTP semantic conventions (OTEL_SEMCONV_STABILITY_OPT_IN=http), SDK
    # + opentelemetry-exporter-prometheus: buckets 0.005 … 10 s.
    "opentelemetry": HttpMetrics("opentelemetry", "http_server_request_duration_seconds"),
    # OpenTelemetry's default (pre-1.0) HTTP conventions: milliseconds, buckets 0 … 10000,
    # the route template in http_target (FastAPI/Starlette instrumentation).
    "opentelemetry-legacy": HttpMetrics(
        "opentelemetry-legacy",
        "http_server_duration_milliseconds",
        unit="ms",
        method_label="http_method",
        route_label="http_target",
        status_label="http_status_code",
    ),
    # prometheus-fastapi-instrumentator 7/8: the histogram has no status label (buckets 0.1,
    # 0.5, 1 by default); http_requests_total{handler,method,status="2xx"|"5xx"} counts.
    "prometheus-fastapi-instrumentator": HttpMetrics(
        "prometheus-fastapi-instrumentator",
        "http_request_duration_seconds",
        method_label="method",
        route_label="handler",
        status_label=None,
        server_error="5xx",
        requests_counter="http_requests_total",
        counter_status_label="status",
    ),
    # Spring Boot Actuator / Micrometer: http_server_requests_seconds{method,uri,status,outcome}
    # (a histogram once percentiles-histogram or slo buckets are configured).
    "micrometer": HttpMetrics(
        "micrometer",
        "http_server_requests_seconds",
        method_label="method",
        route_label="uri",
        status_label="status",
        process_families=MICROMETER_PROCESS_FAMILIES,
    ),
}
DEFAULT_PROFILE = "hypersync"
_OVERRIDABLE = (
    "histogram",
    "unit",
    "method_label",
    "route_label",
    "status_label",
    "server_error",
    "requests_counter",
    "counter_status_label",
    "api_routes",
    "catalogue",
)


def profile(name: str) -> HttpMetrics:
    """A packaged profile by name."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(
            f"metrics.profile: unknown profile {name!r}; known: {', '.join(PROFILES)}."
        ) from None


def from_mapping(name: object, overrides: Mapping[str, Any] | None) -> HttpMetrics:
    """The profile ``name`` (default ``hypersync``) with the SLO file's ``metrics.http`` overrides."""
    if name is None:
        name = DEFAULT_PROFILE
    if not isinstance(name, str):
        raise ConfigError(f"metrics.profile must be a name such as 'opentelemetry', got {name!r}.")
    base = profile(name)
    if not overrides:
        return base
    unknown = sorted(set(overrides) - set(_OVERRIDABLE))
    if unknown:
        raise ConfigError(
            f"metrics.http: unknown key(s) {', '.join(unknown)}; known: {', '.join(_OVERRIDABLE)}."
        )
    changes: dict[str, Any] = {}
    types = {f.name: f.type for f in fields(HttpMetrics)}
    for key, value in overrides.items():
        if key == "catalogue":
            if not isinstance(value, bool):
                raise ConfigError(f"metrics.http.catalogue must be true or false, got {value!r}.")
        elif value is not None and not isinstance(value, str):
            raise ConfigError(f"metrics.http.{key} must be text, got {value!r}.")
        elif value is None and "None" not in str(types[key]):
            raise ConfigError(f"metrics.http.{key} cannot be empty.")
        changes[key] = value
    return replace(base, **changes)
