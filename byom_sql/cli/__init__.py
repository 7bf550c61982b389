"""The command line: one-shot SQL, the interactive shell and the subcommands."""
