"""Where members stand in a YAML or JSON text, as JSON pointers to 1-based (line, column).

Computed on demand, when a finding must be shown: :func:`json_positions` scans JSON text;
:func:`yaml_node_positions` walks the nodes the C composer builds (fast, and bounded: callers
run :func:`calltmpl.yamlsafe.guard_yaml` first), merging ``<<: *defaults`` keys as the
loader does, so a merged member is shown where the merged mapping writes it.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import re
from collections.abc import Callable

from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

Positions = dict[str, tuple[int, int]]
"""JSON pointer -> 1-based (line, column) of the value it names."""


def unescape(part: str) -> str:
    """One part of a JSON pointer, unescaped (RFC 6901)."""
    return part.replace("~1", "/").replace("~0", "~")


def pointer_join(base: str, key: str | int) -> str:
    return f"{base}/{str(key).replace('~', '~0').replace('/', '~1')}"


def nearest(positions: Positions, pointer: str) -> tuple[str, int, int]:
    """``pointer`` or its closest ancestor that has a position, with that position."""
    while pointer and pointer not in positions:
        pointer = pointer.rsplit("/", 1)[0]
    line, column = positions.get(pointer, (1, 1))
    return pointer, line, column


_OMAP = "tag:yaml.org,2002:omap"


def yaml_node_positions(text: str, *, keys: bool = False) -> Positions:
    """Positions of every member's value (or with ``keys`` its key) and every item of one
    YAML document; raises what the composer raises for a text that does not parse."""
    loader = YAML(typ="safe", pure=False)  # its own: merging rewrites the nodes it keeps
    constructor = loader.constructor
    positions: Positions = {}
    root = loader.compose(text)
    todo: list[tuple[Node, str]] = [(root, "")] if root is not None else []
    while todo:
        node, base = todo.pop()
        if isinstance(node, MappingNode):
            constructor.flatten_mapping(node)  # merged members first, its own after: they win
            members: dict[str, tuple[Node, Node]] = {}
            for key_node, value_node in node.value:
                key = constructor.construct_object(key_node, deep=True)
                members[pointer_join(base, key)] = (key_node, value_node)
            for pointer, (key_node, value_node) in members.items():
                mark = (key_node if keys else value_node).start_mark
                positions[pointer] = (mark.line + 1, mark.column + 1)
                todo.append((value_node, pointer))
        elif isinstance(node, SequenceNode) and node.tag == _OMAP:
            pairs = [p for item in node.value if isinstance(item, MappingNode) for p in item.value]
            todo.append((MappingNode(_OMAP, pairs, node.start_mark, node.end_mark), base))
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                pointer = pointer_join(base, index)
                positions[pointer] = (item.start_mark.line + 1, item.start_mark.column + 1)
                todo.append((item, pointer))
    return positions


_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


def json_positions(
    text: str, base: str = "", *, line_offset: int = 0, column_offset: int = 0
) -> Positions:
    """Positions of every member and item of a JSON text (what it read before an error)."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    positions: Positions = {}

    def where(offset: int) -> tuple[int, int]:
        row = bisect.bisect_right(starts, offset) - 1
        return row + 1 + line_offset, offset - starts[row] + 1 + (column_offset if row == 0 else 0)

    def value(i: int, ptr: str) -> int:
        i = _WS.match(text, i).end()  # type: ignore[union-attr]
        if ptr:
            positions[ptr] = where(i)
        char = text[i : i + 1]
        if char == "{":
            i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
            if text[i : i + 1] == "}":
                return i + 1
            while True:
                i = _WS.match(text, i).end()  # type: ignore[union-attr]
                key, i = _scanstring(text, i + 1)
                i = _WS.match(text, i).end() + 1  # type: ignore[union-attr]  # the colon
                i = _WS.match(text, value(i, pointer_join(ptr, key))).end()  # type: ignore[union-attr]
                if text[i] == "}":
                    return i + 1
                i += 1
        if char == "[":
            i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
            if text[i : i + 1] == "]":
                return i + 1
            index = 0
            while True:
                i = _WS.match(text, value(i, pointer_join(ptr, index))).end()  # type: ignore[union-attr]
                index += 1
                if text[i] == "]":
                    return i + 1
                i += 1
        if char == '"':
            return _scanstring(text, i + 1)[1]
        for literal in ("true", "false", "null"):
            if text.startswith(literal, i):
                return i + len(literal)
        number = _NUMBER.match(text, i)
        if number is None:
            raise ValueError(f"unexpected {char!r}")
        return number.end()

    with contextlib.suppress(ValueError, IndexError, RecursionError):
        value(0, base)
    return positions
