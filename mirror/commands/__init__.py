"""One module per subcommand, listed in ``mirror.cli.COMMANDS`` (name, module, help line).

Each exposes ``register(parser)``, which adds its options and ``handler`` to the sub-parser the
CLI made, and a ``run(args, settings, out)`` handler. Only the chosen command's module is imported.
"""
