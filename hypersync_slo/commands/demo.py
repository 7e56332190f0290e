"""``hypersync-slo demo``: the whole job on the embedded default (reference service + Prometheus)."""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from hypersync_slo import markup
from hypersync_slo.alerting.fired import fired_alerts
from hypersync_slo.alerting.render import render_files, write_files
from hypersync_slo.alerting.rules import Timing
from hypersync_slo.commands.jobargs import (
    add_job_arguments,
    check_traffic,
    default_out_dir,
    probe_outputs,
)
from hypersync_slo.config import SloConfig
from hypersync_slo.errors import HyperSyncSloError
from hypersync_slo.exitcodes import ExitCode, epilog
from hypersync_slo.extras import require
from hypersync_slo.inputs import seconds_arg
from hypersync_slo.outputs import write_text
from hypersync_slo.pipeline import JobSettings, run_job
from hypersync_slo.runpage import publish_run_page
from hypersync_slo.stack import Stack

DESCRIPTION = """\
Start the embedded default on free loopback ports: the reference HyperSync service,
a real Prometheus scraping it every second (and node_exporter when installed). Then run
the pre-release job against it (contract gate, open-model load, SLO report for the load's
window), write everything under --out, and stop every process, also on Ctrl-C.

examples:
  hypersync-slo demo                               20 s at 1100 req/s, results in reports/
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
    # 1100 req/s: 10 % above the 1000 req/s throughput objective, so that the throughput KPI
    # measures what the service completes rather than where the window's edges fall.
    add_job_arguments(parser, default_duration="20s", default_rps=1100.0)
    parser.add_argument(
        "--service-arg",
        action="append",
        default=[],
        help="extra argument(s) for the reference service, e.g. a fault flag (repeatable)",
    )
    parser.add_argument(
        "--scrape-interval",
        type=seconds_arg("--scrape-interval", maximum=300),
        default=1.0,
        help="Prometheus scrape interval, s",
    )
    parser.add_argument(
        "--keep-running", action="store_true", help="keep the stack up after the job until Ctrl-C"
    )
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Start the stack, run the job, stop the stack."""
    from hypersync_slo.loadgen.safety import (  # noqa: PLC0415 - the [load] extra may be absent
        check_duration,
        check_rate,
    )

    check_rate(args.rps)
    check_duration(args.duration)
    require("reference", *(() if "load" in args.skip else ("load",)), command="demo")
    config = check_traffic(  # fail fast, before anything starts
        SloConfig.load(args.slo_config), args.traffic, args.traffic_class, args.auth_token_env
    )
    out = args.out or default_out_dir("demo")
    probe_outputs(out, None if args.no_history else args.history)
    rule_files = render_monitoring(config, out / "monitoring")
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
        out / "stack",
        scrape_interval=args.scrape_interval,
        service_args=service_args,
        rule_files=rule_files,
        with_alertmanager=True,
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
            traffic=args.traffic,
            traffic_class=args.traffic_class,
            auth_token_env=args.auth_token_env,
            auth_header=config.traffic.auth.header if config.traffic.auth else None,
            late_tolerance=args.late_tolerance,
            workers=args.workers,
            job="hypersync",
            log_file=stack.service.log_path,
            fault_admin=True,
            history=None if args.no_history else args.history,
            stages=[s for s in ("check", "load", "report") if s not in args.skip],
        )
        started = time.time()  # alerts are listed from here: start-up is not part of the run
        verdict = run_job(settings)
        report_fired_alerts(stack.prometheus.url, started, time.time(), out)
        publish_run_page(out, update="the alerts that fired")
        if args.keep_running and verdict != ExitCode.INTERRUPTED:
            print("\nthe stack is still up (Ctrl-C to stop it)", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    print("stopped the embedded default.", flush=True)
    return int(verdict)


def render_monitoring(config: SloConfig, out: Path) -> list[str]:
    """Write the generated alerting rules, routing and dashboards; return the rule files.

    The demo's rules use short windows (20 s rates, 5 s ``for:``) so that a fault injected
    into a 20-second run can be seen firing; ``hypersync-slo render`` writes production ones.
    """
    # Up-ness keeps a longer `for:`: the first scrape after start-up can take a few seconds.
    timing = replace(Timing.fast(for_seconds=5.0, rate_window=20.0), down_for=30.0)
    files = render_files(config, job="hypersync", timing=timing)
    write_files(out, files)
    return [str((out / name).resolve()) for name in sorted(files) if name.endswith(".rules.yml")]


def report_fired_alerts(prometheus_url: str, start: float, end: float, out: Path) -> None:
    """List the alerts that fired during the run (from Prometheus's ALERTS series)."""
    try:
        fired = fired_alerts(prometheus_url, start, end)
    except HyperSyncSloError as exc:
        print(f"\nalerts: could not list fired alerts: {exc}", flush=True)
        return
    lines = [alert.describe() for alert in fired]
    write_text(
        out / "alerts-fired.json",
        json.dumps(
            [
                {
                    "alertname": a.alertname,
                    "severity": a.severity,
                    "labels": dict(a.labels),
                    "first_seen": a.first_seen,
                    "last_seen": a.last_seen,
                    "samples": a.samples,
                }
                for a in fired
            ],
            indent=2,
        )
        + "\n",
    )
    summary = out / "summary.md"
    before = summary.read_text("utf-8") if summary.is_file() else ""
    write_text(  # atomic: the summary is whole with or without the alerts, never cut
        summary,
        before
        + "\n## Alerts that fired during the run (source: prometheus, ALERTS)\n\n"
        + ("".join(f"- {markup.plain(line)}\n" for line in lines) or "- none\n"),
    )
    print("\n=== alerts that fired during the run (prometheus, generated rules with demo timing)")
    print("".join(f"  {line}\n" for line in lines) or "  none", flush=True)
