"""Tests of hypersync_slo.reference."""
