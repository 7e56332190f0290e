"""One module per hypersync-slo sub-command, each exposing register(subparsers)."""

#: Nothing here is imported by name: ``cli.py`` loads the chosen command's module by its name.
__all__: list[str] = []
