"""Checkout face of ``hypersync_slo.gate.suite.test_metrics_families``: the checks ship inside the package."""

from hypersync_slo.gate.suite.test_metrics_families import *  # noqa: F403
