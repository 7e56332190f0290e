"""Tests of hypersync_slo.audit."""
