"""Checkout face of ``hypersync_slo.gate.suite.test_health_ready``: the checks ship inside the package."""

from hypersync_slo.gate.suite.test_health_ready import *  # noqa: F403
