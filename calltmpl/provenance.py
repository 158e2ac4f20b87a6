"""Where a rendered value comes from, and so where a finding about it is shown.

This module is the one story of "where". A call target is built from a queue file and the
templates it extends and includes; a finding about one of its members must be shown where a
user edits, never in generated output. The trace goes in three steps:

1. **Output line -> template line.** Templates are rendered a second time with a marker at the
   start of every line of their source, naming the file and line (:class:`Tracer.origin`).
   Markers are made only of characters that Python and Jinja treat as whitespace, so
   whitespace control (``{%-``, ``-%}``) strips them exactly as it strips the whitespace
   around them, and inside tags the lexer skips them; the marked output, once markers are
   removed, equals the normal output. Where several template lines were joined into one
   output line, the one naming the member wins.
2. **Template line -> queue variable** (:func:`queue_variable`). When the template line uses
   exactly one variable the queue sets, the finding is shown at that variable in the queue
   file (at the same member inside it, when the variable is a mapping or list that holds it);
   else at a queue variable named like a member on the pointer's path (the built-in templates
   name variables after members, and pass some through filters and macros).
3. **Otherwise the template line itself**, unless that is a built-in template, which nobody
   edits: then the queue file's ``template:`` line, naming the built-in default. A render
   failure inside a built-in template is moved to the queue the same way
   (:meth:`Tracer.failure_in_queue`).

Payload files need none of this: a member is shown at its own line and column
(:func:`payload_locator`). Source lines are read once per file, by :class:`Sources`, for the
trace and for the text report alike.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import jinja2

from calltmpl import parsing
from calltmpl.diagnostics import Diagnostic, Location
from calltmpl.environment import (
    BUILTIN_DIR,
    BUILTIN_PREFIX,
    ConfinedLoader,
    environment,
    expression_names,
    is_builtin,
    shown_template,
)
from calltmpl.paths import escapes
from calltmpl.queues import QueueFile


class Locator(Protocol):
    """Where the member at a pointer of one call target is shown; ``message``, the finding's,
    names the other members it is about (a finding at a default the queue does not set is
    shown at a member it names that the queue does set)."""

    def __call__(self, pointer: str, message: str = "") -> Location: ...


class Sources:
    """Lines of files, each file read once: templates for the trace (by their full path), and
    the files findings name for the text report (as they name them, never through a link out
    of the repository ``root``)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root
        self._lines: dict[tuple[str, bool], list[str]] = {}

    def line(self, filename: str, line: int) -> str:
        """Line ``line`` (1-based) of a file, "" when there is none."""
        key = (filename, False)
        if key not in self._lines:
            try:
                self._lines[key] = Path(filename).read_text(encoding="utf-8").split("\n")
            except (OSError, UnicodeDecodeError):
                self._lines[key] = []
        return _at(self._lines[key], line)

    def shown(self, file: str, line: int) -> str:
        """Line ``line`` of a file named as diagnostics name it, "" when there is none."""
        key = (file, True)
        if key not in self._lines:
            text = read_shown(file, self.root) if self.root is not None else None
            self._lines[key] = text.splitlines() if text is not None else []
        return _at(self._lines[key], line)


def _at(lines: list[str], line: int) -> str:
    return lines[line - 1] if 1 <= line <= len(lines) else ""


def read_shown(file: str, root: Path) -> str | None:
    """The text of a file named as diagnostics name it, built-in templates included; never
    of a link out of the repository ``root``."""
    path = Path(file)
    if not path.is_file() and file.startswith(BUILTIN_PREFIX):
        path = BUILTIN_DIR / file[len(BUILTIN_PREFIX) :]
    elif escapes(path, root):
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


# --- step 1: output line -> template line -----------------------------------------------------

_DIGITS = "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
_OPEN, _SPLIT, _CLOSE = "\x1f", "\x1d", "\x1e"
_MARKER = re.compile(f"{_OPEN}([{_DIGITS}]+){_SPLIT}([{_DIGITS}]+){_CLOSE}")
_TO_DIGITS = str.maketrans("0123456789", _DIGITS)
_FROM_DIGITS = str.maketrans(_DIGITS, "0123456789")


class _Marked:
    """The marked environment: renders a queue with every output line tagged by its source."""

    def __init__(self, search_path: Sequence[Path]):
        self.files: list[str] = []
        self._last: tuple[Path, list[list[tuple[str, int]]]] | None = None
        self.env = environment(ConfinedLoader(search_path, mark=self._mark), "marked")

    def _mark(self, filename: str, source: str) -> str:
        index = len(self.files)
        self.files.append(filename)
        tag = f"{_OPEN}{str(index).translate(_TO_DIGITS)}{_SPLIT}"
        pieces = source.split("\n")
        marked = [
            f"{tag}{str(number).translate(_TO_DIGITS)}{_CLOSE}{text}"
            for number, text in enumerate(pieces, start=1)
        ]
        if len(pieces) > 1 and not pieces[-1]:  # Jinja drops one trailing newline: a marker
            marked[-1] = ""  # after it would keep it, and shift every later output line
        return "\n".join(marked)

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
        for found in self.every_line(queue)[max(output_line, 1) - 1 :]:
            if found:
                return found
        return []

    def every_line(self, queue: QueueFile) -> list[list[tuple[str, int]]]:
        """:meth:`lines` of the queue, kept for the next question about the same queue."""
        if self._last is None or self._last[0] != queue.path:
            self._last = (queue.path, self.lines(queue))
        return self._last[1]


@dataclasses.dataclass(frozen=True)
class Trace:
    """The template line that wrote one member (step 1), and the queue variable it came from
    when one can be told (step 2): what diagnostics are located with and ``explain`` says."""

    pointer: str
    member: str
    template: str  # the template file's full path
    line: int
    source: str  # the text of that line
    variable: str | None

    @property
    def at(self) -> str:
        """Where the member lies in the queue's variables ("" when no variable produced it)."""
        return _inside(self.pointer, self.variable) if self.variable is not None else ""


class Tracer:
    """Traces a queue's rendered members to the lines that wrote them (see the module)."""

    def __init__(self, search_path: Sequence[Path], loader: ConfinedLoader):
        self.search_path = tuple(search_path)
        self.loader = loader
        self.sources = Sources()
        self._marked: _Marked | None = None

    def origin(self, queue: QueueFile, output_line: int, member: str = "") -> tuple[str, int]:
        """The template file (its full path) and line that wrote ``output_line`` of a queue's
        output: of several candidates, the one whose source names ``member``, else the one
        where the line starts; the queue's own template, line 1, when none can be traced."""
        if self._marked is None:
            self._marked = _Marked(self.search_path)
        candidates = self._marked.markers(queue, output_line)
        for file, line in candidates:
            if member and f"{member}:" in self.sources.line(file, line):
                return file, line
        if candidates:
            return candidates[0]
        try:
            return str(self.loader.find(queue.template)), 1
        except jinja2.TemplateNotFound:
            return str(queue.path), 1

    def blame(self, queue: QueueFile, output_line: int) -> tuple[str, int]:
        """The template line to blame for ``output_line`` of a queue's output not being YAML.

        Its :meth:`origin`, unless that is a line of a built-in template: those are valid
        YAML whatever the queue sets (values go in through ``tojson``), so when the user's
        templates wrote lines of this output (a block override), the line that breaks is
        theirs: a marker of theirs on the line itself, else the nearest line of theirs
        before it (a line indented wrongly breaks the YAML at the line after it), else after.
        """
        file, line = self.origin(queue, output_line)
        if not is_builtin(file):
            return file, line
        lines = self._marked.every_line(queue) if self._marked is not None else []
        here = min(max(output_line, 1), len(lines)) - 1
        order = [*range(here, -1, -1), *range(here + 1, len(lines))]
        for index in order:
            theirs = [marker for marker in lines[index] if not is_builtin(marker[0])]
            if theirs:
                culprit: tuple[str, int] = theirs[-1]
                return culprit
        return file, line

    def locator(self, queue: QueueFile, positions: Callable[[], parsing.Positions]) -> Locator:
        """Where each member of a queue's call target is shown (``positions``: where members
        stand in the rendered text, computed on first use)."""
        cache: dict[str, parsing.Positions] = {}

        def locate(pointer: str, message: str = "") -> Location:
            traced = self.trace(queue, positions, pointer)
            template, line, source = traced.template, traced.line, traced.source
            if "queue" not in cache:
                cache["queue"] = parsing.yaml_positions(queue.text)
            if traced.variable is not None:
                _, var_line, var_column = parsing.nearest(cache["queue"], traced.at)
                hint = unquoted_number_hint(queue.text, var_line, var_column, pointer)
                return Location(queue.shown, var_line, var_column, hint=hint)
            shown = shown_template(template)
            if is_builtin(template):
                note = f"default of {shown}:{line}"
                named = _named_variable(message, queue.variables, positions())
                _, at_line, at_column = parsing.nearest(cache["queue"], named or "/template")
                return Location(queue.shown, at_line, at_column, note=note)
            return Location(shown, line, _value_column(source, traced.member), queue.shown)

        return locate

    def trace(
        self, queue: QueueFile, positions: Callable[[], parsing.Positions], pointer: str
    ) -> Trace:
        """Steps 1 and 2 for the member at ``pointer`` (``positions``: where members stand in
        the rendered text)."""
        _, output_line, _ = parsing.nearest(positions(), pointer)
        member = parsing.unescape(pointer.rsplit("/", 1)[-1])
        template, line = self.origin(queue, output_line, member)
        source = self.sources.line(template, line)
        variable = queue_variable(source, queue.variables, pointer)
        return Trace(pointer, member, template, line, source, variable)

    def failure_in_queue(self, failure: Diagnostic, queue: QueueFile) -> Diagnostic:
        """A failure inside a built-in template is the queue's to fix: shown at the queue
        variable the failing line uses, else at its ``template:`` line, naming the line."""
        builtin = BUILTIN_DIR / failure.file[len(BUILTIN_PREFIX) :]
        variable = queue_variable(self.sources.line(str(builtin), failure.line), queue.variables)
        key = parsing.pointer_join("", variable) if variable is not None else "/template"
        line, column = parsing.yaml_positions(queue.text).get(key, (1, 1))
        return dataclasses.replace(
            failure,
            file=queue.shown,
            line=line,
            column=column,
            message=f"{failure.message} (in {failure.file}:{failure.line})",
        )


# --- step 2: template line -> queue variable --------------------------------------------------


def queue_variable(source: str, variables: Mapping[str, Any], pointer: str = "") -> str | None:
    """The queue variable that produced the member at ``pointer`` from template line
    ``source``, if one can be told (the ``queue`` variable is calltmpl's, not the user's)."""
    settable = set(variables) - {"queue"}
    used = expression_names(source) & settable
    if len(used) == 1:
        return used.pop()
    for part in pointer.split("/")[1:]:
        if parsing.unescape(part) in settable:
            return parsing.unescape(part)
    return None


def _named_variable(
    message: str, variables: Mapping[str, Any], rendered: parsing.Positions
) -> str | None:
    """The pointer, in the queue file, of the first variable the queue sets that a finding's
    ``message`` names as a member of the call target (the value the user just wrote that
    made the default the finding is about wrong), or None."""
    words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", message)
    for word in words:
        member = f"/configuration/{word}" in rendered or f"/{word}" in rendered
        if member and word in variables and word not in ("queue", "name"):
            return parsing.pointer_join("", word)
    return None


_PLUS_NUMBER = re.compile(r"\+([0-9]+)")


def unquoted_number_hint(text: str, line: int, column: int, pointer: str) -> str:
    """The hint for a value YAML read as a number because a phone number was written
    unquoted: at (``line``, ``column``) of a queue file's ``text``, the value, or the key the
    ``pointer`` ends with, is written ``+digits`` without quotes ("" when not)."""
    lines = text.split("\n")
    source = lines[line - 1] if 1 <= line <= len(lines) else ""
    key = parsing.unescape(pointer.rsplit("/", 1)[-1])
    found = _PLUS_NUMBER.match(source, column - 1)
    if found is None and key.isdigit():
        found = next(
            (
                m
                for m in _PLUS_NUMBER.finditer(source)
                if m.group(1) == key and source[m.end() :].lstrip().startswith(":")
            ),
            None,
        )
    if found is None or source[found.start() - 1 : found.start()] in ("'", '"'):
        return ""
    written, digits = found.group(), found.group(1)
    return f'quote it: YAML reads {written} unquoted as the number {digits}; write "{written}"'


def _inside(pointer: str, variable: str) -> str:
    """Where ``pointer`` lies inside a queue variable: ``/configuration/messaging/handle``
    with variable ``messaging`` is ``/messaging/handle``; just ``/variable`` otherwise."""
    parts = [parsing.unescape(p) for p in pointer.split("/")[1:]]
    tail = parts[parts.index(variable) + 1 :] if variable in parts else []
    result = parsing.pointer_join("", variable)
    for part in tail:
        result = parsing.pointer_join(result, part)
    return result


# --- step 3: the template line itself ---------------------------------------------------------


def _value_column(source: str, member: str) -> int:
    """Where a template line writes the value of ``member``: after ``member:``, else at the
    first expression, else at the line's first character."""
    match = re.search(rf"(?:^|[\s{{,\"]){re.escape(member)}\"?\s*:\s*", source)
    if match is not None and match.end() < len(source):
        return match.end() + 1
    return source.find("{{") + 1 or len(source) - len(source.lstrip()) + 1


# --- payload files ----------------------------------------------------------------------------


def payload_locator(file: str, text: str, base: str) -> Locator:
    """Members of a call target read from a payload file, shown at their place in it.

    ``base`` is the call target's pointer in the file: "/data" in a POST body,
    "/data/callTarget" in a GET answer, "" for a bare call target."""
    cache: dict[str, parsing.Positions] = {}

    def locate(pointer: str, message: str = "") -> Location:
        if "positions" not in cache:
            cache["positions"] = parsing.json_positions(text)
        _, line, column = parsing.nearest(cache["positions"], base + pointer)
        return Location(file, line, column)

    return locate


# --- findings in templates shared by queues ---------------------------------------------------


def gather(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    """A finding in a template is found once for every queue rendered through it: the ones
    that differ only in the queue they were rendered for are shown once, at the template
    line, naming the queues (:func:`queues_named`), where the first of them stood."""
    first: dict[Diagnostic, int] = {}
    queues: dict[int, list[str]] = {}
    gathered: list[Diagnostic] = []
    for diagnostic in diagnostics:
        if not diagnostic.queue or diagnostic.file == diagnostic.queue:
            gathered.append(diagnostic)
            continue
        key = dataclasses.replace(diagnostic, queue="")
        if key in first:
            queues[first[key]].append(diagnostic.queue)
            continue
        first[key] = len(gathered)
        queues[len(gathered)] = [diagnostic.queue]
        gathered.append(key)
    for index, names in queues.items():
        gathered[index] = dataclasses.replace(gathered[index], queue=queues_named(names))
    return gathered


def queues_named(queues: Sequence[str]) -> str:
    """Queue files in a readable line: ``a``, ``a and b``, ``a, b and c``, else ``a and 41
    others``."""
    names = sorted(set(queues))
    if len(names) > 3:
        return f"{names[0]} and {len(names) - 1} others"
    if len(names) > 1:
        return f"{', '.join(names[:-1])} and {names[-1]}"
    return names[0] if names else ""
