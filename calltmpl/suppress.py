"""Suppression comments in queue files and templates.

``# calltmpl: disable=CODE[,CODE]`` silences those codes for findings located on its line;
``# calltmpl: disable-file=CODE[,CODE]`` anywhere silences them for findings located in the
file. Either may end with ``-- reason``. In a template, a Jinja comment works too
(``{# calltmpl: disable=CT301 -- reason #}``). Codes may be given by name or prefix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from calltmpl import catalog, codes
from calltmpl.diagnostics import Diagnostic

# The comment's head and codes. Matching is linear: each character has one way to match (a
# code may hold single dashes, never `--`, which starts the reason), and possessive
# quantifiers never give characters back. The end of the line is checked in Python.
_COMMENT = re.compile(
    r"#[-+]?\s*+calltmpl:\s*+(?P<kind>disable-file|disable)\s*+=\s*+"
    r"(?P<codes>(?:[A-Za-z0-9_, ]|-(?!-))*+)(?:\s*+--(?P<reason>.*))?"
)
_SPACE = re.compile(r"\s*+")


def _comment(line: str) -> tuple[int, str, str, str] | None:
    """(column, kind, codes, reason) of the suppression comment on ``line``, if any.

    The comment runs to the end of the line, where a Jinja comment's ``#}`` (or ``-#}``)
    may close it; codes are letters, digits, ``_``, ``,``, spaces and single dashes.
    """
    end = len(line.rstrip())
    for match in _COMMENT.finditer(line):
        kind, codes_text, reason = match.group("kind", "codes", "reason")
        if reason is not None:
            return match.start() + 1, kind, codes_text, _strip_close(reason)
        rest = _SPACE.match(line, match.end()).end()  # type: ignore[union-attr]
        if rest >= end:  # nothing but spaces after the codes
            return match.start() + 1, kind, codes_text, ""
        close = line.startswith("#}", rest) and rest + 2 == end
        if close and rest == match.end() and codes_text.endswith("-"):
            return match.start() + 1, kind, codes_text[:-1], ""  # `-#}`
        if close or (line[rest] in "+-" and line.startswith("#}", rest + 1) and rest + 3 == end):
            return match.start() + 1, kind, codes_text, ""
    return None


def _strip_close(reason: str) -> str:
    """A reason without the Jinja comment's closing ``#}``, ``-#}`` or ``+#}``."""
    reason = reason.rstrip()
    if reason.endswith("#}"):
        reason = reason[:-2]
        if reason.endswith(("-", "+")):
            reason = reason[:-1]
    return reason.strip()


@dataclass(frozen=True)
class Suppression:
    file: str
    line: int
    column: int
    selectors: tuple[str, ...]
    whole_file: bool
    reason: str

    @property
    def codes(self) -> frozenset[str]:
        found: set[str] = set()
        for selector in self.selectors:
            found |= catalog.expand(selector)
        return frozenset(found)

    def silences(self, diagnostic: Diagnostic) -> bool:
        """A line comment silences findings on its line; a file comment those in its file
        and, in a queue file, those located in templates while rendering that queue."""
        if diagnostic.code not in self.codes:
            return False
        if self.whole_file:
            return self.file in (diagnostic.file, diagnostic.queue)
        return diagnostic.file == self.file and diagnostic.line == self.line


@dataclass(frozen=True)
class Outcome:
    kept: tuple[Diagnostic, ...]
    suppressed: tuple[tuple[Diagnostic, Suppression], ...]


def scan(file: str, text: str) -> list[Suppression]:
    """The suppression comments of one file."""
    if "calltmpl:" not in text:
        return []
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        comment = _comment(line) if "calltmpl:" in line else None
        if comment is not None:
            column, kind, codes_text, reason = comment
            selectors = tuple(s.strip() for s in codes_text.split(",") if s.strip())
            found.append(
                Suppression(file, number, column, selectors, kind == "disable-file", reason)
            )
    return found


def apply(
    diagnostics: Iterable[Diagnostic],
    files: Iterable[str],
    read: Callable[[str], str | None],
    report_unused: Callable[[str], bool],
    enabled: frozenset[str],
) -> Outcome:
    """Silence what the comments in ``files`` ask for.

    Comments that silence nothing, or name no known code, become CT007 findings in the files
    for which ``report_unused`` says every finding they could silence was looked for; a
    comment whose codes are all switched off (``enabled`` lacks them) is not stale.
    """
    comments: dict[str, list[Suppression]] = {}
    for file in dict.fromkeys(files):
        text = read(file)
        if text is not None:
            comments[file] = scan(file, text)
    kept: list[Diagnostic] = []
    suppressed: list[tuple[Diagnostic, Suppression]] = []
    used: set[Suppression] = set()
    for diagnostic in diagnostics:
        nearby = comments.get(diagnostic.file, []) + comments.get(diagnostic.queue, [])
        match = next((s for s in nearby if s.silences(diagnostic)), None)
        if match is None:
            kept.append(diagnostic)
        else:
            used.add(match)
            suppressed.append((diagnostic, match))
    for file, found in comments.items():
        if report_unused(file):
            stale = [s for s in found if s not in used and (s.codes & enabled or not s.codes)]
            kept.extend(_unused(s) for s in stale)
    return Outcome(tuple(kept), tuple(suppressed))


def _unused(suppression: Suppression) -> Diagnostic:
    unknown = [s for s in suppression.selectors if not catalog.expand(s)]
    kind = "disable-file" if suppression.whole_file else "disable"
    if unknown:
        message = (
            f"{kind}={','.join(suppression.selectors)} names {catalog.unknown_message(unknown[0])}"
        )
    else:
        target = "this file" if suppression.whole_file else "this line"
        message = f"{kind}={','.join(suppression.selectors)} silences nothing on {target}"
    return codes.UNUSED_SUPPRESSION.at(
        suppression.file,
        suppression.line,
        suppression.column,
        message,
        hint="remove the comment, or correct the code it names",
    )
