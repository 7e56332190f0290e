"""``hypersync-slo demo``: the whole job on the embedded default (reference service + Prometheus)."""

from __future__ import annotations

import argparse
import contextlib
import shlex
import time
from typing import Any

from hypersync_slo.commands.jobargs import add_job_arguments, check_rate, default_out_dir
from hypersync_slo.config import SloConfig
from hypersync_slo.exitcodes import ExitCode, epilog
from hypersync_slo.pipeline import JobSettings, run_job
from hypersync_slo.stack import Stack

DESCRIPTION = """\
Start the embedded default on free loopback ports: the reference HyperSync service,
a real Prometheus scraping it every second (and node_exporter when installed). Then run
the pre-release job against it (contract gate, open-model load, SLO report for the load's
window), write everything under --out, and stop every process, also on Ctrl-C.

examples:
  hypersync-slo demo                               20 s at 1000 req/s, results in reports/
  hypersync-slo demo --duration 60s --workers 2    a longer run, two Locust workers
  hypersync-slo demo --service-arg=--fault-error-ratio=0.02
                                                   see an error-rate SLO fail
  hypersync-slo demo --service-arg='--fault-latency 0.02:0.6'
                                                   2 % of requests +600 ms: p99 fails, p95 holds
  hypersync-slo demo --keep-running                leave the stack up afterwards to explore

Needs Debian's prometheus (apt-get install prometheus); ./quickstart installs it.

"""


def register(sub: Any) -> None:
    """Add the ``demo`` sub-command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="the whole job on the embedded reference service + Prometheus",
        description=DESCRIPTION,
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_job_arguments(parser, default_duration="20s")
    parser.add_argument(
        "--service-arg",
        action="append",
        default=[],
        help="extra argument(s) for the reference service, e.g. a fault flag (repeatable)",
    )
    parser.add_argument(
        "--scrape-interval", type=float, default=1.0, help="Prometheus scrape interval, s"
    )
    parser.add_argument(
        "--keep-running", action="store_true", help="keep the stack up after the job until Ctrl-C"
    )
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Start the stack, run the job, stop the stack."""
    check_rate(args.rps, args.duration)
    SloConfig.load(args.slo_config)  # fail fast, before anything starts
    out = args.out or default_out_dir("demo")
    # The fault admin lets the gate prove that liveness ignores a dependency outage (H-02/H-13).
    service_args = [
        "--enable-fault-admin",
        *(part for arg in args.service_arg for part in shlex.split(arg)),
    ]
    print(
        f"starting the embedded default in {out}/stack (reference service, Prometheus) ...",
        flush=True,
    )
    with Stack(
        out / "stack", scrape_interval=args.scrape_interval, service_args=service_args
    ) as stack:
        assert stack.service is not None
        assert stack.prometheus is not None
        print(f"  reference service  {stack.service.url}")
        print(f"  prometheus         {stack.prometheus.url}")
        if stack.node_exporter:
            print(f"  node_exporter      http://{stack.node_exporter.address}")
        for note in stack.notes:
            print(f"  note: {note}")
        settings = JobSettings(
            target_url=stack.service.url,
            prometheus_url=stack.prometheus.url,
            out_dir=out,
            rps=args.rps,
            duration=args.duration,
            slo_config=args.slo_config,
            workers=args.workers,
            job="hypersync",
            log_file=stack.service.log_path,
            fault_admin=True,
            scrape_settle=2 * args.scrape_interval + 1,
            stages=[s for s in ("check", "load", "report") if s not in args.skip],
        )
        verdict = run_job(settings)
        if args.keep_running and verdict != ExitCode.INTERRUPTED:
            print("\nthe stack is still up (Ctrl-C to stop it)", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    print("stopped the embedded default.", flush=True)
    return int(verdict)
