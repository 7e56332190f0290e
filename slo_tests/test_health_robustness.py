"""Checkout face of ``hypersync_slo.gate.suite.test_health_robustness``: the checks ship inside the package."""

from hypersync_slo.gate.suite.test_health_robustness import *  # noqa: F403
