"""Arguments shared by ``run`` and ``demo`` (the pre-release job and its embedded default)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from hypersync_slo.audit.history import resolve_path
from hypersync_slo.config import SloConfig, parse_quantity
from hypersync_slo.errors import ConfigError, UsageError
from hypersync_slo.outputs import probe_dir, probe_file
from hypersync_slo.timestamps import file_stamp
from hypersync_slo.traffic import make_model


def seconds(text: str) -> float:
    """argparse type: ``30``, ``30s``, ``2m`` -> seconds."""
    try:
        value = parse_quantity(text, where="duration", expect="s")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    if value <= 0:
        raise argparse.ArgumentTypeError("duration must be positive")
    return value


def default_out_dir(prefix: str) -> Path:
    """``reports/<prefix>-<UTC timestamp>/`` under the current directory."""
    return Path("reports") / f"{prefix}-{file_stamp()}"


def add_job_arguments(
    parser: argparse.ArgumentParser, *, default_duration: str, default_rps: float = 1000.0
) -> None:
    """Options every pre-release job has: rate, duration, workers, output, SLO file."""
    parser.add_argument(
        "--rps",
        type=float,
        default=default_rps,
        help=f"offered request rate, health probes included (default {default_rps:g}). To "
        "judge a throughput objective, offer more than it: a service can only complete what it "
        "is sent",
    )
    parser.add_argument(
        "--duration",
        type=seconds,
        default=seconds(default_duration),
        help=f"load duration: 30, 30s, 2m (default {default_duration})",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="Locust worker processes (0 = one process, no master/worker)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output directory (default reports/<kind>-<UTC time>/)",
    )
    parser.add_argument(
        "--slo-config",
        type=Path,
        default=None,
        help="SLO file: slo.yaml or OpenSLO v1 (default: the packaged slo.yaml)",
    )
    parser.add_argument(
        "--history",
        type=Path,
        default=Path("reports/history.sqlite"),
        help="history file the run's verdicts are appended to (default reports/history.sqlite)",
    )
    parser.add_argument(
        "--no-history", action="store_true", help="do not record this run in the history"
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["check", "load", "report"],
        help="skip a stage (repeatable)",
    )
    parser.add_argument(
        "--late-tolerance",
        type=float,
        default=None,
        help="a load send this many seconds after its intended time is late (default 0.010)",
    )
    add_traffic_arguments(parser)


def add_traffic_arguments(parser: argparse.ArgumentParser, *, load: bool = True) -> None:
    """``--traffic FILE`` (and, for commands that send load, ``--traffic-class`` and
    ``--auth-token-env``): the declared traffic and its auth."""
    parser.add_argument(
        "--traffic",
        type=Path,
        default=None,
        metavar="FILE",
        help="traffic file replacing the SLO file's traffic: section (requests, success "
        "statuses, counters, auth; see docs/load.md)",
    )
    if not load:
        return
    parser.add_argument(
        "--traffic-class",
        default=None,
        metavar="MODULE:CLASS",
        help="a Python class generating the requests instead of the declaration "
        "(built as CLASS(spec, seed=..., auth_header=...); see docs/load.md)",
    )
    parser.add_argument(
        "--auth-token-env",
        default=None,
        metavar="VAR",
        help="environment variable holding the target's token (never echoed); header and "
        "scheme from traffic.auth, else Authorization: Bearer",
    )


def check_traffic(
    config: SloConfig, traffic: Path | None, traffic_class: str | None, auth_env: str | None
) -> SloConfig:
    """The config with the traffic it will send, checked completely before any traffic: the
    declaration (exit 7), the token's variable (exit 2) and the class (exit 7)."""
    config = config.with_traffic(traffic, auth_env=auth_env)
    make_model(config.traffic, 0, environ=os.environ, traffic_class=traffic_class)
    return config


def probe_outputs(out: Path, history: Path | None) -> None:
    """Exit 10 before any stage runs when the output directory or the history cannot be written."""
    probe_dir(out)
    if history is not None:
        probe_file(resolve_path(history), option="--history")


def add_trace_arguments(parser: argparse.ArgumentParser) -> None:
    """``--trace-sample``, ``--trace-backend``, ``--trace-wait``: passed to the load stage."""
    parser.add_argument(
        "--trace-sample",
        type=float,
        default=0.0,
        metavar="R",
        help="load: tag a share R of the requests with a known sampled traceparent and check "
        "that their traces arrived (trace_completeness; see docs/logs-and-traces.md)",
    )
    parser.add_argument(
        "--trace-backend",
        metavar="KIND=URL",
        help="load: the trace backend's query API, jaeger=URL or zipkin=URL",
    )
    parser.add_argument(
        "--trace-wait",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="load: seconds to keep asking for traces not yet complete (default 10)",
    )


def trace_stage_args(args: argparse.Namespace) -> list[str]:
    """The load stage's trace options, as given (none when no tracing was asked for)."""
    if not args.trace_sample and not args.trace_backend:
        return []
    return [
        *("--trace-sample", f"{args.trace_sample:g}"),
        *(("--trace-backend", args.trace_backend) if args.trace_backend else ()),
        *("--trace-wait", f"{args.trace_wait:g}"),
    ]


def trace_backend_arg(sample: float, backend: str | None) -> tuple[str, str] | None:
    """(kind, url) of ``--trace-backend`` when ``--trace-sample`` asks for traces, else None."""
    if not sample and not backend:
        return None
    if not 0 < sample <= 1:
        raise UsageError(f"--trace-sample must be a share in (0, 1], got {sample:g}.")
    kind, sep, url = (backend or "").partition("=")
    if not sep or kind not in ("jaeger", "zipkin") or not url.startswith(("http://", "https://")):
        raise UsageError(
            "--trace-sample needs --trace-backend jaeger=URL or zipkin=URL (the query API's "
            f"base URL, e.g. jaeger=http://127.0.0.1:16686); got {backend!r}."
        )
    return kind, url.rstrip("/")
