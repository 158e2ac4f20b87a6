"""YAML and JSON reading, with positions only when a finding needs them.

Speed matters here: a pre-commit hook and a 1,000-queue CI job parse every rendered payload.
Values come from the fastest reader that is exact for the text at hand:

* ``json.loads`` for JSON text;
* :func:`load_simple_yaml` for the block-mapping YAML the built-in templates emit (``key:`` or
  ``key: <JSON value>`` lines), which also yields every member's position for free;
* ruamel.yaml's C-backed safe loader for everything else, behind the guards of
  :mod:`calltmpl.yamlsafe` (bounded nesting and aliases, located constructor errors).

Positions of other texts are computed afterwards, on demand, by :func:`yaml_positions` and
:func:`json_positions` (:mod:`calltmpl.positions`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from calltmpl import yamlerrors, yamlsafe
from calltmpl.errors import ParseError as ParseError
from calltmpl.positions import Positions as Positions
from calltmpl.positions import json_positions as json_positions
from calltmpl.positions import nearest as nearest
from calltmpl.positions import pointer_join as pointer_join
from calltmpl.positions import unescape as unescape
from calltmpl.positions import yaml_node_positions

_SAFE = YAML(typ="safe", pure=False)


def load_yaml(text: str) -> Any:
    """Load one YAML document (safe types only); raise :class:`ParseError` with its position.

    Work is bounded (see :mod:`calltmpl.yamlsafe`): nesting and alias expansion are checked
    before the full loader builds anything, and a scalar it cannot build is located."""
    try:
        value = load_simple_yaml(text)
    except _NotSimple:
        pass
    else:
        if yamlsafe.json_problem(value, strict=False) is None:
            return value  # else too deep: the full path locates where
    try:
        yamlsafe.guard_yaml(text)
        return _SAFE.load(text)
    except MarkedYAMLError as exc:
        raise _parse_error(exc, text) from None
    except RecursionError:
        raise ParseError("nested too deeply", 1, 1) from None
    except YAMLError as exc:  # a character the reader refuses: its error names no line
        found = yamlerrors.control_character(text)
        raise found or ParseError(str(exc).strip().splitlines()[0], 1, 1) from None
    except ParseError:
        raise
    except Exception as exc:  # a constructor's error (`!!int abc`, a 5,000-digit integer)
        raise yamlsafe.bad_scalar(text, exc) from None


def _parse_error(exc: MarkedYAMLError, text: str) -> ParseError:
    """The parser's error in plain words, located (see :mod:`calltmpl.yamlerrors`)."""
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    start = exc.context_mark
    return yamlerrors.explain(
        text,
        yamlerrors.Mark(
            str(exc.problem or ""),
            line,
            column,
            str(exc.context or ""),
            start.line + 1 if start is not None else 0,
            start.column + 1 if start is not None else 0,
        ),
    )


def load_json(text: str) -> Any:
    """Strict JSON: only values the API can take (no NaN or Infinity, no lone surrogate),
    nested at most :data:`~calltmpl.yamlsafe.MAX_DEPTH` deep; each refusal is located."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ParseError(exc.msg, exc.lineno, exc.colno) from None
    except _Constant as exc:
        line, column = yamlsafe.position_of(text, max(text.find(exc.args[0]), 0))
        raise ParseError(f"{exc.args[0]} is not JSON", line, column) from None
    except RecursionError:
        raise _too_deep(text) from None
    except ValueError:  # an integer beyond Python's 4,300 digits
        digits = next((m for m in re.finditer("[0-9]+", text) if len(m.group()) > 4300), None)
        line, column = yamlsafe.position_of(text, digits.start() if digits else 0)
        raise ParseError("integers may have at most 4,300 digits", line, column) from None
    problem = yamlsafe.json_problem(value)
    if problem is None:
        return value
    if problem.kind == "deep":
        raise _too_deep(text)
    if problem.kind == "many":  # the whole document: locating the one too many costs as much
        raise ParseError(problem.message, 1, 1)
    _, line, column = nearest(json_positions(text), problem.pointer)
    raise ParseError(problem.message, line, column)


def _too_deep(text: str) -> ParseError:
    line, column = yamlsafe.position_of(text, yamlsafe.json_depth_offset(text))
    return ParseError(f"nested deeper than {yamlsafe.MAX_DEPTH} levels", line, column)


class _Constant(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _Constant(name)


# --- the fast path --------------------------------------------------------------------------

# One possible way to match each line (no nested or adjacent quantifiers over the same
# characters), so matching is linear: the value's surrounding spaces are stripped in Python.
_KEY_LINE = re.compile(r'( *)([A-Za-z_][A-Za-z0-9_-]*|"(?:[^"\\]|\\.)*+")[ ]*+:(.*)')
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
        rest = match.group(3)
        raw = rest.strip(" ")
        if raw and rest[0] != " ":
            raise _NotSimple  # `key:value` is one plain scalar in YAML, not a member
        if not raw:
            pending = (indent, here)
            if positions is not None:
                positions[here] = (number, len(line) + 1)
            continue
        out.append(_value(raw))
        if positions is not None:
            column = match.start(3) + len(rest) - len(rest.lstrip(" ")) + 1
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
    """Load rendered template output: JSON, the fast path, or the full YAML loader (which
    locates what JSON refuses, nesting too deep included). NaN and Infinity are read as JSON
    reads them, for the renderer to refuse as values JSON does not have."""
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            pass
        else:
            if yamlsafe.json_problem(value, strict=False) is None:
                return value
    return load_yaml(text)


# --- positions on demand -------------------------------------------------------------------


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
        yamlsafe.guard_yaml(text)
        return yaml_node_positions(text, keys=keys)
    except (YAMLError, ParseError, RecursionError):
        return {}
    except Exception:  # a key the constructor cannot build: the load reports it, located
        return {}


def yaml_key_positions(text: str) -> Positions:
    """Positions of the keys (not the values) of every mapping in a YAML document."""
    return yaml_positions(text, keys=True)
