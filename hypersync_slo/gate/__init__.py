"""The contract gate: pytest checks that tell a compliant HyperSync from a broken one.

Layers (each imports only those above it)::

    contracts    the promises, by checklist ID; ``violation`` builds their failure message
    options      --slo-… options / ini keys / HYPERSYNC_SLO_… variables -> frozen SloSettings
    client       TargetClient: bounded requests, every fault a TargetUnreachable
    health, tracing, scrape, catalogue, business, faultadmin   rules and probes per area
    disclosure, cardinality   what health bodies must not show (H-15); route templates and
                              series budget (O-03, M-09)
    outcomes, state      the ledger of check outcomes, run-wide state in config.stash
    fixtures, plugin     the pytest plugin (entry point ``pytest11: hypersync_slo``)
    suite/               the checks themselves (shipped in the package; slo_tests/ re-exports)
    runner               run the suite in-process and map outcomes to exit codes (``check``)

Public API::

    run_gate(GateRun(target_url="http://127.0.0.1:8080")) -> ExitCode
    TargetClient(base_url, timeout=5.0, headers=None, verify=True).get(path) -> Answer
    CONTRACTS["H-01"].promise; violation("H-01", what, url=, expected=, observed=)
"""

from __future__ import annotations

from hypersync_slo.gate.client import Answer, TargetClient, TimedOut
from hypersync_slo.gate.contracts import CONTRACTS, Contract, violation
from hypersync_slo.gate.options import SloSettings
from hypersync_slo.gate.outcomes import CheckOutcome, GateLedger
from hypersync_slo.gate.runner import GateRun, run_gate, suite_dir

__all__ = [
    "CONTRACTS",
    "Answer",
    "CheckOutcome",
    "Contract",
    "GateLedger",
    "GateRun",
    "SloSettings",
    "TargetClient",
    "TimedOut",
    "run_gate",
    "suite_dir",
    "violation",
]
