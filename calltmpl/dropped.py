"""Members a template drops by overriding a block of a built-in template (CT203).

The built-in templates write every configuration member, in blocks by feature. A template of
the repository that overrides one of those blocks and leaves members out renders a call target
without them, which a push would send as it is. For a queue whose templates extend a built-in
and override its blocks, the check compares the rendered configuration with what the built-in
writes for the same queue variables (rendered only when a member of an overridden block is
missing, so a repository whose templates keep every member pays nothing); a member the
built-in's own ``{% if %}`` leaves out for these variables is not reported.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import re
import weakref
from collections.abc import Iterator
from dataclasses import astuple, dataclass
from pathlib import Path

import jinja2
from jinja2 import nodes

from calltmpl import codes
from calltmpl.diagnostics import Diagnostic
from calltmpl.environment import BUILTIN_PREFIX, cache_folder, shown_template
from calltmpl.render import Rendered, Renderer

MAX_CHAIN = 50
"""Templates followed up an ``extends`` chain; a longer one is not checked."""

_MEMBER = re.compile(r"^  ([A-Za-z_][A-Za-z0-9_]*):", re.MULTILINE)
_BRANCHES = (nodes.If, nodes.For, nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.Block)


@dataclass(frozen=True)
class Override:
    """A block of a built-in that a repository template overrides without ``super()``."""

    block: str
    builtin: str  # the built-in template whose definition of the block is overridden
    members: tuple[str, ...]  # configuration members that definition writes, in its order
    always: frozenset[str]  # those it writes outside any if/for (when it cannot be rendered)
    file: str  # the overriding template, as shown
    line: int
    column: int


@dataclass(frozen=True)
class Chain:
    """What the check needs of a template: the built-in it extends, the blocks overridden."""

    builtin: str
    overrides: tuple[Override, ...]


_CHAINS: weakref.WeakKeyDictionary[Renderer, dict[str, Chain | None]] = weakref.WeakKeyDictionary()


def dropped_members(renderer: Renderer, rendered: Rendered) -> Iterator[Diagnostic]:
    """CT203 for each overridden block of a built-in whose members the call target lacks,
    at the overriding template's ``{% block %}`` line, naming the queue."""
    chain = _chain(renderer, rendered.queue.template)
    if chain is None:
        return
    have = _configuration(rendered.target)
    if have is None or all(set(o.members) <= have for o in chain.overrides):
        return
    reference = renderer.render(dataclasses.replace(rendered.queue, template=chain.builtin))
    written = None if isinstance(reference, Diagnostic) else _configuration(reference.target)
    for override in chain.overrides:
        wanted = override.always if written is None else written
        lacking = [m for m in override.members if m in wanted and m not in have]
        if lacking:
            yield codes.MEMBERS_DROPPED.at(
                override.file,
                override.line,
                override.column,
                f"configuration lacks {', '.join(lacking)}: block {override.block} of "
                f"{override.builtin} is overridden in {override.file} without them",
                pointer="/configuration",
                hint=f"write them in the block as {override.builtin} does "
                "(`member: {{ member | default(...) | tojson }}`), or keep the built-in's "
                "lines with `{{ super() }}`",
                queue=rendered.queue.shown,
            )


def _configuration(target: dict[str, object]) -> set[str] | None:
    configuration = target.get("configuration")
    return set(configuration) if isinstance(configuration, dict) else None


def _chain(renderer: Renderer, name: str) -> Chain | None:
    known = _CHAINS.setdefault(renderer, {})
    if name not in known:
        try:
            known[name] = _analyse(renderer, name)
        except (jinja2.TemplateError, OSError, UnicodeDecodeError, RecursionError):
            known[name] = None  # the render says what is wrong with the template
    return known[name]


@dataclass(frozen=True)
class BlockFacts:
    """One ``{% block %}`` of a template: where, whether it calls ``super()``, and the
    configuration members it writes (all of them, and those outside any if or for)."""

    name: str
    line: int
    column: int
    calls_super: bool
    members: tuple[str, ...]
    always: tuple[str, ...]


@dataclass(frozen=True)
class Facts:
    """What the check needs of one template source: its parent and its blocks."""

    parent: str | None
    blocks: tuple[BlockFacts, ...]


def _analyse(renderer: Renderer, name: str) -> Chain | None:
    """The ``extends`` chain of ``name`` up to the first built-in, and the built-in blocks
    the repository's templates in it override; None when there is nothing to check."""
    ours: list[tuple[str, Facts]] = []  # (file as shown, facts), the queue's template first
    current: str | None = name
    while current is not None and not current.startswith(BUILTIN_PREFIX):
        if len(ours) >= MAX_CHAIN:
            return None
        filename, facts = _facts(renderer, current)
        ours.append((shown_template(filename), facts))
        current = facts.parent
    if current is None or not ours:
        return None
    overrides = []
    for name, (builtin, block) in _builtin_blocks(renderer, current).items():
        place = _overrider(ours, name)
        if place is not None and block.members:
            always = frozenset(block.always)
            overrides.append(Override(name, builtin, block.members, always, *place))
    return Chain(current, tuple(overrides)) if overrides else None


def _builtin_blocks(renderer: Renderer, name: str) -> dict[str, tuple[str, BlockFacts]]:
    """Each block of built-in ``name`` and its parents, with the built-in whose definition
    counts (the child-most)."""
    blocks: dict[str, tuple[str, BlockFacts]] = {}
    current: str | None = name
    for _ in range(MAX_CHAIN):
        if current is None:
            break
        filename, facts = _facts(renderer, current)
        for block in facts.blocks:
            blocks.setdefault(block.name, (shown_template(filename), block))
        current = facts.parent
    return blocks


def _facts(renderer: Renderer, name: str) -> tuple[str, Facts]:
    """The file of template ``name`` and its facts. Parsing costs more than reading, so the
    facts are kept in the cache folder too, as JSON keyed by the source's hash."""
    source, filename, _ = renderer.loader.get_source(renderer.env, name)
    folder = cache_folder("blocks")
    entry = None
    if folder is not None:
        digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
        entry = Path(folder) / f"{digest}.json"
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            cached = json.loads(entry.read_text(encoding="utf-8"))
            blocks = tuple(
                BlockFacts(b[0], b[1], b[2], b[3], tuple(b[4]), tuple(b[5]))
                for b in cached["blocks"]
            )
            return filename, Facts(cached["parent"], blocks)
    tree = renderer.env.parse(source, name, filename)
    facts = Facts(
        _parent(tree),
        tuple(
            BlockFacts(
                node.name,
                node.lineno,
                _column(source, node),
                _calls_super(node),
                tuple(dict.fromkeys(_written(node, always=False))),
                tuple(dict.fromkeys(_written(node, always=True))),
            )
            for node in tree.find_all(nodes.Block)
        ),
    )
    if entry is not None:
        with contextlib.suppress(OSError):
            data = {"parent": facts.parent, "blocks": [list(astuple(b)) for b in facts.blocks]}
            entry.write_text(json.dumps(data), encoding="utf-8")
    return filename, facts


def _parent(tree: nodes.Template) -> str | None:
    """The template ``tree`` extends, when it names one literally."""
    extends = tree.find(nodes.Extends)
    if extends is None:
        return None
    parent = extends.template
    if isinstance(parent, nodes.Const) and isinstance(parent.value, str):
        return parent.value
    return None


def _written(node: nodes.Node, *, always: bool) -> Iterator[str]:
    """Configuration members (two-space keys) written literally in ``node``, not in a nested
    block; with ``always``, only those outside any if, for or macro."""
    for child in node.iter_child_nodes():
        if isinstance(child, nodes.TemplateData):
            yield from _MEMBER.findall(child.data)
        elif isinstance(child, nodes.Block) or (always and isinstance(child, _BRANCHES)):
            continue
        else:
            yield from _written(child, always=always)


def _overrider(ours: list[tuple[str, Facts]], block: str) -> tuple[str, int, int] | None:
    """Where the repository template that replaces ``block`` defines it: the child-most
    definition that does not call ``super()`` (one that does keeps what is above it)."""
    for file, facts in ours:
        for node in facts.blocks:
            if node.name != block:
                continue
            if node.calls_super:
                break
            return file, node.line, node.column
    return None


def _calls_super(block: nodes.Block) -> bool:
    return any(
        isinstance(call.node, nodes.Name) and call.node.name == "super"
        for call in block.find_all(nodes.Call)
    )


def _column(source: str, block: nodes.Block) -> int:
    """The column of ``{%`` of the block's tag on its line (1 when it cannot be found)."""
    lines = source.split("\n")
    if not 0 < block.lineno <= len(lines):
        return 1
    tag = re.compile(r"\{%[-+]?\s*block\s+" + re.escape(block.name) + r"\b")
    match = tag.search(lines[block.lineno - 1])
    return match.start() + 1 if match else 1
