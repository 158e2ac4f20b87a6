"""The ``calltmpl`` command: parses arguments, calls the library, prints, picks the exit code.

This package is the only place that prints or exits. Exit codes, for every command: 0 nothing
at error severity; 1 at least one error finding; 2 usage error, unreadable path or invalid
settings; push and plan add 3 (the remote refused or failed) and plan 4 (changes pending).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from calltmpl import config as config_module
from calltmpl.config import CONFIG_NAME, ConfigError, Settings
from calltmpl.diagnostics import Diagnostic, Severity
from calltmpl.project import SourceLines
from calltmpl.queues import shown_path
from calltmpl.reporters import REPORTERS, Context
from calltmpl.suppress import Suppression

OK, FINDINGS, USAGE = 0, 1, 2

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> NoReturn:
    click.echo(f"calltmpl: error: {message}", err=True)
    sys.exit(USAGE)


def load_settings(config: Path | None, paths: Sequence[Path]) -> Settings:
    """``--config``, else a calltmpl.yaml given as a path, else the nearest one above the
    current folder, else the nearest one above the first path, else the defaults."""
    if config is None:
        named = [p for p in paths if p.name == CONFIG_NAME and p.is_file()]
        config = named[0] if named else config_module.find_config(Path.cwd())
    if config is None and paths:
        first = paths[0] if paths[0].is_dir() else paths[0].parent
        config = config_module.find_config(first)
    if config is None:
        return config_module.defaults(Path.cwd())
    if not config.is_file():
        fail(f"{config}: no such configuration file")
    try:
        return config_module.load_settings(config, shown_path(config))
    except ConfigError as exc:
        fail(str(exc))


def config_option(command: F) -> F:
    return click.option(
        "--config",
        "config",
        type=click.Path(path_type=Path, dir_okay=False),
        help=f"Use this {CONFIG_NAME} instead of the nearest one above the current folder.",
    )(command)


PATHS = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="calltmpl")
def main() -> None:
    """Mindful call targets as code: render queue files through templates, lint the payloads."""


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
        source_line=SourceLines(root),
        fails=fails,
        color=output_format == "text" and _colour(),
        version=_version(),
    )
    click.echo(REPORTERS[output_format](context), nl=False, err=err)


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


# The commands register themselves on `main` when their modules are imported.
from calltmpl.cli import check, remote  # noqa: E402

__all__ = ["check", "main", "remote"]
