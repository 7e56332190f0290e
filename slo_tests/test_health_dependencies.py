"""Checkout face of ``hypersync_slo.gate.suite.test_health_dependencies``: the checks ship inside the package."""

from hypersync_slo.gate.suite.test_health_dependencies import *  # noqa: F403
