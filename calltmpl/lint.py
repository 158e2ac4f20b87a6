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
from typing import Any

from calltmpl import catalog, codes, parsing, schema
from calltmpl.codes import ANSWER, CREATE
from calltmpl.diagnostics import Diagnostic, Finding, Location
from calltmpl.policy import LintOptions

__all__ = ["ANSWER", "CREATE", "Subject", "lint_set", "lint_subject", "unused_variables"]


@dataclass(frozen=True)
class Subject:
    """One call target to lint and how to locate a pointer into it."""

    file: str
    target: Mapping[str, Any]
    locate: Callable[[str], Location]
    kind: str = CREATE  # or ANSWER: rules whose ``not_for`` names it do not run

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


def lint_set(
    labelled: Sequence[tuple[str, Mapping[str, Any]]],
    subject_at: Callable[[int], Subject],
    options: LintOptions,
) -> Iterator[Diagnostic]:
    """Findings of the rules that compare the call targets linted together.

    ``labelled`` holds (file, target) pairs; ``subject_at`` builds the subject of one of them
    when a finding needs locating, which is rare enough to do on demand.
    """
    for rule in catalog.rules(codes.SET):
        if options.runs(rule.code) and rule.check is not None:
            for index, finding in rule.check(labelled):
                yield subject_at(index).diagnostic(rule.code, finding, options, rule.severity)


def unused_variables(
    shown: str, text: str, template: str, variables: Mapping[str, Any], read: frozenset[str] | None
) -> Iterator[Diagnostic]:
    """Variables of queue file ``shown`` (its ``text``) that no template of the queue reads
    (``read``; None when that cannot be known): a typo here silently leaves the template's
    default in place, so it is worth a warning with the likely name."""
    if read is None:
        return
    unused = [name for name in variables if name not in read and name != "queue"]
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
