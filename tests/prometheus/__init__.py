"""Tests of hypersync_slo.prometheus."""
