"""``hypersync-slo serve-traces``: a local Jaeger- or Zipkin-compatible trace backend."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType
from typing import Any

from hypersync_slo.errors import UsageError
from hypersync_slo.exitcodes import ExitCode, epilog

DESCRIPTION = """\
Run, on this machine, a trace backend that speaks the wire APIs a trace check needs, for when
no Jaeger or Zipkin is at hand (spans are kept in memory until it stops):

  --kind jaeger   ingest OTLP/HTTP protobuf at POST /v1/traces; query GET /api/traces/{id}
  --kind zipkin   ingest Zipkin v2 JSON at POST /api/v2/spans; query GET /api/v2/trace/{id}

examples:
  hypersync-slo serve-traces --kind zipkin --port 9411
  hypersync-slo serve-reference --port 8080 --data-dir /tmp/hs --zipkin-endpoint http://127.0.0.1:9411
  hypersync-slo load --target-url http://127.0.0.1:8080 --rps 100 --duration 30s \\
      --trace-sample 0.1 --trace-backend zipkin=http://127.0.0.1:9411

  hypersync-slo serve-traces --kind jaeger --port 4318
  hypersync-slo serve-reference --port 8080 --data-dir /tmp/hs --otlp-endpoint http://127.0.0.1:4318
  ... --trace-backend jaeger=http://127.0.0.1:4318   (ingest and query share the port here)

Ctrl-C or SIGTERM stops it.

"""


def register(sub: Any) -> None:
    """Add the ``serve-traces`` sub-command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "serve-traces",
        help="a local Jaeger- or Zipkin-compatible trace backend (ingest and query APIs)",
        description=DESCRIPTION,
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--kind", choices=("jaeger", "zipkin"), required=True)
    parser.add_argument("--host", default="127.0.0.1", help="address (default %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM."""
    from hypersync_slo.extras import require  # noqa: PLC0415 - the CLI starts fast
    from hypersync_slo.traces.backend import TraceBackend  # noqa: PLC0415 - the CLI starts fast

    if args.kind == "jaeger":
        require("reference", command="serve-traces --kind jaeger")  # OTLP protobuf decoding
    if not 0 <= args.port < 65536:
        raise UsageError(f"--port must be 0-65535, got {args.port}.")
    try:
        backend = TraceBackend(args.kind, args.host, args.port)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}."
        ) from exc
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    backend.start()
    print(f"{args.kind} trace backend at {backend.url} (ingest {backend.ingest_url})", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        backend.stop()
    print(f"stopped; {backend.span_count()} spans were received", flush=True)
    return int(ExitCode.PASS)
