"""Where each value of a call target comes from: ``calltmpl explain``.

Built on :mod:`calltmpl.provenance`, the trace diagnostics are located with, so the answer for a
member is the place a finding about it is shown. Each member is of one kind:

- ``queue``: the value of a queue variable as the queue file writes it (the file and line are
  the queue file's, where a diagnostic about the member is shown);
- ``default``: a ``default(...)`` in a template line supplied it because the queue file does not
  set the variable (the template line);
- ``template``: a template line wrote it, literally or computed from variables (the template
  line; ``variables`` lists the queue variables it read, where a diagnostic about a value
  computed from one variable is shown).

``overrides`` lists the lines of the parent templates' blocks that the block holding the line
replaced (a child template's block, or the block that includes the file).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes

from calltmpl import parsing
from calltmpl.environment import expression_names
from calltmpl.errors import UsageError
from calltmpl.graph import Facts, Templates, relative
from calltmpl.project import Project
from calltmpl.provenance import Trace
from calltmpl.queues import QueueFile
from calltmpl.render import Rendered
from calltmpl.reporters import printable

KINDS = ("queue", "template", "default")
_MISSING: Any = object()
_PARSER = jinja2.Environment()  # parses template lines; renders nothing


@dataclass(frozen=True)
class Place:
    """A line of a file (relative to the repository root; built-ins as ``calltmpl/<name>``)."""

    file: str
    line: int

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line}


@dataclass(frozen=True)
class Variable:
    """A queue variable a template line read, at its key's line in the queue file."""

    name: str
    file: str
    line: int

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "file": self.file, "line": self.line}


@dataclass(frozen=True)
class Origin:
    """Where one member's value comes from (see the module)."""

    pointer: str
    value: Any
    kind: str
    file: str
    line: int
    variables: tuple[Variable, ...] = ()
    overrides: tuple[Place, ...] = ()

    @property
    def place(self) -> Place:
        return Place(self.file, self.line)

    def as_json(self) -> dict[str, Any]:
        return {
            "pointer": self.pointer,
            "value": self.value,
            "kind": self.kind,
            "file": self.file,
            "line": self.line,
            "variables": [v.as_json() for v in self.variables],
            "overrides": [o.as_json() for o in self.overrides],
        }


@dataclass(frozen=True)
class Explanation:
    """A queue's call target explained: its templates, child first, and its members."""

    queue: str
    templates: tuple[str, ...]
    members: tuple[Origin, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "templates": list(self.templates),
            "members": [m.as_json() for m in self.members],
        }


class Explainer:
    """Explains the call targets of one project (templates are read once for all)."""

    def __init__(self, project: Project):
        self.project = project
        self.root = project.settings.root
        self.templates = Templates(project)

    def explain(self, rendered: Rendered, pointers: Sequence[str] = ()) -> Explanation:
        """Every member of the call target (mappings opened, lists whole), or those of
        ``pointers``; raise UsageError naming the closest member for one that does not exist."""
        wanted = [self.pointer(rendered, p) for p in pointers] or list(leaves(rendered.target))
        tracing = self.tracing(rendered)
        return Explanation(
            queue_file(rendered.queue, self.root),
            tuple(self.templates.chain(rendered.queue.template)),
            tuple(tracing(pointer) for pointer in wanted),
        )

    def pointer(self, rendered: Rendered, given: str) -> str:
        """``given`` as a pointer of the call target (the leading ``/`` may be left out)."""
        pointer = given if given.startswith("/") or given == "" else "/" + given
        if value_at(rendered.target, pointer) is not _MISSING:
            return pointer
        everything = list(_pointers(rendered.target))
        member = pointer.rsplit("/", 1)[-1]
        close = [p for p in everything if p.rsplit("/", 1)[-1] == member]
        close = close or difflib.get_close_matches(pointer, everything, n=1, cutoff=0.6)
        close = close or difflib.get_close_matches(
            member, [p.rsplit("/", 1)[-1] for p in everything], n=1, cutoff=0.6
        )
        if close and not close[0].startswith("/"):
            close = [p for p in everything if p.rsplit("/", 1)[-1] == close[0]]
        hint = f"; did you mean {close[0]}?" if close else ""
        shown = queue_file(rendered.queue, self.root)
        raise UsageError(f"{shown}: the call target has no member {given!r}{hint}")

    def tracing(self, rendered: Rendered) -> Callable[[str], Origin]:
        """A function from a pointer of ``rendered`` to its :class:`Origin`."""
        renderer = self.project.renderer
        queue = rendered.queue
        locate = renderer.locator(rendered)
        cache: dict[str, parsing.Positions] = {}

        def origin(pointer: str) -> Origin:
            value = value_at(rendered.target, pointer)
            trace = renderer.tracer.trace(queue, lambda: rendered.positions, pointer)
            if trace.variable is not None and _same(value, value_at(queue.variables, trace.at)):
                where = locate(pointer)  # the diagnostics' own answer: the variable's line
                return Origin(pointer, value, "queue", queue_file(queue, self.root), where.line)
            if "at" not in cache:  # where diagnostics show a variable: its value's place
                cache["at"] = parsing.yaml_positions(queue.text)
            variables = tuple(
                Variable(
                    name,
                    queue_file(queue, self.root),
                    parsing.nearest(cache["at"], parsing.pointer_join("", name))[1],
                )
                for name in sorted(_read(trace, queue))
            )
            kind = "default" if defaulted(trace.source, queue.variables) else "template"
            return Origin(
                pointer,
                value,
                kind,
                relative(trace.template, self.root),
                trace.line,
                variables,
                tuple(self.overrides(queue.template, trace)),
            )

        return origin

    def overrides(self, template: str, trace: Trace) -> Iterator[Place]:
        """The lines of the parents' blocks replaced by the block holding the traced line."""
        chain = [self.templates.facts(name) for name in self.templates.chain(template)]
        start, block = self._block(chain, trace.template, trace.line)
        if block is None:
            return
        sources = self.project.renderer.tracer.sources
        for facts in chain[start + 1 :]:
            parent = facts.block(block)
            if parent is None:
                continue
            lines = range(parent.start, parent.end + 1)
            writes = [n for n in lines if f"{trace.member}:" in sources.line(facts.file, n)]
            yield Place(relative(facts.file, self.root), writes[0] if writes else parent.start)

    def _block(self, chain: list[Facts], file: str, line: int) -> tuple[int, str | None]:
        """The index in ``chain`` of the template whose block holds the line, and the block:
        the line's own, or the block that includes its file."""
        for index, facts in enumerate(chain):
            if facts.file == file:
                found = facts.block_at(line)
                return index, found.name if found is not None else None
        for index, facts in enumerate(chain):
            for reference in facts.references:
                included = reference.kind == "includes" and reference.name
                if included and self.templates.facts(reference.name).file == file:
                    found = facts.block_at(reference.line)
                    if found is not None:
                        return index, found.name
        return 0, None


def queue_file(queue: QueueFile, root: Path) -> str:
    """A queue file relative to the repository root, by the path it was given as."""
    return relative(Path(os.path.abspath(queue.shown)), root)


def leaves(value: Any, base: str = "") -> Iterator[str]:
    """The pointers of a call target's members: mappings are opened, lists are values."""
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            yield from leaves(item, parsing.pointer_join(base, str(key)))
    elif base:
        yield base


def _pointers(value: Any, base: str = "") -> Iterator[str]:
    """Every pointer in a value, mappings and lists opened."""
    if base:
        yield base
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _pointers(item, parsing.pointer_join(base, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _pointers(item, f"{base}/{index}")


def value_at(value: Any, pointer: str) -> Any:
    """The value at an RFC 6901 pointer, or :data:`_MISSING`."""
    for raw in pointer.split("/")[1:] if pointer else ():
        part = parsing.unescape(raw)
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def present(value: Any, pointer: str) -> bool:
    """Whether a value has a member at ``pointer``."""
    return value_at(value, pointer) is not _MISSING


def _same(left: Any, right: Any) -> bool:
    """Equal as JSON values (``true`` is not ``1``)."""
    if left is _MISSING or right is _MISSING:
        return False
    dump = json.dumps
    return bool(dump(left, sort_keys=True, default=str) == dump(right, sort_keys=True, default=str))


def _read(trace: Trace, queue: QueueFile) -> set[str]:
    """The queue variables the traced line reads (with the one provenance settled on)."""
    settable = set(queue.variables) - {"queue"}
    found = expression_names(trace.source) & settable
    if trace.variable is not None:
        found.add(trace.variable)
    return found


def defaulted(source: str, variables: Mapping[str, Any]) -> bool:
    """Whether a ``default(...)`` in template line ``source`` stands in for something the
    queue does not set: a variable it leaves out, or a part of a value (``m.handle``)."""
    for expression in _expressions(source):
        try:
            tree = _PARSER.parse("{{ " + expression + " }}")
        except jinja2.TemplateSyntaxError:
            continue
        for found in tree.find_all(nodes.Filter):
            if found.name != "default":
                continue
            subject = found.node
            if not isinstance(subject, nodes.Name) or subject.name not in variables:
                return True
    return False


def _expressions(source: str) -> Iterator[str]:
    """The text inside each ``{{ }}`` of a line."""
    start = source.find("{{")
    while start >= 0:
        end = source.find("}}", start + 2)
        if end < 0:
            return
        yield source[start + 2 : end].strip("-+ ")
        start = source.find("{{", end + 2)


_COLOURS = {"queue": "\x1b[32m", "template": "\x1b[36m", "default": "\x1b[33m"}
_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


def text(explanation: Explanation, *, color: bool = False) -> str:
    """One line per member, compiler-style: ``pointer = value  ← file:line (kind)``."""

    def paint(code: str, value: str) -> str:
        return f"{code}{value}{_RESET}" if color else value

    lines = []
    for member in explanation.members:
        value = printable(json.dumps(member.value, ensure_ascii=False, default=str))
        where = printable(f"{member.file}:{member.line}")
        lines.append(
            f"{paint(_BOLD, printable(member.pointer))} = {value}  {paint(_DIM, '←')} {where} "
            f"{paint(_COLOURS.get(member.kind, ''), '(' + member.kind + ')')}"
        )
    return "\n".join(lines) + ("\n" if lines else "")
