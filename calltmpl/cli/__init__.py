"""The ``calltmpl`` command: parses arguments, calls the library, prints, picks the exit code.

This package is the only place that prints or exits, and :data:`main` the only place that
exits: each command returns its exit code, and an error the library raises
(:class:`~calltmpl.errors.CalltmplError`) is printed as ``calltmpl: error: ...`` and ends the
command with its own code. Exit codes, for every command: 0 nothing at error severity; 1 at
least one error finding; 2 usage error, unreadable path or invalid settings; push and plan add
3 (the remote refused or failed) and plan 4 (changes pending).
"""

from __future__ import annotations

from typing import Any

import click

from calltmpl.cli import check, remote
from calltmpl.errors import CalltmplError


class _Main(click.Group):
    """The group whose invocation ends every command, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            code = super().invoke(ctx)
        except CalltmplError as exc:
            click.echo(f"calltmpl: error: {exc}", err=True)
            code = exc.exit_code
        ctx.exit(code if isinstance(code, int) else 0)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="calltmpl")
def main() -> None:
    """Mindful call targets as code: render queue files through templates, lint the payloads."""


for _command in (*check.COMMANDS, *remote.COMMANDS):
    main.add_command(_command)

__all__ = ["main"]
