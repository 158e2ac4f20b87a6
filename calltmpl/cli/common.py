"""What every command shares: options, exit codes, opening the repository, printing findings.

Every byte a command prints passes :func:`echo` (or :func:`confirm`'s prompt): the one place
output is redacted, by the invocation's :class:`~calltmpl.redact.Redactor`, which knows the
credentials of the ``MINDFUL_*`` variables and every token the API client obtained.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from calltmpl import redact
from calltmpl.config import CONFIG_NAME
from calltmpl.diagnostics import Diagnostic, Severity
from calltmpl.errors import FINDINGS, OK, PENDING, REMOTE_FAILED, USAGE
from calltmpl.provenance import Sources
from calltmpl.reporters import REPORTERS, Context
from calltmpl.repository import Repository
from calltmpl.suppress import Suppression

__all__ = ["FINDINGS", "OK", "PENDING", "REMOTE_FAILED", "USAGE", "confirm", "echo"]

F = TypeVar("F", bound=Callable[..., Any])


def echo(message: str = "", *, nl: bool = True, err: bool = False) -> None:
    """Print, with every credential in every form redacted: the only way a command prints.
    Text that is no Unicode (a lone surrogate, e.g. from a file name or a YAML escape) is
    shown escaped (``\\ud800``) rather than failing the whole output."""
    text = redact.current().redact(message)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    click.echo(text, nl=nl, err=err)


def confirm(question: str) -> bool:
    """Ask on stderr (default no), the question redacted like everything printed."""
    return click.confirm(redact.current().redact(question), default=False, err=True)


def config_option(command: F) -> F:
    return click.option(
        "--config",
        "config",
        type=click.Path(path_type=Path, dir_okay=False),
        help=f"Use this {CONFIG_NAME} instead of the nearest one above the current folder.",
    )(command)


def format_option(choices: Sequence[str], help: str | None = None) -> Callable[[F], F]:
    """``--format``, its first choice the default."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help=help,
    )


PATHS = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))


def repository(config: Path | None, paths: Sequence[Path]) -> Repository:
    """The repository a command works on: ``--config``'s, else the one the paths are in."""
    return Repository.open(config, list(paths))


def print_diagnostics(
    output_format: str,
    diagnostics: Sequence[Diagnostic],
    checked: Sequence[str],
    root: Path,
    suppressed: Sequence[tuple[Diagnostic, Suppression]] = (),
    fails: Callable[[Diagnostic], bool] = lambda d: d.severity >= Severity.ERROR,
    *,
    err: bool = False,
) -> None:
    context = Context(
        diagnostics,
        suppressed,
        checked,
        source_line=Sources(root).shown,
        fails=fails,
        color=output_format == "text" and _colour(),
        version=_version(),
    )
    echo(REPORTERS[output_format](context), nl=False, err=err)


def _colour() -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty()


def _version() -> str:
    try:
        import importlib.metadata  # only SARIF needs it, and it is slow to import

        return importlib.metadata.version("calltmpl")
    except importlib.metadata.PackageNotFoundError:
        return "0"
