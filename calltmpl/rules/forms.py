"""The domain forms the rules check values against, shared by the rule modules.

What makes a value an E.164 number, an inbound number, a SIP URI (and what it says about its
transport), a host Mindful's cloud can reach or an IANA time zone name, and how many SMS a text
takes. Each check returns what keeps a value from its form (a phrase for a message) or None;
nothing here reads a call target or reports a finding: that is the rules' part.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import json
import math
import re
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any, NamedTuple

# --- E.164 numbers -------------------------------------------------------------------------

# E.164: "+", a country code that does not start with 0, at most 15 digits in all. Fewer than 8
# digits is no dialable number in any plan.
E164_MAX_DIGITS = 15
E164_DIGITS = range(8, E164_MAX_DIGITS + 1)
# NANP (+1) numbers: a 3-digit area code and a 7-digit number after the 1.
NANP_DIGITS_AFTER_ONE = 10


def e164_problem(value: str) -> str | None:
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


def inbound_number(key: Any, value: Any) -> str | None:
    """The side of a phoneNumbers entry that is an E.164 number (which side is undocumented)."""
    for side in (key, value):
        if isinstance(side, str) and e164_problem(side) is None:
            return side
    return None


# --- SIP URIs and hosts --------------------------------------------------------------------

PORTS = range(1, 65536)

SIP_SCHEME = re.compile(r"sips?:", re.IGNORECASE)
# RFC 3261 user (unreserved, escaped, user-unreserved) with an optional ":password".
_SIP_USER = re.compile(r"[A-Za-z0-9\-_.!~*'()%&=+$,;?/]+(:[A-Za-z0-9\-_.!~*'()%&=+$,]*)?")
_DNS_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_DNS_TOP_LABEL = re.compile(r"[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_SIP_PARAM = re.compile(r"[A-Za-z0-9\-_.!~*'%]+(=[A-Za-z0-9\-_.!~*'%\[\]/:&+$]+)?")
_PORT = re.compile(r"[0-9]{1,5}")

# [I] What a SIP URI says about its transport: RFC 3261 gives 5060 as the default port of UDP
# and TCP and 5061 as that of TLS; sips: and ;transport=tls ask for TLS.
PLAIN_SIP_PORT = 5060
TLS_SIP_PORT = 5061
PLAIN_TRANSPORTS = ("udp", "tcp")
TLS_TRANSPORT = "tls"
# [I] Hosts Mindful's cloud cannot reach: private (RFC 1918), shared carrier-grade NAT
# (RFC 6598), loopback and link-local, IPv4 and IPv6. Listed rather than taken from
# ipaddress's is_private, which also counts the documentation ranges 192.0.2.0/24,
# 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32: they are fictional public addresses.
UNREACHABLE_NETWORKS = {
    ipaddress.ip_network("10.0.0.0/8"): "a private",
    ipaddress.ip_network("172.16.0.0/12"): "a private",
    ipaddress.ip_network("192.168.0.0/16"): "a private",
    ipaddress.ip_network("100.64.0.0/10"): "a carrier-grade NAT",
    ipaddress.ip_network("127.0.0.0/8"): "a loopback",
    ipaddress.ip_network("169.254.0.0/16"): "a link-local",
    ipaddress.ip_network("fc00::/7"): "a private (unique local)",
    ipaddress.ip_network("::1/128"): "the loopback",
    ipaddress.ip_network("fe80::/10"): "a link-local",
}
UNREACHABLE_NAMES = ("localhost",)


def host_problem(host: str) -> str | None:
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


def hostport_problem(hostport: str) -> str | None:
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
        problem = host_problem(host)
        if problem:
            return problem
    if colon and not (_PORT.fullmatch(port) and int(port) in PORTS):
        return f"port {json.dumps(port)} is not a number from {PORTS[0]} to {PORTS[-1]}"
    return None


def sip_sections(value: str) -> tuple[str, str | None, str, str | None] | None:
    """``value`` cut into scheme, user, ``host[:port]`` and parameters, or None without sip:.

    The scheme is lower-case; the user is None without an ``@``, the parameters (the text after
    the first ``;``) None without a ``;``.
    """
    scheme = SIP_SCHEME.match(value)
    if not scheme:
        return None
    user, at, rest = value[scheme.end() :].partition("@")
    hostport, semicolon, params = (rest if at else user).partition(";")
    return (
        scheme.group()[:-1].lower(),
        user if at else None,
        hostport,
        params if semicolon else None,
    )


def sip_problem(value: str) -> str | None:
    """What keeps ``value`` from being a sip: or sips: URI, or None when it is one."""
    if value != value.strip():
        return "it has leading or trailing spaces"
    sections = sip_sections(value)
    if sections is None:
        return "it does not start with sip: or sips:"
    _, user, hostport, params = sections
    if user is not None and not _SIP_USER.fullmatch(user):
        return f"the user part {json.dumps(user)} is empty or has characters a SIP URI forbids"
    problem = hostport_problem(hostport)
    if problem:
        return problem
    if params is not None and not all(_SIP_PARAM.fullmatch(p) for p in params.split(";")):
        return f"the parameters {json.dumps(';' + params)} are not ;name or ;name=value"
    return None


class SipUri(NamedTuple):
    """The parts of a valid SIP URI that the rules read."""

    secure: bool  # the scheme is sips:
    host: str  # as written, without the brackets of an IPv6 address
    port: int | None  # None when the URI names no port
    params: Mapping[str, str]  # names lower-case (they are case-insensitive); "" for a bare ;name


def parse_sip(value: str) -> SipUri | None:
    """The parts of ``value`` when it is a valid sip: or sips: URI, else None."""
    sections = sip_sections(value)
    if sections is None or sip_problem(value) is not None:
        return None
    scheme, _, hostport, params = sections
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        port = rest[1:]
    else:
        host, _, port = hostport.partition(":")
    pairs = [p.partition("=") for p in params.split(";")] if params is not None else []
    return SipUri(
        scheme == "sips",
        host,
        int(port) if port else None,
        {name.lower(): text for name, _, text in pairs},
    )


def ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``host`` as an IP address, or None when it is a DNS name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


# Per telephony type: what a destination must be, and what keeps a value from being one.
DESTINATION_FORMS: dict[str, tuple[str, Callable[[str], str | None]]] = {
    "PSTN": ("an E.164 number", e164_problem),
    "SIP": ("a SIP URI", sip_problem),
}


def transport_conflict(uri: SipUri, tls: bool) -> str | None:
    """What in ``uri`` contradicts TLS being ``tls``, or None when nothing does."""
    transport = uri.params.get("transport", "").lower()
    if tls and transport in PLAIN_TRANSPORTS:
        return f"says transport={transport}"
    if tls and uri.port == PLAIN_SIP_PORT:
        return f"names port {PLAIN_SIP_PORT}, the port of plain SIP"
    if not tls and uri.secure:
        return "is a sips: URI, which requires TLS"
    if not tls and transport == TLS_TRANSPORT:
        return f"says transport={TLS_TRANSPORT}"
    if not tls and uri.port == TLS_SIP_PORT:
        return f"names port {TLS_SIP_PORT}, the port of SIP over TLS"
    return None


def unreachable_host(host: str) -> str | None:
    """What kind of host unreachable from the internet ``host`` is, or None when it is none."""
    if host.lower() in UNREACHABLE_NAMES:
        return "the name of the local machine"
    address = ip_address(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for network, label in UNREACHABLE_NETWORKS.items():
        if address is not None and address.version == network.version and address in network:
            return f"{label} address"
    return None


# --- Time zones ----------------------------------------------------------------------------

# The IANA time zone database as packaged for Python (the `tzdata` dependency).
TZDATA_PACKAGE = "tzdata"
# The legacy names that tzdata release 2024b turned from zones into links, with their targets:
# older releases, and builds made with posix_only, keep some as zones. Listed so that they warn
# like any other legacy alias whichever tzdata is installed.
ZONES_LINKED_IN_2024B = {
    "CET": "Europe/Brussels",
    "CST6CDT": "America/Chicago",
    "EET": "Europe/Athens",
    "EST": "America/Panama",
    "EST5EDT": "America/New_York",
    "HST": "Pacific/Honolulu",
    "MET": "Europe/Brussels",
    "MST": "America/Phoenix",
    "MST7MDT": "America/Denver",
    "PST8PDT": "America/Los_Angeles",
    "WET": "Europe/Lisbon",
}
# [I] Abbreviations and Windows zone names people write for a time zone, with the zone they most
# likely mean; Mindful serves North America first, so "CST" is US Central, not China.
LOCAL_TIMES = (
    ("America/New_York", "US Eastern time", ("EST", "EDT", "Eastern Standard Time")),
    ("America/Chicago", "US Central time", ("CST", "CDT", "Central Standard Time")),
    ("America/Denver", "US Mountain time", ("MST", "MDT", "Mountain Standard Time")),
    ("America/Phoenix", "Arizona time", ("US Mountain Standard Time",)),
    ("America/Los_Angeles", "US Pacific time", ("PST", "PDT", "Pacific Standard Time")),
    ("America/Anchorage", "Alaska time", ("AKST", "AKDT", "Alaskan Standard Time")),
    ("Pacific/Honolulu", "Hawaii time", ("HST", "Hawaiian Standard Time")),
    ("Europe/London", "UK time", ("GMT", "BST", "GMT Standard Time")),
)
LOCAL_TIME_NAMES = {
    name.casefold(): (zone, label) for zone, label, names in LOCAL_TIMES for name in names
}
# A UTC offset written as a zone: "GMT-6", "UTC+05:30", "-0600".
UTC_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+\-\u2212])\s*([0-9]{1,2})(?::?([0-9]{2}))?", re.I)
# The fixed-offset zones tzdata has: Etc/GMT-14 (UTC+14) to Etc/GMT+12 (UTC-12).
ETC_GMT_EAST_HOURS = range(1, 15)
ETC_GMT_WEST_HOURS = range(1, 13)
# How alike a misspelt zone name must be to a real one to be suggested (difflib ratio).
ZONE_SUGGESTION_CUTOFF = 0.8


class Zones(NamedTuple):
    """The zone names of the installed tzdata, as the time zone rules look them up."""

    names: frozenset[str]  # every valid name: zones and links
    legacy: Mapping[str, str]  # legacy alias -> the zone it links to
    folded: Mapping[str, str]  # a name or city, case-folded with "_" for spaces -> the name


def fold_zone_name(name: str) -> str:
    """``name`` as zone names are looked up: stripped, "_" for spaces, case-folded."""
    return name.strip().replace(" ", "_").casefold()


@functools.cache
def zones() -> Zones:
    """The zone names of the tzdata package, read once (about 2 ms)."""
    folder = resources.files(TZDATA_PACKAGE).joinpath("zoneinfo")
    zone_names: set[str] = set()
    links: dict[str, str] = {}
    for line in folder.joinpath("tzdata.zi").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "Z":
            zone_names.add(fields[1])
        elif len(fields) >= 3 and fields[0] == "L":
            links[fields[2]] = fields[1]
    # Names a country uses today are listed in zone.tab, links or not (Europe/Amsterdam).
    listed = {
        columns[2]
        for line in folder.joinpath("zone.tab").read_text(encoding="utf-8").splitlines()
        if not line.startswith("#") and len(columns := line.split("\t")) >= 3
    }
    legacy = {
        alias: zone
        for alias, zone in links.items()
        if alias not in listed and alias != "UTC" and not alias.startswith("Etc/")
    }
    legacy.update(
        (name, zone) for name, zone in ZONES_LINKED_IN_2024B.items() if name in zone_names
    )
    names = zone_names | links.keys()
    folded = {fold_zone_name(name): name for name in sorted(names)}
    for name in sorted(names - legacy.keys()):
        folded.setdefault(fold_zone_name(name.rsplit("/", 1)[-1]), name)
    return Zones(frozenset(names), legacy, folded)


def zone_guesses(value: str) -> list[str]:
    """Canonical zone names close to ``value``, best first."""
    known = zones()
    exact = known.folded.get(fold_zone_name(value))
    found = [exact] if exact else []
    if not found:
        names = sorted(known.names)
        found = difflib.get_close_matches(value, names, n=3, cutoff=ZONE_SUGGESTION_CUTOFF)
    return list(dict.fromkeys(known.legacy.get(name, name) for name in found))


def offset_hint(sign: str, hours: int, minutes: int) -> str:
    """What to write instead of the UTC offset ``sign``, ``hours``:``minutes`` as a zone."""
    hint = (
        "a UTC offset ignores daylight saving: write the zone of the call centre's city, "
        "e.g. America/Chicago"
    )
    if minutes:
        return hint
    if hours == 0:
        return f"{hint}, or UTC"
    east = sign == "+"
    if hours in (ETC_GMT_EAST_HOURS if east else ETC_GMT_WEST_HOURS):
        etc = f"Etc/GMT{'-' if east else '+'}{hours}"
        hint += f"; for UTC{sign}{hours} all year write {etc} (its sign is inverted)"
    return hint


def unknown_zone_hint(value: str) -> str:
    """What to write instead of ``value``, which is no zone name."""
    local = LOCAL_TIME_NAMES.get(fold_zone_name(value).replace("_", " "))
    if local:
        zone, label = local
        return f"{json.dumps(value.strip())} is no zone name: for {label} write {zone}"
    offset = UTC_OFFSET.fullmatch(value.strip())
    if offset:
        sign = "+" if offset[1] == "+" else "-"
        return offset_hint(sign, int(offset[2]), int(offset[3] or 0))
    guesses = zone_guesses(value)
    if guesses:
        return f"did you mean {' or '.join(guesses)}?"
    return "write a zone name of the form Region/City, e.g. America/Chicago or Europe/London"


# --- SMS texts -----------------------------------------------------------------------------

# [I] Mindful sends texts in the standard SMS encodings: GSM-7 when every character is in its
# alphabet (those of the extension table take two), UCS-2 otherwise. Per encoding: characters
# in one SMS, and per part of a split one (the part header takes the rest).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
SMS_SIZES = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


def in_gsm7(character: str) -> bool:
    """Whether ``character`` can be sent in GSM-7 (basic alphabet or extension table)."""
    return character in GSM7_BASIC or character in GSM7_EXTENSION


def sms_count(text: str) -> tuple[str, int, int]:
    """The encoding ``text`` is sent in, the characters it takes there, and how many SMS."""
    if all(in_gsm7(c) for c in text):
        encoding, units = "GSM-7", len(text) + sum(c in GSM7_EXTENSION for c in text)
    else:
        encoding, units = "UCS-2", len(text.encode("utf-16-le")) // 2
    single, part = SMS_SIZES[encoding]
    return encoding, units, 1 if units <= single else math.ceil(units / part)


def shown_character(character: str) -> str:
    """A character for a message: quoted when printable, always with its code point."""
    code = f"U+{ord(character):04X}"
    return (
        f"{json.dumps(character, ensure_ascii=False)} ({code})" if character.isprintable() else code
    )
