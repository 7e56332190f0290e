"""Checkout face of ``hypersync_slo.gate.suite.test_metrics_exposition``: the checks ship inside the package."""

from hypersync_slo.gate.suite.test_metrics_exposition import *  # noqa: F403
