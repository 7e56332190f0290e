"""Tests of hypersync_slo.report."""
