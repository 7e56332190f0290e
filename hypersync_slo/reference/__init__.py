"""The reference HyperSync service: the embedded default target."""
