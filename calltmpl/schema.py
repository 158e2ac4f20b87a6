"""Checking a call target against ``schemas/call-target.schema.json``.

The schema is strict (no unknown members) so that it serves check-jsonschema users as is;
here an unknown member becomes its own finding with a "did you mean" suggestion, because it
is most likely a typo and its severity is a setting.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from calltmpl.parsing import pointer_join

SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "call-target.schema.json"


@dataclass(frozen=True)
class SchemaFinding:
    pointer: str
    keyword: str
    message: str
    hint: str = ""

    @property
    def unknown_member(self) -> bool:
        return self.keyword == "additionalProperties"


@cache
def schema() -> dict[str, Any]:
    with SCHEMA_FILE.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


def check(target: Mapping[str, Any]) -> Iterator[SchemaFinding]:
    """Schema findings for one call target; pointers are relative to the call target."""
    for error in _validator().iter_errors({"data": target}):
        yield from _findings(error)


def _findings(error: ValidationError) -> Iterator[SchemaFinding]:
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
                yield SchemaFinding(where, keyword, f"{label} has no {name}; it is required")
        return
    name = where.rsplit("/", 1)[-1] or "the call target"
    yield SchemaFinding(where, keyword, _message(name, keyword, instance, expected, error.message))


def _unknown(where: str, key: str, known: list[str]) -> SchemaFinding:
    lowered = {k.lower(): k for k in known}
    guess = lowered.get(key.lower()) or next(
        iter(difflib.get_close_matches(key, known, n=1, cutoff=0.6)), None
    )
    parent = where.rsplit("/", 1)[-1] or "the call target"
    hint = f"did you mean {guess}?" if guess else ""
    message = f"{key} is not a member of {parent}" + (f"; did you mean {guess}?" if guess else "")
    return SchemaFinding(pointer_join(where, key), "additionalProperties", message, hint)


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
