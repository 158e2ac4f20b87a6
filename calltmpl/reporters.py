"""Diagnostics as text for people and as JSON, GitHub annotations, SARIF or JUnit for tools.

Reporters only format: what they need from outside (source lines, whether a finding fails the
run, colour) comes in a :class:`Context`.

Messages quote the repository (file names, queue keys and values, source lines), and a
repository can be hostile, so no reporter prints them raw: control characters, line and
paragraph separators and bidirectional overrides are shown as escapes (``\x1b``), so nothing
reaches a terminal as a control sequence or starts a line of its own; and no line can be taken
for a GitHub workflow command (``::`` at its start, ``##[`` anywhere). See :func:`printable`.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from calltmpl import catalog
from calltmpl.diagnostics import Diagnostic, Severity
from calltmpl.suppress import Suppression

Suppressed = Sequence[tuple[Diagnostic, Suppression]]


@dataclass(frozen=True)
class Context:
    diagnostics: Sequence[Diagnostic]
    suppressed: Suppressed
    checked: Sequence[str]
    source_line: Callable[[str, int], str]
    fails: Callable[[Diagnostic], bool]
    color: bool = False
    version: str = ""


Reporter = Callable[[Context], str]


def _ordered(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=Diagnostic.sort_key)


# --- safe text -----------------------------------------------------------------------------

_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
"""What a terminal or a log viewer could act on: C0 controls but tab (newline included: a
value must not start a line of its own), DEL, C1 controls, line and paragraph separators, and
the bidirectional marks, embeddings, overrides and isolates (which reorder what is shown)."""
_UNSAFE_BUT_LINES = re.compile(_UNSAFE.pattern.replace(r"\x0a-\x1f", r"\x0b\x0c\x0e-\x1f"))
_COMMAND_START = re.compile(r"^(\s*):(?=:)", re.MULTILINE)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: str, *, lines: bool = False) -> str:
    """``value`` safe to print inside a line: every character of :data:`_UNSAFE` as an
    escape (ESC as the text ``\\x1b``), and ``##[`` (an old-style GitHub workflow command
    anywhere in a line) as ``##\\x5b``. ``lines`` leaves newlines and carriage returns to
    a caller that encodes them itself (GitHub's ``%0A``)."""
    unsafe = _UNSAFE_BUT_LINES if lines else _UNSAFE
    return unsafe.sub(_escape, value).replace("##[", "##\\x5b")


def inert(text: str) -> str:
    """Lines that GitHub cannot take for workflow commands: a line whose first characters
    after any whitespace are ``::`` has its first colon escaped (``\\x3a:``)."""
    return _COMMAND_START.sub(lambda m: f"{m.group(1)}\\x3a", text)


# --- text ----------------------------------------------------------------------------------

_STYLE: dict[object, str] = {
    "bold": "\x1b[1m",
    Severity.ERROR: "\x1b[1;31m",
    Severity.WARNING: "\x1b[1;33m",
    Severity.INFO: "\x1b[1;36m",
    "dim": "\x1b[2m",
    "reset": "\x1b[0m",
}
_TOKEN = re.compile(r'\{\{.*?\}\}|"(?:[^"\\]|\\.)*"|\'(?:[^\']|\'\')*\'|[^\s,#}\]]+')


def text(context: Context) -> str:
    """``file:line:column: CODE severity message``, then the source line with a caret under
    the value, the hint, and a summary."""

    def paint(style: object, value: str) -> str:
        return f"{_STYLE[style]}{value}{_STYLE['reset']}" if context.color else value

    lines = []
    for d in _ordered(context.diagnostics):
        where = paint("bold", f"{printable(d.file)}:{d.line}:{d.column}:")
        severity = paint(d.severity, str(d.severity))
        lines.append(f"{where} {paint('bold', d.code)} {severity} {printable(d.text)}")
        source, column = _window(context.source_line(d.file, d.line).rstrip("\n"), d.column)
        if source.strip():
            gutter = " " * len(str(d.line))
            token = _TOKEN.match(source, column - 1)
            width = max(1, len(printable(token.group())) if token else 1)
            caret = paint(d.severity, "^" * width)
            indent = " " * len(printable(source[: column - 1]))
            lines.append(f"  {paint('dim', f'{d.line} |')} {printable(source)}")
            lines.append(f"  {paint('dim', f'{gutter} |')} {indent}{caret}")
        if d.hint:
            lines.append(f"  {paint('dim', '= hint:')} {printable(d.hint)}")
    lines.append(summary(context))
    return inert("\n".join(lines)) + "\n"


EXCERPT = 160
"""The most characters of a source line shown under a finding (a line may be megabytes)."""


def _window(source: str, column: int) -> tuple[str, int]:
    """The part of a long source line around ``column``, marked with ``…`` where cut, and
    the column within it."""
    if len(source) <= EXCERPT:
        return source, column
    start = max(0, min(column - 1 - EXCERPT // 2, len(source) - EXCERPT))
    shown = source[start : start + EXCERPT]
    head = "…" if start > 0 else ""
    tail = "…" if start + EXCERPT < len(source) else ""
    return head + shown + tail, column - start + len(head)


def summary(context: Context) -> str:
    counts = Counter(d.severity for d in context.diagnostics)
    checked = len(context.checked)
    checked_part = f"{checked} file{'s' if checked != 1 else ''} checked"
    if context.suppressed:
        checked_part += f", {len(context.suppressed)} suppressed"
    if not context.diagnostics:
        return f"no problems ({checked_part})"
    parts = [
        f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}"
        for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)
    ]
    files = len({d.file for d in context.diagnostics})
    return f"{', '.join(parts)} in {files} file{'s' if files != 1 else ''} ({checked_part})"


# --- json ----------------------------------------------------------------------------------


def _record(d: Diagnostic) -> dict[str, object]:
    return {
        "file": d.file,
        "line": d.line,
        "column": d.column,
        "code": d.code,
        "severity": str(d.severity),
        "message": d.text,
        "pointer": d.pointer,
    }


def json_report(context: Context) -> str:
    """``{"diagnostics": [{file, line, column, code, severity, message, pointer}, ...],
    "suppressed": [{..., "reason"}, ...]}``."""
    document = {
        "diagnostics": [_record(d) for d in _ordered(context.diagnostics)],
        "suppressed": [
            {**_record(d), "reason": s.reason}
            for d, s in sorted(context.suppressed, key=lambda pair: pair[0].sort_key())
        ],
    }
    return _json(document)


_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|##\[")


def _json(document: object) -> str:
    """``document`` as indented JSON, readable (non-ASCII as is) yet safe to print: JSON
    escapes the C0 controls itself; DEL, C1 controls, separators, bidirectional marks and the
    ``[`` of ``##[`` are written as ``\\u`` escapes too, which read back as the same text."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    return _JSON_UNSAFE.sub(_json_escape, text) + "\n"


def _json_escape(match: re.Match[str]) -> str:
    found = match.group()
    return "##\\u005b" if found == "##[" else f"\\u{ord(found):04x}"


# --- GitHub workflow commands --------------------------------------------------------------

ANNOTATIONS_PER_KIND = 10
"""GitHub shows at most this many annotations of each kind (error, warning, notice) a step."""

_GITHUB_KIND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(value: str) -> str:
    return _data(value).replace(":", "%3A").replace(",", "%2C")


def github(context: Context) -> str:
    """Annotations on the pull request's lines, the most severe first; GitHub shows ten of a
    kind, so the rest are plain log lines, and a summary line counts them."""
    ordered = sorted(context.diagnostics, key=lambda d: (-d.severity, d.sort_key()))
    shown: Counter[Severity] = Counter()
    annotations, rest = [], []
    for d in ordered:
        if shown[d.severity] == ANNOTATIONS_PER_KIND:
            rest.append(inert(_line(d)))
            continue
        shown[d.severity] += 1
        entry = catalog.find(d.code)
        title = f"{d.code} {entry.name}" if entry else d.code
        where = f"file={_property(printable(d.file, lines=True))},line={d.line},col={d.column}"
        kind = _GITHUB_KIND[d.severity]
        message = _data(printable(d.text, lines=True))
        annotations.append(f"::{kind} {where},title={_property(title)}::{message}")
    tail = f"; {len(rest)} more only in this log (GitHub shows {ANNOTATIONS_PER_KIND} of a kind)"
    closing = f"calltmpl: {summary(context)}{tail if rest else ''}"
    return "\n".join([*annotations, *rest, closing]) + "\n"


# --- SARIF 2.1.0 ---------------------------------------------------------------------------

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def sarif(context: Context) -> str:
    """A SARIF 2.1.0 log with every rule's metadata and help, for code-scanning dashboards."""
    entries = catalog.entries()
    index = {e.code: i for i, e in enumerate(entries)}
    rules = [
        {
            "id": e.code,
            "name": e.name,
            "shortDescription": {"text": e.summary},
            "fullDescription": {"text": e.explanation},
            "help": {"text": e.explanation},
            "defaultConfiguration": {"level": _SARIF_LEVEL[e.severity]},
            "properties": {"reference": e.reference} if e.reference else {},
        }
        for e in entries
    ]
    results = [_sarif_result(d, index, None) for d in _ordered(context.diagnostics)]
    results += [_sarif_result(d, index, s) for d, s in context.suppressed]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "calltmpl",
                        "version": context.version or "0",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return _json(document)


def _sarif_result(
    d: Diagnostic, index: dict[str, int], suppression: Suppression | None
) -> dict[str, object]:
    result: dict[str, object] = {
        "ruleId": d.code,
        "level": _SARIF_LEVEL[d.severity],
        "message": {"text": d.text + (f" (hint: {d.hint})" if d.hint else "")},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": quote(d.file.replace("\\", "/"))},
                    "region": {"startLine": d.line, "startColumn": d.column},
                }
            }
        ],
    }
    if d.code in index:
        result["ruleIndex"] = index[d.code]
    if d.pointer:
        result["properties"] = {"pointer": d.pointer}
    if suppression is not None:
        result["suppressions"] = [
            {"kind": "inSource", "justification": suppression.reason or "no reason given"}
        ]
    return result


# --- JUnit XML -----------------------------------------------------------------------------


def junit(context: Context) -> str:
    """One test case per call target (and per other file with findings); findings that fail
    the run are failures, the others are listed in the case's output."""
    by_target: dict[str, list[Diagnostic]] = {name: [] for name in context.checked}
    for d in _ordered(context.diagnostics):
        by_target.setdefault(d.queue or d.file, []).append(d)
    suite = ET.Element("testsuite", name="calltmpl lint", tests=str(len(by_target)))
    failed = 0
    for name, found in by_target.items():
        case = ET.SubElement(suite, "testcase", name=printable(name), classname="calltmpl.lint")
        failing = [d for d in found if context.fails(d)]
        if failing:
            failed += 1
            first = failing[0]
            failure = ET.SubElement(case, "failure", message=printable(first.text), type=first.code)
            failure.text = "\n".join(_line(d) for d in failing)
        others = [d for d in found if not context.fails(d)]
        if others:
            ET.SubElement(case, "system-out").text = "\n".join(_line(d) for d in others)
    suite.set("failures", str(failed))
    suite.set("errors", "0")
    root = ET.Element(
        "testsuites", name="calltmpl", tests=str(len(by_target)), failures=str(failed)
    )
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _line(d: Diagnostic) -> str:
    """One finding on one line, its values :func:`printable`."""
    return f"{printable(d.file)}:{d.line}:{d.column}: {d.code} {d.severity} {printable(d.text)}"


REPORTERS: dict[str, Reporter] = {
    "text": text,
    "json": json_report,
    "github": github,
    "sarif": sarif,
    "junit": junit,
}
