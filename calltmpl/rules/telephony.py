"""Rules on destinations and their telephony types (reference item 3.15)."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from calltmpl.rules.registry import (
    CallTarget,
    Finding,
    configuration,
    member,
    pointer,
    rule,
    string,
)

# E.164: "+", a country code that does not start with 0, at most 15 digits in all. Fewer than 8
# digits is no dialable number in any plan.
E164_DIGITS = range(8, 16)
# NANP (+1) numbers: a 3-digit area code and a 7-digit number after the 1.
NANP_DIGITS_AFTER_ONE = 10
PORTS = range(1, 65536)

_SIP_SCHEME = re.compile(r"sips?:", re.IGNORECASE)
# RFC 3261 user (unreserved, escaped, user-unreserved) with an optional ":password".
_SIP_USER = re.compile(r"[A-Za-z0-9\-_.!~*'()%&=+$,;?/]+(:[A-Za-z0-9\-_.!~*'()%&=+$,]*)?")
_DNS_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_DNS_TOP_LABEL = re.compile(r"[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_SIP_PARAM = re.compile(r"[A-Za-z0-9\-_.!~*'%]+(=[A-Za-z0-9\-_.!~*'%\[\]/:&+$]+)?")
_PORT = re.compile(r"[0-9]{1,5}")

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


def _e164_problem(value: str) -> str | None:
    """What keeps ``value`` from being an E.164 number, or None when it is one."""
    if value != value.strip():
        return "it has leading or trailing spaces"
    if not value.startswith("+"):
        return "it does not start with +"
    digits = value[1:]
    if not re.fullmatch(r"[0-9]*", digits):
        return "it has characters other than digits after the +"
    if digits.startswith("0"):
        return "no country code starts with 0"
    if len(digits) not in E164_DIGITS:
        return f"it has {len(digits)} digits, not {E164_DIGITS[0]} to {E164_DIGITS[-1]}"
    if digits.startswith("1") and len(digits) != 1 + NANP_DIGITS_AFTER_ONE:
        return (
            f"a +1 (NANP) number has {NANP_DIGITS_AFTER_ONE} digits after the 1, "
            f"not {len(digits) - 1}"
        )
    return None


def _host_problem(host: str) -> str | None:
    """What keeps ``host`` from being a DNS name or IPv4 address, or None."""
    if not host:
        return "it has no host"
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return f"host {json.dumps(host)} is not a valid IPv4 address"
        return None
    labels = host.split(".")
    if (
        len(host) > 253
        or not all(_DNS_LABEL.fullmatch(label) for label in labels)
        or not _DNS_TOP_LABEL.fullmatch(labels[-1])
    ):
        return f"host {json.dumps(host)} is not a valid DNS name or IPv4 address"
    return None


def _hostport_problem(hostport: str) -> str | None:
    """What is wrong with ``host[:port]`` (host a DNS name, IPv4 or [IPv6]), or None."""
    if hostport.startswith("["):
        host, bracket, rest = hostport[1:].partition("]")
        if not bracket:
            return f"host {json.dumps(hostport)} has no closing ]"
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return f"host {json.dumps(f'[{host}]')} is not a valid [IPv6] address"
        if rest and not rest.startswith(":"):
            return f"{json.dumps(rest)} after host [{host}] is not :port"
        colon, port = rest[:1], rest[1:]
    else:
        host, colon, port = hostport.partition(":")
        problem = _host_problem(host)
        if problem:
            return problem
    if colon and not (_PORT.fullmatch(port) and int(port) in PORTS):
        return f"port {json.dumps(port)} is not a number from {PORTS[0]} to {PORTS[-1]}"
    return None


def _sip_problem(value: str) -> str | None:
    """What keeps ``value`` from being a sip: or sips: URI, or None when it is one."""
    if value != value.strip():
        return "it has leading or trailing spaces"
    scheme = _SIP_SCHEME.match(value)
    if not scheme:
        return "it does not start with sip: or sips:"
    user, at, rest = value[scheme.end() :].partition("@")
    if not at:
        rest = user
    elif not _SIP_USER.fullmatch(user):
        return f"the user part {json.dumps(user)} is empty or has characters a SIP URI forbids"
    hostport, semicolon, params = rest.partition(";")
    problem = _hostport_problem(hostport)
    if problem:
        return problem
    if semicolon and not all(_SIP_PARAM.fullmatch(p) for p in params.split(";")):
        return f"the parameters {json.dumps(';' + params)} are not ;name or ;name=value"
    return None


# Per telephony type: what the destination must be, and what keeps a value from being one.
FORMS: dict[str, tuple[str, Callable[[str], str | None]]] = {
    "PSTN": ("an E.164 number", _e164_problem),
    "SIP": ("a SIP URI", _sip_problem),
}


def _mismatch(
    mapping: Mapping[str, Any], path: tuple[str | int, ...], prefix: str, pair: tuple[str, str]
) -> Finding | None:
    """A finding when the destination of ``pair`` in ``mapping`` does not fit its type."""
    destination_key, type_key = pair
    destination, kind = string(mapping, destination_key), string(mapping, type_key)
    if not destination or not destination.strip() or kind not in FORMS:
        return None
    noun, problem_of = FORMS[kind]
    problem = problem_of(destination)
    if problem is None:
        return None
    type_name = prefix + type_key
    if kind == "PSTN" and _sip_problem(destination) is None:
        hint = f"the value is a SIP URI: set {type_name}: SIP"
    elif kind == "SIP" and _e164_problem(destination) is None:
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
    cfg = configuration(target)
    candidates = [_mismatch(cfg, ("configuration",), "", pair) for pair in PAIRS]
    entries = member(cfg, "dynamicDnisMapping")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(entry, Mapping):
            path = ("configuration", "dynamicDnisMapping", index)
            prefix = f"dynamicDnisMapping[{index}]."
            candidates.extend(_mismatch(entry, path, prefix, pair) for pair in ENTRY_PAIRS)
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
    if _e164_problem(value) is None or _sip_problem(value) is None:
        return
    if _SIP_SCHEME.match(value.strip()):
        problem = _sip_problem(value)
    elif value.strip().startswith("+"):
        problem = _e164_problem(value)
    else:
        problem = "it starts with neither + nor sip: or sips:"
    yield Finding(
        pointer("configuration", "callbackFailoverAgentDestination"),
        f"callbackFailoverAgentDestination ({json.dumps(value)}) is neither an E.164 number "
        f"nor a SIP URI: {problem}",
        "write a number such as +13125550143 or a URI such as sip:failover@cc.example.com",
    )
