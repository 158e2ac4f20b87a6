"""Which template line wrote each line of a queue's output."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from calltmpl.environment import ConfinedLoader, environment
from calltmpl.queues import QueueFile

# --- where output lines come from ----------------------------------------------------------
#
# To map an output line back to its template line, templates are rendered a second time with
# a marker at the start of every line of their source, naming the file and line. Markers are
# made only of characters that Python and Jinja treat as whitespace, so whitespace control
# (`{%-`, `-%}`) strips them exactly as it strips the whitespace around them, and inside tags
# the lexer skips them. The marked output, once markers are removed, equals the normal output.

_DIGITS = "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
_OPEN, _SPLIT, _CLOSE = "\x1f", "\x1d", "\x1e"
_MARKER = re.compile(f"{_OPEN}([{_DIGITS}]+){_SPLIT}([{_DIGITS}]+){_CLOSE}")
_TO_DIGITS = str.maketrans("0123456789", _DIGITS)
_FROM_DIGITS = str.maketrans(_DIGITS, "0123456789")


class Origins:
    def __init__(self, search_path: Sequence[Path]):
        self.files: list[str] = []
        self._last: tuple[Path, list[list[tuple[str, int]]]] | None = None
        self.loader = ConfinedLoader(search_path, mark=self._mark)
        self.env = environment(self.loader, "marked")

    def _mark(self, filename: str, source: str) -> str:
        index = len(self.files)
        self.files.append(filename)
        tag = f"{_OPEN}{str(index).translate(_TO_DIGITS)}{_SPLIT}"
        return "\n".join(
            f"{tag}{str(number).translate(_TO_DIGITS)}{_CLOSE}{text}"
            for number, text in enumerate(source.split("\n"), start=1)
        )

    def lines(self, queue: QueueFile) -> list[list[tuple[str, int]]]:
        """For each output line, the (template file, line) of every marker left on it.

        The first marker is where the line's text starts. Others remain where whitespace
        control or an include joined the text of several template lines into one.
        """
        try:
            marked = self.env.get_template(queue.template).render(queue.variables)
        except Exception:  # the plain render succeeded; this one only adds whitespace
            return []
        return [
            [
                (self.files[int(index.translate(_FROM_DIGITS))], int(line.translate(_FROM_DIGITS)))
                for index, line in _MARKER.findall(text)
            ]
            for text in marked.split("\n")
        ]

    def markers(self, queue: QueueFile, output_line: int) -> list[tuple[str, int]]:
        """The markers of ``output_line``, or of the first line after it that has any."""
        if self._last is None or self._last[0] != queue.path:
            self._last = (queue.path, self.lines(queue))
        for found in self._last[1][max(output_line, 1) - 1 :]:
            if found:
                return found
        return []
