"""The lint engine: schema and rules over call targets, findings located where users edit.

A :class:`Subject` is one call target with a way to locate its members. The engine runs the
JSON Schema and every selected rule, keeps a rule's finding over a schema finding on the same
member (the rule says more), and turns findings into diagnostics.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from calltmpl import codes, parsing, schema
from calltmpl.diagnostics import Diagnostic, Severity
from calltmpl.queues import QueueFile
from calltmpl.render import Rendered, Renderer, shown_template
from calltmpl.rules import REGISTRY, Rule

Location = tuple[str, int, int]


@dataclass(frozen=True)
class Subject:
    """One call target to lint and how to locate a pointer into it."""

    file: str
    target: Mapping[str, Any]
    locate: Callable[[str], Location]


@dataclass(frozen=True)
class LintOptions:
    """What to check and how seriously; resolved from defaults, configuration and flags."""

    rules: tuple[Rule, ...] = field(default_factory=lambda: tuple(REGISTRY))
    unknown_members: Severity = Severity.WARNING
    severities: Mapping[str, Severity] = field(default_factory=dict)


def lint_subject(subject: Subject, options: LintOptions) -> Iterator[Diagnostic]:
    target = subject.target
    reported: set[str] = set()
    for rule in options.rules:
        severity = options.severities.get(rule.code, rule.severity)
        for finding in rule.check(target):
            reported.add(finding.pointer)
            file, line, column = subject.locate(finding.pointer)
            yield Diagnostic(
                rule.code,
                finding.message,
                severity,
                file,
                line,
                column,
                finding.pointer,
                finding.hint,
            )
    for found in schema.check(target):
        if found.pointer in reported:
            continue
        code = codes.UNKNOWN_MEMBER if found.unknown_member else codes.SCHEMA
        severity = options.unknown_members if found.unknown_member else code.severity
        file, line, column = subject.locate(found.pointer)
        yield Diagnostic(
            code.code,
            f"{found.message} [{found.keyword}]",
            options.severities.get(code.code, severity),
            file,
            line,
            column,
            found.pointer,
            found.hint,
        )


def lint_subjects(subjects: Iterable[Subject], options: LintOptions) -> list[Diagnostic]:
    return [d for subject in subjects for d in lint_subject(subject, options)]


def nearest(positions: Mapping[str, tuple[int, int]], pointer: str) -> tuple[int, int]:
    """The position of ``pointer``, or of its closest ancestor that has one."""
    while True:
        if pointer in positions:
            return positions[pointer]
        if not pointer:
            return (1, 1)
        pointer = pointer.rsplit("/", 1)[0]


def payload_subject(file: str, text: str, target: Mapping[str, Any], base: str) -> Subject:
    """A call target read from a payload file; members are located in that file."""
    cache: dict[str, parsing.Positions] = {}

    def locate(pointer: str) -> Location:
        if "positions" not in cache:
            cache["positions"] = parsing.json_positions(text)
        line, column = nearest(cache["positions"], base + pointer)
        return file, line, column

    return Subject(file, target, locate)


_EXPRESSION = re.compile(r"\{\{(.*?)\}\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def rendered_subject(rendered: Rendered, renderer: Renderer) -> Subject:
    """A call target rendered from a queue file, located where the user edits.

    A member is located at the queue file's variable when the template line that wrote it
    uses exactly one variable the queue file sets; otherwise at that template line.
    """
    queue = rendered.queue
    cache: dict[str, Any] = {}

    def locate(pointer: str) -> Location:
        output_line, _column = nearest(rendered.positions, pointer)
        member = pointer.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
        template, line = renderer.origin(queue, output_line, member)
        source = renderer.source_line(template, line)
        used = {n for expr in _EXPRESSION.findall(source) for n in _NAME.findall(expr)}
        used &= set(queue.variables) - {"queue"}
        if len(used) == 1:
            if "queue" not in cache:
                cache["queue"] = parsing.yaml_positions(queue.text)
            var_line, var_column = cache["queue"].get(parsing.pointer_join("", used.pop()), (1, 1))
            return queue.shown, var_line, var_column
        return shown_template(template), line, source.find("{{") + 1 or 1

    return Subject(queue.shown, rendered.target, locate)


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
