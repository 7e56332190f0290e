"""Tests of hypersync_slo.loadgen."""
