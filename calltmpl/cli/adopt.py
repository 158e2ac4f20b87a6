"""``calltmpl import``: adopt an existing Mindful account's call targets into the repository.

Exit codes: 0 done (also when there was nothing to import), 2 usage or settings error, 3 the
remote could not be read or answered something unexpected (nothing is written then).
"""

from __future__ import annotations

from pathlib import Path

import click

from calltmpl.cli.common import OK, config_option, echo, print_diagnostics, repository
from calltmpl.diagnostics import Severity
from calltmpl.importer import Outcome, adopt
from calltmpl.reporters import inert, printable


@click.command("import")
@click.argument("names", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Print what would be written; write nothing.")
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Show each HTTP request (method, URL, status, time) on stderr; never credentials.",
)
@config_option
def import_command(
    names: tuple[str, ...], dry_run: bool, verbose: bool, config: Path | None
) -> int:
    """Adopt the remote call targets calltmpl.lock does not hold (or the NAMEs given): one
    queue file each, templates for what they share, each recorded in calltmpl.lock so that
    `calltmpl plan` right after says unchanged. Never overwrites a file, never writes to the
    API."""
    repo = repository(config, [])
    log = (lambda line: echo(line, err=True)) if verbose else None
    outcome = adopt(repo, names, dry_run=dry_run, log=log)
    _print(outcome, repo.root)
    return OK


def _print(outcome: Outcome, root: Path) -> None:
    if outcome.dry_run:
        for file in outcome.files:
            echo(f"# would write {printable(file.shown)}")
            echo(inert(printable(file.text, lines=True)))
    else:
        for file in outcome.files:
            echo(f"wrote {file.shown}")
    for note in outcome.notes:
        echo(f"note: {note}")
    if not outcome.imported:
        held = f" calltmpl.lock already holds {outcome.held}" if outcome.held else ""
        echo(f"Nothing to import:{held or ' no remote call target is new'}.")
        return
    report = outcome.lint
    counts = {s: 0 for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)}
    if report is not None and report.diagnostics:
        print_diagnostics("text", report.diagnostics, report.checked, root)
        for diagnostic in report.diagnostics:
            counts[diagnostic.severity] = counts.get(diagnostic.severity, 0) + 1
    queues = len(outcome.files) - len(outcome.templates)
    verb = "Would import" if outcome.dry_run else "Imported"
    written = "would be written" if outcome.dry_run else "written"
    made = ", ".join(f.shown for f in outcome.templates) or "none: the built-in ones fit"
    echo(
        f"{verb} {len(outcome.imported)} call target(s) in {outcome.seconds:.1f} s: "
        f"{len(outcome.files)} file(s) {written} ({queues} queue file(s), "
        f"{len(outcome.templates)} template(s): {made}); "
        f"{len(outcome.imported)} entr{'y' if len(outcome.imported) == 1 else 'ies'} "
        f"{'for' if outcome.dry_run else 'in'} calltmpl.lock."
    )
    findings = (
        f"{counts[Severity.ERROR]} error(s), {counts[Severity.WARNING]} warning(s), "
        f"{counts[Severity.INFO]} info(s)"
    )
    echo(
        f"Lint: the imported call targets already have {findings}; import keeps them as "
        "the API holds them."
        + (
            " Plan and push refuse to run until the errors are fixed."
            if counts[Severity.ERROR]
            else ""
        )
    )
