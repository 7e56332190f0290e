"""The ``hypersync-slo`` command: one sub-command per job, each in ``hypersync_slo.commands``.

Each command module exposes ``register(subparsers)``; its handler returns an ``ExitCode``.
Errors from the package's error tree become a one-paragraph explanation on stderr and the
error's own exit code; Ctrl-C becomes exit 130 after the command has written what it had.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import textwrap
import traceback
from collections.abc import Sequence
from pathlib import Path

from hypersync_slo import __version__
from hypersync_slo.errors import HyperSyncSloError, UsageError
from hypersync_slo.exitcodes import ExitCode, epilog
from hypersync_slo.extras import explain_import_error
from hypersync_slo.redaction import (
    check_password,
    redact,
    redacted_streams,
    register_basic_auth,
    register_environment,
    register_url_secrets,
    secret_from_env,
)

#: Environment variables holding a token (validated: a header must carry them) and holding a
#: password (only masked: basic auth encodes any character).
TOKEN_VARIABLES = ("HYPERSYNC_PROMETHEUS_TOKEN",)
PASSWORD_VARIABLES = ("HYPERSYNC_PROMETHEUS_PASSWORD",)

#: Sub-command name -> (module in hypersync_slo.commands, one-line help), in ``--help`` order.
#: Only the module of the command being run is imported, so ``--help`` and light commands
#: never pay for pandas, matplotlib or OpenTelemetry.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "the whole job on the embedded reference service + Prometheus"),
    "run": ("run", "pre-release job: contract gate, load, SLO report, one verdict"),
    "check": ("check", "the contract gate: health, /metrics, tracing (and KPIs) of one deployment"),
    "lint-metrics": (
        "lint_metrics",
        "lint a /metrics exposition (URL, FILE or -) like promtool, and more",
    ),
    "load": (
        "load",
        "open-model load at a fixed rate with coordinated-omission-corrected latencies",
    ),
    "report": (
        "report",
        "judge a window's KPIs from Prometheus; write verdict.json, report.md/.html, junit.xml",
    ),
    "audit": (
        "audit",
        "audit a period: error budget, burn rates, worst day, coverage; record in history",
    ),
    "history": (
        "history",
        "trends of recorded audits and runs (SLIs, verdicts) from the history file",
    ),
    "render": ("render", "generate alert rules, Alertmanager routing, Grafana dashboards, EMF"),
    "serve-reference": (
        "serve_reference",
        "run the reference HyperSync service (embedded target, fault injection)",
    ),
    "serve-traces": (
        "serve_traces",
        "a local Jaeger- or Zipkin-compatible trace backend (ingest and query APIs)",
    ),
}

DESCRIPTION = """\
Does this HyperSync deployment keep its monitoring promises and its SLOs?

Start here:
  hypersync-slo demo                      the whole job on the embedded reference service
  hypersync-slo check --target-url URL    the contract gate (health, /metrics, tracing)
  hypersync-slo lint-metrics URL|FILE|-   lint an exposition like promtool, and more
  hypersync-slo serve-reference --port N  run the reference HyperSync service

Every figure the tool prints names its source (client, prometheus, probe), window and
sample count. Missing data is 'no_data' and fails closed.
"""


def selected_command(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv``: its first token that is not an option."""
    for token in argv:
        if not token.startswith("-"):
            return token if token in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The argument parser; only the selected sub-command's module is imported and registered."""
    parser = argparse.ArgumentParser(
        prog="hypersync-slo",
        description=DESCRIPTION,
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = selected_command(argv)
    for name, (module_name, help_text) in COMMANDS.items():
        if name == chosen:
            module = importlib.import_module(f"hypersync_slo.commands.{module_name}")
            module.register(sub)
        else:
            sub.add_parser(name, help=help_text)
    return parser


def report_error(exc: HyperSyncSloError) -> None:
    """Write an error as a paragraph on stderr, its first line as the headline."""
    text = redact(str(exc)).strip() or type(exc).__name__
    first, _, rest = text.partition("\n")
    print(f"hypersync-slo: {first}", file=sys.stderr)
    if rest:
        print(textwrap.indent(rest, "  "), file=sys.stderr)
    print(f"  (exit {int(exc.exit_code)}: {type(exc).__name__})", file=sys.stderr)


def report_internal_error(exc: BaseException) -> None:
    """An unexpected exception (a bug) as one paragraph on stderr, secrets masked."""
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        where = f" at {Path(last.filename).name}:{last.lineno}"
    print(
        f"hypersync-slo: internal error: {type(exc).__name__}{where}: {redact(str(exc))[:300]}\n"
        "  this is a bug in hypersync-slo, not a verdict about the target; please report it\n"
        "  with the command line (HYPERSYNC_SLO_DEBUG=1 shows the traceback)\n"
        f"  (exit {int(ExitCode.COULD_NOT_RUN)}: internal error)",
        file=sys.stderr,
    )


def register_secrets_of(args: argparse.Namespace) -> None:
    """Validate and register every secret this command may read, before it does anything.

    The variable named by ``--auth-token-env`` must be set and hold a value a header can carry;
    the well-known secret variables are checked when set. A bad value is exit 2 naming the
    variable, never the value.
    """
    register_environment(os.environ, PASSWORD_VARIABLES)
    for variable in (*PASSWORD_VARIABLES, "HYPERSYNC_PROMETHEUS_USER"):
        if os.environ.get(variable):
            check_password(os.environ[variable], variable)
    if ":" in os.environ.get("HYPERSYNC_PROMETHEUS_USER", ""):
        raise UsageError("$HYPERSYNC_PROMETHEUS_USER holds a ':', which basic auth cannot carry.")
    if os.environ.get("HYPERSYNC_PROMETHEUS_USER"):
        register_basic_auth(
            os.environ["HYPERSYNC_PROMETHEUS_USER"],
            os.environ.get("HYPERSYNC_PROMETHEUS_PASSWORD", ""),
        )
    for variable in TOKEN_VARIABLES:
        secret_from_env(os.environ, variable, required=False)
    token_env = getattr(args, "auth_token_env", None)
    if token_env:
        secret_from_env(os.environ, str(token_env), required=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``hypersync-slo``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for token in argv:  # a password in any URL argument is masked from the first message on
        register_url_secrets(token)
    with redacted_streams():
        command = selected_command(argv) or "hypersync-slo"
        try:
            parser = build_parser(argv)
        except ModuleNotFoundError as exc:  # an optional part (an extra) is not installed
            error = explain_import_error(exc, command)
            if error is None:
                raise
            report_error(error)
            return int(error.exit_code)
        args = parser.parse_args(argv)  # --help, --version, usage errors: SystemExit
        if not getattr(args, "func", None):
            parser.print_help()
            return int(ExitCode.USAGE)
        try:
            register_secrets_of(args)
            return int(args.func(args))
        except HyperSyncSloError as exc:
            report_error(exc)
            return int(exc.exit_code)
        except ModuleNotFoundError as exc:
            error = explain_import_error(exc, command)
            if error is None:
                raise
            report_error(error)
            return int(error.exit_code)
        except KeyboardInterrupt:
            print(
                "hypersync-slo: interrupted; results gathered so far were written.",
                file=sys.stderr,
            )
            return int(ExitCode.INTERRUPTED)
        except Exception as exc:  # a bug: one paragraph, exit 10, never a traceback
            if os.environ.get("HYPERSYNC_SLO_DEBUG"):
                raise
            report_internal_error(exc)
            return int(ExitCode.COULD_NOT_RUN)


if __name__ == "__main__":
    sys.exit(main())
