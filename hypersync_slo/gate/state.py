"""Run-wide state of the gate, kept in ``config.stash`` under one ``StashKey``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pytest

from hypersync_slo.config import SloConfig
from hypersync_slo.errors import ConfigError, UsageError
from hypersync_slo.gate.options import SloSettings
from hypersync_slo.gate.outcomes import GateLedger


@dataclass
class GateState:
    """Run-wide state of the gate, kept in ``config.stash[GATE_STATE]``."""

    settings: SloSettings | None = None
    settings_error: UsageError | None = None
    slo_config: SloConfig | None = None
    config_error: ConfigError | None = None
    ledger: GateLedger = field(default_factory=GateLedger)
    gate_items: int = 0
    #: Figures each test recorded through ``evidence``, by node ID (kept here, not in pytest's
    #: ``user_properties``, which pytest's own JUnit writer puts where junit-10.xsd forbids).
    figures: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    #: Node IDs of the tests that met a fault (reported as *error*, not *failure*).
    faults: set[str] = field(default_factory=set)
    started: datetime | None = None
    started_monotonic: float = 0.0
    #: Redirects the gate's requests followed (``from -> to``), listed in the summary.
    redirects: list[str] = field(default_factory=list)

    def require_settings(self) -> SloSettings:
        """The settings, or the usage error that prevented building them."""
        if self.settings is None:
            raise self.settings_error or UsageError("the gate's settings were not built")
        return self.settings

    def require_config(self) -> SloConfig:
        """The SLO file, or the error that prevented loading it."""
        if self.slo_config is None:
            raise self.config_error or ConfigError("the SLO file was not loaded")
        return self.slo_config


GATE_STATE = pytest.StashKey[GateState]()


def gate_state(config: pytest.Config) -> GateState:
    """The gate's run-wide state (created on first use)."""
    state = config.stash.get(GATE_STATE, None)
    if state is None:
        state = GateState()
        config.stash[GATE_STATE] = state
    return state
