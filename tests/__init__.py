"""The project's own tests (not the product's checks, which live in slo_tests/)."""
