"""The ``hypersync-slo`` command: one sub-command per job, each in ``hypersync_slo.commands``.

Each command module exposes ``register(subparsers)``; its handler returns an ``ExitCode``.
Errors from the package's error tree become a one-paragraph explanation on stderr and the
error's own exit code; Ctrl-C becomes exit 130 after the command has written what it had.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import textwrap
from collections.abc import Sequence

from hypersync_slo import __version__
from hypersync_slo.errors import HyperSyncSloError
from hypersync_slo.exitcodes import ExitCode, epilog

#: Sub-command modules, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "demo",
    "run",
    "check",
    "lint_metrics",
    "load",
    "report",
    "audit",
    "history",
    "render",
    "serve_reference",
)

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


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every available sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="hypersync-slo",
        description=DESCRIPTION,
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"hypersync_slo.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"hypersync_slo.commands.{name}":
                continue  # not built yet
            raise
        module.register(sub)
    return parser


def report_error(exc: HyperSyncSloError) -> None:
    """Write an error as a paragraph on stderr, its first line as the headline."""
    text = str(exc).strip() or type(exc).__name__
    first, _, rest = text.partition("\n")
    print(f"hypersync-slo: {first}", file=sys.stderr)
    if rest:
        print(textwrap.indent(rest, "  "), file=sys.stderr)
    print(f"  (exit {int(exc.exit_code)}: {type(exc).__name__})", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``hypersync-slo``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return int(ExitCode.USAGE)
    try:
        return int(args.func(args))
    except HyperSyncSloError as exc:
        report_error(exc)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("hypersync-slo: interrupted; results gathered so far were written.", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)


if __name__ == "__main__":
    sys.exit(main())
