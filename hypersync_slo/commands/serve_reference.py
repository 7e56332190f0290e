"""``hypersync-slo serve-reference``: run the reference HyperSync service (the embedded target)."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path
from typing import Any

from hypersync_slo.errors import UsageError, explain
from hypersync_slo.exitcodes import ExitCode, epilog
from hypersync_slo.extras import require

_EXAMPLES = """\
examples:
  hypersync-slo serve-reference --port 8080 --data-dir /tmp/hypersync
  hypersync-slo serve-reference --port 8080 --data-dir /tmp/hs --enable-fault-admin
  hypersync-slo serve-reference --port 8080 --data-dir /tmp/hs --fault-dependency-down receipt-store
  hypersync-slo serve-reference --port 8080 --data-dir /tmp/hs --fault-latency 0.02:0.6 --fault-error-ratio 0.01
  hypersync-slo serve-reference --port 8080 --data-dir /tmp/hs --break ready-500 --break no-traceresponse
  hypersync-slo serve-reference --port 8080 --data-dir /tmp/hs --otlp-endpoint http://127.0.0.1:4318
  hypersync-slo serve-reference --port 8080 --data-dir /tmp/hs --zipkin-endpoint http://127.0.0.1:9411

  curl -s localhost:8080/health/ready
  curl -s -X PUT localhost:8080/admin/faults -d '{"dependencies_down": ["policy-engine"]}'

contract breaks (--break NAME, repeatable):
{breaks}

"""


def register(subparsers: Any) -> None:
    """Add the ``serve-reference`` sub-command."""
    from hypersync_slo.reference.faults import BREAKS, DEPENDENCIES  # noqa: PLC0415 - the CLI starts fast

    breaks = "\n".join(f"  {name:<29} {what}" for name, what in BREAKS.items())
    parser = subparsers.add_parser(
        "serve-reference",
        help="run the reference HyperSync service (embedded target, fault injection)",
        description=(
            "Run the reference HyperSync service: the HyperSync API, /health/live, /health/ready,\n"
            "/health/dependencies, /metrics, W3C tracing and JSON logs, on uvicorn. Faults and\n"
            "contract breaks are off unless asked for. SIGTERM stops it gracefully."
        ),
        epilog=_EXAMPLES.replace("{breaks}", breaks) + epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="port to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("hypersync-data"),
        help="directory of the receipt database; receipts persist across restarts "
        "with the same directory (default: %(default)s)",
    )
    parser.add_argument(
        "--slo-config",
        metavar="SLO_YAML",
        help="SLO file (slo.yaml or OpenSLO v1) whose latency thresholds become histogram buckets "
        "(default: the packaged slo.yaml)",
    )
    parser.add_argument(
        "--otlp-endpoint",
        metavar="URL",
        help="export spans by OTLP/HTTP protobuf to URL/v1/traces (Jaeger's OTLP receiver, "
        "the OTel collector; e.g. http://127.0.0.1:4318); off by default",
    )
    parser.add_argument(
        "--zipkin-endpoint",
        metavar="URL",
        help="export spans as Zipkin v2 JSON to URL/api/v2/spans (a Zipkin server, e.g. "
        "http://127.0.0.1:9411); off by default",
    )
    parser.add_argument("--log-file", type=Path, help="write JSON log lines here (default: stderr)")
    parser.add_argument(
        "--no-instrumentation",
        action="store_true",
        help="no spans, request logs, histogram or ID headers: only for the overhead benchmark",
    )
    parser.add_argument(
        "--startup-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="extra initialisation time during which /health/ready answers 503 (default: 0)",
    )
    parser.add_argument(
        "--shutdown-grace",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="on SIGTERM, answer /health/ready 503 but keep serving this long before stopping "
        "(default: 0; a second signal stops at once)",
    )
    parser.add_argument(
        "--optional-dependency",
        action="append",
        default=[],
        choices=DEPENDENCIES,
        metavar="NAME",
        help="mark a dependency 'required: false' (a failure only warns "
        f"in /health/ready); one of {', '.join(DEPENDENCIES)}",
    )
    parser.add_argument(
        "--memory-limit-mib",
        type=int,
        default=1024,
        help="resident memory above which /health/ready fails (default: %(default)s)",
    )
    parser.add_argument(
        "--queue-limit",
        type=int,
        default=10_000,
        help="capacity of the event queue (default: %(default)s)",
    )
    faults = parser.add_argument_group("fault injection (off by default)")
    faults.add_argument(
        "--enable-fault-admin",
        action="store_true",
        help="serve GET/PUT /admin/faults to change faults at run time (404 otherwise)",
    )
    faults.add_argument(
        "--fault-latency",
        action="append",
        default=[],
        metavar="P:SECONDS",
        help="a fraction P of API requests gets SECONDS added (repeatable)",
    )
    faults.add_argument(
        "--fault-error-ratio",
        type=float,
        default=0.0,
        metavar="R",
        help="a fraction R of API requests answers 500",
    )
    faults.add_argument(
        "--fault-dependency-down",
        action="append",
        default=[],
        metavar="NAME",
        choices=DEPENDENCIES,
        help=f"dependency NAME fails its check ({', '.join(DEPENDENCIES)})",
    )
    faults.add_argument(
        "--fault-live",
        metavar="slow:SECONDS|fail",
        help="/health/live answers after SECONDS, or fails with 503",
    )
    faults.add_argument(
        "--fault-ready-stuck", action="store_true", help="/health/ready stays 503 'not initialized'"
    )
    faults.add_argument(
        "--fault-stall",
        metavar="PERIOD:DURATION",
        help="the whole server stops answering for DURATION every PERIOD seconds (e.g. 5:1)",
    )
    faults.add_argument(
        "--fault-span-drop",
        type=float,
        default=0.0,
        metavar="R",
        help="the exporters leave out the child spans of a fraction R of the traces "
        "(chosen by trace ID: its low 32 bits below R x 2^32)",
    )
    faults.add_argument(
        "--break",
        dest="breaks",
        action="append",
        default=[],
        metavar="NAME",
        choices=list(BREAKS),
        help="break one contract promise (repeatable; names below)",
    )
    parser.set_defaults(func=handle)


def _revision() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def handle(args: argparse.Namespace) -> int:
    """Build the options and serve until stopped."""
    require("reference", command="serve-reference")
    from hypersync_slo import __version__  # noqa: PLC0415 - the CLI starts fast
    from hypersync_slo.config import SloConfig  # noqa: PLC0415 - the CLI starts fast
    from hypersync_slo.reference import FaultError, FaultState, ServiceOptions, run  # noqa: PLC0415 - the CLI starts fast

    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be 1-65535, got {args.port}.")
    for flag, value in (
        ("--memory-limit-mib", args.memory_limit_mib),
        ("--queue-limit", args.queue_limit),
    ):
        if value < 1:
            raise UsageError(f"{flag} must be a positive whole number, got {value}.")
    for flag, value in (
        ("--startup-delay", args.startup_delay),
        ("--shutdown-grace", args.shutdown_grace),
    ):
        if not 0 <= value <= 3600:
            raise UsageError(f"{flag} must be between 0 and 3600 seconds, got {value:g}.")
    try:
        faults = FaultState.from_flags(
            latency=args.fault_latency,
            error_ratio=args.fault_error_ratio,
            dependencies_down=args.fault_dependency_down,
            live=args.fault_live,
            ready_stuck=args.fault_ready_stuck,
            stall=args.fault_stall,
            span_drop=args.fault_span_drop,
            breaks=args.breaks,
        )
    except FaultError as exc:
        raise UsageError(
            explain(f"bad fault option: {exc}.", see="hypersync-slo serve-reference --help")
        ) from None
    slo = SloConfig.load(args.slo_config)
    options = ServiceOptions(
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        latency_thresholds=slo.latency_thresholds,
        otlp_endpoint=args.otlp_endpoint,
        zipkin_endpoint=args.zipkin_endpoint,
        log_file=args.log_file,
        instrumentation=not args.no_instrumentation,
        fault_admin=args.enable_fault_admin,
        faults=faults,
        optional_dependencies=frozenset(args.optional_dependency),
        startup_delay=args.startup_delay,
        shutdown_grace=args.shutdown_grace,
        memory_limit_mib=args.memory_limit_mib,
        queue_limit=args.queue_limit,
        version=__version__,
        revision=_revision(),
    )
    run(options)
    return int(ExitCode.PASS)
