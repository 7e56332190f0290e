"""``hypersync-slo run``: the pre-release job against a deployment you name."""

from __future__ import annotations

import argparse
from typing import Any

from hypersync_slo.commands.jobargs import (
    add_job_arguments,
    add_trace_arguments,
    check_traffic,
    default_out_dir,
    probe_outputs,
    trace_backend_arg,
    trace_stage_args,
)
from hypersync_slo.commands.prometheus_args import prometheus_client
from hypersync_slo.config import SloConfig
from hypersync_slo.errors import UsageError, explain
from hypersync_slo.exitcodes import ExitCode, epilog
from hypersync_slo.extras import require
from hypersync_slo.inputs import url_arg
from hypersync_slo.loadgen.safety import check_duration, check_rate, check_target
from hypersync_slo.pipeline import JobSettings, run_job

EXAMPLES = """\
The pre-release job: the contract gate, then an open-model load at --rps for --duration,
then the SLO report for the load's exact window from Prometheus. One combined verdict.

examples:
  hypersync-slo run --target-url http://127.0.0.1:8080 --prometheus-url http://127.0.0.1:9090
  hypersync-slo run --target-url http://127.0.0.1:8080 --prometheus-url http://127.0.0.1:9090 \\
      --rps 1000 --duration 5m --workers 2 --job hypersync --out reports/release-1.4.0

Load is only ever sent to loopback unless the host is allow-listed (--allow-target or the
SLO file's load.allow_targets). Results: OUT/summary.md, OUT/contract/, OUT/load/, OUT/report/.

"""


def register(sub: Any) -> None:
    """Add the ``run`` sub-command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "run",
        help="pre-release job: contract gate, load, SLO report, one verdict",
        description=EXAMPLES,
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--target-url",
        required=True,
        type=url_arg("--target-url"),
        help="base URL of the HyperSync deployment",
    )
    parser.add_argument(
        "--prometheus-url",
        default=None,
        type=url_arg("--prometheus-url"),
        help="Prometheus (or compatible) that scrapes it",
    )
    parser.add_argument("--job", default=None, help="Prometheus job label of the target's series")
    parser.add_argument(
        "--allow-target", action="append", default=[], help="allow load to this non-loopback host"
    )
    add_job_arguments(parser, default_duration="60s")
    add_trace_arguments(parser)
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the job."""
    check_rate(args.rps)
    check_duration(args.duration)
    if "load" not in args.skip:
        require("load", command="run")
    if "report" not in args.skip and not args.prometheus_url:
        raise UsageError(
            explain(
                "the report stage needs --prometheus-url: the KPIs are read from Prometheus.",
                fix="pass --prometheus-url URL, or --skip report to run only the gate and the load",
            )
        )
    config = check_traffic(  # fail fast, before anything starts
        SloConfig.load(args.slo_config), args.traffic, args.traffic_class, args.auth_token_env
    )
    if "load" not in args.skip:
        trace_backend_arg(args.trace_sample, args.trace_backend)
    if "load" not in args.skip:
        # A safety refusal comes before any traffic, the contract gate's included.
        check_target(args.target_url, [*config.allow_targets, *args.allow_target])
    out = args.out or default_out_dir("run")
    probe_outputs(out, None if args.no_history else args.history)
    settings = JobSettings(
        target_url=args.target_url.rstrip("/"),
        prometheus_url=args.prometheus_url,
        out_dir=out,
        rps=args.rps,
        duration=args.duration,
        slo_config=args.slo_config,
        workers=args.workers,
        job=args.job,
        allow_targets=args.allow_target,
        traffic=args.traffic,
        traffic_class=args.traffic_class,
        auth_token_env=args.auth_token_env,
        auth_header=config.traffic.auth.header if config.traffic.auth else None,
        late_tolerance=args.late_tolerance,
        history=None if args.no_history else args.history,
        stages=[s for s in ("check", "load", "report") if s not in args.skip],
        prometheus=lambda: prometheus_client(
            argparse.Namespace(prometheus_url=args.prometheus_url, timeout=10.0, insecure=False)
        ),
        trace_args=trace_stage_args(args),
    )
    return int(run_job(settings) if settings.stages else ExitCode.USAGE)
