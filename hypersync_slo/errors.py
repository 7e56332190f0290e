"""The one error tree of hypersync-slo.

Violations (the target broke a promise) are kept apart from faults (the suite
could not find out). pytest reports a violation as *failed* and a fault as
*error*; the CLI maps each branch to its own exit code (see ``exitcodes``)::

    HyperSyncSloError
    ├── Violation (AssertionError)            the target broke a promise -> exit 1
    │   ├── ContractViolation                 health, /metrics, tracing contract
    │   └── BudgetViolation                   a KPI outside its objective
    └── SuiteFault                            we could not judge
        ├── UsageError                        bad command line             -> exit 2
        ├── NoData                            too few samples to judge     -> exit 3
        ├── TargetUnreachable                 connect/TLS/timeout/redirect -> exit 4
        ├── PrometheusUnavailable             Prometheus down or erroring  -> exit 5
        ├── MalformedExposition               /metrics cannot be parsed    -> exit 6
        ├── ConfigError                       bad SLO file                 -> exit 7
        ├── MissingTool                       a binary is not installed    -> exit 8
        ├── LoadGeneratorSaturated            the load could not hold rate -> exit 9
        └── OutputUnwritable                  an output cannot be written  -> exit 10

Every message is written for an on-call engineer: what was checked, where,
expected vs observed, and what to do, each on its own line.
"""

from __future__ import annotations

from hypersync_slo.exitcodes import ExitCode


class HyperSyncSloError(Exception):
    """Root of every error this package raises on purpose."""

    exit_code: ExitCode = ExitCode.COULD_NOT_RUN


class Violation(HyperSyncSloError, AssertionError):
    """The target broke a promise: a pytest *failure*, exit code 1."""

    exit_code = ExitCode.FAIL


class ContractViolation(Violation):
    """A health, exposition or tracing contract is broken."""


class BudgetViolation(Violation):
    """A KPI is outside its objective."""


class SuiteFault(HyperSyncSloError):
    """The suite could not reach a verdict: a pytest *error*."""


class UsageError(SuiteFault):
    """The command line does not make sense."""

    exit_code = ExitCode.USAGE


class NoData(SuiteFault):
    """Too few samples to judge: inconclusive, fails closed."""

    exit_code = ExitCode.NO_DATA


class TargetUnreachable(SuiteFault):
    """The target could not be reached (refused, TLS, timeout, redirect loop)."""

    exit_code = ExitCode.TARGET_UNREACHABLE


class PrometheusUnavailable(SuiteFault):
    """Prometheus could not be queried or answered with an error."""

    exit_code = ExitCode.PROMETHEUS_UNAVAILABLE


class MalformedExposition(SuiteFault):
    """A /metrics body that cannot be parsed at all."""

    exit_code = ExitCode.MALFORMED_METRICS


class ConfigError(SuiteFault):
    """The SLO file (or an option derived from it) is invalid."""

    exit_code = ExitCode.BAD_CONFIG


class MissingTool(SuiteFault):
    """A program the job needs (prometheus, promtool, ...) is not installed."""

    exit_code = ExitCode.MISSING_TOOL


class LoadGeneratorSaturated(SuiteFault):
    """The load generator could not hold its rate: the run's verdict is void."""

    exit_code = ExitCode.LOAD_SATURATED


class OutputUnwritable(SuiteFault):
    """An output directory or file cannot be written (probed before any work, or on write)."""

    exit_code = ExitCode.COULD_NOT_RUN


def explain(what: str, **fields: object) -> str:
    """Build a message: a first line saying what, then one ``key: value`` line per field."""
    lines = [what]
    lines.extend(f"{key.replace('_', ' ')}: {value}" for key, value in fields.items())
    return "\n".join(lines)
