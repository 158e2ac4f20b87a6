"""The ``calltmpl`` command: parses arguments, calls the library, prints, picks the exit code.

Exit codes, for every command: 0 nothing at error severity; 1 at least one error finding;
2 usage error, unreadable path or invalid ``calltmpl.yaml``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from calltmpl import catalog, policy
from calltmpl import config as config_module
from calltmpl.config import CONFIG_NAME, ConfigError, Settings
from calltmpl.diagnostics import Diagnostic, Severity
from calltmpl.project import Project, UsageError, payload_document, read_shown
from calltmpl.queues import shown_path
from calltmpl.reporters import REPORTERS, Context
from calltmpl.suppress import Suppression

OK, FINDINGS, USAGE = 0, 1, 2

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str) -> NoReturn:
    click.echo(f"calltmpl: error: {message}", err=True)
    sys.exit(USAGE)


def _settings(config: Path | None, paths: Sequence[Path]) -> Settings:
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
        _fail(f"{config}: no such configuration file")
    try:
        return config_module.load_settings(config, shown_path(config))
    except ConfigError as exc:
        _fail(str(exc))


def _config_option(command: F) -> F:
    return click.option(
        "--config",
        "config",
        type=click.Path(path_type=Path, dir_okay=False),
        help=f"Use this {CONFIG_NAME} instead of the nearest one above the current folder.",
    )(command)


_PATHS = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="calltmpl")
def main() -> None:
    """Mindful call targets as code: render queue files through templates, lint the payloads."""


@main.command()
@_PATHS
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write one .json per queue under this folder.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 listing every output file that is stale, missing or extra.",
)
@_config_option
def render(paths: tuple[Path, ...], out: Path | None, check: bool, config: Path | None) -> None:
    """Render queue files into API payloads (the POST body {"data": {...}}).

    With one QUEUE_FILE and no --out, print its payload. With --out DIR, write every selected
    queue (all of the repository when no PATH is given) as DIR/<path below the glob>.json.
    """
    settings = _settings(config, paths)
    project = Project(settings)
    try:
        if out is None and not check:
            if len(paths) != 1 or paths[0].is_dir():
                raise UsageError("give one QUEUE_FILE to print, or --out DIR to write many")
            result = project.render(paths[0])
            if isinstance(result, Diagnostic):
                _print("text", [result], [shown_path(paths[0])])
                sys.exit(FINDINGS)
            click.echo(payload_document(result.target), nl=False)
            sys.exit(OK)
        selection = project.select(list(paths))
    except UsageError as exc:
        _fail(str(exc))
    target_dir = out if out is not None else settings.output
    expected: dict[Path, str] = {}
    failures: list[Diagnostic] = []
    documents = project.render_documents([path for path, _ in selection.queues])
    for (path, root), document in zip(selection.queues, documents, strict=True):
        if isinstance(document, Diagnostic):
            failures.append(document)
        else:
            expected[project.output_path(path, root, target_dir)] = document
    if failures:
        _print("text", failures, [shown_path(p) for p, _ in selection.queues])
        sys.exit(FINDINGS)
    if check:
        sys.exit(_check_outputs(expected, target_dir, complete=not paths))
    for file, document in expected.items():
        file.parent.mkdir(parents=True, exist_ok=True)
        if not file.is_file() or file.read_text(encoding="utf-8") != document:
            file.write_text(document, encoding="utf-8")
    click.echo(f"rendered {len(expected)} call target(s) into {shown_path(target_dir)}")


def _check_outputs(expected: dict[Path, str], folder: Path, complete: bool) -> int:
    problems = []
    for file, document in sorted(expected.items()):
        if not file.is_file():
            problems.append(f"{shown_path(file)}: missing")
        elif file.read_text(encoding="utf-8") != document:
            problems.append(f"{shown_path(file)}: stale")
    if complete and folder.is_dir():
        wanted = {f.resolve() for f in expected}
        problems.extend(
            f"{shown_path(f)}: extra (no queue renders it)"
            for f in sorted(folder.rglob("*.json"))
            if f.resolve() not in wanted
        )
    for line in problems:
        click.echo(line)
    if problems:
        click.echo(
            f"{len(problems)} output file(s) out of date; run `calltmpl render --out "
            f"{shown_path(folder)}`"
        )
        return FINDINGS
    click.echo(f"{len(expected)} output file(s) up to date")
    return OK


def _selectors(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


@main.command()
@_PATHS
@click.option(
    "--format",
    "output_format",
    type=click.Choice(list(REPORTERS)),
    default="text",
    show_default=True,
    help="Output format: text for people; json, github, sarif or junit for tools.",
)
@click.option(
    "--select",
    multiple=True,
    metavar="CODES",
    help="Check only these codes, prefixes or names (comma-separated; replaces lint.select).",
)
@click.option(
    "--ignore",
    multiple=True,
    metavar="CODES",
    help="Do not report these codes, prefixes or names (comma-separated; adds to lint.ignore).",
)
@click.option("--strict", is_flag=True, help="Warnings fail the run (exit 1) too.")
@click.option(
    "--ignore-unmatched",
    is_flag=True,
    help="Skip paths that are not queues, templates, payloads or the configuration of "
    "the repository (for hooks that pass every changed file).",
)
@_config_option
def lint(
    paths: tuple[Path, ...],
    output_format: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    strict: bool,
    ignore_unmatched: bool,
    config: Path | None,
) -> None:
    """Check call targets: queue files (rendered), templates (every queue built from them),
    payload .json files, calltmpl.yaml (everything) or folders; no PATH means every queue."""
    settings = _settings(config, paths)
    layered = dataclasses.replace(
        settings.lint,
        select=_selectors(select) or settings.lint.select,
        ignore=settings.lint.ignore + _selectors(ignore),
        strict=strict or settings.lint.strict,
    )
    try:
        options = policy.resolve(layered, settings.root)
    except policy.SelectorError as exc:
        _fail(str(exc))
    project = Project(settings)
    try:
        selection = project.select(list(paths), ignore_unmatched=ignore_unmatched)
        report = project.lint(selection, options)
    except UsageError as exc:
        _fail(str(exc))
    _print(
        output_format,
        report.diagnostics,
        report.checked,
        report.suppressed,
        options.fails,
    )
    sys.exit(FINDINGS if any(options.fails(d) for d in report.diagnostics) else OK)


def _print(
    output_format: str,
    diagnostics: Sequence[Diagnostic],
    checked: Sequence[str],
    suppressed: Sequence[tuple[Diagnostic, Suppression]] = (),
    fails: Callable[[Diagnostic], bool] = lambda d: d.severity >= Severity.ERROR,
) -> None:
    context = Context(
        diagnostics,
        suppressed,
        checked,
        source_line=_source_line,
        fails=fails,
        color=output_format == "text" and _colour(),
        version=_version(),
    )
    click.echo(REPORTERS[output_format](context), nl=False)


def _colour() -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty()


@functools.cache
def _lines(file: str) -> list[str]:
    text = read_shown(file)
    return text.splitlines() if text is not None else []


def _source_line(file: str, line: int) -> str:
    lines = _lines(file)
    return lines[line - 1] if 1 <= line <= len(lines) else ""


def _version() -> str:
    try:
        import importlib.metadata  # only SARIF needs it, and it is slow to import

        return importlib.metadata.version("calltmpl")
    except importlib.metadata.PackageNotFoundError:
        return "0"


@main.command("rules")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
def rules_command(output_format: str) -> None:
    """List every check: code, name, default severity and what it finds."""
    entries = catalog.entries()
    if output_format == "json":
        listing = [
            {
                "code": e.code,
                "name": e.name,
                "severity": str(e.severity),
                "summary": e.summary,
                "reference": e.reference,
                "scope": e.scope,
            }
            for e in entries
        ]
        click.echo(json.dumps({"rules": listing}, indent=2))
        return
    width = max(len(e.name) for e in entries)
    for e in entries:
        click.echo(f"{e.code}  {e.name:<{width}}  {e.severity!s:<7}  {e.summary}")


@main.command("rule")
@click.argument("code_or_name")
def rule_command(code_or_name: str) -> None:
    """Explain one check: why it matters, with a bad and a good example."""
    entry = catalog.find(code_or_name)
    if entry is None:
        _fail(catalog.unknown_message(code_or_name))
    origin = f", reference item {entry.reference}" if entry.reference.startswith("3.") else ""
    origin = ", inferred" if entry.reference == "inferred" else origin
    click.echo(f"{entry.code} {entry.name} ({entry.severity} by default{origin})\n")
    click.echo(entry.explanation)
