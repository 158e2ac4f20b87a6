"""Commands that speak to the Mindful API: plan, push, and the local sandbox.

``plan`` exits 0 when everything is in sync and 4 when changes are pending (anything but
``unchanged``: a create, an update, a move, an orphan, drift, a conflict or a pending create),
so CI can tell the two apart by the exit code alone (like Terraform's ``-detailed-exitcode``,
whose 2 is taken here by usage errors). Both lint first: 1 when a selected call target has an
error finding, 2 for usage and settings errors, 3 when the remote refused or failed.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from calltmpl.cli.common import (
    FINDINGS,
    OK,
    PATHS,
    PENDING,
    REMOTE_FAILED,
    config_option,
    confirm,
    echo,
    format_option,
    print_diagnostics,
    repository,
)
from calltmpl.errors import UsageError
from calltmpl.repository import Prepared, Repository

if TYPE_CHECKING:  # the API modules load httpx, which lint and render have no use for
    from calltmpl.plan import Change, Plan
    from calltmpl.push import Result

_VERBOSE = click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Show each HTTP request (method, URL, status, time) on stderr; never credentials.",
)
_FORMAT = format_option(["text", "json"], "text for people, json for pipelines.")


@click.command("plan")
@PATHS
@format_option(
    ["text", "json", "markdown"],
    "text for people, json for pipelines, markdown for a pull-request comment.",
)
@_VERBOSE
@config_option
def plan_command(
    paths: tuple[Path, ...], output_format: str, verbose: bool, config: Path | None
) -> int:
    """Show what a push would change, per queue, writing nothing: create, update (with each
    member's remote and new value), moved (a renamed queue file), orphan (a lock entry whose
    file is gone), drifted, conflict, pending (a create with no answer yet) or unchanged.
    Exit 0 in sync, 4 changes pending."""
    repo = repository(config, paths)
    prepared = repo.prepare(list(paths))
    if output_format == "markdown" and (prepared.lint_errors or prepared.failures):
        from calltmpl import markdown

        found = prepared.lint_errors or prepared.failures
        echo(markdown.failures(found, "calltmpl plan", "nothing can be sent"), nl=False)
        return FINDINGS
    if _blocked(repo, prepared, output_format):
        return FINDINGS
    # Shared: waits for a running push rather than reading half of its work.
    with repo.locked(shared=True), repo.client(_log(verbose)) as client:
        _, plan = repo.plan(prepared.desired, client, scope=prepared.scope)
    if output_format == "json":
        echo(json.dumps({"pending": plan.pending, "plan": _plan_json(plan)}, indent=2))
    elif output_format == "markdown":
        from calltmpl import markdown

        echo(markdown.plan(plan), nl=False)
    else:
        _print_plan(plan)
    return PENDING if plan.pending else OK


@click.command("push")
@PATHS
@click.option(
    "--yes", is_flag=True, help="Apply without asking (needed when stdin is no terminal)."
)
@click.option("--force", is_flag=True, help="Overwrite call targets edited outside calltmpl.")
@click.option(
    "--prune",
    is_flag=True,
    help="Park the call targets of orphans (lock entries whose file is gone): callback "
    "processing and registration off, nothing else changed; then drop their lock entries.",
)
@_FORMAT
@_VERBOSE
@config_option
def push_command(
    paths: tuple[Path, ...],
    yes: bool,
    force: bool,
    prune: bool,
    output_format: str,
    verbose: bool,
    config: Path | None,
) -> int:
    """Lint, show the plan, ask, and apply it to the Mindful API. Nothing is sent when a
    selected call target has an error finding. Orphans are left alone unless --prune. Exit 3
    when the remote refused or failed one (the others are still applied)."""
    repo = repository(config, paths)
    prepared = repo.prepare(list(paths))
    if _blocked(repo, prepared, output_format):
        return FINDINGS
    if not yes and not sys.stdin.isatty():
        raise UsageError("stdin is not a terminal, so nobody can confirm: add --yes to push")
    # One push at a time, from reading calltmpl.lock to writing its last entry.
    with repo.locked(), repo.client(_log(verbose)) as client:
        lock, plan = repo.plan(prepared.desired, client, scope=prepared.scope)
        if output_format == "text":
            _print_plan(plan)
        backups = repo.backups()
        if not any(s.action != "unchanged" and (prune or s.action != "orphan") for s in plan.steps):
            # Sends nothing; records the ids of targets matched by name in the lock file, and
            # leaves orphans alone (which the summary says).
            results = repo.apply(plan, client, lock, backups)
            return _finish(output_format, plan, results if plan.pending else [])
        if not yes and not confirm("Apply this plan?"):
            echo("nothing pushed", err=True)
            return OK
        done: list[Result] = []
        report = _progress(len(plan.steps), output_format)

        def progress(index: int, result: Result) -> None:
            done.append(result)
            report(index, result)

        try:
            results = repo.apply(
                plan, client, lock, backups, force=force, prune=prune, progress=progress
            )
        except KeyboardInterrupt:
            echo("\ninterrupted: what was applied so far is recorded in calltmpl.lock", err=True)
            return _finish(output_format, plan, done, interrupted=True)
    return _finish(output_format, plan, results)


@click.command("sandbox")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free one).",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Keep the call targets in this JSON file between runs.",
)
@click.option(
    "--seed",
    "seed_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Start with the call targets of this JSON file (a list of them, the API's "
    '{"data": [...]}, or a --state file); names already held are skipped.',
)
def sandbox_command(port: int, state_file: Path | None, seed_file: Path | None) -> int:
    """Run a stand-in Mindful API on 127.0.0.1, to rehearse a push or an import (e.g. in CI).
    It accepts MINDFUL_CLIENT_ID / MINDFUL_CLIENT_SECRET when set, else sandbox /
    sandbox-secret."""
    client_id = os.environ.get("MINDFUL_CLIENT_ID") or "sandbox"
    client_secret = os.environ.get("MINDFUL_CLIENT_SECRET") or "sandbox-secret"

    def ready(url: str) -> None:
        echo(f"Mindful sandbox on {url} (Ctrl-C stops it); point calltmpl at it with:")
        echo(f"  export MINDFUL_API_URL={url} MINDFUL_TOKEN_URL={url}/oauth2/token")
        if "MINDFUL_CLIENT_SECRET" not in os.environ:  # the user's own secret is never shown
            echo(f"  export MINDFUL_CLIENT_ID={client_id} MINDFUL_CLIENT_SECRET={client_secret}")

    from calltmpl import sandbox

    seed = sandbox.read_seed(seed_file) if seed_file is not None else None
    try:
        sandbox.serve(port, state_file, client_id, client_secret, ready=ready, seed=seed)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot run the sandbox on port {port}: {exc}") from None
    return OK


# --- the steps both commands share ---------------------------------------------------------


def _blocked(repo: Repository, prepared: Prepared, output_format: str) -> bool:
    """Print why nothing may be sent, if so: error findings, or targets that failed to build."""
    if prepared.lint_errors:
        print_diagnostics(output_format, prepared.lint_errors, prepared.checked, repo.root)
        echo("nothing was sent: fix the errors first", err=True)
        return True
    if prepared.failures:
        print_diagnostics(output_format, prepared.failures, prepared.checked, repo.root)
        return True
    return False


def _log(verbose: bool) -> Callable[[str], None] | None:
    return (lambda line: echo(line, err=True)) if verbose else None


# --- output --------------------------------------------------------------------------------


def _absent(value: Any) -> bool:
    from calltmpl.plan import ABSENT

    return value is ABSENT


def _value(value: Any) -> str:
    return "(absent)" if _absent(value) else json.dumps(value, ensure_ascii=False)


def _print_plan(plan: Plan) -> None:
    width = max((len(s.desired.file) for s in plan.steps), default=0)
    for step in plan.steps:
        ident = f" (id {step.target_id})" if step.target_id is not None else ""
        note = f": {step.note}" if step.note else ""
        echo(f"{step.action:<10} {step.desired.file:<{width}}  {step.desired.name!r}{ident}{note}")
        for change in step.changes if step.action != "unchanged" else ():
            echo(f"             {change.pointer}: {_value(change.remote)} -> {_value(change.new)}")
    echo("Plan: " + ", ".join(f"{n} {a}" for a, n in plan.counts().items()) + ".")


def _plan_json(plan: Plan) -> list[dict[str, Any]]:
    return [
        {
            "queue": step.desired.key,
            "file": step.desired.file,
            "name": step.desired.name,
            "action": step.action,
            "id": step.target_id,
            "note": step.note,
            "changes": [_change_json(c) for c in step.changes],
        }
        for step in plan.steps
    ]


def _change_json(change: Change) -> dict[str, Any]:
    """A change as JSON: a side that does not have the member is left out."""
    found: dict[str, Any] = {"pointer": change.pointer}
    for side, value in (("remote", change.remote), ("new", change.new)):
        if not _absent(value):
            found[side] = value
    return found


def _progress(total: int, output_format: str) -> Any:
    """One line per call target, or a single updating line on a terminal."""
    live = output_format == "text" and sys.stdout.isatty()

    def report(index: int, result: Result) -> None:
        if output_format != "text":
            return
        line = f"[{index + 1}/{total}] {result.result} {result.step.desired.file}"
        if live:
            echo(f"\r\x1b[2K{line}", nl=index + 1 == total)
        else:
            echo(line)

    return report


def _finish(
    output_format: str, plan: Plan, results: list[Result], *, interrupted: bool = False
) -> int:
    failed = [r for r in results if not r.ok]
    if output_format == "json":
        document = {
            "plan": _plan_json(plan),
            "results": [
                {
                    "queue": r.step.desired.key,
                    "file": r.step.desired.file,
                    "name": r.step.desired.name,
                    "result": r.result,
                    "id": r.target_id,
                    "message": r.message,
                }
                for r in results
            ],
        }
        echo(json.dumps(document, indent=2))
    elif not results and not interrupted:
        echo("Nothing to push: every call target is in sync.")
    else:
        _summary(results)
        _orphans_left(results)
    if failed or interrupted:
        if output_format == "text":
            names = ", ".join(r.step.desired.file for r in failed)
            echo(f"{len(failed)} call target(s) not pushed: {names}", err=True)
        return REMOTE_FAILED
    return OK


def _orphans_left(results: list[Result]) -> None:
    """One line per orphan left alone, and how to park them."""
    left = [r for r in results if r.result == "orphan"]
    for r in left:
        ident = f"call target {r.target_id}" if r.target_id is not None else "its lock entry"
        echo(f"orphan left alone: {r.step.desired.file} ({r.step.desired.name!r}), {ident}")
    if left:
        echo(
            "hint: `calltmpl push --prune` parks their call targets (callback processing and "
            "registration off, nothing else changed) and drops their lock entries"
        )


def _summary(results: list[Result]) -> None:
    rows = [("queue", "result", "id", "detail")]
    rows += [
        (r.step.desired.file, r.result, "" if r.target_id is None else str(r.target_id), r.message)
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        echo(
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3]))
            + ("  " + row[3] if row[3] else "")
        )


COMMANDS = (plan_command, push_command, sandbox_command)
