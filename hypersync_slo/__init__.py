"""hypersync-slo: contract gate, open-model load and Prometheus-backed SLO reports for HyperSync.

The public API is listed here once; everything else is internal.
"""

from __future__ import annotations

__version__ = "0.1.0"

from hypersync_slo.config import Objective, SloConfig
from hypersync_slo.errors import (
    BudgetViolation,
    ConfigError,
    ContractViolation,
    HyperSyncSloError,
    MalformedExposition,
    MissingTool,
    NoData,
    PrometheusUnavailable,
    SuiteFault,
    TargetUnreachable,
    Violation,
)
from hypersync_slo.exitcodes import ExitCode

__all__ = [
    "BudgetViolation",
    "ConfigError",
    "ContractViolation",
    "ExitCode",
    "HyperSyncSloError",
    "MalformedExposition",
    "MissingTool",
    "NoData",
    "Objective",
    "PrometheusUnavailable",
    "SloConfig",
    "SuiteFault",
    "TargetUnreachable",
    "Violation",
    "__version__",
]
