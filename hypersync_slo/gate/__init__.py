"""The contract gate: the pytest plugin behind slo_tests/."""
