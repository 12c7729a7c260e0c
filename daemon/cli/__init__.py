"""The ``flowd`` command line: one module per subcommand, imported lazily."""
