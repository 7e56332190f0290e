"""Checkout face of ``hypersync_slo.gate.suite.test_tracing``: the checks ship inside the package."""

from hypersync_slo.gate.suite.test_tracing import *  # noqa: F403
