"""Tests of hypersync_slo.alerting."""
