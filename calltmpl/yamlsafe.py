"""Guards around reading untrusted YAML and JSON: bounded work, and only JSON values out.

Queue files, ``calltmpl.yaml`` and rendered templates are YAML written by many hands, so a
reader must end in bounded time and memory whatever the text holds:

* :func:`guard_yaml` runs over the parser's events before anything is built (the parser
  keeps its own stacks; it is building nodes that recurses). It refuses lone surrogates
  (which the C parser cannot encode), more than :data:`MAX_VALUES` values, nesting deeper
  than :data:`MAX_DEPTH` (about 30,000 nested ``[`` crash the C loader), aliases that
  would expand to more than :data:`ALIAS_BUDGET` values (a 1 KB "billion laughs" document
  expands to gigabytes for any code that walks it, even with the anchors unused), and
  aliases to a node that holds them (a value that contains itself);
* :func:`bad_scalar` finds the scalar the constructor could not build (``!!int abc``,
  integers beyond Python's 4,300 digits), so the error is located;
* :func:`json_problem` finds the first place in a loaded value that nests too deep or,
  for what reaches a payload, is no JSON value: NaN or Infinity, a date, binary data, a set,
  a key that is not a string, a lone surrogate.
"""

from __future__ import annotations

import datetime
import math
import re
from typing import Any, NamedTuple

from ruamel.yaml import YAML
from ruamel.yaml import events as ev
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from calltmpl.errors import ParseError

MAX_DEPTH = 100
"""Collections nested deeper than this are refused; real call targets nest four deep."""
ALIAS_BUDGET = 10_000
"""Values that aliases may add to a document, counting each alias as the size of what it
names; real files use a few anchors for shared defaults."""
MAX_VALUES = 50_000
"""Values (scalars and collections) a document may hold: real ones hold hundreds, and
building and locating 50,000 takes seconds."""

_EVENTS = YAML(typ="safe", pure=False)
_SURROGATE = re.compile("[\ud800-\udfff]")
_OPEN = (ev.SequenceStartEvent, ev.MappingStartEvent)
_CLOSE = (ev.SequenceEndEvent, ev.MappingEndEvent)


def guard_yaml(text: str) -> None:
    """Raise :class:`ParseError`, located, when loading ``text`` would not end in bounded
    work (see the module's notes). Syntax errors are left to the loader, which locates them
    the same way, as it would the first one the parser meets here."""
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:
        line, column = position_of(text, surrogate.start())
        code = f"U+{ord(surrogate.group()):04X}"
        raise ParseError(f"a lone surrogate ({code}) is not Unicode text", line, column)
    expanded = 0
    values = 0
    # Per open collection: its anchor, its values so far (aliases expanded), its height.
    stack: list[list[Any]] = [[None, 0, 0]]
    anchored: dict[str, tuple[int, int]] = {}  # anchor -> (values, height)
    events = _EVENTS.parse(text)
    try:
        for event in events:
            top = stack[-1]
            if isinstance(event, ev.NodeEvent):
                values += 1
                if values > MAX_VALUES:
                    raise _at(event, f"more than {MAX_VALUES:,} values in one document")
            if isinstance(event, ev.ScalarEvent):
                top[1] += 1
                if event.anchor:
                    anchored[event.anchor] = (1, 0)
            elif isinstance(event, ev.AliasEvent):
                if any(entry[0] == event.anchor for entry in stack):
                    raise _at(event, f"alias *{event.anchor} is inside the value it names")
                size, height = anchored.get(event.anchor, (1, 0))
                expanded += size
                if expanded > ALIAS_BUDGET:
                    raise _at(event, f"aliases expand to more than {ALIAS_BUDGET:,} values")
                if len(stack) - 1 + height > MAX_DEPTH:
                    raise _at(event, f"alias *{event.anchor} nests deeper than {MAX_DEPTH} levels")
                top[1] += size
                top[2] = max(top[2], height)
            elif isinstance(event, _OPEN):
                if len(stack) > MAX_DEPTH:
                    raise _at(event, f"nested deeper than {MAX_DEPTH} levels")
                stack.append([event.anchor, 1, 0])
            elif isinstance(event, _CLOSE):
                anchor, size, height = stack.pop()
                if anchor:
                    anchored[anchor] = (size, height + 1)
                stack[-1][1] += size
                stack[-1][2] = max(stack[-1][2], height + 1)
    finally:
        events.close()


def position_of(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of an offset in ``text``."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def _at(event: ev.Event, message: str) -> ParseError:
    mark = event.start_mark
    return ParseError(message, mark.line + 1, mark.column + 1)


def bad_scalar(text: str, error: Exception) -> ParseError:
    """Where the constructor failed on a text that parsed (and passed :func:`guard_yaml`):
    the first scalar that cannot be built on its own, else the start of the text."""
    loader = YAML(typ="safe", pure=False)
    try:
        node = loader.compose(text)
    except Exception:  # it composed once already; if not now, say what the loader said
        node = None
    todo: list[Node] = [node] if node is not None else []
    seen: set[int] = set()
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ScalarNode):
            try:
                loader.constructor.construct_object(current, deep=True)
            except Exception as exc:  # whatever a constructor raises, it is this scalar's
                mark = current.start_mark
                return ParseError(_scalar_message(current, exc), mark.line + 1, mark.column + 1)
        elif isinstance(current, SequenceNode):
            todo.extend(reversed(current.value))
        elif isinstance(current, MappingNode):
            todo.extend(n for pair in reversed(current.value) for n in reversed(pair))
    return ParseError(f"cannot build a value: {_reason(error)}", 1, 1)


def _scalar_message(node: ScalarNode, error: Exception) -> str:
    tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
    if "Exceeds the limit" in str(error):  # Python's limit on reading integers
        return f"an integer of {len(node.value):,} digits: at most 4,300 can be read"
    value = node.value if len(node.value) <= 40 else node.value[:37] + "..."
    return f"{value!r} cannot be read as {tag}"


def _reason(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


class Problem(NamedTuple):
    """Where a loaded value goes wrong, and how."""

    pointer: str
    message: str
    kind: str = "value"  # or "deep" (past MAX_DEPTH), "many" (past MAX_VALUES)


def json_problem(value: Any, *, strict: bool = True) -> Problem | None:
    """The first place in ``value``, in document order, past :data:`MAX_VALUES` values, nested
    deeper than :data:`MAX_DEPTH` or, with ``strict``, holding no JSON value. Iterative, so
    any depth is safe; callers have bounded aliases first (:func:`guard_yaml`)."""
    todo: list[tuple[Any, str, int]] = [(value, "", 0)]
    count = 0
    while todo:
        item, pointer, depth = todo.pop()
        count += 1
        if count > MAX_VALUES:
            return Problem(pointer, f"more than {MAX_VALUES:,} values in one document", "many")
        if isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                return Problem(pointer, f"nested deeper than {MAX_DEPTH} levels", "deep")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            children = []
            for key, child in pairs:
                if strict and isinstance(item, dict):
                    problem = _key_problem(key)
                    if problem:
                        return Problem(pointer, problem)
                children.append((child, _join(pointer, key), depth + 1))
            todo.extend(reversed(children))
        elif strict:
            problem = _scalar_problem(item)
            if problem:
                return Problem(pointer, problem)
    return None


def _join(base: str, key: Any) -> str:
    return f"{base}/{str(key).replace('~', '~0').replace('/', '~1')}"


def _key_problem(key: Any) -> str:
    if not isinstance(key, str):
        return f"the key {_shown(key)} is not a string (JSON keys are strings: quote it)"
    if _SURROGATE.search(key):
        return f"the key {key!r} holds a lone surrogate, which is not Unicode text"
    return ""


def _scalar_problem(item: Any) -> str:
    if item is None or isinstance(item, bool | int):
        return ""
    if isinstance(item, str):
        if _SURROGATE.search(item):
            return f"{_shown(item)} holds a lone surrogate, which is not Unicode text"
        return ""
    if isinstance(item, float):
        if math.isfinite(item):
            return ""
        word = "NaN" if math.isnan(item) else "Infinity" if item > 0 else "-Infinity"
        return f"{word} is not a JSON number (JSON has no NaN or Infinity)"
    if isinstance(item, datetime.date):
        return f"{item.isoformat()} is a date, not a JSON value"
    if isinstance(item, bytes | bytearray):
        return "binary data (!!binary) is not a JSON value"
    if isinstance(item, set | frozenset):
        return "a set (!!set) is not a JSON value: write a list"
    if isinstance(item, tuple):
        return "a list of pairs (!!pairs) is not a JSON value: write a mapping"
    return f"a {type(item).__name__} is not a JSON value"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


JSON_WORDS = frozenset({"NaN", "Infinity", "-Infinity"})
"""What ``json.dumps`` (and so ``tojson``) writes for numbers JSON does not have."""


def json_words(value: Any) -> list[tuple[str, str]]:
    """(pointer, word) of the strings in ``value`` that are one of :data:`JSON_WORDS`, in
    document order (YAML reads the unquoted word as text; the caller tells whether it was
    quoted)."""
    found = []
    todo: list[tuple[Any, str]] = [(value, "")]
    while todo:
        item, pointer = todo.pop()
        if isinstance(item, dict | list):
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            todo.extend(reversed([(child, _join(pointer, key)) for key, child in pairs]))
        elif isinstance(item, str) and item in JSON_WORDS:
            found.append((pointer, item))
    return found


def json_depth_offset(text: str) -> int:
    """The offset of the first bracket of a JSON text nested deeper than :data:`MAX_DEPTH`
    (strings skipped), or 0; linear, for locating what ``json.loads`` refused as too deep."""
    depth = 0
    for token in re.finditer(r'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)|[\[\]{}]', text, re.DOTALL):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return token.start()
        elif char in "]}":
            depth -= 1
    return 0
