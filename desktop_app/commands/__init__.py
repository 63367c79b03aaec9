"""One module per ``reverie`` subcommand: ``add_arguments(parser)`` and ``run(args) -> int``."""
