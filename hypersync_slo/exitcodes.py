"""Exit codes shared by every command (documented in ``--help`` and README)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes: one per outcome, so a CI job can branch on them."""

    PASS = 0
    FAIL = 1
    USAGE = 2
    NO_DATA = 3
    TARGET_UNREACHABLE = 4
    PROMETHEUS_UNAVAILABLE = 5
    MALFORMED_METRICS = 6
    BAD_CONFIG = 7
    MISSING_TOOL = 8
    LOAD_SATURATED = 9
    COULD_NOT_RUN = 10
    INTERRUPTED = 130


MEANINGS: dict[ExitCode, str] = {
    ExitCode.PASS: "every check and KPI passed",
    ExitCode.FAIL: "a contract or SLO was violated",
    ExitCode.USAGE: "bad command line",
    ExitCode.NO_DATA: "inconclusive: a KPI had no data or too few samples (fails closed)",
    ExitCode.TARGET_UNREACHABLE: "the target could not be reached",
    ExitCode.PROMETHEUS_UNAVAILABLE: "Prometheus could not be queried",
    ExitCode.MALFORMED_METRICS: "the target's /metrics could not be parsed",
    ExitCode.BAD_CONFIG: "the SLO file is invalid",
    ExitCode.MISSING_TOOL: "a required program is not installed",
    ExitCode.LOAD_SATURATED: "the load generator could not hold its rate; verdict void",
    ExitCode.COULD_NOT_RUN: "could not run for another reason",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); partial results were written",
}


def epilog() -> str:
    """The exit-code table as text for ``--help``."""
    rows = [f"  {int(code):>3}  {MEANINGS[code]}" for code in ExitCode]
    return "exit codes:\n" + "\n".join(rows)
