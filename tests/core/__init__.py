"""Tests of the core modules: config, errors, processes, stack, cli."""
