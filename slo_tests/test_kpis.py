"""Checkout face of ``hypersync_slo.gate.suite.test_kpis``: the checks ship inside the package."""

from hypersync_slo.gate.suite.test_kpis import *  # noqa: F403
