"""YAML and JSON reading, with positions only when a finding needs them.

Speed matters here: a pre-commit hook and a 1,000-queue CI job parse every rendered payload.
Values come from the fastest reader that is exact for the text at hand:

* ``json.loads`` for JSON text;
* :func:`parse_simple_yaml` for the block-mapping YAML the built-in templates emit (``key:`` or
  ``key: <JSON value>`` lines), which also yields every member's position for free;
* ruamel.yaml's C-backed safe loader for everything else.

Positions of other texts are computed afterwards, on demand, by :func:`yaml_positions` (the
round-trip loader) and :func:`json_positions` (a small JSON scanner).
"""

from __future__ import annotations

import bisect
import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

Positions = dict[str, tuple[int, int]]
"""JSON pointer -> 1-based (line, column) of the value it names."""


@dataclass(frozen=True)
class ParseError(Exception):
    """Text that is not valid YAML/JSON, with the 1-based position of the problem."""

    message: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message}"


_SAFE = YAML(typ="safe", pure=False)


def load_yaml(text: str) -> Any:
    """Load one YAML document (safe types only); raise :class:`ParseError` with its position."""
    try:
        return _SAFE.load(text)
    except MarkedYAMLError as exc:
        raise _parse_error(exc) from None
    except YAMLError as exc:
        raise ParseError(str(exc).strip().splitlines()[0], 1, 1) from None


def _parse_error(exc: MarkedYAMLError) -> ParseError:
    mark = exc.problem_mark or exc.context_mark
    what = " ".join(p for p in (exc.context, exc.problem) if p)
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return ParseError(what or "invalid YAML", line, column)


def load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(exc.msg, exc.lineno, exc.colno) from None


def pointer_join(base: str, key: str | int) -> str:
    return f"{base}/{str(key).replace('~', '~0').replace('/', '~1')}"


# --- the fast path --------------------------------------------------------------------------

_KEY_LINE = re.compile(r'( *)([A-Za-z_][A-Za-z0-9_-]*|"(?:[^"\\]|\\.)*")[ ]*:(?:[ ]+(.*?))?[ ]*')
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_JSON_LITERALS = {"true": True, "false": False, "null": None}


def parse_simple_yaml(text: str) -> tuple[dict[str, Any], Positions] | None:
    """Parse block-mapping YAML whose scalars are JSON, or return None to fall back.

    Accepted lines: blank, ``# comment``, ``key:`` opening a nested mapping, and
    ``key: <JSON value>``. For that subset YAML 1.2 and JSON agree on every value, so the
    result equals the full loader's. Anything else (plain scalars, block sequences, flow
    YAML that is not JSON, tabs, duplicate keys, documents markers) returns None.
    """
    if "\t" in text or "\r" in text:
        return None
    root: dict[str, Any] = {}
    positions: Positions = {}
    # Open mappings: (indent of their keys, mapping, pointer). The root's indent is fixed at 0.
    stack: list[tuple[int, dict[str, Any], str]] = [(0, root, "")]
    pending: tuple[dict[str, Any], str, str, int] | None = None  # key awaiting a nested mapping
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        match = _KEY_LINE.fullmatch(line)
        if match is None:
            return None
        indent = len(match.group(1))
        if pending is not None:
            parent, key, ptr, parent_indent = pending
            pending = None
            if indent > parent_indent:
                child: dict[str, Any] = {}
                parent[key] = child
                stack.append((indent, child, ptr))
            else:
                parent[key] = None
        while stack and stack[-1][0] > indent:
            stack.pop()
        if not stack or stack[-1][0] != indent:
            return None
        _, mapping, base = stack[-1]
        name = _key(match.group(2))
        if name is None or name in mapping:
            return None
        ptr = pointer_join(base, name)
        raw = match.group(3)
        if raw is None or raw == "":
            mapping[name] = None
            positions[ptr] = (number, len(line) + 1)
            pending = (mapping, name, ptr, indent)
            continue
        ok, value = _json_scalar(raw)
        if not ok:
            return None
        mapping[name] = value
        column = match.start(3) + 1
        positions[ptr] = (number, column)
        if isinstance(value, (dict, list)):
            positions.update(
                json_positions(raw, ptr, line_offset=number - 1, column_offset=column - 1)
            )
    if pending is not None:
        pending[0][pending[1]] = None
    return root, positions


def _key(raw: str) -> str | None:
    if not raw.startswith('"'):
        return None if raw.lower() in _JSON_LITERALS else raw
    try:
        key = json.loads(raw)
    except ValueError:
        return None
    return key if isinstance(key, str) else None


def _json_scalar(raw: str) -> tuple[bool, Any]:
    """(True, value) when ``raw`` is JSON that YAML reads the same way, else (False, None)."""
    if raw in _JSON_LITERALS:
        return True, _JSON_LITERALS[raw]
    if _INTEGER.fullmatch(raw):
        return True, int(raw)
    if raw[0] not in '"[{':
        return False, None
    try:
        return True, json.loads(raw)
    except ValueError:
        return False, None


def load_payload_text(text: str) -> tuple[Any, Positions | None]:
    """Load rendered template output: the fast path when it applies, else the full loader.

    Returns the value and, when the fast path produced them, the positions.
    """
    head = text.lstrip()
    if head.startswith("{"):
        try:
            return json.loads(text), None
        except ValueError:
            pass
    simple = parse_simple_yaml(text)
    if simple is not None:
        return simple
    return load_yaml(text), None


# --- positions on demand -------------------------------------------------------------------

_RT = YAML(typ="rt")


def yaml_positions(text: str) -> Positions:
    """Positions of every member and item of a YAML document (empty if it does not parse)."""
    try:
        node = _RT.load(text)
    except YAMLError:
        return {}
    positions: Positions = {}
    _walk_rt(node, "", positions)
    return positions


def _walk_rt(node: Any, base: str, positions: Positions) -> None:
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            ptr = pointer_join(base, key)
            line, column = node.lc.value(key)
            positions[ptr] = (line + 1, column + 1)
            _walk_rt(value, ptr, positions)
    elif isinstance(node, CommentedSeq):
        for index, value in enumerate(node):
            ptr = pointer_join(base, index)
            line, column = node.lc.item(index)
            positions[ptr] = (line + 1, column + 1)
            _walk_rt(value, ptr, positions)


def yaml_key_positions(text: str) -> Positions:
    """Positions of the keys (not values) of a YAML document's top-level mapping."""
    try:
        node = _RT.load(text)
    except YAMLError:
        return {}
    if not isinstance(node, CommentedMap):
        return {}
    return {
        pointer_join("", key): (node.lc.key(key)[0] + 1, node.lc.key(key)[1] + 1) for key in node
    }


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

    with contextlib.suppress(ValueError, IndexError):
        value(0, base)
    return positions
