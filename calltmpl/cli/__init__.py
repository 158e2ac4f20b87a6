"""The ``calltmpl`` command: parses arguments, calls the library, prints, picks the exit code.

This package is the only place that prints or exits, and :data:`main` the only place that
exits: each command returns its exit code, and an error the library raises
(:class:`~calltmpl.errors.CalltmplError`) is printed as ``calltmpl: error: ...`` and ends the
command with its own code. Exit codes, for every command: 0 nothing at error severity; 1 at
least one error finding; 2 usage error, unreadable path or invalid settings; push and plan add
3 (the remote refused or failed) and plan 4 (changes pending).
"""

from __future__ import annotations

import os
from typing import Any

import click

from calltmpl import redact
from calltmpl.cli import adopt, check, remote, review
from calltmpl.cli.common import echo
from calltmpl.errors import INTERNAL, CalltmplError
from calltmpl.reporters import printable


class _Main(click.Group):
    """The group whose invocation ends every command, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command with a redactor that knows the credentials of the environment
        (and learns every token the API client obtains): all output passes it."""
        redactor = redact.Redactor()
        redactor.add_environment(os.environ)
        with redact.active(redactor):
            try:
                code = super().invoke(ctx)
            except CalltmplError as exc:
                echo(f"calltmpl: error: {printable(str(exc))}", err=True)
                code = exc.exit_code
            except (click.exceptions.Exit, click.ClickException, click.Abort):
                raise
            except Exception as exc:  # a bug: said in one line, never as a traceback
                if os.environ.get("CALLTMPL_DEBUG"):
                    raise
                echo(
                    f"calltmpl: internal error: {type(exc).__name__}: {printable(str(exc))[:500]}"
                    " (set CALLTMPL_DEBUG=1 to see where; please report it)",
                    err=True,
                )
                code = INTERNAL
        ctx.exit(code if isinstance(code, int) else 0)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="calltmpl")
def main() -> None:
    """Mindful call targets as code: render queue files through templates, lint the payloads."""


for _command in (*check.COMMANDS, *remote.COMMANDS, adopt.import_command, *review.COMMANDS):
    main.add_command(_command)

__all__ = ["main"]
