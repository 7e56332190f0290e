"""The service's metrics: its own ``CollectorRegistry``, rendered for ``GET /metrics``.

- the process collector (``process_cpu_seconds_total``, ``process_resident_memory_bytes``, ...);
- ``http_server_request_duration_seconds`` histogram (labels ``http_request_method``,
  ``http_route`` = route template, ``http_response_status_code``) with the OpenTelemetry advisory
  buckets plus every SLO latency threshold;
- gauges ``http_server_active_requests``, ``hypersync_active_connections``,
  ``hypersync_queue_depth``, ``hypersync_agents_active``, ``hypersync_storage_used_bytes``,
  ``hypersync_build_info{version,revision}`` (= 1),
  ``hypersync_config_last_reload_timestamp_seconds``, ``target_info{service_name,service_version}``;
- business counters ``hypersync_operator_executions_total{operator,outcome}``,
  ``hypersync_compute_seconds_total{operator}``, ``hypersync_policy_evaluations_total{decision}``,
  ``hypersync_receipts_generated_total``, ``hypersync_agent_actions_total{action}``, which count
  successful operations only, exactly once each, and are zero-initialised for every known label;
- ``hypersync_dependency_probes_total{dependency}``: probes the health checks ran (so a checker
  can see that N concurrent ready calls cost one probe).

Gauges and business counters are plain attributes read at scrape time (a ``+= 1`` on the hot
path, no locks: the service runs on one event loop). ``_created`` series are disabled. Text
0.0.4 is the default format; OpenMetrics 1.0.0 when the ``Accept`` header asks for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics import disable_created_metrics
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from hypersync_slo.profiles import OTEL_BUCKETS
from hypersync_slo.reference.faults import DEPENDENCIES
from hypersync_slo.reference.operations import AGENT_ACTIONS, OPERATORS

#: Sub-5 ms buckets below OpenTelemetry's: the reference service answers in about 0.2 ms, and
#: with 5 ms as the lowest bound a server-side p50 could only be said to lie in (0, 5 ms].
FINE_BUCKETS: tuple[float, ...] = (0.00025, 0.0005, 0.001, 0.0025)
CONTENT_TYPE_OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
CONTENT_TYPE_TEXT = CONTENT_TYPE_PLAIN_0_0_4
DURATION = "http_server_request_duration_seconds"
OUTCOMES: tuple[str, ...] = ("success", "error")
DECISIONS: tuple[str, ...] = ("allow", "deny")
_MEDIA_Q = re.compile(r"^\s*q\s*=\s*([0-9.]+)\s*$")


def buckets_with(thresholds: Iterable[float]) -> tuple[float, ...]:
    """The fine and OTel advisory buckets plus every given threshold, ascending, no duplicates."""
    values = {float(b) for b in (*FINE_BUCKETS, *OTEL_BUCKETS)}
    values |= {float(t) for t in thresholds if t > 0}
    return tuple(sorted(values))


def wants_openmetrics(accept: str | None) -> bool:
    """Whether an ``Accept`` header asks for OpenMetrics (with a q-value above 0)."""
    if not accept:
        return False
    for part in accept.split(","):
        media, *params = part.split(";")
        if media.strip().lower() != "application/openmetrics-text":
            continue
        q = 1.0
        for param in params:
            match = _MEDIA_Q.match(param)
            if match:
                try:
                    q = float(match.group(1))
                except ValueError:
                    q = 0.0
        if q > 0:
            return True
    return False


class BusinessCounters:
    """Successful business operations, counted once each (plain numbers: one event loop)."""

    def __init__(self) -> None:
        self.operator_executions: dict[tuple[str, str], int] = {
            (op, outcome): 0 for op in OPERATORS for outcome in OUTCOMES
        }
        self.compute_seconds: dict[str, float] = dict.fromkeys(OPERATORS, 0.0)
        self.policy_evaluations: dict[str, int] = dict.fromkeys(DECISIONS, 0)
        self.receipts_generated = 0
        self.agent_actions: dict[str, int] = dict.fromkeys(AGENT_ACTIONS, 0)
        self.frozen = False  # the business-counters-frozen break

    def operator(self, operator: str, outcome: str, seconds: float) -> None:
        """One operator execution finished."""
        if not self.frozen:
            self.operator_executions[(operator, outcome)] += 1
            self.compute_seconds[operator] += seconds

    def policy(self, decision: str) -> None:
        """One policy evaluation finished."""
        if not self.frozen:
            self.policy_evaluations[decision] += 1

    def receipt(self) -> None:
        """One receipt was persisted."""
        if not self.frozen:
            self.receipts_generated += 1

    def agent_action(self, action: str) -> None:
        """One agent action was accepted."""
        if not self.frozen:
            self.agent_actions[action] += 1


class ServiceState:
    """Gauge sources read at scrape time; the app and server fill them in."""

    def __init__(self) -> None:
        self.active_requests = 0
        self.connections: Callable[[], int] = lambda: 0
        self.queue_depth: Callable[[], int] = lambda: 0
        self.agents_active: Callable[[], int] = lambda: 0
        self.storage_used: Callable[[], int] = lambda: 0
        self.dependency_probes: Callable[[], int] = lambda: 0
        self.version = "0"
        self.service_name = "hypersync-reference"
        self.revision = "unknown"
        self.config_reloaded_at = 0.0


class _ServiceCollector(Collector):
    def __init__(self, state: ServiceState, counters: BusinessCounters) -> None:
        self.state = state
        self.counters = counters
        self.omit_queue_depth = False  # the metrics-missing-family break
        self.inflate_odd_scrapes = False  # the metrics-counter-decrease break
        self._scrapes = 0

    def collect(self) -> Iterator[Metric]:
        s, c = self.state, self.counters
        bump = 0
        if self.inflate_odd_scrapes:
            self._scrapes += 1
            bump = 1000 if self._scrapes % 2 else 0
        yield _gauge(
            "http_server_active_requests", "HTTP server requests in flight.", s.active_requests
        )
        yield _gauge(
            "hypersync_active_connections", "Open client TCP connections.", s.connections()
        )
        if not self.omit_queue_depth:
            yield _gauge(
                "hypersync_queue_depth", "Events waiting in the event queue.", s.queue_depth()
            )
        yield _gauge(
            "hypersync_agents_active",
            "Agents with an action in the last 5 minutes.",
            s.agents_active(),
        )
        yield _gauge(
            "hypersync_storage_used_bytes",
            "Bytes used by the receipt store on disk.",
            s.storage_used(),
        )
        info = GaugeMetricFamily(
            "hypersync_build_info",
            "Build of the running service (always 1).",
            labels=["version", "revision"],
        )
        info.add_metric([s.version, s.revision], 1)
        yield info
        target = GaugeMetricFamily(
            "target_info",
            "OpenTelemetry resource of this service (always 1).",
            labels=["service_name", "service_version"],
        )
        target.add_metric([s.service_name, s.version], 1)
        yield target
        yield _gauge(
            "hypersync_config_last_reload_timestamp_seconds",
            "Unix time the configuration was last (re)loaded.",
            s.config_reloaded_at,
        )
        ops = CounterMetricFamily(
            "hypersync_operator_executions",
            "Operator executions that completed.",
            labels=["operator", "outcome"],
        )
        for (op, outcome), n in c.operator_executions.items():
            ops.add_metric([op, outcome], n + bump)
        yield ops
        compute = CounterMetricFamily(
            "hypersync_compute_seconds",
            "Seconds of compute spent in operators.",
            labels=["operator"],
        )
        for op, seconds in c.compute_seconds.items():
            compute.add_metric([op], seconds + bump)
        yield compute
        policies = CounterMetricFamily(
            "hypersync_policy_evaluations",
            "Policy evaluations that completed.",
            labels=["decision"],
        )
        for decision, n in c.policy_evaluations.items():
            policies.add_metric([decision], n + bump)
        yield policies
        yield CounterMetricFamily(
            "hypersync_receipts_generated", "Receipts persisted.", value=c.receipts_generated + bump
        )
        actions = CounterMetricFamily(
            "hypersync_agent_actions", "Agent actions accepted.", labels=["action"]
        )
        for action, n in c.agent_actions.items():
            actions.add_metric([action], n + bump)
        yield actions
        probes = CounterMetricFamily(
            "hypersync_dependency_probes",
            "Dependency probe rounds run by the health checks (cached 1 s, coalesced).",
            labels=["dependency"],
        )
        for dependency in DEPENDENCIES:
            probes.add_metric([dependency], s.dependency_probes())
        yield probes


def _go_float(value: float) -> str:
    text: str = floatToGoString(value)  # type: ignore[no-untyped-call]
    return text


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


class ServiceMetrics:
    """Registry, request histogram, business counters and gauge sources of one service."""

    def __init__(self, *, thresholds: Sequence[float] = ()) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=False)
        self.buckets = buckets_with(thresholds)
        self.thresholds = tuple(sorted({float(t) for t in thresholds if t > 0}))
        ProcessCollector(registry=self.registry)
        self.request_duration = Histogram(
            DURATION,
            "Duration of HTTP server requests.",
            ["http_request_method", "http_route", "http_response_status_code"],
            buckets=self.buckets,
            registry=self.registry,
        )
        self.state = ServiceState()
        self.business = BusinessCounters()
        self._collector = _ServiceCollector(self.state, self.business)
        self.registry.register(self._collector)
        self._children: dict[tuple[str, str, int], Callable[[float], None]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one finished request in the latency histogram."""
        key = (method, route, status)
        observe = self._children.get(key)
        if observe is None:
            observe = self.request_duration.labels(method, route, str(status)).observe
            self._children[key] = observe
        observe(seconds)

    def apply_breaks(self, breaks: frozenset[str]) -> None:
        """Switch the metric-side contract breaks on or off."""
        self.business.frozen = "business-counters-frozen" in breaks
        self._collector.omit_queue_depth = "metrics-missing-family" in breaks
        self._collector.inflate_odd_scrapes = "metrics-counter-decrease" in breaks

    def render(
        self, accept: str | None, breaks: frozenset[str] = frozenset()
    ) -> tuple[bytes, str | None]:
        """The exposition body and its Content-Type (None only under a break)."""
        openmetrics_wanted = wants_openmetrics(accept) and "metrics-ignore-accept" not in breaks
        if openmetrics_wanted:
            body = openmetrics.generate_latest(self.registry)  # type: ignore[no-untyped-call]
            content_type: str | None = CONTENT_TYPE_OPENMETRICS
        else:
            body = generate_latest(self.registry)
            content_type = CONTENT_TYPE_TEXT
        if breaks:
            body = self._broken(body, breaks)
            if "metrics-no-content-type" in breaks:
                content_type = None
        return body, content_type

    def _broken(self, body: bytes, breaks: frozenset[str]) -> bytes:
        if "metrics-bad-buckets" in breaks:
            thresholds = self.thresholds or (0.1, 0.5, 1.0, 5.0)
            drop = [f'le="{_go_float(t)}"'.encode() for t in thresholds]
            body = b"\n".join(
                line
                for line in body.split(b"\n")
                if not (
                    line.startswith(DURATION.encode() + b"_bucket{")
                    and any(d in line for d in drop)
                )
            )
        if "metrics-duplicate-series" in breaks:
            out = []
            for line in body.split(b"\n"):
                out.append(line)
                if line.startswith(b"hypersync_receipts_generated_total "):
                    out.append(line)
            body = b"\n".join(out)
        if "metrics-counter-no-total" in breaks:
            body = body.replace(
                b"hypersync_receipts_generated_total", b"hypersync_receipts_generated"
            )
        return body
