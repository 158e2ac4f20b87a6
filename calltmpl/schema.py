"""Checking a call target against ``schemas/call-target.schema.json``.

The schema is strict (no unknown members) so that it serves check-jsonschema users as is;
here an unknown member becomes its own finding with a "did you mean" suggestion, because it
is most likely a typo and its severity is a setting.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when first needed: it is a fifth of a one-file lint's start-up
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

from calltmpl.codes import SCHEMA, UNKNOWN_MEMBER
from calltmpl.diagnostics import Finding
from calltmpl.parsing import pointer_join

SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "call-target.schema.json"


@cache
def schema() -> dict[str, Any]:
    with SCHEMA_FILE.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


@cache
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema())


def check(target: Mapping[str, Any]) -> Iterator[Finding]:
    """Schema findings for one call target; pointers are relative to the call target.

    Most targets are valid, so a compiled yes/no check runs first; jsonschema, which is
    slower by an order of magnitude, explains only the targets that fail it.
    """
    document = {"data": target}
    quick = _quick_check()
    if quick is not None and quick(document):
        return
    seen: set[Finding] = set()
    for error in _validator().iter_errors(document):
        for finding in _findings(error):
            # jsonschema reports `required` once per missing member, each with the whole list
            if finding not in seen:
                seen.add(finding)
                yield finding


Check = Callable[[Any], bool]
_ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description", "default", "examples"}
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
}


class _Unsupported(Exception):
    """The schema uses a keyword the quick check does not compile; jsonschema does it all."""


@cache
def _quick_check() -> Check | None:
    try:
        return _compile(schema(), schema())
    except _Unsupported:
        return None


def _compile(node: Any, root: dict[str, Any]) -> Check:
    """A function telling whether an instance is valid against ``node``.

    Only the keywords our schema uses are compiled, each with jsonschema's meaning (booleans
    are not numbers, 1.0 is an integer); any other keyword makes the quick check step aside.
    tests/test_schema_quick.py holds it to jsonschema's verdict.
    """
    if not isinstance(node, dict):
        raise _Unsupported(repr(node))
    unknown = set(node) - _ANNOTATIONS - set(_KEYWORDS)
    if unknown:
        raise _Unsupported(", ".join(sorted(unknown)))
    checks = [_KEYWORDS[k](node, root) for k in node if k in _KEYWORDS]
    checks = [c for c in checks if c is not None]
    return lambda value: all(c(value) for c in checks)


def _ref(node: dict[str, Any], root: dict[str, Any]) -> Check:
    ref = node["$ref"]
    if not ref.startswith("#/"):
        raise _Unsupported(ref)
    target: Any = root
    for part in ref[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return _Deferred(target, root)


class _Deferred:
    """A referenced schema compiled on first use, so that recursive references terminate."""

    def __init__(self, node: Any, root: dict[str, Any]):
        self.node, self.root = node, root
        self.compiled: Check | None = None

    def __call__(self, value: Any) -> bool:
        if self.compiled is None:
            self.compiled = _compile(self.node, self.root)
        return self.compiled(value)


def _type(node: dict[str, Any], root: dict[str, Any]) -> Check:
    names = node["type"] if isinstance(node["type"], list) else [node["type"]]
    tests = [_TYPES[n] for n in names]
    return lambda v: any(t(v) for t in tests)


def _properties(node: dict[str, Any], root: dict[str, Any]) -> Check:
    props = {k: _compile(v, root) for k, v in node["properties"].items()}
    return lambda v: (
        not isinstance(v, dict) or all(props[k](item) for k, item in v.items() if k in props)
    )


def _additional(node: dict[str, Any], root: dict[str, Any]) -> Check:
    known = set(node.get("properties", {}))
    extra = node["additionalProperties"]
    if extra is False:
        return lambda v: not isinstance(v, dict) or known.issuperset(v)
    if extra is True:
        return lambda v: True
    sub = _compile(extra, root)
    return lambda v: (
        not isinstance(v, dict) or all(sub(item) for k, item in v.items() if k not in known)
    )


def _required(node: dict[str, Any], root: dict[str, Any]) -> Check:
    names = node["required"]
    return lambda v: not isinstance(v, dict) or all(n in v for n in names)


def _enum(node: dict[str, Any], root: dict[str, Any]) -> Check:
    values = node["enum"]
    if not all(isinstance(e, str) for e in values):
        raise _Unsupported("enum of non-strings")
    allowed = frozenset(values)
    return lambda v: isinstance(v, str) and v in allowed


def _bound(keyword: str, passes: Callable[[Any, Any], bool]) -> Callable[..., Check]:
    def compile_bound(node: dict[str, Any], root: dict[str, Any]) -> Check:
        limit = node[keyword]
        return lambda v: not _TYPES["number"](v) or passes(v, limit)

    return compile_bound


def _max_items(node: dict[str, Any], root: dict[str, Any]) -> Check:
    limit = node["maxItems"]
    return lambda v: not isinstance(v, list) or len(v) <= limit


def _max_length(node: dict[str, Any], root: dict[str, Any]) -> Check:
    limit = node["maxLength"]
    return lambda v: not isinstance(v, str) or len(v) <= limit


def _items(node: dict[str, Any], root: dict[str, Any]) -> Check:
    sub = _compile(node["items"], root)
    return lambda v: not isinstance(v, list) or all(sub(item) for item in v)


_KEYWORDS: dict[str, Callable[[dict[str, Any], dict[str, Any]], Check]] = {
    "$ref": _ref,
    "type": _type,
    "properties": _properties,
    "additionalProperties": _additional,
    "required": _required,
    "enum": _enum,
    "minimum": _bound("minimum", lambda v, limit: v >= limit),
    "maximum": _bound("maximum", lambda v, limit: v <= limit),
    "maxItems": _max_items,
    "maxLength": _max_length,
    "items": _items,
}


def _findings(error: ValidationError) -> Iterator[Finding]:
    path = list(error.absolute_path)[1:]  # drop the envelope's "data"
    where = ""
    for part in path:
        where = pointer_join(where, part)
    keyword = str(error.validator)
    instance: Any = error.instance
    expected: Any = error.validator_value
    subschema: Any = error.schema
    if keyword == "additionalProperties" and isinstance(instance, Mapping):
        known = list(subschema.get("properties", {}))
        for key in instance:
            if key not in known:
                yield _unknown(where, str(key), known)
        return
    if keyword == "required" and isinstance(expected, list):
        for name in expected:
            if isinstance(instance, Mapping) and name not in instance:
                label = where.rsplit("/", 1)[-1] or "the call target"
                yield _finding(where, keyword, f"{label} has no {name}; it is required")
        return
    name = where.rsplit("/", 1)[-1] or "the call target"
    message = _message(name, keyword, instance, expected, error.message)
    if len(path) == 2 and path[0] == "phoneNumbers" and path[1] in member_names():
        yield _finding(where, keyword, *_misindented(str(path[1]), message))
        return
    yield _finding(where, keyword, message)


@cache
def member_names() -> frozenset[str]:
    """The members of a call target and of its configuration, by name."""
    definitions = schema()["$defs"]
    return frozenset(definitions["callTarget"]["properties"]) | frozenset(
        definitions["configuration"]["properties"]
    )


def _misindented(member: str, message: str) -> tuple[str, str]:
    """The message and hint of a phoneNumbers entry named like a member: one indented too
    deep, which YAML then reads as an inbound number of the call target."""
    return (
        f"phoneNumbers holds {member}, a member of the call target, as an inbound number: "
        f"is it indented too deep? ({message})",
        f"indent {member} as phoneNumbers is (a queue file writes members at the start of "
        "the line), not below it",
    )


def _finding(where: str, keyword: str, message: str, hint: str = "") -> Finding:
    """A finding that names its code, the failing keyword ending its message."""
    code = UNKNOWN_MEMBER if keyword == "additionalProperties" else SCHEMA
    return Finding(where, f"{message} [{keyword}]", hint, code.code)


def _unknown(where: str, key: str, known: list[str]) -> Finding:
    lowered = {k.lower(): k for k in known}
    guess = lowered.get(key.lower()) or next(
        iter(difflib.get_close_matches(key, known, n=1, cutoff=0.6)), None
    )
    parent = where.rsplit("/", 1)[-1] or "the call target"
    hint = f"did you mean {guess}?" if guess else ""
    message = f"{key} is not a member of {parent}" + (f"; did you mean {guess}?" if guess else "")
    return _finding(pointer_join(where, key), "additionalProperties", message, hint)


_TYPE_NAMES = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "boolean": "a boolean",
    "integer": "an integer",
    "number": "a number",
    "null": "null",
}
_PYTHON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


def _describe(value: Any) -> str:
    shown = json.dumps(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{shown} ({_TYPE_NAMES[_PYTHON_TYPES.get(type(value), 'object')]})"


def _message(name: str, keyword: str, value: Any, expected: Any, fallback: str) -> str:
    if keyword == "type":
        types = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in types)
        return f"{name} is {_describe(value)}; expected {wanted}"
    if keyword == "enum":
        return (
            f"{name} is {json.dumps(value)}; expected one of {', '.join(map(json.dumps, expected))}"
        )
    if keyword in ("minimum", "exclusiveMinimum"):
        return f"{name} is {value}; expected at least {expected}"
    if keyword in ("maximum", "exclusiveMaximum"):
        return f"{name} is {value}; expected at most {expected}"
    if keyword == "maxItems":
        return f"{name} has {len(value)} entries; at most {expected} are allowed"
    if keyword == "maxLength":
        return f"{name} is {len(value)} characters long; at most {expected} are allowed"
    return f"{name}: {fallback}"
