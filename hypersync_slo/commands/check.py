"""``hypersync-slo check``: the contract gate against one HyperSync deployment."""

from __future__ import annotations

import argparse
from pathlib import Path

from hypersync_slo.commands.jobargs import add_traffic_arguments
from hypersync_slo.config import SloConfig
from hypersync_slo.errors import TargetUnreachable, UsageError, explain
from hypersync_slo.exitcodes import epilog
from hypersync_slo.gate.client import TargetClient
from hypersync_slo.gate.runner import GateRun, run_gate
from hypersync_slo.inputs import header_arg, seconds_arg, url_arg
from hypersync_slo.outputs import probe_file

DESCRIPTION = """\
Check that a HyperSync deployment keeps its monitoring contract (docs/contracts.md §1–3):
health endpoints (status codes, JSON shape, no redirects, HEAD, robustness), /metrics (format
and Content-Type, no duplicate series, naming lint and promtool, required families, latency
buckets at the SLO thresholds, counters), tracing (traceparent/traceresponse, X-Request-ID) and,
with --log-file, the correlation of log lines. With --prometheus-url and --kpi, also the KPIs
over a window.

It runs the pytest checks shipped in hypersync_slo.gate.suite (the same as
'pytest --pyargs hypersync_slo.gate.suite --slo-target-url URL') and prints one summary row
per contract: PASS, WARN (a SHOULD-level promise), FAIL (a promise broken) or ERROR (the
gate could not judge: target unreachable, timeout, ...).

examples:
  hypersync-slo check --target-url http://127.0.0.1:8080
      the whole contract gate in a few seconds
  hypersync-slo check --target-url https://hypersync.internal --auth-token-env HS_TOKEN \\
      --junit-xml reports/gate.xml
      with a bearer token from $HS_TOKEN; per-check figures land in the JUnit file
  hypersync-slo check --target-url http://127.0.0.1:8080 -k "health and not robustness"
      only some checks (pytest -k syntax on the test names)
  hypersync-slo check --target-url http://127.0.0.1:8080 --prometheus-url \\
      http://127.0.0.1:9090 --kpi --window 10m
      the contract plus the KPIs of the last 10 minutes from Prometheus
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``check`` sub-command."""
    parser = subparsers.add_parser(
        "check",
        help="the contract gate: health, /metrics, tracing (and KPIs) of one deployment",
        description=DESCRIPTION,
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--target-url",
        required=True,
        metavar="URL",
        type=url_arg("--target-url"),
        help="the deployment's base URL",
    )
    parser.add_argument(
        "--prometheus-url",
        metavar="URL",
        type=url_arg("--prometheus-url"),
        help="Prometheus for the KPI checks",
    )
    parser.add_argument(
        "--prometheus-job", metavar="JOB", help="the target's job label in Prometheus"
    )
    parser.add_argument(
        "--slo-config",
        "--config",
        dest="slo_config",
        type=Path,
        metavar="FILE",
        help="SLO file: slo.yaml or OpenSLO v1 (default: the packaged slo.yaml)",
    )
    add_traffic_arguments(parser, load=False)
    parser.add_argument(
        "--timeout",
        type=seconds_arg("--timeout", maximum=600),
        metavar="SECONDS",
        help="per-request time limit (default 5)",
    )
    parser.add_argument(
        "--auth-header",
        metavar="NAME",
        type=header_arg("--auth-header"),
        help="header for the token (default Authorization)",
    )
    parser.add_argument(
        "--auth-token-env", metavar="VAR", help="environment variable holding the token"
    )
    parser.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    parser.add_argument(
        "--log-file", type=Path, metavar="PATH", help="the target's JSON log, for L-01/L-02"
    )
    parser.add_argument(
        "--fault-admin",
        action="store_true",
        help="prove H-02/H-13 by a dependency outage through /admin/faults (reference service only)",
    )
    parser.add_argument(
        "--kpi", action="store_true", help="also judge the KPIs (needs --prometheus-url)"
    )
    parser.add_argument(
        "--window", metavar="DURATION", help="KPI window ending now, e.g. 10m (default 5m)"
    )
    parser.add_argument("--junit-xml", type=Path, metavar="FILE", help="write a JUnit XML report")
    parser.add_argument(
        "-k", dest="keyword", metavar="EXPR", help="only checks matching EXPR (pytest -k)"
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="one line per check")
    parser.add_argument(
        "--pytest-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="pass ARG on to pytest (repeatable), e.g. --pytest-arg=-x",
    )
    parser.set_defaults(func=handle)


def preflight(target_url: str, *, timeout: float, verify: bool) -> None:
    """One request before the gate: an unreachable target is one paragraph and exit 4.

    Any HTTP answer, even an error status, means the target is reachable: judging it is the
    checks' job. Only a failure to get an answer at all stops the run here, instead of every
    check reporting the same connection error.
    """
    client = TargetClient(target_url, timeout=timeout, verify=verify)
    try:
        client.get("/health/live")
    except TargetUnreachable as exc:
        raise TargetUnreachable(
            f"{exc}\nno check was run: the gate needs an answering target."
        ) from None
    finally:
        client.close()


def handle(args: argparse.Namespace) -> int:
    """Validate the SLO file, run the gate, return its exit code."""
    if args.kpi and not args.prometheus_url:
        raise UsageError(
            explain(
                "--kpi needs --prometheus-url: the KPIs are read from Prometheus.",
                example="hypersync-slo check --target-url URL --prometheus-url http://127.0.0.1:9090 --kpi",
            )
        )
    # A bad SLO or traffic file is exit 7 before anything runs.
    SloConfig.load(args.slo_config).with_traffic(args.traffic)
    if args.junit_xml is not None:  # an unwritable report is exit 10 before any request
        probe_file(args.junit_xml, option="--junit-xml")
    preflight(args.target_url, timeout=args.timeout or 5.0, verify=not args.insecure)
    run = GateRun(
        target_url=args.target_url,
        prometheus_url=args.prometheus_url,
        prometheus_job=args.prometheus_job,
        slo_config=args.slo_config,
        traffic=args.traffic,
        timeout=args.timeout,
        auth_header=args.auth_header,
        auth_token_env=args.auth_token_env,
        insecure=args.insecure,
        window=args.window,
        log_file=args.log_file,
        fault_admin=args.fault_admin,
        junit_xml=args.junit_xml,
        keyword=args.keyword,
        kpi=args.kpi,
        verbose=args.verbose,
        extra=tuple(args.pytest_arg),
    )
    return int(run_gate(run))
