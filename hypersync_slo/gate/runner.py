"""Run the contract gate (the ``hypersync_slo.gate.suite`` checks) with pytest, in-process.

``run_gate`` builds pytest's argument list from ``GateRun``, isolates the run from the caller's
own pytest configuration (a private ini file and root directory, conftest lookup stopped at
the suite), runs ``pytest.main`` and maps the outcome to the tool's exit codes: 0 every check
passed (some may have skipped), 1 a promise was broken, the fault's own code when every error
was the same fault (4 target unreachable, 3 no data, 5 Prometheus unavailable, ...), 3 when
every selected check was skipped (nothing was judged), 2 a usage error or no check selected.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import hypersync_slo.gate.suite as suite_package
from hypersync_slo.exitcodes import ExitCode
from hypersync_slo.gate.state import gate_state
from hypersync_slo.outputs import write_text
from hypersync_slo.redaction import redact

SUITE_MODULE = "hypersync_slo.gate.suite"
PLUGIN_MODULE = "hypersync_slo.gate.plugin"


def suite_dir() -> Path:
    """The directory of the shipped checks (inside the installed package, so always present)."""
    return Path(suite_package.__file__).resolve().parent


@dataclass(frozen=True)
class GateRun:
    """What to run the gate against and how."""

    target_url: str
    prometheus_url: str | None = None
    prometheus_job: str | None = None
    slo_config: Path | None = None
    traffic: Path | None = None
    timeout: float | None = None
    auth_header: str | None = None
    auth_token_env: str | None = None
    insecure: bool = False
    window: str | None = None
    log_file: Path | None = None
    fault_admin: bool = False
    junit_xml: Path | None = None
    keyword: str | None = None
    kpi: bool = False
    verbose: int = 0
    extra: Sequence[str] = field(default_factory=tuple)

    def pytest_args(self, ini_file: Path, rootdir: Path) -> list[str]:
        """pytest's command line for this run."""
        args = [
            "--pyargs",
            SUITE_MODULE,
            "-c",
            str(ini_file),
            "--rootdir",
            str(rootdir),
            "--confcutdir",
            str(suite_dir()),
            # Only the gate's own plugin: third-party plugins of the environment (anyio's,
            # Locust's, ...) are not loaded, so they neither add options nor warn that they
            # were imported before pytest could rewrite their asserts.
            "--disable-plugin-autoload",
            "-p",
            PLUGIN_MODULE,
            "-p",
            "no:cacheprovider",
            "-rfEs",
            "--tb=short",
            "--slo-target-url",
            self.target_url,
        ]
        options: list[tuple[str, object]] = [
            ("--slo-prometheus-url", self.prometheus_url),
            ("--slo-prometheus-job", self.prometheus_job),
            ("--slo-config", self.slo_config),
            ("--slo-traffic", self.traffic),
            ("--slo-timeout", self.timeout),
            ("--slo-auth-header", self.auth_header),
            ("--slo-auth-token-env", self.auth_token_env),
            ("--slo-window", self.window),
            ("--slo-log-file", self.log_file),
            ("--slo-junit-xml", self.junit_xml),
            ("-k", self.keyword),
        ]
        for flag, value in options:
            if value is not None:
                args += [flag, str(value)]
        if self.insecure:
            args.append("--slo-insecure")
        if self.fault_admin:
            args.append("--slo-fault-admin")
        if not self.kpi:
            args += ["-m", "not kpi"]
        args += ["-v"] * self.verbose if self.verbose else ["-q"]
        args += list(self.extra)
        return args


class _Outcome:
    """A pytest plugin object that keeps the gate's exit code at the end of the session."""

    def __init__(self) -> None:
        self.code: ExitCode | None = None

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.code = gate_state(session.config).ledger.exit_code()


def exit_code_for(pytest_code: int | pytest.ExitCode, ledger_code: ExitCode | None) -> ExitCode:
    """Map pytest's exit code (and the ledger's view of the errors) to the tool's."""
    code = int(pytest_code)
    if code == pytest.ExitCode.OK:
        # pytest calls a run where every test skipped OK; the gate judged nothing: no data.
        return ExitCode.NO_DATA if ledger_code is ExitCode.NO_DATA else ExitCode.PASS
    if code == pytest.ExitCode.TESTS_FAILED:
        return ledger_code if ledger_code not in (None, ExitCode.PASS) else ExitCode.FAIL
    if code == pytest.ExitCode.INTERRUPTED:
        return ExitCode.INTERRUPTED
    if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.NO_TESTS_COLLECTED):
        return ExitCode.USAGE
    return ExitCode.COULD_NOT_RUN


def run_gate(run: GateRun) -> ExitCode:
    """Run the gate with pytest in this process and return the tool's exit code."""
    outcome = _Outcome()
    with tempfile.TemporaryDirectory(prefix="hypersync-slo-gate-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n", "utf-8")
        code = pytest.main(run.pytest_args(ini, Path(tmp)), plugins=[outcome])
    if run.junit_xml is not None and run.junit_xml.is_file():
        # pytest wrote it; mask any secret a message carried, atomically.
        text = run.junit_xml.read_text("utf-8", errors="replace")
        if redact(text) != text:
            write_text(run.junit_xml, text)
    return exit_code_for(code, outcome.code)
