"""pytest plugin of the contract gate (placeholder until the gate lands)."""
