"""``hypersync-slo load``: an open-model load at a fixed rate, honest latencies, a budget verdict."""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from hypersync_slo.config import SloConfig
from hypersync_slo.errors import UsageError
from hypersync_slo.exitcodes import ExitCode, epilog
from hypersync_slo.inputs import seconds_arg, url_arg
from hypersync_slo.loadgen import launcher, safety
from hypersync_slo.loadgen import verdict as verdicts
from hypersync_slo.outputs import probe_dir

DESCRIPTION = """\
Send HyperSync traffic (operator executions, policy evaluations, receipts, agent actions,
health probes) at a fixed arrival rate, whatever the target's response times (open model),
and judge the SLO file's latency and error budgets on the client's own figures.

Latency is measured from each request's *intended* send time (corrected for coordinated
omission) and from its actual send (uncorrected), in HDR histograms (0.1 % resolution).
A run whose generator could not hold the rate is marked saturated and its verdict void.

examples:
  hypersync-slo load --target-url http://127.0.0.1:8080 --rps 1000 --duration 60s
  hypersync-slo load --target-url http://127.0.0.1:8080 --rps 2000 --duration 5m --workers 2 \\
      --arrival poisson --seed 7 --out reports/load-1 --abort-on-critical
  hypersync-slo load --target-url http://staging.internal:8080 --allow-target staging.internal \\
      --rps 500 --duration 2m --slo-config slo.yaml

Writes OUT/load-result.json (the output contract) and OUT/load-summary.md. Load goes only to
loopback unless the host is allow-listed (--allow-target or load.allow_targets in the SLO file).
Duration is bounded to 1 h; Ctrl-C stops the run and still writes the results (exit 130).

"""


def register(sub: Any) -> None:
    """Add the ``load`` sub-command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "load",
        help="open-model load at a fixed rate with coordinated-omission-corrected latencies",
        description=DESCRIPTION,
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--target-url",
        required=True,
        type=url_arg("--target-url"),
        help="base URL of the HyperSync service",
    )
    parser.add_argument(
        "--rps",
        type=float,
        default=1000.0,
        help="target arrival rate, requests/s over all workers (default 1000)",
    )
    parser.add_argument(
        "--duration",
        default="60s",
        help="seconds of arrivals: 90, 60s, 2m, 1h (default 60s, at most 1h)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="Locust workers under a Locust master (default 0: one process)",
    )
    parser.add_argument(
        "--arrival",
        choices=("uniform", "poisson"),
        default="uniform",
        help="evenly spaced or Poisson arrivals (default uniform)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the schedule and the mix")
    parser.add_argument(
        "--out", type=Path, default=None, help="output directory (default reports/load-<UTC time>/)"
    )
    parser.add_argument(
        "--slo-config",
        type=Path,
        default=None,
        help="SLO file with the budgets: slo.yaml or OpenSLO v1 (default: the packaged slo.yaml)",
    )
    parser.add_argument(
        "--abort-on-critical",
        action="store_true",
        help="stop when the last 10 s breach the critical alert level "
        "(error rate or p99 above the SLO file's alerts.critical)",
    )
    parser.add_argument(
        "--allow-target",
        action="append",
        default=[],
        metavar="HOST",
        help="allow load to this non-loopback host or host:port (repeatable)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=100,
        help="keep-alive connections per load process (default 100)",
    )
    parser.add_argument(
        "--timeout",
        type=seconds_arg("--timeout", maximum=600),
        default=10.0,
        help="per-request connect/read timeout in seconds (default 10)",
    )
    parser.add_argument(
        "--late-tolerance",
        type=float,
        default=0.010,
        help="a send this many seconds after its intended time is late (default 0.010)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.set_defaults(func=handle)


def _terminate_as_interrupt(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM (a CI timeout, a supervisor) stops the run like Ctrl-C: results still written."""
    raise KeyboardInterrupt(f"signal {signum}")


def handle(args: argparse.Namespace) -> int:
    """Validate, run the load, write the results, return the verdict's exit code."""
    config = SloConfig.load(args.slo_config)
    duration = safety.parse_duration(str(args.duration))
    safety.check_rate(args.rps, args.workers)
    safety.check_target(args.target_url, [*config.allow_targets, *args.allow_target])
    if args.connections < 1 or args.timeout <= 0 or args.late_tolerance <= 0:
        raise UsageError("--connections, --timeout and --late-tolerance must be positive.")
    out = args.out or Path("reports") / f"load-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    probe_dir(out)  # an unwritable output is exit 10 before any request is sent
    plan = launcher.LoadPlan(
        target_url=args.target_url.rstrip("/"),
        rps=args.rps,
        duration=duration,
        out_dir=out,
        workers=args.workers,
        arrival=args.arrival,
        seed=args.seed,
        connections=args.connections,
        timeout=args.timeout,
        late_tolerance=args.late_tolerance,
        abort_on_critical=args.abort_on_critical,
    )
    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        outcome = launcher.run_load(plan, config, display=None if args.quiet else sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, previous)
    result = outcome.result
    print((out / "load-summary.md").read_text("utf-8"))
    print(f"results: {outcome.path}")
    for note in outcome.notes:
        print(f"note: {note}", file=sys.stderr)
    if outcome.interrupted:
        print(
            f"hypersync-slo: interrupted; results gathered so far were written to {outcome.path}.",
            file=sys.stderr,
        )
        return int(ExitCode.INTERRUPTED)
    verdict = result["verdict"]
    if verdict["status"] == "void":
        print(
            "hypersync-slo: load generator saturated; the verdict is void:\n  "
            + "\n  ".join(result["saturation_reasons"]),
            file=sys.stderr,
        )
    return int(verdicts.exit_code(verdict))
