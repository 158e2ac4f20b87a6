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
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from calltmpl.errors import ParseError as ParseError

Positions = dict[str, tuple[int, int]]
"""JSON pointer -> 1-based (line, column) of the value it names."""


_SAFE = YAML(typ="safe", pure=False)


def load_yaml(text: str) -> Any:
    """Load one YAML document (safe types only); raise :class:`ParseError` with its position."""
    try:
        return load_simple_yaml(text)
    except _NotSimple:
        pass
    try:
        return _SAFE.load(text)
    except MarkedYAMLError as exc:
        raise _parse_error(exc) from None
    except RecursionError:
        raise ParseError("nested too deeply", 1, 1) from None
    except YAMLError as exc:
        raise ParseError(str(exc).strip().splitlines()[0], 1, 1) from None


def _parse_error(exc: MarkedYAMLError) -> ParseError:
    mark = exc.problem_mark or exc.context_mark
    what = " ".join(p for p in (exc.context, exc.problem) if p)
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return ParseError(what or "invalid YAML", line, column)


def load_json(text: str) -> Any:
    """Strict JSON: no NaN or Infinity, which the API cannot take; nesting deep enough to
    exhaust the parser is an error, not a crash."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ParseError(exc.msg, exc.lineno, exc.colno) from None
    except _Constant as exc:
        line = text.count("\n", 0, text.find(exc.args[0])) + 1
        raise ParseError(f"{exc.args[0]} is not JSON", line, 1) from None
    except RecursionError:
        raise ParseError("nested too deeply", 1, 1) from None


class _Constant(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _Constant(name)


def unescape(part: str) -> str:
    """One part of a JSON pointer, unescaped (RFC 6901)."""
    return part.replace("~1", "/").replace("~0", "~")


def pointer_join(base: str, key: str | int) -> str:
    return f"{base}/{str(key).replace('~', '~0').replace('/', '~1')}"


# --- the fast path --------------------------------------------------------------------------

_KEY_LINE = re.compile(r'( *)([A-Za-z_][A-Za-z0-9_-]*|"(?:[^"\\]|\\.)*")[ ]*:(?:[ ]+(.*?))?[ ]*')
_JSON_SCALAR = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"|-?(?:0|[1-9][0-9]*)|true|false|null')
# Plain (unquoted) strings that YAML 1.2 cannot read as anything but a string: a letter first,
# no indicator characters, and none of the words YAML 1.1 or 1.2 give another meaning.
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_./()+-]*(?: +[A-Za-z0-9_./()+-]+)*")
_SINGLE_QUOTED = re.compile(r"'(?:[^'\x00-\x1f\x7f]|'')*'")
_RESERVED = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n"})


# Characters a YAML stream may not hold (YAML 1.2, 5.1), and NEL, LS and PS, which YAML reads
# as line breaks: texts with any of them go to the full loader.
_UNSAFE_CHARACTERS = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


class _NotSimple(Exception):
    """The text is outside the fast path's subset; the full loader must read it."""


def _scan(text: str, positions: Positions | None = None) -> str:
    """Translate block-mapping YAML into the equal JSON text, or raise :class:`_NotSimple`.

    Accepted lines: blank, ``# comment``, ``key:`` opening a nested mapping, and
    ``key: value`` where the value is JSON (string, integer, true/false/null, inline list or
    object), a single-quoted string, or a plain string of letters, digits and ``_./()+-``.
    For that subset YAML 1.2 and JSON agree on every value. Anything else (block
    sequences, other scalars, flow YAML that is not JSON, tabs, duplicate keys, document
    markers) raises. One difference is
    deliberate: JSON's surrogate-pair escapes, which ``tojson`` writes for characters beyond
    U+FFFF, are read as JSON reads them, where ruamel.yaml refuses them. With ``positions``,
    records where each member's value starts.
    """
    if "\t" in text or "\r" in text or _UNSAFE_CHARACTERS.search(text):
        raise _NotSimple
    out = ["{"]
    stack: list[tuple[int, set[str], str]] = [(0, set(), "")]  # open mappings
    pending: tuple[int, str] | None = None  # a `key:` line whose value is on the next lines
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.lstrip(" ")
        if not stripped or stripped[0] == "#":
            continue
        match = _KEY_LINE.fullmatch(line)
        if match is None:
            raise _NotSimple
        indent = len(match.group(1))
        if pending is not None:
            if indent > pending[0]:
                out.append("{")
                stack.append((indent, set(), pending[1]))
            else:
                out.append("null")
            pending = None
        while stack[-1][0] > indent:
            stack.pop()
            out.append("}")
        if stack[-1][0] != indent:
            raise _NotSimple
        _, keys, base = stack[-1]
        raw_key = match.group(2)
        key = _key(raw_key)
        if key in keys:
            raise _NotSimple
        out.append("," if keys else "")
        keys.add(key)
        out.append(raw_key if raw_key[0] == '"' else f'"{raw_key}"')
        out.append(":")
        here = pointer_join(base, key) if positions is not None else ""
        raw = match.group(3)
        if not raw:
            pending = (indent, here)
            if positions is not None:
                positions[here] = (number, len(line) + 1)
            continue
        out.append(_value(raw))
        if positions is not None:
            column = match.start(3) + 1
            positions[here] = (number, column)
            if raw[0] in "[{":
                positions.update(
                    json_positions(raw, here, line_offset=number - 1, column_offset=column - 1)
                )
    if not stack[0][1]:
        raise _NotSimple  # no member at all: YAML reads an empty document as null
    out.append("null" if pending is not None else "")
    out.append("}" * len(stack))
    return "".join(out)


def _key(raw: str) -> str:
    if raw[0] != '"':
        if raw.lower() in _RESERVED:
            raise _NotSimple
        return raw
    try:
        key = json.loads(raw)
    except ValueError:
        raise _NotSimple from None
    if not isinstance(key, str):
        raise _NotSimple
    return key


def _value(raw: str) -> str:
    """``raw`` as one JSON value, or raise: each value must stand alone, not just in context."""
    if _JSON_SCALAR.fullmatch(raw):
        return raw
    if raw[0] in "[{":
        try:
            json.loads(raw)
        except ValueError:
            raise _NotSimple from None
        return raw
    if _PLAIN.fullmatch(raw) and raw.lower() not in _RESERVED:
        return f'"{raw}"'
    if _SINGLE_QUOTED.fullmatch(raw):
        return json.dumps(raw[1:-1].replace("''", "'"))
    raise _NotSimple


def load_simple_yaml(text: str) -> Any:
    """The fast path's value for ``text``; raise :class:`_NotSimple` when it does not apply."""
    try:
        return json.loads(_scan(text))
    except (ValueError, RecursionError):
        raise _NotSimple from None


def load_payload_text(text: str) -> Any:
    """Load rendered template output: JSON, the fast path, or the full YAML loader."""
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            pass
    return load_yaml(text)


# --- positions on demand -------------------------------------------------------------------


def nearest(positions: Positions, pointer: str) -> tuple[str, int, int]:
    """``pointer`` or its closest ancestor that has a position, with that position."""
    while pointer and pointer not in positions:
        pointer = pointer.rsplit("/", 1)[0]
    line, column = positions.get(pointer, (1, 1))
    return pointer, line, column


_RT = YAML(typ="rt")


def yaml_positions(text: str, *, keys: bool = False) -> Positions:
    """Positions of every member's value and every item of a YAML document, or with ``keys``
    of every member's key (empty if the document does not parse)."""
    positions: Positions = {}
    if not keys:
        try:
            _scan(text, positions)
            return positions
        except (_NotSimple, RecursionError):
            positions.clear()
    try:
        node = _RT.load(text)
    except (YAMLError, RecursionError):
        return {}
    _walk_rt(node, "", positions, keys)
    return positions


def yaml_key_positions(text: str) -> Positions:
    """Positions of the keys (not the values) of every mapping in a YAML document."""
    return yaml_positions(text, keys=True)


def _walk_rt(node: Any, base: str, positions: Positions, keys: bool) -> None:
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            ptr = pointer_join(base, key)
            line, column = node.lc.key(key) if keys else node.lc.value(key)
            positions[ptr] = (line + 1, column + 1)
            _walk_rt(value, ptr, positions, keys)
    elif isinstance(node, CommentedSeq):
        for index, value in enumerate(node):
            ptr = pointer_join(base, index)
            line, column = node.lc.item(index)
            positions[ptr] = (line + 1, column + 1)
            _walk_rt(value, ptr, positions, keys)


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
