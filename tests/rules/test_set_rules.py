"""Rules across the call targets linted together: duplicate names and inbound numbers."""

from __future__ import annotations

from typing import Any

import pytest

from calltmpl.rules import REGISTRY


def _check(code: str, targets: list[dict[str, Any]]) -> list[tuple[int, str]]:
    rule = REGISTRY.get(code)
    assert rule is not None and rule.scope == "set"
    labelled = [(f"queues/q{i}.yaml", t) for i, t in enumerate(targets)]
    return sorted((index, f.pointer) for index, f in rule.check(labelled))


def test_duplicate_name_is_reported_on_every_holder_naming_the_others() -> None:
    rule = REGISTRY.get("CT703")
    assert rule is not None
    targets = [{"name": "Billing"}, {"name": "Sales"}, {"name": "Billing "}, {"name": "Billing"}]
    found = list(rule.check([(f"q{i}.yaml", t) for i, t in enumerate(targets)]))
    assert sorted(i for i, _ in found) == [0, 2, 3]
    message = next(f.message for i, f in found if i == 0)
    assert "q2.yaml" in message and "q3.yaml" in message and "q0.yaml" not in message


@pytest.mark.parametrize(
    "names",
    [["Billing", "Sales"], ["Billing", None], [None, None], ["", ""], ["Billing", 7], []],
)
def test_distinct_absent_or_odd_names_are_quiet(names: list[Any]) -> None:
    targets = [{} if n is None else {"name": n} for n in names]
    assert _check("CT703", targets) == []


def test_duplicate_inbound_number_is_reported_on_both_sides_whichever_holds_it() -> None:
    targets = [
        {"phoneNumbers": {"+13125550100": "main"}},
        {"phoneNumbers": {"main line": "+13125550100"}},
        {"phoneNumbers": {"+13125550101": "other"}},
    ]
    assert _check("CT704", targets) == [
        (0, "/phoneNumbers/+13125550100"),
        (1, "/phoneNumbers/main line"),
    ]


@pytest.mark.parametrize(
    "numbers",
    [
        [{"+13125550100": "a"}, {"+13125550101": "b"}],
        [{"+13125550100": "a"}, None],
        [{"+13125550100": "a", "x": "+13125550100"}],
        [{"not a number": "a"}, {"not a number": "b"}],
        [[], "x", {"+13125550100": None}],
    ],
)
def test_distinct_absent_or_odd_numbers_are_quiet(numbers: list[Any]) -> None:
    targets = [{} if n is None else {"phoneNumbers": n} for n in numbers]
    assert _check("CT704", targets) == []


def test_context_keeps_what_every_set_rule_reads() -> None:
    """The repository's other call targets reach the set rules as their context view only
    (calltmpl.lint.CONTEXT_MEMBERS). A new set rule must check that view holds what it reads,
    then be added here."""
    from calltmpl.lint import CONTEXT_MEMBERS

    assert sorted(r.code for r in REGISTRY if r.scope == "set") == ["CT703", "CT704"]
    assert set(CONTEXT_MEMBERS) == {"name", "phoneNumbers"}
