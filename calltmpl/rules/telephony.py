"""Rules on destinations, telephony types and SIP options (reference items 3.15 to 3.18)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from calltmpl.rules.forms import (
    DESTINATION_FORMS,
    SIP_SCHEME,
    TLS_SIP_PORT,
    SipUri,
    e164_problem,
    ip_address,
    parse_sip,
    sip_problem,
    transport_conflict,
    unreachable_host,
)
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

# [I] The options that only mean something on a SIP leg to the contact centre.
SIP_ONLY_OPTIONS = (
    "useTlsForAgentCallLeg",
    "usePaiForAgentDial",
    "useSipRefer",
    "appendUuiToReferToHeader",
)
# Destination and telephony type members, at the top level of the configuration.
PAIRS = (
    ("callbackAgentDestination", "callbackTelephonyType"),
    ("chooseHoldAgentDestination", "chooseHoldTelephonyType"),
    ("chooseHoldFailoverAgentDestination", "chooseHoldFailoverTelephonyType"),
)
# ... and in every dynamicDnisMapping entry, where the callback failover has its own type.
ENTRY_PAIRS = (
    ("callbackAgentDestination", "callbackTelephonyType"),
    ("callbackFailoverAgentDestination", "callbackFailoverTelephonyType"),
    ("chooseHoldAgentDestination", "chooseHoldTelephonyType"),
    ("chooseHoldFailoverAgentDestination", "chooseHoldFailoverTelephonyType"),
)
# ... and the pairs of a primary destination and its failover, in both places.
FAILOVER_PAIRS = (
    ("callbackAgentDestination", "callbackFailoverAgentDestination"),
    ("chooseHoldAgentDestination", "chooseHoldFailoverAgentDestination"),
)
# The destinations a callback's agent leg dials (the primary and its failover), whose transport
# the agent-leg options set.
CALLBACK_LEGS = ("callbackAgentDestination", "callbackFailoverAgentDestination")
ALL_LEGS = tuple(destination for destination, _ in ENTRY_PAIRS)

Scope = tuple[Mapping[str, Any], tuple[str | int, ...], str, tuple[tuple[str, str], ...]]


def _scopes(cfg: Mapping[str, Any]) -> list[Scope]:
    """Where destinations live: the configuration and each dynamicDnisMapping entry.

    Each with its pointer path, the prefix that names its members in messages, and its
    (destination, telephony type) pairs.
    """
    scopes: list[Scope] = [(cfg, ("configuration",), "", PAIRS)]
    entries = member(cfg, "dynamicDnisMapping")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(entry, Mapping):
            path = ("configuration", "dynamicDnisMapping", index)
            scopes.append((entry, path, f"dynamicDnisMapping[{index}].", ENTRY_PAIRS))
    return scopes


def _mismatch(
    mapping: Mapping[str, Any], path: tuple[str | int, ...], prefix: str, pair: tuple[str, str]
) -> Finding | None:
    """A finding when the destination of ``pair`` in ``mapping`` does not fit its type."""
    destination_key, type_key = pair
    destination, kind = string(mapping, destination_key), string(mapping, type_key)
    if not destination or not destination.strip() or kind not in DESTINATION_FORMS:
        return None
    noun, problem_of = DESTINATION_FORMS[kind]
    problem = problem_of(destination)
    if problem is None:
        return None
    type_name = prefix + type_key
    if kind == "PSTN" and sip_problem(destination) is None:
        hint = f"the value is a SIP URI: set {type_name}: SIP"
    elif kind == "SIP" and e164_problem(destination) is None:
        hint = f"the value is a phone number: set {type_name}: PSTN"
    elif kind == "PSTN":
        hint = "write + then country code and number, no spaces or dashes, e.g. +13125550142"
    else:
        hint = "write a URI such as sip:agents@cc.example.com or sips:agents@cc.example.com:5061"
    return Finding(
        pointer(*path, destination_key),
        f"{prefix}{destination_key} ({json.dumps(destination)}) is not {noun} as "
        f"{type_name} {kind} requires: {problem}",
        hint,
    )


@rule("CT501", "destination-telephony-mismatch", "error", "3.15")
def destination_telephony_mismatch(target: CallTarget) -> Iterator[Finding]:
    """Each destination must have the form its telephony type needs.

    Why: a PSTN destination is dialled as an E.164 number and a SIP one is sent as a URI; a
    value of the other form, or a malformed one, fails every call routed there.
    Bad:  callbackTelephonyType: PSTN, callbackAgentDestination: "312-555-0142"
    Good: callbackTelephonyType: PSTN, callbackAgentDestination: "+13125550142"
    Inferred: "SIP" as the name of the second telephony type (the UI's other choice).
    """
    candidates = [
        _mismatch(mapping, path, prefix, pair)
        for mapping, path, prefix, pairs in _scopes(configuration(target))
        for pair in pairs
    ]
    yield from (finding for finding in candidates if finding is not None)


@rule("CT502", "failover-destination-form", "error", "3.15")
def failover_destination_form(target: CallTarget) -> Iterator[Finding]:
    """The callback failover destination must be an E.164 number or a SIP URI.

    Why: it has no telephony type of its own, so its form decides how it is dialled; a value of
    neither form fails every failover.
    Bad:  callbackFailoverAgentDestination: "3125550143"
    Good: callbackFailoverAgentDestination: "+13125550143"
    """
    value = string(configuration(target), "callbackFailoverAgentDestination")
    if not value or not value.strip():
        return
    if e164_problem(value) is None or sip_problem(value) is None:
        return
    if SIP_SCHEME.match(value.strip()):
        problem = sip_problem(value)
    elif value.strip().startswith("+"):
        problem = e164_problem(value)
    else:
        problem = "it starts with neither + nor sip: or sips:"
    yield Finding(
        pointer("configuration", "callbackFailoverAgentDestination"),
        f"callbackFailoverAgentDestination ({json.dumps(value)}) is neither an E.164 number "
        f"nor a SIP URI: {problem}",
        "write a number such as +13125550143 or a URI such as sip:failover@cc.example.com",
    )


Leg = tuple[tuple[str | int, ...], str, str, str | None]


def _legs(cfg: Mapping[str, Any], keys: tuple[str, ...]) -> Iterator[Leg]:
    """Every non-blank destination named in ``keys``, in the configuration and each entry.

    Each with its pointer path, its name as written, its value and its telephony type as
    written (None when absent or null, as the top-level callback failover's always is).
    """
    for mapping, path, prefix, _ in _scopes(cfg):
        for destination_key, type_key in ENTRY_PAIRS:
            value = string(mapping, destination_key)
            if destination_key in keys and value and value.strip():
                kind = member(mapping, type_key)
                yield (*path, destination_key), prefix + destination_key, value, kind


def _meant_as_sip(value: str, kind: str | None) -> bool:
    """True for a SIP destination: type SIP, or no type and a value that starts with sip:."""
    return kind == "SIP" or (kind is None and bool(SIP_SCHEME.match(value.strip())))


def _sip_legs(cfg: Mapping[str, Any]) -> Iterator[tuple[str, str, str, SipUri]]:
    """The valid SIP URIs a callback's agent leg dials: pointer, name, value and parts.

    Malformed ones are left to CT501 and CT502.
    """
    for path, name, value, kind in _legs(cfg, CALLBACK_LEGS):
        uri = parse_sip(value) if _meant_as_sip(value, kind) else None
        if uri is not None:
            yield pointer(*path), name, value, uri


def _termination(cfg: Mapping[str, Any]) -> tuple[str, str, str, SipUri] | None:
    """sipTerminationUri as a leg like those of :func:`_sip_legs`, when it is a valid SIP URI."""
    value = string(cfg, "sipTerminationUri")
    uri = parse_sip(value) if value else None
    if value is None or uri is None:
        return None
    return pointer("configuration", "sipTerminationUri"), "sipTerminationUri", value, uri


def _tls_switch(cfg: Mapping[str, Any], key: str) -> tuple[bool, str] | None:
    """A TLS switch (absent or null is off) and how to show it, or None when of another type."""
    value = member(cfg, key)
    if value is None:
        return False, f"{key} is {'null' if key in cfg else 'missing'} (off)"
    return (value, f"{key} is {json.dumps(value)}") if isinstance(value, bool) else None


def _transport_mismatches(
    cfg: Mapping[str, Any], switch: str, legs: list[tuple[str, str, str, SipUri]]
) -> Iterator[Finding]:
    """A finding for each leg whose URI contradicts the TLS switch named ``switch``."""
    setting = _tls_switch(cfg, switch)
    if setting is None:
        return
    tls, shown = setting
    if tls:
        hint = f"use sips: with no port or port {TLS_SIP_PORT}, or set {switch}: false"
    else:
        hint = f"set {switch}: true, or use sip: with no ;transport=tls or port {TLS_SIP_PORT}"
    for ptr, name, value, uri in legs:
        conflict = transport_conflict(uri, tls)
        if conflict:
            yield Finding(ptr, f"{name} ({json.dumps(value)}) {conflict}, but {shown}", hint)


@rule("CT503", "sip-option-on-pstn-leg", "warning", "3.16")
def sip_option_on_pstn_leg(target: CallTarget) -> Iterator[Finding]:
    """SIP-only options do nothing while the agents are reached over PSTN.

    Why: TLS, P-Asserted-Identity, REFER and UUI in the Refer-To header exist only in SIP; on a
    PSTN agent leg they are ignored, so the option is dead or the telephony type is wrong.
    Bad:  callbackTelephonyType: PSTN, useSipRefer: true
    Good: callbackTelephonyType: SIP, callbackAgentDestination: "sip:agents@cc.example.com"
    Inferred: the whole rule; and that the options may serve any other SIP destination (choose
    hold, a failover, a dynamicDnisMapping entry), so it is quiet while there is one.
    """
    cfg = configuration(target)
    if string(cfg, "callbackTelephonyType") != "PSTN":
        return
    if any(_meant_as_sip(value, kind) for *_, value, kind in _legs(cfg, ALL_LEGS)):
        return
    for option in SIP_ONLY_OPTIONS:
        if boolean(cfg, option) is True:
            yield Finding(
                pointer("configuration", option),
                f'{option} (true) is a SIP-only option but callbackTelephonyType is "PSTN" '
                "and no destination is SIP",
                f"set {option}: false, or callbackTelephonyType: SIP with a SIP URI in "
                "callbackAgentDestination",
            )


@rule("CT504", "uui-without-refer", "warning", "3.16")
def uui_without_refer(target: CallTarget) -> Iterator[Finding]:
    """UUI in the Refer-To header needs transfers by SIP REFER.

    Why: appendUuiToReferToHeader adds data to a REFER request; without useSipRefer none is
    sent, so the agents never get the data.
    Bad:  appendUuiToReferToHeader: true, useSipRefer: false
    Good: appendUuiToReferToHeader: true, useSipRefer: true
    Inferred: the whole rule, from the members' names.
    """
    cfg = configuration(target)
    refer = member(cfg, "useSipRefer")
    if boolean(cfg, "appendUuiToReferToHeader") is not True or refer not in (None, False):
        return
    shown = "false" if refer is False else "null" if "useSipRefer" in cfg else "missing"
    yield Finding(
        pointer("configuration", "appendUuiToReferToHeader"),
        f"appendUuiToReferToHeader (true) needs useSipRefer, which is {shown}",
        "set useSipRefer: true, or appendUuiToReferToHeader: false",
    )


@rule("CT505", "tls-transport-mismatch", "warning", "3.16")
def tls_transport_mismatch(target: CallTarget) -> Iterator[Finding]:
    """A SIP agent destination must not contradict useTlsForAgentCallLeg.

    Why: with TLS on, a URI that asks for UDP or TCP (or port 5060) fails or falls back to an
    unencrypted leg; with TLS off, a sips: URI (or transport=tls, or port 5061) cannot connect.
    Bad:  useTlsForAgentCallLeg: true, callbackAgentDestination: "sip:agents@cc.example.com:5060"
    Good: useTlsForAgentCallLeg: true, callbackAgentDestination: "sips:agents@cc.example.com"
    Inferred: the whole rule; checked on the SIP callback destinations and their failovers, top
    level and in each dynamicDnisMapping entry (choose hold is a transfer, not an agent leg).
    """
    cfg = configuration(target)
    yield from _transport_mismatches(cfg, "useTlsForAgentCallLeg", list(_sip_legs(cfg)))


@rule("CT506", "srv-failover-ineffective", "warning", "3.17")
def srv_failover_ineffective(target: CallTarget) -> Iterator[Finding]:
    """SRV failover needs SIP hosts that are DNS names without a port.

    Why: a SIP client looks up DNS SRV records only for a host name with no port (RFC 3263);
    for an IP address or an explicit port it dials that one address, so there is no failover.
    Bad:  useSrvFailover: true, sipTerminationUri: "sip:trunk.example.com:5060"
    Good: useSrvFailover: true, sipTerminationUri: "sip:trunk.example.com"
    Inferred: the whole rule; checked on sipTerminationUri and the SIP callback destinations.
    """
    cfg = configuration(target)
    if boolean(cfg, "useSrvFailover") is not True:
        return
    termination = _termination(cfg)
    legs = [*_sip_legs(cfg), *([termination] if termination else [])]
    for ptr, name, value, uri in legs:
        if ip_address(uri.host) is not None:
            reason = f"has the IP address {uri.host} as host"
        elif uri.port is not None:
            reason = f"names port {uri.port}"
        else:
            continue
        yield Finding(
            ptr,
            f"{name} ({json.dumps(value)}) {reason}, so useSrvFailover (true) looks up no "
            "SRV records for it",
            "use a host name without a port whose DNS has SRV records, e.g. "
            "sip:trunk.example.com, or set useSrvFailover: false",
        )


@rule("CT507", "sip-termination-uri-malformed", "error", "3.17")
def sip_termination_uri_malformed(target: CallTarget) -> Iterator[Finding]:
    """sipTerminationUri must be a SIP URI, or "" when no SIP trunk is used.

    Why: outbound legs to the customer go out through this trunk; a malformed URI fails them.
    Bad:  sipTerminationUri: "trunk.example.com"
    Good: sipTerminationUri: "sip:trunk.example.com"
    """
    value = string(configuration(target), "sipTerminationUri")
    problem = sip_problem(value) if value else None
    if problem:
        yield Finding(
            pointer("configuration", "sipTerminationUri"),
            f"sipTerminationUri ({json.dumps(value)}) is not a SIP URI: {problem}",
            'write a URI such as sip:trunk.example.com, or "" when no SIP trunk is used',
        )


@rule("CT508", "sip-termination-private-host", "warning", "3.17")
def sip_termination_private_host(target: CallTarget) -> Iterator[Finding]:
    """sipTerminationUri must name a host Mindful's cloud can reach.

    Why: a private, loopback or link-local address (or localhost) only exists inside your own
    network, so no outbound leg through the trunk connects.
    Bad:  sipTerminationUri: "sip:10.20.0.5"
    Good: sipTerminationUri: "sip:trunk.example.com"
    Inferred: the whole rule, and which networks count (documentation ranges do not).
    """
    termination = _termination(configuration(target))
    kind = unreachable_host(termination[3].host) if termination else None
    if termination and kind:
        ptr, name, value, uri = termination
        yield Finding(
            ptr,
            f"{name} ({json.dumps(value)}) has host {uri.host}, {kind}: Mindful's cloud cannot "
            "reach it",
            "use the public host name or address of your trunk or SBC, e.g. sip:trunk.example.com",
        )


def _same_destination(primary: str, failover: str) -> bool:
    """Whether two destinations are one: SIP URIs compare case-insensitively.

    Blank and malformed values are never the same: CT401 to CT404, CT501 and CT502 report them.
    """
    first, second = primary.strip(), failover.strip()
    if e164_problem(first) is not None and sip_problem(first) is not None:
        return False
    if SIP_SCHEME.match(first) and SIP_SCHEME.match(second):
        return first.casefold() == second.casefold()
    return first == second


@rule("CT509", "failover-equals-primary", "warning", "3.18")
def failover_equals_primary(target: CallTarget) -> Iterator[Finding]:
    """A failover destination must differ from the destination it stands in for.

    Why: failover dials its destination when the primary fails; the same destination fails
    the same way, so callers are lost instead of rerouted.
    Bad:  callbackAgentDestination: "+13125550142", callbackFailoverAgentDestination: "+13125550142"
    Good: callbackAgentDestination: "+13125550142", callbackFailoverAgentDestination: "+13125550143"
    """
    for mapping, path, prefix, _ in _scopes(configuration(target)):
        for primary_key, failover_key in FAILOVER_PAIRS:
            primary, failover = string(mapping, primary_key), string(mapping, failover_key)
            if (
                primary is not None
                and failover is not None
                and _same_destination(primary, failover)
            ):
                yield Finding(
                    pointer(*path, failover_key),
                    f"{prefix}{failover_key} ({json.dumps(failover)}) is the same destination "
                    f"as {prefix}{primary_key} ({json.dumps(primary)})",
                    f"point {failover_key} at another site or number",
                )


@rule("CT510", "customer-tls-transport-mismatch", "warning", "inferred")
def customer_tls_transport_mismatch(target: CallTarget) -> Iterator[Finding]:
    """sipTerminationUri must not contradict useTlsForCustomerCallLeg.

    Why: the customer leg goes out through the SIP trunk, so the same conflicts as on the agent
    leg (CT505) fail it or leave it unencrypted.
    Bad:  useTlsForCustomerCallLeg: false, sipTerminationUri: "sips:trunk.example.com"
    Good: useTlsForCustomerCallLeg: true, sipTerminationUri: "sips:trunk.example.com"
    Inferred: the whole rule, the counterpart of CT505 for the customer leg.
    """
    cfg = configuration(target)
    termination = _termination(cfg)
    legs = [termination] if termination else []
    yield from _transport_mismatches(cfg, "useTlsForCustomerCallLeg", legs)
