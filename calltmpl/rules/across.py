"""Rules across the call targets linted together (reference item 3.24)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from calltmpl.rules.forms import inbound_number
from calltmpl.rules.registry import CallTarget, Finding, member, pointer, set_rule


@set_rule("CT703", "duplicate-name", "error", "3.24")
def duplicate_name(targets: Sequence[tuple[str, CallTarget]]) -> Iterator[tuple[int, Finding]]:
    """Two call targets of one repository must not have the same name.

    Why: the name is how a push finds a call target that has no id yet; two targets with one
    name overwrite each other, and people cannot tell them apart in the Mindful UI.
    Bad:  queues/billing.yaml and queues/billing-copy.yaml both with name: Billing
    Good: name: Billing and name: Billing - Overflow
    """
    holders: dict[str, list[int]] = defaultdict(list)
    for index, (_label, target) in enumerate(targets):
        name = member(target, "name")
        if isinstance(name, str) and name.strip():
            holders[name.strip()].append(index)
    for name, indexes in holders.items():
        for index in indexes:
            others = ", ".join(targets[i][0] for i in indexes if i != index)
            if others:
                yield (
                    index,
                    Finding(
                        pointer("name"),
                        f"name {name!r} is also the name of the call target in {others}",
                        "give each call target its own name",
                    ),
                )


@set_rule("CT704", "duplicate-phone-number", "error", "3.24")
def duplicate_phone_number(
    targets: Sequence[tuple[str, CallTarget]],
) -> Iterator[tuple[int, Finding]]:
    """An inbound phone number must belong to one call target only.

    Why: a number routes to one call target; attached to two, one of them silently loses its
    callers, and which one depends on the order of the pushes.
    Bad:  phoneNumbers: {"+13125550100": main} in queues/billing.yaml and queues/sales.yaml
    Good: each number in the phoneNumbers of one queue file
    """
    holders: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for index, (_label, target) in enumerate(targets):
        numbers = member(target, "phoneNumbers")
        if not isinstance(numbers, dict):
            continue
        for key, value in numbers.items():
            number = inbound_number(key, value)
            if number is not None:
                holders[number].append((index, key))
    for number, places in holders.items():
        indexes = {index for index, _ in places}
        for index, key in places:
            others = ", ".join(targets[i][0] for i in sorted(indexes) if i != index)
            if others:
                yield (
                    index,
                    Finding(
                        pointer("phoneNumbers", key),
                        f"inbound number {number} is also attached to the call target in {others}",
                        "keep each number in the phoneNumbers of one queue only",
                    ),
                )
