"""The families CONTRACT section 2 requires, with their type and labels.

Names come from the SLO file's metric catalogue (``SloConfig.metric(role)``), so a service
that renamed a metric and said so in its SLO file is judged by its own names. Process metrics
(from the client library) have fixed names. Host metrics come from node_exporter, not from the
target, and are judged by the KPI layer, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypersync_slo.config import SloConfig


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
