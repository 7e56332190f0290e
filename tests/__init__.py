"""The project's own tests, one folder per area of the package.

The product's checks are not here: they ship in ``hypersync_slo/gate/suite/`` and ``slo_tests/``
re-exports them for use from a checkout.
"""
