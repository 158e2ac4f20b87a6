"""The templates of a repository and how they reference each other.

:class:`Templates` reads what each template extends, includes and imports, and where its blocks
start and end: :mod:`calltmpl.explain` follows a queue's chain of templates and the blocks a
child replaced, and ``calltmpl graph`` draws the whole repository (:func:`build`,
:func:`mermaid`, :func:`dot`), with the queues rendered through each template.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from jinja2 import nodes

from calltmpl import files
from calltmpl.diagnostics import Diagnostic
from calltmpl.environment import BUILTIN_DIR, BUILTIN_PREFIX, is_builtin
from calltmpl.errors import CalltmplError
from calltmpl.project import TEMPLATE_SUFFIXES, Project
from calltmpl.queues import load_queue

KINDS = {nodes.Extends: "extends", nodes.Include: "includes", nodes.Import: "imports"}
QUEUES_SHOWN = 20
"""The most queues drawn on one template; the others are counted in one node."""


def relative(filename: str | Path, root: Path) -> str:
    """A file as output names it: relative to the repository ``root`` (``/`` separated), a
    built-in template as ``calltmpl/<name>``."""
    if is_builtin(str(filename)):
        return BUILTIN_PREFIX + Path(filename).relative_to(BUILTIN_DIR.resolve()).as_posix()
    absolute = os.path.abspath(filename)
    try:
        return Path(absolute).relative_to(root).as_posix()
    except ValueError:
        return Path(os.path.relpath(absolute, root)).as_posix()


@dataclass(frozen=True)
class Reference:
    """A template named by another: ``kind`` extends, includes or imports; ``name`` "" when
    it is computed at render time."""

    kind: str
    name: str
    line: int


@dataclass(frozen=True)
class Block:
    """A ``{% block %}`` of a template, from its tag's line to its ``endblock``'s."""

    name: str
    start: int
    end: int


@dataclass(frozen=True)
class Facts:
    """What one template is made of: its file ("" when not found), references and blocks."""

    name: str
    file: str
    references: tuple[Reference, ...] = ()
    blocks: tuple[Block, ...] = ()
    problem: str = ""

    def block_at(self, line: int) -> Block | None:
        """The innermost block holding ``line``."""
        holding = [b for b in self.blocks if b.start <= line <= b.end]
        return max(holding, key=lambda b: b.start) if holding else None

    def block(self, name: str) -> Block | None:
        return next((b for b in self.blocks if b.name == name), None)


class Templates:
    """The facts of templates, each read and parsed once, through a project's loader."""

    def __init__(self, project: Project):
        self.env = project.renderer.env
        self.loader = project.renderer.loader
        self._facts: dict[str, Facts] = {}

    def facts(self, name: str) -> Facts:
        if name not in self._facts:
            self._facts[name] = self._read(name)
        return self._facts[name]

    def _read(self, name: str) -> Facts:
        try:
            path = self.loader.find(name)
            source = path.read_text(encoding="utf-8")
        except jinja2.TemplateNotFound:
            return Facts(name, "", problem="not found")
        except (OSError, UnicodeDecodeError) as exc:
            return Facts(name, "", problem=f"cannot be read: {exc}")
        try:
            tree = self.env.parse(source)
            blocks = tuple(_blocks(self.env, source))
        except jinja2.TemplateSyntaxError as exc:
            return Facts(name, str(path), problem=f"line {exc.lineno}: {exc.message}")
        return Facts(name, str(path), tuple(_references(tree)), blocks)

    def chain(self, name: str) -> list[str]:
        """``name`` and the templates it extends, child first (as their tags write them)."""
        found = [name]
        while len(found) < 100:
            parents = [r for r in self.facts(found[-1]).references if r.kind == "extends"]
            if len(parents) != 1 or not parents[0].name or parents[0].name in found:
                break
            found.append(parents[0].name)
        return found


def _references(tree: nodes.Template) -> Iterator[Reference]:
    for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        kind = KINDS.get(type(node), "imports")
        template = node.template  # type: ignore[attr-defined]
        names: list[nodes.Expr] = (
            list(template.items) if isinstance(template, nodes.Tuple | nodes.List) else [template]
        )
        for item in names:
            constant = isinstance(item, nodes.Const) and isinstance(item.value, str)
            yield Reference(kind, item.value if constant else "", node.lineno)  # type: ignore[attr-defined]


def _blocks(env: jinja2.Environment, source: str) -> Iterator[Block]:
    """Every block with the lines of its tag and of its ``endblock`` (from the tokens)."""
    open_blocks: list[tuple[str, int]] = []
    previous = ""
    keyword = ""
    for line, kind, value in env.lex(source):
        if kind in ("whitespace", "comment_begin", "comment", "comment_end"):
            continue
        if previous == "block_begin" and kind == "name":
            keyword = value
            if value == "endblock" and open_blocks:
                name, start = open_blocks.pop()
                yield Block(name, start, line)
        elif keyword == "block" and previous == "name" and kind == "name":
            open_blocks.append((value, line))
            keyword = ""
        elif kind == "block_end":
            keyword = ""
        previous = kind


# --- the graph of a repository ----------------------------------------------------------------


@dataclass(frozen=True)
class Graph:
    """Templates (by name), the references between them, and the queues on each."""

    templates: tuple[str, ...]
    edges: tuple[tuple[str, str, str], ...]  # (template, kind, referenced template)
    queues: dict[str, tuple[str, ...]] = field(default_factory=dict)
    missing: frozenset[str] = frozenset()
    computed: tuple[str, ...] = ()  # templates with a reference computed at render time


def build(project: Project) -> Graph:
    """The graph of a repository: every template of its folders, the templates they and its
    queues reach, and for each template the queue files whose ``template:`` names it."""
    root = project.settings.root
    templates = Templates(project)
    queues: dict[str, list[str]] = {}
    for path, _ in project.all_queues():
        try:
            loaded = load_queue(path, root)
        except (CalltmplError, OSError, UnicodeDecodeError):
            continue
        if not isinstance(loaded, Diagnostic):
            queues.setdefault(loaded.template, []).append(relative(loaded.path, root))
    todo = sorted(set(_own(project)) | set(queues))
    seen: set[str] = set()
    edges: list[tuple[str, str, str]] = []
    computed: list[str] = []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for reference in templates.facts(name).references:
            if not reference.name:
                computed.append(name)
                continue
            edges.append((name, reference.kind, reference.name))
            todo.append(reference.name)
    missing = frozenset(n for n in seen if not templates.facts(n).file)
    return Graph(
        tuple(sorted(seen)),
        tuple(sorted(set(edges))),
        {name: tuple(sorted(found)) for name, found in queues.items()},
        missing,
        tuple(sorted(set(computed))),
    )


def _own(project: Project) -> Iterator[str]:
    """The names of the templates in the repository's template folders."""
    root = project.settings.root
    for folder in project.settings.templates:
        if not folder.is_dir():
            continue
        for path in files.walk(folder, root, TEMPLATE_SUFFIXES, lenient=True):
            yield Path(os.path.abspath(path)).relative_to(os.path.abspath(folder)).as_posix()


def mermaid(graph: Graph) -> str:
    """A Mermaid flowchart (GitHub renders it in Markdown): an arrow from each template to
    what it extends, includes or imports, and from each queue to its template."""
    ids = {name: f"t{index}" for index, name in enumerate(graph.templates)}
    lines = ["flowchart LR"]
    for name in graph.templates:
        label = name + (" (not found)" if name in graph.missing else "")
        label += " (computed reference)" if name in graph.computed else ""
        lines.append(f'  {ids[name]}["{_mermaid_text(label)}"]')
    for source, kind, target in graph.edges:
        lines.append(f"  {ids[source]} -->|{kind}| {ids[target]}")
    for index, (name, _, shown) in enumerate(_queue_nodes(graph)):
        lines.append(f'  q{index}(["{_mermaid_text(shown)}"]) --> {ids[name]}')
    return "\n".join(lines) + "\n"


def dot(graph: Graph) -> str:
    """The same graph in Graphviz's DOT language."""
    lines = ["digraph templates {", "  rankdir=LR;", "  node [shape=box];"]
    for name in graph.templates:
        style = ", style=dashed" if name in graph.missing else ""
        lines.append(f"  {_dot_id(name)} [label={_dot_id(name)}{style}];")
    for source, kind, target in graph.edges:
        lines.append(f"  {_dot_id(source)} -> {_dot_id(target)} [label={_dot_id(kind)}];")
    for name, queue, shown in _queue_nodes(graph):
        lines.append(f"  {_dot_id(queue)} [label={_dot_id(shown)}, shape=note];")
        lines.append(f"  {_dot_id(queue)} -> {_dot_id(name)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _queue_nodes(graph: Graph) -> Iterator[tuple[str, str, str]]:
    """(template, node key, label) of the queues drawn: :data:`QUEUES_SHOWN` per template at
    most, then one node counting the others."""
    for name in graph.templates:
        found = graph.queues.get(name, ())
        for queue in found[:QUEUES_SHOWN]:
            yield name, queue, queue
        if len(found) > QUEUES_SHOWN:
            yield name, f"{name} more queues", f"and {len(found) - QUEUES_SHOWN} more queues"


def _mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label: quotes and markup characters as entity codes."""
    pairs = (("#", "#35;"), ("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"))
    for char, code in pairs:
        text = text.replace(char, code)
    return "".join(c if c.isprintable() else " " for c in text)


def _dot_id(text: str) -> str:
    """A quoted DOT identifier."""
    cleaned = "".join(c if c.isprintable() else " " for c in text)
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'
