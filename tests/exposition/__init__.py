"""Tests of hypersync_slo.exposition."""
