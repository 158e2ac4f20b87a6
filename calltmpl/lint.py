"""The lint engine: schema and rules over call targets, findings located where users edit.

A :class:`Subject` is one call target with a way to locate its members. The engine runs the
JSON Schema and every enabled rule, keeps a rule's finding over a schema finding on the same
member (the rule says more), and turns findings into diagnostics. Rules of scope "set" run
once over all the subjects linted together.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from calltmpl import codes, parsing, schema
from calltmpl.diagnostics import Diagnostic
from calltmpl.policy import LintOptions
from calltmpl.queues import QueueFile
from calltmpl.render import Renderer
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
