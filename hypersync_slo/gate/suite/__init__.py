"""The product's contract checks: pytest modules run against a HyperSync deployment.

Run them with ``hypersync-slo check --target-url URL``, ``pytest --pyargs
hypersync_slo.gate.suite --slo-target-url URL`` or, from a checkout, ``pytest slo_tests
--slo-target-url URL`` (``slo_tests/`` re-exports these modules). They ship inside the package,
so an installed wheel carries them.
"""
