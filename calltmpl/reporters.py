"""Turning diagnostics into text for people and JSON for tools; reporters only format."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence

from calltmpl.diagnostics import Diagnostic, Severity

Reporter = Callable[[Sequence[Diagnostic], Sequence[str]], str]


def text(diagnostics: Sequence[Diagnostic], checked: Sequence[str]) -> str:
    """``file:line:column: CODE severity message`` lines, hints below, and a summary."""
    lines = []
    for d in sorted(diagnostics, key=Diagnostic.sort_key):
        lines.append(f"{d.file}:{d.line}:{d.column}: {d.code} {d.severity} {d.message}")
        if d.hint:
            lines.append(f"    hint: {d.hint}")
    lines.append(summary(diagnostics, checked))
    return "\n".join(lines) + "\n"


def summary(diagnostics: Sequence[Diagnostic], checked: Sequence[str]) -> str:
    counts = Counter(d.severity for d in diagnostics)
    parts = [
        f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}"
        for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)
    ]
    files = len({d.file for d in diagnostics})
    checked_part = f"{len(checked)} file{'s' if len(checked) != 1 else ''} checked"
    if not diagnostics:
        return f"no problems ({checked_part})"
    return f"{', '.join(parts)} in {files} file{'s' if files != 1 else ''} ({checked_part})"


def json_report(diagnostics: Sequence[Diagnostic], checked: Sequence[str]) -> str:
    """``{"diagnostics": [{file, line, column, code, severity, message, pointer}, ...]}``."""
    items = [
        {
            "file": d.file,
            "line": d.line,
            "column": d.column,
            "code": d.code,
            "severity": str(d.severity),
            "message": d.message,
            "pointer": d.pointer,
        }
        for d in sorted(diagnostics, key=Diagnostic.sort_key)
    ]
    return json.dumps({"diagnostics": items}, indent=2, ensure_ascii=False) + "\n"


REPORTERS: dict[str, Reporter] = {"text": text, "json": json_report}
