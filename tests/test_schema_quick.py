"""The compiled quick check must agree with jsonschema on every payload."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from calltmpl import schema

GOOD = json.loads(
    (Path(__file__).parent / "fixtures" / "good-target.json").read_text(encoding="utf-8")
)


def _pointers(value: Any, base: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [base]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _pointers(item, (*base, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _pointers(item, (*base, index))
    return found


DNIS_ENTRY = {
    "key": {"type": "Diversion", "header": "", "value": "+13125550150"},
    "callbackAgentDestination": "+13125550151",
    "callbackCallerId": "1",
}
BASE = copy.deepcopy(GOOD)
BASE["configuration"]["dynamicDnisMapping"] = [DNIS_ENTRY]
POINTERS = _pointers(BASE)[1:]

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 200),
    st.sampled_from([1.0, 2.5, -0.5, 1e3]),
    st.sampled_from(
        [
            "",
            "PSTN",
            "SIP",
            "range",
            "exact",
            "agent",
            "customer",
            "Voice",
            "Text",
            "x" * 501,
            "x" * 500,
        ]
    ),
    st.lists(st.integers(0, 2), max_size=2),
    st.dictionaries(st.sampled_from(["a", "text"]), st.integers(0, 1), max_size=2),
    st.just([DNIS_ENTRY] * 51),
)


def _agree(target: Any) -> None:
    quick = schema._quick_check()
    assert quick is not None
    expected = not list(schema._validator().iter_errors({"data": target}))
    assert quick({"data": target}) is expected, json.dumps(target)[:400]


def _set(target: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


@settings(max_examples=400, deadline=None)
@given(changes=st.lists(st.tuples(st.sampled_from(POINTERS), ODD_VALUES), min_size=1, max_size=3))
def test_quick_check_agrees_with_jsonschema_on_changed_members(changes: list[Any]) -> None:
    target = copy.deepcopy(BASE)
    for path, value in changes:
        try:
            _set(target, path, value)
        except (KeyError, IndexError, TypeError):
            continue
    _agree(target)


@settings(max_examples=100, deadline=None)
@given(path=st.sampled_from(POINTERS), key=st.text(min_size=1, max_size=8))
def test_quick_check_agrees_with_jsonschema_on_added_members(path: Any, key: str) -> None:
    target = copy.deepcopy(BASE)
    parent: Any = target
    for part in path[:-1]:
        parent = parent[part]
    if isinstance(parent, dict):
        parent[key] = 1
    _agree(target)


def test_quick_check_passes_the_good_target_and_the_empty_one_fails() -> None:
    _agree(BASE)
    _agree({})
    _agree({"name": "x"})
    _agree({"name": "x", "configuration": []})
