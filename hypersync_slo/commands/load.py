"""``hypersync-slo load``: an open-model load at a fixed rate, honest latencies, a budget verdict."""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from hypersync_slo.commands.jobargs import add_traffic_arguments, check_traffic, trace_backend_arg
from hypersync_slo.config import SloConfig
from hypersync_slo.errors import UsageError
from hypersync_slo.exitcodes import ExitCode, epilog
from hypersync_slo.inputs import seconds_arg, url_arg
from hypersync_slo.loadgen.launcher import PARTS_DIR, LoadPlan, run_load
from hypersync_slo.loadgen.load_verdict import exit_code as load_exit_code
from hypersync_slo.loadgen.safety import check_rate, check_target, parse_duration
from hypersync_slo.outputs import probe_dir
from hypersync_slo.results import LOAD_SUMMARY_FILE, LoadResult
from hypersync_slo.timestamps import file_stamp, parse_rfc3339

DESCRIPTION = """\
Send the traffic the SLO file declares (its traffic: section, or --traffic FILE: requests,
success statuses, counters, auth; the packaged file declares the HyperSync mix), health probes
at their share, at a fixed arrival rate whatever the target's response times (open model), and
judge the SLO file's latency and error budgets on the client's own figures. An answer with a
status the declaration does not count as success is an error whose cause says so.

Latency is measured from each request's *intended* send time (corrected for coordinated
omission) and from its actual send (uncorrected), in HDR histograms (0.1 % resolution).
A run whose generator could not hold the rate is marked saturated and its verdict void.

examples:
  hypersync-slo load --target-url http://127.0.0.1:8080 --rps 1000 --duration 60s
  hypersync-slo load --target-url http://127.0.0.1:8080 --rps 2000 --duration 5m --workers 2 \\
      --arrival poisson --seed 7 --out reports/load-1 --abort-on-critical
  hypersync-slo load --target-url http://staging.internal:8080 --allow-target staging.internal \\
      --rps 500 --duration 2m --slo-config slo.yaml
  HS_TOKEN=... hypersync-slo load --target-url http://127.0.0.1:8000 --traffic my-api.yaml \\
      --auth-token-env HS_TOKEN --rps 200 --duration 1m

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
        type=seconds_arg("--late-tolerance", maximum=60),
        default=0.010,
        help="a send this many seconds after its intended time is late (default 0.010)",
    )
    parser.add_argument(
        "--trace-sample",
        type=float,
        default=0.0,
        metavar="R",
        help="tag a share R of the requests with a known sampled W3C traceparent (at most "
        "2000 per load process) and check afterwards that their traces arrived",
    )
    parser.add_argument(
        "--trace-backend",
        metavar="KIND=URL",
        help="the trace backend's query API: jaeger=URL (/api/traces/{id}) or zipkin=URL "
        "(/api/v2/trace/{id}); needed with --trace-sample",
    )
    parser.add_argument(
        "--trace-wait",
        type=seconds_arg("--trace-wait", maximum=600),
        default=10.0,
        help="seconds to keep asking for traces not yet complete (exporters batch; default 10)",
    )
    add_traffic_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.set_defaults(func=handle)


def _terminate_as_interrupt(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM (a CI timeout, a supervisor) stops the run like Ctrl-C: results still written."""
    raise KeyboardInterrupt(f"signal {signum}")


def handle(args: argparse.Namespace) -> int:
    """Validate, run the load, write the results, return the verdict's exit code."""
    config = check_traffic(
        SloConfig.load(args.slo_config), args.traffic, args.traffic_class, args.auth_token_env
    )
    duration = parse_duration(str(args.duration))
    check_rate(args.rps, args.workers)
    check_target(args.target_url, [*config.allow_targets, *args.allow_target])
    if args.connections < 1 or args.timeout <= 0 or args.late_tolerance <= 0:
        raise UsageError("--connections, --timeout and --late-tolerance must be positive.")
    trace_backend = trace_backend_arg(args.trace_sample, args.trace_backend)
    out = args.out or Path("reports") / f"load-{file_stamp()}"
    probe_dir(out)  # an unwritable output is exit 10 before any request is sent
    plan = LoadPlan(
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
        trace_sample=args.trace_sample,
        slo_config=args.slo_config,
        traffic=args.traffic,
        traffic_class=args.traffic_class,
        auth_env=args.auth_token_env,
    )
    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        outcome = run_load(plan, config, display=None if args.quiet else sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, previous)
    result = outcome.result
    print((out / LOAD_SUMMARY_FILE).read_text("utf-8"))
    print(f"results: {outcome.path}")
    for note in outcome.notes:
        print(f"note: {note}", file=sys.stderr)
    if outcome.interrupted:
        print(
            f"hypersync-slo: interrupted; results gathered so far were written to {outcome.path}.",
            file=sys.stderr,
        )
        return int(ExitCode.INTERRUPTED)
    verdict = result.verdict
    trace_code = None
    if trace_backend is not None:
        trace_code = check_traces(result, out, trace_backend, config, args.trace_wait)
    if verdict.get("status") == "void":
        print(
            "hypersync-slo: load generator saturated; the verdict is void:\n  "
            + "\n  ".join(result.saturation_reasons),
            file=sys.stderr,
        )
    code = load_exit_code(verdict)
    if trace_code is not None and _RANK.get(trace_code, -1) > _RANK.get(code, 99):
        return int(trace_code)  # the worse of the two verdicts: fail > no_data > pass
    return int(code)


#: A trace check that fails is a violation of the service's tracing promise whatever the load's
#: fidelity: it outranks a void load (9), as a violation outranks it in ``run``'s verdict.
_RANK = {
    ExitCode.PASS: 0,
    ExitCode.NO_DATA: 1,
    ExitCode.LOAD_SATURATED: 1,
    ExitCode.FAIL: 2,
}


def check_traces(
    result: LoadResult,
    out: Path,
    backend: tuple[str, str],
    config: SloConfig,
    wait: float,
) -> ExitCode:
    """Ask the backend for the tagged requests' traces; print the KPI; its exit code."""
    from hypersync_slo.traces.check import TRACES_FILE, verify_traces  # noqa: PLC0415
    from hypersync_slo.verdicts import exit_code_for  # noqa: PLC0415

    window = result.window
    now = datetime.now(UTC)
    start = _moment(window.get("start")) or now
    end = _moment(window.get("end")) or now
    kpi = verify_traces(
        out / PARTS_DIR,
        kind=backend[0],  # type: ignore[arg-type]
        url=backend[1],
        config=config,
        window=(start, end),
        out=out,
        wait=wait,
    )
    print(kpi.describe())
    print(f"traces: {out / TRACES_FILE}")
    return exit_code_for(kpi.verdict) if kpi.gating else ExitCode.PASS


def _moment(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return parse_rfc3339(text)
    except ValueError:
        return None
