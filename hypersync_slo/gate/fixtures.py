"""Fixtures of the contract gate, each named for what it yields.

``slo_settings`` (the frozen options), ``slo_config`` (the SLO file), ``target`` (a bounded
``TargetClient``), ``evidence`` (per-test figures and warnings), ``metrics_answer`` and
``metrics_exposition`` (one text-0.0.4 scrape, parsed), ``kpi_report`` (every KPI judged from
Prometheus over --slo-window), ``business_traffic`` (scrapes around one
business call of each kind), ``target_log`` (the target's JSON log), ``fault_admin`` (the
reference service's fault switch, only with ``--slo-fault-admin``) and ``prometheus_client``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from hypersync_slo.config import SloConfig
from hypersync_slo.errors import UsageError
from hypersync_slo.exposition import ACCEPT_TEXT, Exposition
from hypersync_slo.gate.business import BusinessTraffic, run_business_calls
from hypersync_slo.gate.client import Answer, TargetClient
from hypersync_slo.gate.faultadmin import FaultAdmin
from hypersync_slo.gate.options import SloSettings
from hypersync_slo.gate.scrape import parse_answer, scrape
from hypersync_slo.gate.state import GateState, gate_state

if TYPE_CHECKING:
    from hypersync_slo.report import Report


def _state(request: pytest.FixtureRequest) -> GateState:
    return gate_state(request.config)


@pytest.fixture(scope="session")
def slo_settings(request: pytest.FixtureRequest) -> SloSettings:
    """The gate's frozen settings (command line > environment > ini)."""
    return _state(request).require_settings()


@pytest.fixture(scope="session")
def slo_config(request: pytest.FixtureRequest) -> SloConfig:
    """The SLO file named by --slo-config (or the packaged default)."""
    return _state(request).require_config()


@pytest.fixture(scope="session")
def target(slo_settings: SloSettings, request: pytest.FixtureRequest) -> Iterator[TargetClient]:
    """A bounded HTTP client for the target named by --slo-target-url."""
    if slo_settings.target_url is None:
        raise UsageError("no target: pass --slo-target-url URL (or HYPERSYNC_SLO_TARGET_URL).")
    with TargetClient(
        slo_settings.target_url,
        timeout=slo_settings.timeout,
        headers=slo_settings.headers(),
        verify=slo_settings.verify_tls,
        redirect_log=gate_state(request.config).redirects,
    ) as client:
        yield client


@dataclass
class Evidence:
    """What one test saw: figures (summary table and the gate's JUnit) and SHOULD-level warnings."""

    request: pytest.FixtureRequest

    def figure(self, name: str, value: object) -> None:
        """Record a figure of this test (summary table; a suite ``<property>`` in the JUnit)."""
        figures = _state(self.request).figures.setdefault(self.request.node.nodeid, [])
        figures.append((name, str(value)))

    def warn(self, message: str) -> None:
        """Record a SHOULD-level finding: the check passes, its summary row says 'warn'."""
        _state(self.request).ledger.warn(self.request.node.nodeid, message)


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """Per-test figures and warnings, shown in the summary table and written to JUnit."""
    return Evidence(request)


@pytest.fixture(scope="session")
def metrics_answer(target: TargetClient) -> Answer:
    """One ``GET /metrics`` asking for text 0.0.4 (what promtool reads)."""
    return scrape(target, ACCEPT_TEXT)


@pytest.fixture(scope="session")
def metrics_exposition(metrics_answer: Answer) -> Exposition:
    """``metrics_answer`` parsed (a body that cannot be parsed is an error here)."""
    return parse_answer(metrics_answer)


@pytest.fixture(scope="session")
def business_traffic(target: TargetClient, slo_config: SloConfig) -> BusinessTraffic:
    """Scrapes before and after one business call of each kind, and the calls made."""
    return run_business_calls(target, slo_config)


@pytest.fixture(scope="session")
def target_log(slo_settings: SloSettings) -> Path:
    """The target's JSON log (--slo-log-file); the log checks skip without it."""
    if slo_settings.log_file is None:
        pytest.skip("no --slo-log-file: the target's log cannot be read, log checks skipped")
    if not slo_settings.log_file.is_file():
        raise UsageError(f"--slo-log-file {slo_settings.log_file} does not exist or is not a file.")
    return slo_settings.log_file


@pytest.fixture(scope="session")
def fault_admin(target: TargetClient, slo_settings: SloSettings) -> FaultAdmin:
    """The target's ``/admin/faults`` switch, only when --slo-fault-admin allows using it."""
    if not slo_settings.fault_admin:
        pytest.skip(
            "dependency-outage proof needs --slo-fault-admin (a target with /admin/faults, "
            "such as the reference service started with --enable-fault-admin)"
        )
    return FaultAdmin.connect(target)


@pytest.fixture(scope="session")
def kpi_report(slo_settings: SloSettings, slo_config: SloConfig) -> Report:
    """Every KPI judged from Prometheus over the window ending now (--slo-window)."""
    if slo_settings.prometheus_url is None:
        pytest.skip("no --slo-prometheus-url: KPI tests need Prometheus")
    # The reporter pulls in pandas: imported only when KPIs are judged, so the contract gate
    # alone starts fast.
    from hypersync_slo.prometheus.client import PrometheusClient  # noqa: PLC0415
    from hypersync_slo.prometheus.queries import default_routes  # noqa: PLC0415
    from hypersync_slo.report import evaluate_window, settle_window  # noqa: PLC0415

    end = datetime.now(UTC)
    start = end - timedelta(seconds=slo_settings.window)
    with PrometheusClient(
        slo_settings.prometheus_url, timeout=slo_settings.timeout, verify=slo_settings.verify_tls
    ) as client:
        # The window's last requests count once every target was scraped after its end.
        coverage = settle_window(client, slo_config, start, end, job=slo_settings.prometheus_job)
        return evaluate_window(
            client,
            slo_config,
            start,
            end,
            job=slo_settings.prometheus_job,
            plots=False,
            coverage=coverage,
            routes=default_routes(slo_config),
        )
