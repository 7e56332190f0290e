"""How the ``report`` and ``audit`` commands reach Prometheus: one client, auth from the environment."""

from __future__ import annotations

import argparse
import os

from hypersync_slo.report import PrometheusClient

ENVIRONMENT_HELP = """\
environment (read here only):
  HYPERSYNC_PROMETHEUS_TOKEN                    bearer token for Prometheus
  HYPERSYNC_PROMETHEUS_USER / _PASSWORD         basic auth for Prometheus
"""


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
    )
