"""The reference HyperSync service: the embedded default target of the demo, the gate's proof
tests and the load tests.

Start it with ``hypersync-slo serve-reference`` (or ``hypersync_slo.stack.ReferenceService``).
Public names::

    ServiceOptions   everything the service needs to start (options.py)
    FaultState       injected faults and contract breaks; BREAKS, DEPENDENCIES name them (faults.py)
    run(options)     serve on uvicorn until SIGTERM (server.py)

Modules, one noun each: app (ASGI pipeline), routes, api (business handlers), operations
(operators, agents), health, dependencies (policy engine, event queue), store (SQLite receipts),
metrics, tracing, requestids, logs, faults, responses, options, server.
"""

from __future__ import annotations

from hypersync_slo.reference.faults import BREAKS, DEPENDENCIES, FaultError, FaultState
from hypersync_slo.reference.options import ServiceOptions

__all__ = ["BREAKS", "DEPENDENCIES", "FaultError", "FaultState", "ServiceOptions", "run"]


def run(options: ServiceOptions) -> None:
    """Serve until stopped; ``SuiteFault`` when it cannot start (imports uvicorn only when called)."""
    from hypersync_slo.reference.server import run as _run  # noqa: PLC0415 - lazy uvicorn

    _run(options)
