"""The lint engine: schema and rules over call targets, findings located where users edit.

A :class:`Subject` is one call target with a way to locate its members. The engine runs the
JSON Schema and every enabled rule, keeps a rule's finding over a schema finding on the same
member (the rule says more), and turns findings into diagnostics. Rules of scope "set" run
once over all the subjects linted together, compared with the rest of the repository.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from calltmpl import catalog, codes, parsing, schema
from calltmpl.codes import ANSWER, CREATE
from calltmpl.diagnostics import Diagnostic, Finding
from calltmpl.policy import LintOptions
from calltmpl.provenance import Locator

__all__ = [
    "ANSWER",
    "CREATE",
    "Subject",
    "context_view",
    "lint_set",
    "lint_subject",
    "set_rules_run",
    "unused_variables",
]


@dataclass(frozen=True)
class Subject:
    """One call target to lint and how to locate a pointer into it."""

    file: str
    target: Mapping[str, Any]
    locate: Locator
    kind: str = CREATE  # or ANSWER: rules whose ``not_for`` names it do not run

    def diagnostic(
        self, code: str, finding: Finding, options: LintOptions, default: Any
    ) -> Diagnostic:
        where = self.locate(finding.pointer, finding.message)
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
            where.hint or finding.hint,
            where.queue,
        )


def lint_subject(subject: Subject, options: LintOptions) -> Iterator[Diagnostic]:
    """Rule and schema findings for one call target."""
    target = subject.target
    reported: set[str] = set()
    for rule in catalog.rules(codes.TARGET):
        if not options.runs(rule.code) or subject.kind in rule.not_for:
            continue
        assert rule.check is not None
        for finding in rule.check(target):
            reported.add(finding.pointer)
            yield subject.diagnostic(rule.code, finding, options, rule.severity)
    for finding in schema.check(target):
        code = catalog.code(finding.code)
        if finding.pointer in reported or not options.runs(code.code):
            continue
        yield subject.diagnostic(code.code, finding, options, code.severity)


CONTEXT_MEMBERS = ("name", "phoneNumbers")
"""What the rules of scope "set" read of a call target (CT703 the name, CT704 the inbound
numbers): all that is kept of the repository's other call targets, the context they are
compared with (tests/rules/test_set_rules.py fails when a set rule is added, as a reminder
to extend this)."""


def context_view(target: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a call target the rules that compare call targets read."""
    return {key: target[key] for key in CONTEXT_MEMBERS if key in target}


def set_rules_run(options: LintOptions) -> bool:
    """Whether any rule that compares call targets is enabled."""
    return any(options.runs(rule.code) for rule in catalog.rules(codes.SET))


def lint_set(
    labelled: Sequence[tuple[str, Mapping[str, Any]]],
    subject_at: Callable[[int], Subject],
    options: LintOptions,
    context: Sequence[tuple[str, Mapping[str, Any]]] = (),
) -> Iterator[Diagnostic]:
    """Findings of the rules that compare the call targets linted together.

    ``labelled`` holds (file, target) pairs; ``subject_at`` builds the subject of one of them
    when a finding needs locating, which is rare enough to do on demand. ``context`` holds
    the repository's other call targets (their :func:`context_view`): compared with, never
    reported on (a finding on a linted target names the other's file).
    """
    every = [*labelled, *context]
    for rule in catalog.rules(codes.SET):
        if options.runs(rule.code) and rule.check is not None:
            for index, finding in rule.check(every):
                if index < len(labelled):
                    yield subject_at(index).diagnostic(rule.code, finding, options, rule.severity)


def unused_variables(
    shown: str, text: str, template: str, variables: Mapping[str, Any], read: frozenset[str] | None
) -> Iterator[Diagnostic]:
    """Variables of queue file ``shown`` (its ``text``) that no template of the queue reads
    (``read``; None when that cannot be known): a typo here silently leaves the template's
    default in place, so it is worth an error with the likely name."""
    if read is None:
        return
    unused = [n for n in variables if n not in read and n != "queue" and not _kept_aside(n)]
    if not unused:
        return
    keys = parsing.yaml_key_positions(text)
    for name in unused:
        line, column = keys.get(parsing.pointer_join("", name), (1, 1))
        guess = difflib.get_close_matches(name, sorted(read), n=1, cutoff=0.75)
        hint = f"did you mean {guess[0]}?" if guess else "remove it, or use it in a template"
        yield codes.UNUSED_VARIABLE.at(
            shown,
            line,
            column,
            f"variable {name} is not read by {template} or the templates it uses",
            hint=hint,
        )


def _kept_aside(name: str) -> bool:
    """Keys named ``.name`` or ``x-name`` hold YAML anchors for merge keys (as GitLab CI's
    hidden keys and Compose's extension fields do): no template is meant to read them."""
    return name.startswith((".", "x-"))
