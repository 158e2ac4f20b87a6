"""Commands for reviewing a change: diff (the call targets between a git revision and the
work tree), explain (where each value comes from) and graph (the templates and their queues).

``diff`` exits 0 when nothing differs, 4 when something does, 1 when a side fails to render
(its failures are listed as diagnostics) and 2 on a usage error (not a git repository, an
unknown revision).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from calltmpl import graph, markdown
from calltmpl.cli.common import (
    FINDINGS,
    OK,
    PATHS,
    PENDING,
    _colour,
    config_option,
    echo,
    format_option,
    print_diagnostics,
    repository,
)
from calltmpl.diagnostics import Diagnostic
from calltmpl.errors import UsageError
from calltmpl.explain import Explainer, text
from calltmpl.plan import ABSENT
from calltmpl.reporters import printable
from calltmpl.review import Group, Review, review

_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|##\[")


def json_text(document: object) -> str:
    """Indented JSON, non-ASCII as is, yet safe to print (as the lint reporter writes it)."""

    def escape(match: re.Match[str]) -> str:
        found = match.group()
        return "##\\u005b" if found == "##[" else f"\\u{ord(found):04x}"

    return _JSON_UNSAFE.sub(escape, json.dumps(document, indent=2, ensure_ascii=False)) + "\n"


@click.command("diff")
@PATHS
@click.option(
    "--base",
    default="HEAD",
    show_default=True,
    metavar="REV",
    help="The git revision to compare the work tree with (a commit, branch or tag).",
)
@format_option(
    ["text", "json", "markdown"],
    "text for people, json for tools, markdown for a pull-request comment.",
)
@config_option
def diff_command(
    paths: tuple[Path, ...], base: str, output_format: str, config: Path | None
) -> int:
    """Show what changes in the API payloads between git revision REV and the work tree, per
    call target: changed members (a change shared by many queues once, with the line that
    caused it), queue files added and removed. Reads REV from git without touching the work
    tree, the index or HEAD. Exit 0 nothing differs, 4 differences, 1 a side fails to render."""
    repo = repository(config, paths)
    result = review(repo, base, list(paths))
    if result.failures:
        if output_format == "markdown":
            echo(markdown.review(result), nl=False)
        else:
            print_diagnostics(output_format, result.failures, result.checked, repo.root)
        return FINDINGS
    if output_format == "json":
        echo(json_text(result.as_json()), nl=False)
    elif output_format == "markdown":
        echo(markdown.review(result), nl=False)
    else:
        echo(_review_text(result), nl=False)
    return PENDING if result.changes else OK


def _value(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    return printable(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))


def _review_text(result: Review) -> str:
    base = printable(result.base)
    if not result.changes:
        return f"No call target differs from {base}.\n"
    lines = []
    for group in result.groups():
        lines.extend(_group_text(group))
    for change in result.changes:
        if change.status != "changed":
            lines.append(f"{change.status:<8} {printable(change.queue)}  {_value(change.name)}")
    counts = ", ".join(
        f"{result.count(s)} {s}" for s in ("changed", "added", "removed") if result.count(s)
    )
    lines.append(f"Against {base}: {counts}.")
    return "\n".join(lines) + "\n"


def _group_text(group: Group) -> list[str]:
    count = len(group.queues)
    where = printable(group.queues[0]) if count == 1 else f"{count} queues"
    cause = f"  ← {printable(group.cause.file)}:{group.cause.line}" if group.cause else ""
    head = f"{printable(group.pointer)}: {_value(group.before)} -> {_value(group.after)}"
    lines = [f"{head}  in {where}{cause}"]
    if count > 1:
        lines.extend(f"    {printable(queue)}" for queue in group.queues)
    return lines


@click.command("explain")
@click.argument("queue_file", type=click.Path(path_type=Path))
@click.argument("pointers", nargs=-1)
@format_option(["text", "json"], "text for people, json for tools.")
@config_option
def explain_command(
    queue_file: Path, pointers: tuple[str, ...], output_format: str, config: Path | None
) -> int:
    """Say where each member of a queue's call target comes from (or of the POINTERs given,
    e.g. /configuration/customerDialTimeout): the queue line, a template line, or a template's
    default; with the queue variables a template line read and the parent blocks it replaced."""
    repo = repository(config, [queue_file])
    if queue_file.is_dir():
        raise UsageError(f"{queue_file}: a folder; give one QUEUE_FILE")
    rendered = repo.project.render(queue_file)
    if isinstance(rendered, Diagnostic):
        checked = [rendered.queue or rendered.file]
        print_diagnostics(output_format, [rendered], checked, repo.root)
        return FINDINGS
    explanation = Explainer(repo.project).explain(rendered, pointers)
    if output_format == "json":
        echo(json_text(explanation.as_json()), nl=False)
    else:
        echo(text(explanation, color=_colour()), nl=False)
    return OK


@click.command("graph")
@format_option(["mermaid", "dot"], "mermaid (GitHub renders it in Markdown) or dot (Graphviz).")
@config_option
def graph_command(output_format: str, config: Path | None) -> int:
    """Draw the templates, what extends, includes or imports each, and the queues on each."""
    repo = repository(config, [])
    drawn = graph.build(repo.project)
    echo(graph.mermaid(drawn) if output_format == "mermaid" else graph.dot(drawn), nl=False)
    return OK


COMMANDS = (diff_command, explain_command, graph_command)
