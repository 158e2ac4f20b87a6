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

_COMMENT = re.compile(
    r"#[-+]?\s*calltmpl:\s*(?P<kind>disable-file|disable)\s*=\s*(?P<codes>[A-Za-z0-9_,\- ]*?)"
    r"\s*(?:--\s*(?P<reason>.*?))?\s*(?:[-+]?#\})?\s*$"
)


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
        match = _COMMENT.search(line)
        if match is not None:
            selectors = tuple(s.strip() for s in match.group("codes").split(",") if s.strip())
            found.append(
                Suppression(
                    file,
                    number,
                    match.start() + 1,
                    selectors,
                    match.group("kind") == "disable-file",
                    (match.group("reason") or "").strip(),
                )
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
