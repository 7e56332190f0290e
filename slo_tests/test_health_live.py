"""Checkout face of ``hypersync_slo.gate.suite.test_health_live``: the checks ship inside the package."""

from hypersync_slo.gate.suite.test_health_live import *  # noqa: F403
