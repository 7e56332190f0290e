"""How the ``report`` and ``audit`` commands reach Prometheus: one client, auth from the environment."""

from __future__ import annotations

import argparse
import os

from hypersync_slo.inputs import seconds_arg
from hypersync_slo.prometheus.client import PrometheusClient

ENVIRONMENT_HELP = """\
environment (read here only):
  HYPERSYNC_PROMETHEUS_TOKEN                    bearer token for Prometheus
  HYPERSYNC_PROMETHEUS_USER / _PASSWORD         basic auth for Prometheus
"""


def add_deadline_argument(parser: argparse.ArgumentParser, default: float) -> None:
    """``--deadline``: one bound on all the time spent waiting for Prometheus."""
    parser.add_argument(
        "--deadline",
        type=seconds_arg("--deadline", maximum=86400),
        default=default,
        metavar="SECONDS",
        help=f"overall time allowed for all Prometheus queries together (default {default:g} "
        "s); a Prometheus that hangs is given up on after one --timeout and never asked again, "
        "so the command ends with exit 5 well within this bound",
    )


def prometheus_client(args: argparse.Namespace) -> PrometheusClient:
    """The Prometheus client for ``--prometheus-url``, ``--timeout`` and ``--insecure``.

    Credentials come from the environment, never the command line (where ``ps`` shows them).
    """
    user = os.environ.get("HYPERSYNC_PROMETHEUS_USER")
    password = os.environ.get("HYPERSYNC_PROMETHEUS_PASSWORD")
    return PrometheusClient(
        args.prometheus_url,
        timeout=args.timeout,
        token=os.environ.get("HYPERSYNC_PROMETHEUS_TOKEN") or None,
        basic_auth=(user, password or "") if user else None,
        verify=not args.insecure,
        deadline=getattr(args, "deadline", None),
    )
