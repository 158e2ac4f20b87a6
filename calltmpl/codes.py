"""Codes of the checks that are not cross-field rules: input files, templates, schema.

Families: CT0xx input files, CT1xx templates and rendering, CT2xx schema, CT3xx-CT7xx
cross-field rules (see :mod:`calltmpl.rules`), CT9xx push. A code is never reused.
"""

from __future__ import annotations

from dataclasses import dataclass

from calltmpl.diagnostics import Diagnostic, Severity


@dataclass(frozen=True)
class Code:
    code: str
    name: str
    severity: Severity
    summary: str

    def at(
        self,
        file: str,
        line: int,
        column: int,
        message: str,
        *,
        pointer: str = "",
        hint: str = "",
    ) -> Diagnostic:
        return Diagnostic(
            self.code, message, self.severity, file, max(line, 1), max(column, 1), pointer, hint
        )


E, W = Severity.ERROR, Severity.WARNING

QUEUE_SYNTAX = Code("CT001", "queue-yaml-syntax", E, "A queue file is not valid YAML.")
QUEUE_SHAPE = Code("CT002", "queue-not-mapping", E, "A queue file is not a mapping of variables.")
QUEUE_TEMPLATE = Code(
    "CT003", "queue-template-missing", E, "A queue file does not name its template."
)
PAYLOAD_SYNTAX = Code("CT004", "payload-json-syntax", E, "A payload file is not valid JSON.")
PAYLOAD_SHAPE = Code(
    "CT005", "payload-shape", E, "A payload file holds no call target in a known envelope."
)
UNUSED_VARIABLE = Code(
    "CT006", "unused-variable", W, "A queue variable no template reads, most likely a typo."
)

TEMPLATE_NOT_FOUND = Code(
    "CT101", "template-not-found", E, "The template, or one it extends or includes, is missing."
)
TEMPLATE_SYNTAX = Code("CT102", "template-syntax", E, "A template is not valid Jinja.")
UNDEFINED_VARIABLE = Code(
    "CT103", "undefined-variable", E, "A template uses a variable the queue does not define."
)
TEMPLATE_SECURITY = Code(
    "CT104", "template-unsafe", E, "A template tried something the sandbox forbids."
)
TEMPLATE_ERROR = Code("CT105", "template-runtime-error", E, "A template failed while rendering.")
OUTPUT_SYNTAX = Code("CT106", "output-not-yaml", E, "A template rendered text that is not YAML.")
OUTPUT_SHAPE = Code(
    "CT107", "output-not-mapping", E, "A template rendered something that is not a mapping."
)

SCHEMA = Code("CT201", "schema-violation", E, "A member has the wrong type, value or bounds.")
UNKNOWN_MEMBER = Code(
    "CT202", "unknown-member", W, "A member the API does not know, most likely a typo."
)

ALL: tuple[Code, ...] = (
    QUEUE_SYNTAX,
    QUEUE_SHAPE,
    QUEUE_TEMPLATE,
    PAYLOAD_SYNTAX,
    PAYLOAD_SHAPE,
    UNUSED_VARIABLE,
    TEMPLATE_NOT_FOUND,
    TEMPLATE_SYNTAX,
    UNDEFINED_VARIABLE,
    TEMPLATE_SECURITY,
    TEMPLATE_ERROR,
    OUTPUT_SYNTAX,
    OUTPUT_SHAPE,
    SCHEMA,
    UNKNOWN_MEMBER,
)
