"""The families docs/contracts.md §2 requires, with their type and labels.

Names come from the SLO file's metric catalogue (``SloConfig.metric(role)``) and its
instrumentation profile (``SloConfig.http``), so a service that renamed a metric, or that is
instrumented with OpenTelemetry, prometheus-fastapi-instrumentator or Micrometer and said so in
its SLO file, is judged by its own names. ``required_families(config)`` is the list for one SLO
file: the client library's process families, the request histogram with the profile's labels
(and the status counter when the histogram has no status label), and the HyperSync catalogue
when the profile requires it. Host metrics come from node_exporter, not from the target, and are
judged by the KPI layer, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypersync_slo.config import SloConfig
from hypersync_slo.profiles import PROCESS_FAMILIES


@dataclass(frozen=True)
class RequiredFamily:
    """A family the target must expose: catalogue role (or fixed name), type and labels."""

    role: str
    type: str
    labels: tuple[str, ...] = ()
    fixed_name: str | None = None

    def name(self, config: SloConfig) -> str:
        """The metric name for this target (the SLO file's catalogue decides)."""
        return self.fixed_name or config.metric(self.role)


#: The HyperSync profile's list (docs/contracts.md §2); ``required_families`` gives any profile's.
REQUIRED: tuple[RequiredFamily, ...] = (
    RequiredFamily("process_cpu", "counter", fixed_name="process_cpu_seconds_total"),
    RequiredFamily("process_memory", "gauge", fixed_name="process_resident_memory_bytes"),
    RequiredFamily("process_open_fds", "gauge", fixed_name="process_open_fds"),
    RequiredFamily("process_max_fds", "gauge", fixed_name="process_max_fds"),
    RequiredFamily(
        "request_duration",
        "histogram",
        ("http_request_method", "http_route", "http_response_status_code"),
    ),
    RequiredFamily("active_requests", "gauge"),
    RequiredFamily("active_connections", "gauge"),
    RequiredFamily("queue_depth", "gauge"),
    RequiredFamily("operator_executions", "counter", ("operator", "outcome")),
    RequiredFamily("policy_evaluations", "counter", ("decision",)),
    RequiredFamily("receipts_generated", "counter"),
    RequiredFamily("agents_active", "gauge"),
    RequiredFamily("agent_actions", "counter", ("action",)),
    RequiredFamily("compute_seconds", "counter", ("operator",)),
    RequiredFamily("storage_used", "gauge"),
    RequiredFamily("build_info", "gauge", ("version", "revision")),
    RequiredFamily("config_reload", "gauge"),
)

#: The HyperSync catalogue: everything after the process families and the request histogram.
CATALOGUE: tuple[RequiredFamily, ...] = tuple(
    r for r in REQUIRED if r.fixed_name is None and r.role != "request_duration"
)


def required_families(config: SloConfig) -> tuple[RequiredFamily, ...]:
    """The families the target of ``config`` must expose (M-07), by its instrumentation profile."""
    http = config.http
    if http.process_families == PROCESS_FAMILIES:
        families = [r for r in REQUIRED if r.fixed_name is not None]
    else:
        families = [
            RequiredFamily(name, kind, fixed_name=name) for name, kind in http.process_families
        ]
    families.append(RequiredFamily("request_duration", "histogram", http.labels))
    if http.requests_counter is not None:
        labels = (http.method_label, http.route_label, http.status)
        families.append(
            RequiredFamily("requests_counter", "counter", labels, fixed_name=http.requests_counter)
        )
    if http.catalogue:
        families.extend(CATALOGUE)
    return tuple(families)
