"""One module per hypersync-slo sub-command, each exposing register(subparsers)."""
