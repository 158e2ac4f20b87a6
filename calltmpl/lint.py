"""The lint engine: schema and rules over call targets, findings located where users edit.

A :class:`Subject` is one call target with a way to locate its members. The engine runs the
JSON Schema and every enabled rule, keeps a rule's finding over a schema finding on the same
member (the rule says more), and turns findings into diagnostics. Rules of scope "set" run
once over all the subjects linted together.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from calltmpl import codes, parsing, schema
from calltmpl.diagnostics import Diagnostic
from calltmpl.policy import LintOptions
from calltmpl.queues import QueueFile
from calltmpl.render import Rendered, Renderer, is_builtin, shown_template
from calltmpl.rules import REGISTRY, Finding


class Location(NamedTuple):
    file: str
    line: int
    column: int
    queue: str = ""  # the queue rendered, when the location is in a template
    note: str = ""  # said after the message, e.g. where a default came from


@dataclass(frozen=True)
class Subject:
    """One call target to lint and how to locate a pointer into it."""

    file: str
    target: Mapping[str, Any]
    locate: Callable[[str], Location]
    not_applicable: frozenset[str] = frozenset()  # codes that do not apply to this target

    def diagnostic(
        self, code: str, finding: Finding, options: LintOptions, default: Any
    ) -> Diagnostic:
        where = self.locate(finding.pointer)
        severity = options.severities.get(code, default)
        message = f"{finding.message} ({where.note})" if where.note else finding.message
        return Diagnostic(
            code,
            message,
            severity,
            where.file,
            where.line,
            where.column,
            finding.pointer,
            finding.hint,
            where.queue,
        )


def lint_subject(subject: Subject, options: LintOptions) -> Iterator[Diagnostic]:
    """Rule and schema findings for one call target."""
    target = subject.target
    reported: set[str] = set()
    for rule in REGISTRY:
        if rule.scope != "target" or not options.runs(rule.code):
            continue
        if rule.code in subject.not_applicable:
            continue
        for finding in rule.check(target):
            reported.add(finding.pointer)
            yield subject.diagnostic(rule.code, finding, options, rule.severity)
    for found in schema.check(target):
        code = codes.UNKNOWN_MEMBER if found.unknown_member else codes.SCHEMA
        if found.pointer in reported or not options.runs(code.code):
            continue
        finding = Finding(found.pointer, f"{found.message} [{found.keyword}]", found.hint)
        yield subject.diagnostic(code.code, finding, options, code.severity)


def lint_set(
    labelled: Sequence[tuple[str, Mapping[str, Any]]],
    subject_at: Callable[[int], Subject],
    options: LintOptions,
) -> Iterator[Diagnostic]:
    """Findings of the rules that compare the call targets linted together.

    ``labelled`` holds (file, target) pairs; ``subject_at`` builds the subject of one of them
    when a finding needs locating, which is rare enough to do on demand.
    """
    for rule in REGISTRY:
        if rule.scope == "set" and options.runs(rule.code):
            for index, finding in rule.check(labelled):
                yield subject_at(index).diagnostic(rule.code, finding, options, rule.severity)


def nearest(positions: Mapping[str, tuple[int, int]], pointer: str) -> tuple[str, int, int]:
    """``pointer`` or its closest ancestor that has a position, with that position."""
    while pointer and pointer not in positions:
        pointer = pointer.rsplit("/", 1)[0]
    line, column = positions.get(pointer, (1, 1))
    return pointer, line, column


# A GET answer is what the server holds, id and all: it is no body meant for a create.
_NOT_APPLICABLE = {"/data/callTarget": frozenset({"CT705"})}


def payload_subject(file: str, text: str, target: Mapping[str, Any], base: str) -> Subject:
    """A call target read from a payload file; members are located in that file.

    ``base`` is the call target's pointer in the file: "/data" in a POST body,
    "/data/callTarget" in a GET answer, "" for a bare call target."""
    cache: dict[str, parsing.Positions] = {}

    def locate(pointer: str) -> Location:
        if "positions" not in cache:
            cache["positions"] = parsing.json_positions(text)
        _, line, column = nearest(cache["positions"], base + pointer)
        return Location(file, line, column)

    return Subject(file, target, locate, _NOT_APPLICABLE.get(base, frozenset()))


_EXPRESSION = re.compile(r"\{\{(.*?)\}\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def rendered_subject(rendered: Rendered, renderer: Renderer) -> Subject:
    """A call target rendered from a queue file, located where the user edits.

    A member is located at the queue file's variable when the template line that wrote it
    uses exactly one variable the queue file sets (at the same member inside the variable,
    when the variable is a mapping or list that holds it); otherwise at that template line,
    unless that is a built-in template, which users do not edit: then at the queue file's
    ``template:`` line, naming the built-in default.
    """
    queue = rendered.queue
    cache: dict[str, parsing.Positions] = {}

    def locate(pointer: str) -> Location:
        _, output_line, _ = nearest(rendered.positions, pointer)
        member = parsing.unescape(pointer.rsplit("/", 1)[-1])
        template, line = renderer.origin(queue, output_line, member)
        source = renderer.source_line(template, line)
        used = {n for expr in _EXPRESSION.findall(source) for n in _NAME.findall(expr)}
        used &= set(queue.variables) - {"queue"}
        if "queue" not in cache:
            cache["queue"] = parsing.yaml_positions(queue.text)
        if len(used) == 1:
            _, var_line, var_column = nearest(cache["queue"], _inside(pointer, used.pop()))
            return Location(queue.shown, var_line, var_column)
        shown = shown_template(template)
        if is_builtin(template):
            _, at_line, at_column = nearest(cache["queue"], "/template")
            return Location(queue.shown, at_line, at_column, note=f"default of {shown}:{line}")
        return Location(shown, line, _value_column(source, member), queue.shown)

    return Subject(queue.shown, rendered.target, locate)


def _value_column(source: str, member: str) -> int:
    """Where a template line writes the value of ``member``: after ``member:``, else at the
    first expression, else at the line's first character."""
    match = re.search(rf"(?:^|[\s{{,\"]){re.escape(member)}\"?\s*:\s*", source)
    if match is not None and match.end() < len(source):
        return match.end() + 1
    return source.find("{{") + 1 or len(source) - len(source.lstrip()) + 1


def _inside(pointer: str, variable: str) -> str:
    """Where ``pointer`` lies inside a queue variable: ``/configuration/messaging/handle``
    with variable ``messaging`` is ``/messaging/handle``; just ``/variable`` otherwise."""
    parts = [parsing.unescape(p) for p in pointer.split("/")[1:]]
    tail = parts[parts.index(variable) + 1 :] if variable in parts else []
    result = parsing.pointer_join("", variable)
    for part in tail:
        result = parsing.pointer_join(result, part)
    return result


def unused_variables(queue: QueueFile, renderer: Renderer) -> Iterator[Diagnostic]:
    """Queue variables that no template of the queue reads: a typo here silently leaves
    the template's default in place, so it is worth a warning with the likely name."""
    read = renderer.variables(queue.template)
    if read is None:
        return
    unused = [name for name in queue.variables if name not in read and name != "queue"]
    if not unused:
        return
    keys = parsing.yaml_key_positions(queue.text)
    for name in unused:
        line, column = keys.get(parsing.pointer_join("", name), (1, 1))
        guess = difflib.get_close_matches(name, sorted(read), n=1, cutoff=0.75)
        hint = f"did you mean {guess[0]}?" if guess else "remove it, or use it in a template"
        yield codes.UNUSED_VARIABLE.at(
            queue.shown,
            line,
            column,
            f"variable {name} is not read by {queue.template} or the templates it uses",
            hint=hint,
        )
