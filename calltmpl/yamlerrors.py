"""YAML syntax errors said in plain words, at the character at fault, with what to do.

The parser's own words ("while scanning for the next token found character that cannot start
any token") name its state, not the user's mistake. :func:`explain` recognises the common
mistakes from the text itself and says them plainly:

* a control character (the parser names no line): where it is, and to remove it;
* a tab in a line's indentation: YAML indents with spaces only;
* a line indented deeper than the member before it, which already has a value, or by a number
  of spaces that lines up with no member above it;
* ``key: a: b``, a value holding ``: ``, which YAML reads as a second key;
* a ``[``, ``{`` or quote never closed: shown where it opens.

Anything else keeps the parser's words, with a hint on what usually causes them. Every
explanation keeps the parser's message at its end, in brackets, for searching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from calltmpl.errors import ParseError

CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
"""Characters a YAML stream may not hold (YAML 1.2, 5.1): C0 and C1 controls but tab, line
feed, carriage return and NEL, and the two non-characters of the basic plane."""

_INDENTATION = (
    "did not find expected key",
    "mapping values are not allowed",
    "did not find expected '-' indicator",
    "expected <block end>",
)
_UNCLOSED = {
    "flow sequence": "[",
    "flow mapping": "{",
    "flow node": "[ or {",
    "quoted scalar": "quote",
}
QUOTE_HINT = "quote values that hold ': ' or ' #', or start with one of { [ * & ! % @ ` | > ' \""


@dataclass(frozen=True)
class Mark:
    """What the parser said and where (1-based), and where the construct it was in began."""

    problem: str
    line: int
    column: int
    context: str = ""
    context_line: int = 0
    context_column: int = 0


def explain(text: str, mark: Mark) -> ParseError:
    """The :class:`ParseError` to report for a parser error on ``text``."""
    said = " ".join(p for p in (mark.context, mark.problem) if p) or "invalid YAML"
    lines = text.split("\n")
    for reason in (_control, _tab, _unclosed, _indentation):
        found = reason(text, lines, mark)
        if found is not None:
            message, hint, line, column = found
            return ParseError(f"{message} [{said}]", line, column, hint)
    return ParseError(
        said, mark.line, mark.column, f"check this line and the one before: {QUOTE_HINT}"
    )


def control_character(text: str) -> ParseError | None:
    """The first character YAML does not allow, located, or None."""
    found = CONTROL.search(text)
    if found is None:
        return None
    code = f"U+{ord(found.group()):04X}"
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    return ParseError(
        f"the control character {code} is not allowed in YAML",
        line,
        column,
        f"remove the control character {code} (editors often show it as a box or not at all); "
        f'a value that must hold it writes it as an escape in double quotes, "\\u{code[2:]}"',
    )


_Found = tuple[str, str, int, int]


def _control(text: str, lines: list[str], mark: Mark) -> _Found | None:
    if "character" not in mark.problem and mark.problem:
        return None
    found = control_character(text)
    if found is None:
        return None
    return found.message, found.hint, found.line, found.column


def _line(lines: list[str], number: int) -> str:
    return lines[number - 1] if 1 <= number <= len(lines) else ""


def _tab(text: str, lines: list[str], mark: Mark) -> _Found | None:
    line = _line(lines, mark.line)
    indentation = line[: len(line) - len(line.lstrip(" \t"))]
    at = line[mark.column - 1 : mark.column]
    if "\t" not in indentation and at != "\t" and "tab" not in mark.problem:
        return None
    column = (indentation.find("\t") if "\t" in indentation else line.find("\t")) + 1
    if column == 0:
        return None
    if "\t" in indentation:
        message = "a tab indents this line; YAML does not allow tabs for indentation"
    else:
        message = "a tab character YAML cannot read here"
    return (
        message,
        "use spaces instead of tabs (two per level, as calltmpl's examples do)",
        mark.line,
        column,
    )


def _unclosed(text: str, lines: list[str], mark: Mark) -> _Found | None:
    opened = next((v for k, v in _UNCLOSED.items() if k in mark.context), None)
    if opened is None or not mark.context_line:
        return None
    if opened == "quote":
        message = "the quoted value that starts here is never closed"
        hint = "end the value with the same quote it starts with"
    else:
        message = f"the {opened} that opens here is never closed"
        hint = f"close it, or quote the value if the {opened} is meant as text"
    return message, hint, mark.context_line, mark.context_column


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _indentation(text: str, lines: list[str], mark: Mark) -> _Found | None:
    if not any(p in mark.problem for p in _INDENTATION):
        return None
    number = mark.line
    line = _line(lines, number)
    previous = next((n for n in range(number - 1, 0, -1) if _content(_line(lines, n))), 0)
    if not _content(line) or not previous:
        return None
    here, before = _indent(line), _indent(_line(lines, previous))
    above = _line(lines, previous).strip()
    column = here + 1
    hint = "indent each member by as many spaces as the other members of its mapping"
    if here > before and not above.endswith(":") and not above.startswith("- "):
        return (
            f"line {number} is indented deeper than line {previous} above it ({here} spaces, "
            f"not {before}), but the member on line {previous} already has a value",
            f"{hint}; only the members of a `key:` written without a value go deeper",
            number,
            column,
        )
    levels = _levels(lines, previous)
    if here < before and here not in levels:
        shown = ", ".join(str(n) for n in sorted(levels))
        return (
            f"line {number} is indented {here} space{'s' if here != 1 else ''}, which lines up "
            f"with no member above it (those around it are indented {shown})",
            hint,
            number,
            column,
        )
    if "mapping values are not allowed" in mark.problem and here == before:
        return (
            "this value holds ': ', which YAML reads as the start of another member",
            'quote the value, e.g. key: "a: b"',
            mark.line,
            mark.column,
        )
    return None


def _levels(lines: list[str], last: int) -> set[int]:
    """The indentations open at line ``last``: its own and those of the lines it is under."""
    levels = {_indent(_line(lines, last))}
    lowest = min(levels)
    for number in range(last - 1, 0, -1):
        line = _line(lines, number)
        if _content(line) and _indent(line) < lowest:
            lowest = _indent(line)
            levels.add(lowest)
            if lowest == 0:
                break
    return levels
