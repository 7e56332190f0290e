"""Test targets other than the reference service."""
