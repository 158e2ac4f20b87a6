"""Rules on a call target's name, numbers, country codes, time zone, metadata and post-dial
digits (reference items 3.24 to 3.29)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from calltmpl.rules.forms import (
    LOCAL_TIME_NAMES,
    e164_problem,
    inbound_number,
    unknown_zone_hint,
    zones,
)
from calltmpl.rules.registry import (
    ANSWER,
    CallTarget,
    Finding,
    boolean,
    configuration,
    integer,
    member,
    pointer,
    rule,
    string,
)
from calltmpl.schema import member_names

# [I] countryCodes: country calling codes (1 to 3 digits, none starts with 0) joined by commas,
# with no spaces: the format is undocumented, so we ask for the plainest form ("1,44").
COUNTRY_CODES = re.compile(r"[1-9][0-9]{0,2}(,[1-9][0-9]{0,2})*")
# Keys that can end a caller's metadata entry; "" is no terminator (the entry ends after
# maxLength digits), and a digit would end it while the caller is still keying.
TERMINATORS = ("#", "*")
# [I] postDialDtmf: DTMF digits, with "," and "w" as pauses. An upper-case "W" is reported too:
# dialers differ on it (a longer wait, or no pause at all).
POST_DIAL_DTMF = frozenset("0123456789*#,w")
# Where an agent leg is dialled: at the top level and in every dynamicDnisMapping entry.
AGENT_DESTINATIONS = (
    "callbackAgentDestination",
    "callbackFailoverAgentDestination",
    "chooseHoldAgentDestination",
    "chooseHoldFailoverAgentDestination",
)


def _phone_numbers(target: CallTarget) -> list[tuple[str, str]]:
    """The phoneNumbers entries whose key and value are strings."""
    numbers = member(target, "phoneNumbers")
    if not isinstance(numbers, Mapping):
        return []
    return [(k, v) for k, v in numbers.items() if isinstance(k, str) and isinstance(v, str)]


def _metadata(target: CallTarget) -> list[tuple[int, Mapping[str, Any]]]:
    """The metadata items that are mappings, with their index."""
    items = member(configuration(target), "metadata")
    if not isinstance(items, list):
        return []
    return [(index, item) for index, item in enumerate(items) if isinstance(item, Mapping)]


@rule("CT701", "name-empty", "error", "3.24")
def name_empty(target: CallTarget) -> Iterator[Finding]:
    """A call target needs a name.

    Why: the name is how people find the call target in the Mindful UI and how a push finds
    a target that has no id yet; an empty one identifies nothing.
    Bad:  name: ""
    Good: name: "Billing callbacks"
    """
    name = string(target, "name")
    if name is not None and not name.strip():
        yield Finding(
            pointer("name"),
            f"name ({json.dumps(name)}) is empty: a call target needs a name",
            'set name to what the queue is known by, e.g. "Billing callbacks"',
        )


@rule("CT702", "phone-number-form", "error", "3.24")
def phone_number_form(target: CallTarget) -> Iterator[Finding]:
    """Every phoneNumbers entry needs an E.164 number on one side.

    Why: the entries are the inbound numbers that reach the call target; an entry with no
    number on either side attaches nothing.
    Bad:  phoneNumbers: {"Billing main line": "312-555-0110"}
    Good: phoneNumbers: {"+13125550110": "Billing main line"}
    Inferred: which side holds the number is undocumented, so either side may.
    """
    for key, value in _phone_numbers(target):
        key_problem, value_problem = e164_problem(key), e164_problem(value)
        if key_problem is None or value_problem is None:
            continue
        hint = (
            "write the number as + then country code and number, no spaces or dashes, "
            'e.g. "+13125550110": "Billing main line"'
        )
        if key.isdigit() and e164_problem(f"+{key}") is None:
            # YAML reads an unquoted +13125550110 as the integer 13125550110; tojson then
            # writes the key without its +.
            key_problem = f"the number {key} has no + (YAML reads an unquoted +{key} as a number)"
            hint = f'quote the number: write "+{key}": {json.dumps(value)}'
        elif key in member_names():
            hint = (
                f"{key} is a member of the call target, not an inbound number: is it indented "
                "too deep, inside phoneNumbers?"
            )
        yield Finding(
            pointer("phoneNumbers", key),
            f"phoneNumbers entry {json.dumps(key)}: {json.dumps(value)} has no E.164 number "
            f"on either side (key: {key_problem}; value: {value_problem})",
            hint,
        )


@rule("CT705", "id-in-create-body", "info", "3.25", not_for=(ANSWER,))
def id_in_create_body(target: CallTarget) -> Iterator[Finding]:
    """A body that creates a call target carries no id.

    Why: the server assigns the id when it creates a call target; an id in the body is
    ignored at best, and shows that the body was copied from an existing target.
    Bad:  {id: 4711, name: "Billing callbacks", configuration: {...}}
    Good: {name: "Billing callbacks", configuration: {...}}
    """
    ident = integer(target, "id")
    if ident is not None:
        yield Finding(
            pointer("id"),
            f"id ({ident}) is set, but the server assigns the id when it creates a call target",
            f"remove id unless the body is meant to update call target {ident}",
        )


@rule("CT706", "country-codes-form", "warning", "3.26")
def country_codes_form(target: CallTarget) -> Iterator[Finding]:
    """countryCodes is a comma-separated list of country calling codes.

    Why: callers are checked against these codes; a value in another form may allow no one,
    or not the callers meant.
    Bad:  countryCodes: "+1, +44"
    Good: countryCodes: "1,44"
    Inferred: the format (1 to 3 digits per code, commas, no spaces) is undocumented.
    """
    codes = string(configuration(target), "countryCodes")
    if not codes or COUNTRY_CODES.fullmatch(codes):
        return
    plain = ",".join(re.findall(r"[0-9]+", codes))
    if COUNTRY_CODES.fullmatch(plain):
        hint = f"write {json.dumps(plain)}"
    elif not codes.strip():
        hint = 'write "" for domestic callers only'
    else:
        hint = 'write the codes without + or spaces, e.g. "1,44"'
    yield Finding(
        pointer("configuration", "countryCodes"),
        f"countryCodes ({json.dumps(codes)}) is not a comma-separated list of country calling "
        "codes of 1 to 3 digits",
        hint,
    )


@rule("CT707", "country-code-required-empty", "warning", "3.26")
def country_code_required_empty(target: CallTarget) -> Iterator[Finding]:
    """Requiring a country code needs the country codes callers may enter.

    Why: with requireCountryCode on and countryCodes empty (domestic only), callers must key
    a country code that no list allows.
    Bad:  requireCountryCode: true, countryCodes: ""
    Good: requireCountryCode: true, countryCodes: "44"
    Inferred: the meaning of an empty countryCodes (domestic callers only).
    """
    cfg = configuration(target)
    codes = string(cfg, "countryCodes")
    if boolean(cfg, "requireCountryCode") is True and codes is not None and not codes.strip():
        yield Finding(
            pointer("configuration", "requireCountryCode"),
            f"requireCountryCode (true) is on while countryCodes ({json.dumps(codes)}) is empty",
            'set countryCodes to the codes callers may enter, e.g. "1,44", '
            "or set requireCountryCode: false",
        )


@rule("CT708", "timezone-unknown", "error", "3.27")
def timezone_unknown(target: CallTarget) -> Iterator[Finding]:
    """timezone must be an IANA time zone name, and not empty.

    Why: the call target's hours, scheduled callbacks and after-hours handling are reckoned
    in this zone; abbreviations, offsets and Windows names are no zone names.
    Bad:  timezone: "CST", "GMT-6", "Central Standard Time" or ""
    Good: timezone: "America/Chicago"
    Inferred: that the member takes IANA names (the UI lists zones).
    """
    value = string(configuration(target), "timezone")
    if value is None or value in zones().names:
        return
    if not value.strip():
        yield Finding(
            pointer("configuration", "timezone"),
            f"timezone ({json.dumps(value)}) is empty: the call target's hours need a zone",
            "set timezone to the IANA zone of the call centre's hours, e.g. America/Chicago",
        )
        return
    yield Finding(
        pointer("configuration", "timezone"),
        f"timezone ({json.dumps(value)}) is not an IANA time zone name",
        unknown_zone_hint(value),
    )


@rule("CT709", "timezone-legacy-alias", "warning", "3.27")
def timezone_legacy_alias(target: CallTarget) -> Iterator[Finding]:
    """timezone should be a canonical zone name, not a legacy alias.

    Why: names such as US/Central or Asia/Calcutta are kept only for backward compatibility;
    systems that drop them reject the call target, and EST or GMT never observe the daylight
    saving that the place they stand for does.
    Bad:  timezone: "US/Central"
    Good: timezone: "America/Chicago"
    Inferred: legacy means a link of the IANA database named in no country's zone list.
    """
    value = string(configuration(target), "timezone")
    zone = zones().legacy.get(value) if value else None
    if value is None or zone is None:
        return
    local = LOCAL_TIME_NAMES.get(value.casefold())
    if local and local[0] != zone:
        hint = f"for {local[1]} write {local[0]}; {zone} keeps the rules of {value}"
    else:
        hint = f"write {zone}, which has the same rules"
        if "/" not in value:
            hint += ", or the zone of the call centre's city"
    yield Finding(
        pointer("configuration", "timezone"),
        f"timezone ({json.dumps(value)}) is a legacy alias of {zone}",
        hint,
    )


@rule("CT710", "metadata-duplicate", "error", "3.28")
def metadata_duplicate(target: CallTarget) -> Iterator[Finding]:
    """Two metadata items must not have the same name or slug.

    Why: items are matched by name (case-sensitively) and slug across systems, so the later
    of two alike is shadowed or overwrites the earlier one's value.
    Bad:  metadata: [{name: "Account number", slug: account}, {name: "Account number", ...}]
    Good: metadata: [{name: "Account number", ...}, {name: "Invoice number", ...}]
    """
    items = _metadata(target)
    for key in ("name", "slug"):
        seen: dict[str, int] = {}
        for index, item in items:
            value = string(item, key)
            if not value or not value.strip():
                continue
            if value not in seen:
                seen[value] = index
                continue
            yield Finding(
                pointer("configuration", "metadata", index, key),
                f"metadata[{index}].{key} ({json.dumps(value)}) is the same as "
                f"metadata[{seen[value]}].{key}",
                f"give metadata[{index}] its own {key}, or remove one of the two items",
            )


@rule("CT711", "metadata-numeric-max-length", "error", "3.28")
def metadata_numeric_max_length(target: CallTarget) -> Iterator[Finding]:
    """A numeric metadata item needs a maxLength of at least 1.

    Why: maxLength is the most digits a caller may key; without it, or at 0, the item
    collects nothing.
    Bad:  {type: numeric, name: "Account number"} with no maxLength
    Good: {type: numeric, name: "Account number", maxLength: 8}
    """
    for index, item in _metadata(target):
        if string(item, "type") != "numeric":
            continue
        length = integer(item, "maxLength")
        if length is not None and length >= 1:
            continue
        name = f"metadata[{index}].maxLength"
        if "maxLength" not in item:
            shown = f"{name} is missing"
        elif item["maxLength"] is None:
            shown = f"{name} is null"
        elif length is not None:
            shown = f"{name} ({length}) is less than 1"
        else:
            continue
        yield Finding(
            pointer("configuration", "metadata", index, "maxLength"),
            f"{shown}: a numeric item needs the most digits a caller may key, at least 1",
            "set maxLength to the length of the longest value, e.g. 8 for an account number",
        )


@rule("CT712", "metadata-terminator", "warning", "3.28")
def metadata_terminator(target: CallTarget) -> Iterator[Finding]:
    """A metadata item's terminator is "#" or "*", or "" for none.

    Why: the terminator is the key that ends the caller's entry; a digit ends it while the
    caller is still keying, and any other text is no key at all.
    Bad:  terminator: "0"
    Good: terminator: "#"
    """
    for index, item in _metadata(target):
        value = string(item, "terminator")
        if not value or value in TERMINATORS:
            continue
        if value.strip() in TERMINATORS:
            hint = f"remove the spaces: {json.dumps(value.strip())}"
        else:
            hint = 'use "#" (or "*"), or "" for no terminator'
        yield Finding(
            pointer("configuration", "metadata", index, "terminator"),
            f'metadata[{index}].terminator ({json.dumps(value)}) is not "#" or "*"',
            hint,
        )


@rule("CT713", "post-dial-dtmf-characters", "error", "3.29")
def post_dial_dtmf_characters(target: CallTarget) -> Iterator[Finding]:
    """postDialDtmf holds only digits, "*", "#", and "," or "w" to pause.

    Why: the digits are sent as DTMF tones once the agent leg connects; any other character
    cannot be sent, so the agent-side system never gets its digits.
    Bad:  postDialDtmf: "ww 2#" or "WW2#"
    Good: postDialDtmf: "ww2#"
    Inferred: the allowed characters, and "," and "w" as pauses; "W" is reported.
    """
    value = string(configuration(target), "postDialDtmf")
    if not value:
        return
    bad = list(dict.fromkeys(c for c in value if c not in POST_DIAL_DTMF))
    if not bad:
        return
    fixed = re.sub(r"[\s\-]", "", value.replace("W", "w"))
    if fixed and POST_DIAL_DTMF.issuperset(fixed):
        hint = f"write {json.dumps(fixed)}"
    else:
        hint = 'send digits, "*" and "#" only, with "," or "w" to pause'
    yield Finding(
        pointer("configuration", "postDialDtmf"),
        f"postDialDtmf ({json.dumps(value)}) has {', '.join(json.dumps(c) for c in bad)}: "
        'only digits, "*", "#", "," and "w" are allowed',
        hint,
    )


@rule("CT714", "agent-destination-is-inbound-number", "warning", "inferred")
def agent_destination_is_inbound_number(target: CallTarget) -> Iterator[Finding]:
    """An agent destination must not be one of the call target's own inbound numbers.

    Why: the agent leg would ring back into this same call target, which offers the caller a
    callback again instead of reaching an agent.
    Bad:  phoneNumbers: {"+13125550110": main}, callbackAgentDestination: "+13125550110"
    Good: phoneNumbers: {"+13125550110": main}, callbackAgentDestination: "+13125550142"
    Inferred: our check; the inbound numbers route to Mindful, the destinations to agents.
    """
    own: dict[str, str] = {}
    for key, value in _phone_numbers(target):
        number = inbound_number(key, value)
        if number is not None:
            own.setdefault(number, key)
    if not own:
        return
    cfg = configuration(target)
    places: list[tuple[tuple[str | int, ...], str, Any]] = [(("configuration",), "", cfg)]
    entries = member(cfg, "dynamicDnisMapping")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        where = ("configuration", "dynamicDnisMapping", index)
        places.append((where, f"dynamicDnisMapping[{index}].", entry))
    for path, prefix, mapping in places:
        for name in AGENT_DESTINATIONS:
            destination = string(mapping, name)
            if destination in own:
                yield Finding(
                    pointer(*path, name),
                    f"{prefix}{name} ({json.dumps(destination)}) is an inbound number of this "
                    f"call target (phoneNumbers entry {json.dumps(own[destination])})",
                    "dial the agents' queue or ACD number here, not a number callers dial",
                )


@rule("CT715", "phone-number-repeated", "warning", "inferred")
def phone_number_repeated(target: CallTarget) -> Iterator[Finding]:
    """An inbound number appears in one phoneNumbers entry only.

    Why: a number attaches to a call target once, so a second entry with it is a copy-paste
    slip where another number was meant, and that number reaches no call target.
    Bad:  phoneNumbers: {main: "+13125550110", web: "+13125550110"}
    Good: phoneNumbers: {main: "+13125550110", web: "+13125550111"}
    Inferred: our check; numbers shared across call targets are CT704's.
    """
    first: dict[str, str] = {}
    for key, value in _phone_numbers(target):
        number = inbound_number(key, value)
        if number is None:
            continue
        if number not in first:
            first[number] = key
            continue
        yield Finding(
            pointer("phoneNumbers", key),
            f"phoneNumbers entry {json.dumps(key)} has the number {number} of the earlier "
            f"entry {json.dumps(first[number])}",
            "remove one of the two entries, or correct the number of one",
        )
