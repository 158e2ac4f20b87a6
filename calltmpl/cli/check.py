"""Commands that read the repository: render, lint, rules, rule."""

from __future__ import annotations

import json
from pathlib import Path

import click

from calltmpl import catalog
from calltmpl.cli.common import (
    FINDINGS,
    OK,
    PATHS,
    config_option,
    echo,
    format_option,
    print_diagnostics,
    repository,
)
from calltmpl.diagnostics import Diagnostic
from calltmpl.errors import UsageError
from calltmpl.outputs import out_of_date, remove_extra, write
from calltmpl.paths import shown_path
from calltmpl.payloads import payload_document
from calltmpl.reporters import REPORTERS
from calltmpl.repository import Repository


@click.command()
@PATHS
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write one .json per queue under this folder.",
)
@click.option(
    "--write",
    "write_",
    is_flag=True,
    help="Write every selected queue into the output folder of calltmpl.yaml, as --out would.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 listing every output file that is stale, missing or extra.",
)
@config_option
def render(
    paths: tuple[Path, ...], out: Path | None, write_: bool, check: bool, config: Path | None
) -> int:
    """Render queue files into API payloads (the POST body {"data": {...}}).

    With one QUEUE_FILE and no --out, print its payload. With --out DIR, write every selected
    queue (all of the repository when no PATH is given) as DIR/<path below the glob>.json;
    with no PATH, also remove the payloads it wrote for queues that are gone. --write does the
    same into the configured output folder.
    """
    if write_ and (out is not None or check):
        raise UsageError(
            "--write writes the configured output folder: give it without --out or --check"
        )
    repo = repository(config, paths)
    if out is None and not check and not write_:
        return _print_one(repo, paths)
    folder = out if out is not None else repo.output
    outputs = repo.outputs(paths, folder)
    if isinstance(outputs, list):
        checked = [shown_path(p) for p, _ in repo.select(paths).queues]
        print_diagnostics("text", outputs, checked, repo.root)
        return FINDINGS
    if check:
        problems = out_of_date(outputs)
        for path, state in problems:
            extra = " (no queue renders it)" if state == "extra" else ""
            echo(f"{shown_path(path)}: {state}{extra}")
        if problems:
            echo(
                f"{len(problems)} output file(s) out of date; run `calltmpl render "
                f"--out {shown_path(folder)}`"
            )
            return FINDINGS
        echo(f"{len(outputs.documents)} output file(s) up to date")
        return OK
    written = write(outputs)
    removed = f", {remove_extra(outputs)} removed" if outputs.complete else ""
    echo(
        f"rendered {len(outputs.documents)} call target(s) into {shown_path(folder)}"
        f" ({written} written, {len(outputs.documents) - written} unchanged{removed})"
    )
    return OK


def _print_one(repo: Repository, paths: tuple[Path, ...]) -> int:
    """Print one queue's payload on stdout (diagnostics go to stderr, never into a file the
    output is redirected to)."""
    result = repo.render_one(paths)
    if isinstance(result, Diagnostic):
        print_diagnostics("text", [result], [shown_path(paths[0])], repo.root, err=True)
        return FINDINGS
    echo(payload_document(result.target), nl=False)
    return OK


def _selectors(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


@click.command()
@PATHS
@format_option(
    list(REPORTERS), "Output format: text for people; json, github, sarif or junit for tools."
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
@config_option
def lint(
    paths: tuple[Path, ...],
    output_format: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    strict: bool,
    ignore_unmatched: bool,
    config: Path | None,
) -> int:
    """Check call targets: queue files (rendered), templates (every queue built from them),
    payload .json files, calltmpl.yaml (everything) or folders; no PATH means every queue."""
    repo = repository(config, paths)
    options = repo.options(_selectors(select), _selectors(ignore), strict)
    report = repo.lint(paths, options, ignore_unmatched=ignore_unmatched)
    print_diagnostics(
        output_format,
        report.diagnostics,
        report.checked,
        repo.root,
        report.suppressed,
        options.fails,
    )
    return FINDINGS if any(options.fails(d) for d in report.diagnostics) else OK


@click.command("rules")
@format_option(["text", "json"])
def rules_command(output_format: str) -> int:
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
        echo(json.dumps({"rules": listing}, indent=2))
        return OK
    width = max(len(e.name) for e in entries)
    for e in entries:
        echo(f"{e.code}  {e.name:<{width}}  {e.severity!s:<7}  {e.summary}")
    return OK


@click.command("rule")
@click.argument("code_or_name")
def rule_command(code_or_name: str) -> int:
    """Explain one check: why it matters, with a bad and a good example."""
    entry = catalog.find(code_or_name)
    if entry is None:
        raise UsageError(catalog.unknown_message(code_or_name))
    origin = f", reference item {entry.reference}" if entry.reference.startswith("3.") else ""
    origin = ", inferred" if entry.reference == "inferred" else origin
    echo(f"{entry.code} {entry.name} ({entry.severity} by default{origin})\n")
    echo(entry.explanation)
    return OK


COMMANDS = (render, lint, rules_command, rule_command)
