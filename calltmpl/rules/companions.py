"""Rules on features that need their companion members: the destinations that callbacks and
choose hold dial, and the dynamicDnisMapping table (reference items 3.8 to 3.10)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from calltmpl.rules.registry import (
    CallTarget,
    Finding,
    boolean,
    configuration,
    member,
    pointer,
    rule,
    string,
)


def _blank(mapping: Mapping[str, Any], key: str) -> bool:
    """True when ``key`` is absent, null, or a string of only whitespace.

    A value of another type is not blank: the schema reports its type.
    """
    value = mapping.get(key)
    return value is None or (isinstance(value, str) and not value.strip())


def _emptiness(mapping: Mapping[str, Any], key: str, name: str) -> str:
    """``name`` with how it is empty, for a message: missing, null, or its blank value."""
    if key not in mapping:
        return f"{name} is missing"
    if mapping[key] is None:
        return f"{name} is null"
    return f"{name} ({json.dumps(mapping[key])}) is empty"


def _needs_destination(target: CallTarget, flag: str, destination: str) -> Iterator[Finding]:
    cfg = configuration(target)
    if boolean(cfg, flag) is True and _blank(cfg, destination):
        yield Finding(
            pointer("configuration", destination),
            f"{_emptiness(cfg, destination, destination)} while {flag} is true",
            f"set {destination} to an E.164 number or SIP URI, or set {flag}: false",
        )


def _entries(target: CallTarget) -> list[tuple[int, Mapping[str, Any]]]:
    """The dynamicDnisMapping entries that are mappings, with their index."""
    entries = member(configuration(target), "dynamicDnisMapping")
    if not isinstance(entries, list):
        return []
    return [(index, entry) for index, entry in enumerate(entries) if isinstance(entry, Mapping)]


def _count(entries: int) -> str:
    return f"{entries} entry" if entries == 1 else f"{entries} entries"


@rule("CT401", "callback-destination-missing", "error", "3.8")
def callback_destination_missing(target: CallTarget) -> Iterator[Finding]:
    """Processing callbacks needs a destination to dial the agents at.

    Why: with enableCallbackProcessing on and no callbackAgentDestination, no callback connects.
    Bad:  enableCallbackProcessing: true, callbackAgentDestination: ""
    Good: enableCallbackProcessing: true, callbackAgentDestination: "+13125550142"
    """
    yield from _needs_destination(target, "enableCallbackProcessing", "callbackAgentDestination")


@rule("CT402", "callback-failover-destination-missing", "error", "3.9")
def callback_failover_destination_missing(target: CallTarget) -> Iterator[Finding]:
    """Callback failover needs a failover destination.

    Why: with enableCallbackFailover on and no callbackFailoverAgentDestination, failover has
    nowhere to go when the primary destination fails.
    Bad:  enableCallbackFailover: true, callbackFailoverAgentDestination: ""
    Good: enableCallbackFailover: true, callbackFailoverAgentDestination: "+13125550143"
    """
    yield from _needs_destination(
        target, "enableCallbackFailover", "callbackFailoverAgentDestination"
    )


@rule("CT403", "choose-hold-destination-missing", "error", "3.9")
def choose_hold_destination_missing(target: CallTarget) -> Iterator[Finding]:
    """Offering callers to hold needs a destination for those who choose to.

    Why: with offerChooseHold on and no chooseHoldAgentDestination, callers who choose to hold
    cannot be transferred.
    Bad:  offerChooseHold: true, chooseHoldAgentDestination: ""
    Good: offerChooseHold: true, chooseHoldAgentDestination: "+13125550150"
    """
    yield from _needs_destination(target, "offerChooseHold", "chooseHoldAgentDestination")


@rule("CT404", "choose-hold-failover-destination-missing", "error", "3.9")
def choose_hold_failover_destination_missing(target: CallTarget) -> Iterator[Finding]:
    """Choose-hold failover needs a failover destination.

    Why: with enableChooseHoldFailover on and no chooseHoldFailoverAgentDestination, callers
    who chose to hold are dropped when the primary destination fails.
    Bad:  enableChooseHoldFailover: true, chooseHoldFailoverAgentDestination: ""
    Good: enableChooseHoldFailover: true, chooseHoldFailoverAgentDestination: "+13125550151"
    """
    yield from _needs_destination(
        target, "enableChooseHoldFailover", "chooseHoldFailoverAgentDestination"
    )


@rule("CT405", "choose-hold-failover-without-choose-hold", "warning", "3.9")
def choose_hold_failover_without_choose_hold(target: CallTarget) -> Iterator[Finding]:
    """Choose-hold failover does nothing while choosing to hold is not offered.

    Why: the failover only serves callers who chose to hold; the setting is dead or
    offerChooseHold was meant to be on.
    Bad:  enableChooseHoldFailover: true, offerChooseHold: false
    Good: enableChooseHoldFailover: true, offerChooseHold: true
    """
    cfg = configuration(target)
    if (
        boolean(cfg, "enableChooseHoldFailover") is True
        and boolean(cfg, "offerChooseHold") is False
    ):
        yield Finding(
            pointer("configuration", "enableChooseHoldFailover"),
            "enableChooseHoldFailover (true) is on while offerChooseHold is false",
            "set offerChooseHold: true, or enableChooseHoldFailover: false",
        )


@rule("CT406", "dnis-mapping-enabled-empty", "error", "3.10")
def dnis_mapping_enabled_empty(target: CallTarget) -> Iterator[Finding]:
    """Routing by inbound number needs at least one dynamicDnisMapping entry.

    Why: with dynamicDnisMappingEnabled on and an empty table, nothing is routed by number.
    Bad:  dynamicDnisMappingEnabled: true, dynamicDnisMapping: []
    Good: dynamicDnisMappingEnabled: false, dynamicDnisMapping: []
    """
    cfg = configuration(target)
    if boolean(cfg, "dynamicDnisMappingEnabled") is not True:
        return
    entries = cfg.get("dynamicDnisMapping")
    if "dynamicDnisMapping" not in cfg:
        shown = "is missing"
    elif entries is None:
        shown = "is null"
    elif entries == []:
        shown = "has no entries"
    else:
        return
    yield Finding(
        pointer("configuration", "dynamicDnisMapping"),
        f"dynamicDnisMapping {shown} while dynamicDnisMappingEnabled is true",
        "add entries to dynamicDnisMapping, or set dynamicDnisMappingEnabled: false",
    )


@rule("CT407", "dnis-mapping-entry-incomplete", "error", "3.10")
def dnis_mapping_entry_incomplete(target: CallTarget) -> Iterator[Finding]:
    """Every dynamicDnisMapping entry needs a key value and a callback destination.

    Why: an entry without key.value matches no call; one without callbackAgentDestination
    routes matching calls nowhere.
    Bad:  {key: {type: Diversion, value: ""}, callbackAgentDestination: "+13125550142"}
    Good: {key: {type: Diversion, value: "+13125550110"}, callbackAgentDestination: "+13125550142"}
    """
    for index, entry in _entries(target):
        key = entry.get("key")
        if key is None or (isinstance(key, Mapping) and _blank(key, "value")):
            name = f"dynamicDnisMapping[{index}].key.value"
            emptiness = f"{name} is missing" if key is None else _emptiness(key, "value", name)
            yield Finding(
                pointer("configuration", "dynamicDnisMapping", index, "key", "value"),
                f"{emptiness}: every entry needs the inbound number it matches",
                "set key.value to the inbound number the entry matches, e.g. +13125550110",
            )
        if _blank(entry, "callbackAgentDestination"):
            name = f"dynamicDnisMapping[{index}].callbackAgentDestination"
            yield Finding(
                pointer("configuration", "dynamicDnisMapping", index, "callbackAgentDestination"),
                f"{_emptiness(entry, 'callbackAgentDestination', name)}: "
                "every entry needs a destination",
                "set callbackAgentDestination to an E.164 number or SIP URI",
            )


@rule("CT408", "dnis-mapping-duplicate-key", "error", "3.10")
def dnis_mapping_duplicate_key(target: CallTarget) -> Iterator[Finding]:
    """Two dynamicDnisMapping entries must not have the same key.

    Why: a call matches only one entry, so the later one with the same type, header and value
    is never used.
    Bad:  two entries with key {type: Diversion, value: "+13125550110"}
    Good: one entry per key value
    """
    seen: dict[tuple[str | None, str | None, str], int] = {}
    for index, entry in _entries(target):
        key = entry.get("key")
        value = string(key, "value")
        if not value:
            continue
        identity = (string(key, "type"), string(key, "header"), value)
        if identity in seen:
            kind, header, _ = identity
            yield Finding(
                pointer("configuration", "dynamicDnisMapping", index, "key"),
                f"dynamicDnisMapping[{index}].key (type {json.dumps(kind)}, header "
                f"{json.dumps(header)}, value {json.dumps(value)}) is the same as the key "
                f"of dynamicDnisMapping[{seen[identity]}]",
                f"remove one of the entries {seen[identity]} and {index}, or change a key value",
            )
        else:
            seen[identity] = index


@rule("CT409", "dnis-mapping-disabled", "info", "3.10")
def dnis_mapping_disabled(target: CallTarget) -> Iterator[Finding]:
    """dynamicDnisMapping entries are unused while dynamicDnisMappingEnabled is false.

    Why: the table is dead configuration, or the switch was meant to be on.
    Bad:  dynamicDnisMappingEnabled: false, dynamicDnisMapping: [{...}]
    Good: dynamicDnisMappingEnabled: true, dynamicDnisMapping: [{...}]
    """
    cfg = configuration(target)
    entries = cfg.get("dynamicDnisMapping")
    if boolean(cfg, "dynamicDnisMappingEnabled") is False and isinstance(entries, list) and entries:
        yield Finding(
            pointer("configuration", "dynamicDnisMapping"),
            f"dynamicDnisMapping has {_count(len(entries))} while dynamicDnisMappingEnabled "
            "is false",
            "set dynamicDnisMappingEnabled: true to route by inbound number, or remove the entries",
        )
