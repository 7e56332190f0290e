"""The reference service's options, built once from the command line (``serve-reference``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hypersync_slo.reference.faults import FaultState


@dataclass(frozen=True)
class ServiceOptions:
    """Everything the service needs to start; immutable."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    latency_thresholds: tuple[float, ...] = (0.1, 0.5, 1.0, 5.0)
    otlp_endpoint: str | None = None
    zipkin_endpoint: str | None = None
    log_file: Path | None = None
    instrumentation: bool = True
    fault_admin: bool = False
    faults: FaultState = field(default_factory=FaultState)
    optional_dependencies: frozenset[str] = frozenset()
    startup_delay: float = 0.0
    shutdown_grace: float = 0.0
    memory_limit_mib: int = 1024
    queue_limit: int = 10_000
    service_name: str = "hypersync-reference"
    version: str = "0.0.0"
    revision: str = "unknown"
