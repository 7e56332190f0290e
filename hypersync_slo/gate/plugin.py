"""The pytest plugin of the contract gate (entry point ``pytest11: hypersync_slo``).

It adds the ``--slo-…`` options (also ini keys and ``HYPERSYNC_SLO_…`` variables), builds the
frozen settings and the SLO file once per run into ``config.stash``, registers the validated
``slo`` and ``kpi`` markers, names target, SLO file and budgets in the report header, gives
the package's own errors a short message instead of a traceback (a fault met in a test is
reported as an *error*, a broken promise as a *failure*), and ends with a summary table of every
contract and KPI checked. Fixtures live in ``hypersync_slo.gate.fixtures``.

This module is the one place in the gate that reads ``os.environ``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from hypersync_slo.config import KPIS, SloConfig
from hypersync_slo.errors import ConfigError, HyperSyncSloError, UsageError
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.gate import junit
from hypersync_slo.gate.contracts import CONTRACTS
from hypersync_slo.gate.options import add_options, build_settings
from hypersync_slo.gate.outcomes import CheckOutcome
from hypersync_slo.gate.state import gate_state
from hypersync_slo.outputs import write_text
from hypersync_slo.redaction import redact_url

pytest_plugins = ["hypersync_slo.gate.fixtures"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``--slo-…`` option group."""
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Register markers; build settings and the SLO file once (errors kept for later)."""
    config.addinivalue_line(
        "markers",
        "slo(contract): the test checks promise CONTRACT of the monitoring contract, e.g. "
        "@pytest.mark.slo(contract='H-01') (IDs in hypersync_slo.gate.contracts)",
    )
    config.addinivalue_line(
        "markers",
        "kpi(name): the test judges KPI NAME from Prometheus over --slo-window, "
        "e.g. @pytest.mark.kpi(name='latency_p99')",
    )
    state = gate_state(config)
    try:
        state.settings = build_settings(config, os.environ)
    except UsageError as exc:
        state.settings_error = exc
        return
    try:
        state.slo_config = SloConfig.load(state.settings.config_path).with_traffic(
            state.settings.traffic_path
        )
    except ConfigError as exc:
        state.config_error = exc
        return
    auth = state.slo_config.traffic.auth
    if auth is not None and state.settings.auth_token_env is None:
        # The token the traffic declaration names (traffic.auth) serves the gate as the load.
        try:
            value = auth.header_value(os.environ)
        except UsageError as exc:
            state.settings_error = exc
            return
        state.settings = replace(
            state.settings,
            auth_header=auth.header,
            auth_token=value,
            auth_token_env=auth.token_env,
        )


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Name target, SLO file and budgets (only when the gate is pointed at a target)."""
    state = gate_state(config)
    if state.settings is None or (
        state.settings.target_url is None and state.settings.prometheus_url is None
    ):
        return []
    lines = ["hypersync-slo gate:", *(f"  {line}" for line in state.settings.describe())]
    if state.slo_config is not None:
        slo = state.slo_config
        budgets = ", ".join(
            f"{o.kpi} {o.describe()}" for o in slo.objectives.values() if not o.report_only
        )
        thresholds = ", ".join(f"{t:g}" for t in slo.latency_thresholds)
        lines += [
            f"  SLO file: {slo.source}",
            f"  health budgets: live {slo.live_timeout:g} s, ready {slo.ready_timeout:g} s",
            f"  latency thresholds (must be buckets): {thresholds} s",
            f"  KPI budgets: {budgets}",
            f"  KPI window: {state.settings.window_text}",
        ]
    return lines


def _marker_contracts(item: pytest.Item) -> tuple[str, ...]:
    ids: list[str] = []
    for marker in item.iter_markers("slo"):
        contract_id = marker.kwargs.get("contract", marker.args[0] if marker.args else None)
        if not isinstance(contract_id, str) or contract_id not in CONTRACTS:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.slo needs contract='<ID>' with a known ID; "
                f"got {contract_id!r}. Known: {', '.join(CONTRACTS)}"
            )
        ids.append(contract_id)
    for marker in item.iter_markers("kpi"):
        name = marker.kwargs.get("name", marker.args[0] if marker.args else None)
        if name not in KPIS:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.kpi needs name='<KPI>', one of {', '.join(KPIS)}; "
                f"got {name!r}"
            )
        ids.append(str(name))
    return tuple(dict.fromkeys(ids))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Validate ``slo``/``kpi`` markers (their IDs become ``-k`` keywords: ``-k H-03``);
    a gate test without a target is a usage error."""
    state = gate_state(config)
    gate_items = []
    for item in items:
        contracts = _marker_contracts(item)
        if contracts:
            gate_items.append(item)
            item.extra_keyword_matches.update(contracts)
    state.gate_items = len(gate_items)
    if not gate_items:
        return
    settings = state.settings
    if settings is None:
        raise pytest.UsageError(str(state.settings_error))
    if state.config_error is not None:
        raise pytest.UsageError(str(state.config_error))
    needs_target = any(item.get_closest_marker("slo") for item in gate_items)
    if needs_target and settings.target_url is None:
        raise pytest.UsageError(
            "the contract gate needs a target: pass --slo-target-url URL "
            "(or set HYPERSYNC_SLO_TARGET_URL, or slo_target_url in the ini file)"
        )


def _headline(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Short messages for the package's errors; record the outcome in the ledger."""
    report = yield
    contracts = _marker_contracts(item)
    if not contracts:
        return report  # not a gate check: the project's own tests keep pytest's full report
    excinfo = call.excinfo
    state = gate_state(item.config)
    if excinfo is not None and isinstance(excinfo.value, HyperSyncSloError):
        report.longrepr = f"{type(excinfo.value).__name__}: {_headline(excinfo.value)}"
    if excinfo is not None and _is_fault(excinfo.value):
        # a fault (ours, or an unexpected exception): the gate could not judge -> an error
        state.faults.add(report.nodeid)
    ledger = state.ledger
    figures = tuple(state.figures.get(item.nodeid, ()))
    seconds = report.duration
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        ledger.add(
            CheckOutcome(
                item.nodeid,
                item.name,
                contracts,
                "skip",
                reason.removeprefix("Skipped: "),
                seconds=seconds,
                figures=figures,
            )
        )
    elif report.failed:
        exc_value = excinfo.value if excinfo is not None else None
        is_fault = exc_value is not None and _is_fault(exc_value)
        ledger.add(
            CheckOutcome(
                item.nodeid,
                item.name,
                contracts,
                "error" if is_fault else "fail",
                _headline(exc_value) if exc_value is not None else str(report.longrepr),
                error_type=type(exc_value).__name__ if exc_value is not None else None,
                exit_code=int(exc_value.exit_code)
                if isinstance(exc_value, HyperSyncSloError)
                else None,
                seconds=seconds,
                figures=figures,
            )
        )
    elif report.passed and call.when == "call":
        warnings = ledger.warnings.get(item.nodeid, [])
        ledger.add(
            CheckOutcome(
                item.nodeid,
                item.name,
                contracts,
                "warn" if warnings else "pass",
                warnings[0] if warnings else _figures(figures),
                seconds=seconds,
                figures=figures,
            )
        )
    return report


def _is_fault(exc: BaseException) -> bool:
    """An exception that is not a verdict (pytest's own outcomes are BaseExceptions)."""
    return isinstance(exc, Exception) and not isinstance(exc, AssertionError)


def _figures(figures: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{k}={v}" for k, v in figures)


def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> tuple[str, str, str] | None:
    """A fault met during a test's call is an *error* (E), not a failure."""
    if report.when == "call" and report.failed and report.nodeid in gate_state(config).faults:
        return "error", "E", "ERROR"
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    """Note when the run started (the JUnit suite's timestamp and time)."""
    state = gate_state(session.config)
    state.started = datetime.now(UTC)
    state.started_monotonic = time.monotonic()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the gate's JUnit file (``--slo-junit-xml``) when asked for, even after a failure."""
    state = gate_state(session.config)
    settings = state.settings
    if settings is None or settings.junit_xml is None or state.gate_items == 0:
        return
    properties = [
        ("target", redact_url(settings.target_url) or ""),
        ("prometheus", redact_url(settings.prometheus_url) or ""),
        ("slo_file", str(state.slo_config.source) if state.slo_config else ""),
    ]
    text = junit.render(
        state.ledger,
        started=state.started or datetime.now(UTC),
        seconds=time.monotonic() - state.started_monotonic if state.started else 0.0,
        properties=[(k, v) for k, v in properties if v],
    )
    write_text(settings.junit_xml, text)  # atomic, secrets masked


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """The table of every contract and KPI checked, then the SHOULD-level warnings."""
    state = gate_state(config)
    if not state.ledger.outcomes:
        return
    terminalreporter.write_sep("=", "hypersync-slo contract summary")
    for line in state.ledger.table():
        terminalreporter.write_line(line)
    counts = state.ledger.counts()
    terminalreporter.write_line(
        ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "nothing checked"
    )
    if state.ledger.nothing_judged():
        terminalreporter.write_line(
            f"nothing was judged: all {counts['skip']} selected checks were skipped "
            f"(no data, exit {int(ExitCode.NO_DATA)}); see the skip reasons above"
        )
    if state.redirects:
        hops = sorted(set(state.redirects))
        terminalreporter.write_sep("-", f"redirects followed ({len(hops)})")
        for hop in hops:
            terminalreporter.write_line(f"  {hop}")
    warned = [(nodeid, msgs) for nodeid, msgs in state.ledger.warnings.items() if msgs]
    if warned:
        terminalreporter.write_sep("-", "warnings (SHOULD-level promises, not failures)")
        for nodeid, messages in warned:
            for message in messages:
                terminalreporter.write_line(f"WARN {nodeid}")
                for line in message.splitlines():
                    terminalreporter.write_line(f"  {line}")
