"""Errors that end a command with a usage error (exit code 2)."""


class UsageError(Exception):
    """A path or argument the command cannot work with."""
