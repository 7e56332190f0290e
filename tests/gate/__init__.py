"""Tests of hypersync_slo.gate."""
