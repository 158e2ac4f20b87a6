"""Every cross-field rule against the cases in ``cases/<CODE>.yaml``.

A case file holds the cases of one rule; adding a case needs no code::

    cases:
      - name: min above max is reported       # test id: CT301-min-above-max-is-reported
        set: {/configuration/minCallbackNumberLength: 12}
        remove: [/configuration/maxCallbackNumberLength]
        expect: [/configuration/minCallbackNumberLength]

Each case starts from a deep copy of ``tests/fixtures/good-target.json`` (one valid call target)
and changes it in this order:

- ``repeat`` (optional): ``{pointer, count, item}`` sets the list at ``pointer`` to ``count``
  copies of ``item``, each with its index as two digits (00, 01, ...) appended to
  ``key.value``, so every key is different.
- ``set`` (optional): JSON pointer -> value, applied in order. Missing parent mappings are
  created; an index equal to the length of a list appends.
- ``remove`` (optional): JSON pointers to delete, applied in order.

``expect`` lists the pointers the rule reports: compared sorted, so order does not matter and
duplicates count. Quote phone numbers: YAML reads an unquoted ``+13125550142`` as an integer.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from calltmpl.codes import Code as Rule
from calltmpl.rules import REGISTRY, Finding

HERE = Path(__file__).parent
CASES = HERE / "cases"
GOOD_TARGET = HERE.parent / "fixtures" / "good-target.json"


def _good_target() -> dict[str, Any]:
    target: dict[str, Any] = json.loads(GOOD_TARGET.read_text(encoding="utf-8"))
    return target


def _case_files() -> dict[str, list[dict[str, Any]]]:
    yaml = YAML(typ="safe")
    files = {}
    for path in sorted(CASES.glob("*.yaml")):
        data = yaml.load(path)
        files[path.stem] = data["cases"] if isinstance(data, dict) else []
    return files


CASE_FILES = _case_files()
TARGET_RULES = [r for r in REGISTRY if r.scope == "target"]
SET_RULES = [r for r in REGISTRY if r.scope == "set"]


def _tokens(ptr: str) -> list[str]:
    assert ptr.startswith("/"), f"{ptr!r} is not a JSON pointer"
    return [t.replace("~1", "/").replace("~0", "~") for t in ptr.split("/")[1:]]


def _parent(doc: Any, ptr: str, create: bool) -> tuple[Any, str]:
    *path, last = _tokens(ptr)
    node = doc
    for token in path:
        if isinstance(node, list):
            node = node[int(token)]
        else:
            if create and token not in node:
                node[token] = {}
            node = node[token]
    return node, last


def _set(doc: Any, ptr: str, value: Any) -> None:
    parent, token = _parent(doc, ptr, create=True)
    value = copy.deepcopy(value)
    if isinstance(parent, list) and int(token) == len(parent):
        parent.append(value)
    elif isinstance(parent, list):
        parent[int(token)] = value
    else:
        parent[token] = value


def _remove(doc: Any, ptr: str) -> None:
    parent, token = _parent(doc, ptr, create=False)
    del parent[int(token) if isinstance(parent, list) else token]


def _repeat(doc: Any, ptr: str, count: int, item: dict[str, Any]) -> None:
    items = [copy.deepcopy(item) for _ in range(count)]
    for index, each in enumerate(items):
        each["key"]["value"] = f"{each['key']['value']}{index:02d}"
    _set(doc, ptr, items)


def _target_for(case: dict[str, Any]) -> dict[str, Any]:
    target = _good_target()
    if "repeat" in case:
        repeat = case["repeat"]
        _repeat(target, repeat["pointer"], repeat["count"], repeat["item"])
    for ptr, value in (case.get("set") or {}).items():
        _set(target, ptr, value)
    for ptr in case.get("remove") or []:
        _remove(target, ptr)
    return target


def _rule(code: str) -> Rule:
    found = REGISTRY.get(code)
    assert found is not None, f"{code} is not a registered rule"
    return found


def _pointers(rule: Rule, target: Any) -> list[str]:
    return sorted(finding.pointer for finding in rule.check(target))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


CASE_PARAMS = [
    pytest.param(code, case, id=f"{code}-{_slug(case['name'])}")
    for code, cases in CASE_FILES.items()
    for case in cases
]


@pytest.mark.parametrize(("code", "case"), CASE_PARAMS)
def test_rule_reports_expected_pointers(code: str, case: dict[str, Any]) -> None:
    assert _pointers(_rule(code), _target_for(case)) == sorted(case["expect"])


def test_every_rule_of_one_target_has_a_case_file() -> None:
    assert [r.code for r in TARGET_RULES if r.code not in CASE_FILES] == []


def test_every_case_file_names_a_rule_of_one_target() -> None:
    assert [code for code in CASE_FILES if _rule(code).scope != "target"] == []


@pytest.mark.parametrize("code", sorted(CASE_FILES))
def test_case_file_has_firing_quiet_absent_and_null_cases(code: str) -> None:
    cases = CASE_FILES[code]
    names = [_slug(case["name"]) for case in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    assert any(case["expect"] for case in cases), "no case where the rule fires"
    assert any(case["expect"] == [] for case in cases), "no case where the rule is quiet"
    assert any(case.get("remove") for case in cases), "no case with a member absent"
    assert any(value is None for case in cases for value in (case.get("set") or {}).values()), (
        "no case with a member null"
    )


def test_good_target_triggers_no_rule() -> None:
    target = _good_target()
    assert {r.code: _pointers(r, target) for r in TARGET_RULES if _pointers(r, target)} == {}


@pytest.mark.parametrize("rule", list(REGISTRY), ids=lambda r: r.code)
def test_rule_docstring_documents_it(rule: Rule) -> None:
    lines = rule.explanation.splitlines()
    assert len(lines) >= 5, "summary, blank line, Why:, Bad:, Good:"
    assert lines[0].strip() and lines[0].endswith("."), "first line is a one-sentence summary"
    assert lines[1] == "", "a blank line follows the summary"
    for label in ("Why: ", "Bad:  ", "Good: "):
        assert any(line.startswith(label) for line in lines[2:]), f"no {label.strip()} line"
    assert re.fullmatch(r"3\.[0-9]+|inferred", rule.reference), "reference names an item"


# A complete dynamicDnisMapping entry, so that the shapes below reach every member of one.
DNIS_ENTRY = {
    "key": {"type": "Diversion", "header": "", "value": "+13125550110"},
    "callbackAgentDestination": "sip:billing@cc.example.com",
    "callbackCallerId": "+13125550110",
    "callbackTelephonyType": "SIP",
    "callbackFailoverAgentDestination": "+13125550143",
    "callbackFailoverTelephonyType": "PSTN",
    "chooseHoldAgentDestination": "sips:hold@cc.example.com:5061;transport=tls",
    "chooseHoldTelephonyType": "SIP",
    "chooseHoldFailoverAgentDestination": "+442079460123",
    "chooseHoldFailoverTelephonyType": "PSTN",
}
ODD_VALUES: list[Any] = [None, True, 0, -1, 2.5, "", "x", [], [1, "x"], {}, {"x": None}]
ODD_ENTRIES: list[Any] = [
    None,
    "x",
    [],
    {},
    {"key": []},
    {"key": "x"},
    {"key": {"value": ["+13125550110"]}},
    {"key": {"type": {}, "header": [], "value": "+13125550110"}},
]


def _paths(node: Any, prefix: str = "") -> Iterator[str]:
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, child in items:
        ptr = f"{prefix}/{key}"
        yield ptr
        if isinstance(child, dict | list):
            yield from _paths(child, ptr)


def _odd_targets() -> Iterator[Any]:
    yield {}
    odd_configurations: list[Any] = [None, [], [{}], "x", 7, True]
    for configuration in odd_configurations:
        yield {"name": "Billing callbacks", "configuration": configuration}
    base = _good_target()
    _set(base, "/configuration/dynamicDnisMapping", [DNIS_ENTRY, DNIS_ENTRY])
    for ptr in _paths(base):
        for value in ODD_VALUES:
            target = copy.deepcopy(base)
            _set(target, ptr, value)
            yield target
    for entries in ({"0": DNIS_ENTRY}, ODD_ENTRIES, ODD_ENTRIES + ODD_ENTRIES):
        target = copy.deepcopy(base)
        _set(target, "/configuration/dynamicDnisMapping", entries)
        _set(target, "/configuration/dynamicDnisMappingEnabled", True)
        yield target


def _check_finding(finding: Any) -> None:
    assert isinstance(finding, Finding)
    assert finding.pointer.startswith("/")
    assert finding.message and "\n" not in finding.message + finding.hint


@pytest.mark.parametrize("rule", TARGET_RULES, ids=lambda r: r.code)
def test_rule_never_raises_on_odd_shapes(rule: Rule) -> None:
    for target in _odd_targets():
        for finding in rule.check(target):
            _check_finding(finding)


@pytest.mark.parametrize("rule", SET_RULES, ids=lambda r: r.code)
def test_rule_across_targets_never_raises_on_odd_shapes(rule: Rule) -> None:
    targets = [(f"queues/q{i}.yaml", t) for i, t in enumerate(_odd_targets())]
    for index, finding in rule.check(targets + targets):
        assert 0 <= index < 2 * len(targets)
        _check_finding(finding)
