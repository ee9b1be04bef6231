"""One module per subcommand; each exposes ``register(subparsers, common)`` and ``run(args, out)``."""
