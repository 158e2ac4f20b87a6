"""Rules on lengths, ranges and orderings of numeric members (reference items 3.1, 3.2, 3.7)."""

from __future__ import annotations

from collections.abc import Iterator

from calltmpl.rules.registry import (
    CallTarget,
    Finding,
    configuration,
    integer,
    member,
    pointer,
    rule,
)

# E.164 allows at most 15 digits; longer input only makes sense with an extension.
E164_MAX_DIGITS = 15
# Below this ceiling the value was most likely meant as minutes, not seconds.
ECBT_CEILING_FLOOR_SECONDS = 60
# Mindful's documented limit on entries in dynamicDnisMapping.
DNIS_MAPPING_MAX_ENTRIES = 50


@rule("CT301", "callback-number-length-order", "error", "3.1")
def callback_number_length_order(target: CallTarget) -> Iterator[Finding]:
    """The shortest accepted callback number must not be longer than the longest.

    Why: no number can satisfy both bounds, so every caller's registration fails.
    Bad:  minCallbackNumberLength: 12, maxCallbackNumberLength: 10
    Good: minCallbackNumberLength: 10, maxCallbackNumberLength: 11
    """
    cfg = configuration(target)
    low = integer(cfg, "minCallbackNumberLength")
    high = integer(cfg, "maxCallbackNumberLength")
    if low is not None and high is not None and low > high:
        yield Finding(
            pointer("configuration", "minCallbackNumberLength"),
            f"minCallbackNumberLength ({low}) is greater than maxCallbackNumberLength ({high})",
            "swap the two values, or lower minCallbackNumberLength",
        )


@rule("CT302", "callback-number-length-positive", "error", "3.1")
def callback_number_length_positive(target: CallTarget) -> Iterator[Finding]:
    """Both callback number length bounds must be at least 1.

    Why: a bound of 0 or less accepts an empty callback number, or none at all.
    Bad:  minCallbackNumberLength: 0
    Good: minCallbackNumberLength: 10
    """
    cfg = configuration(target)
    for key in ("minCallbackNumberLength", "maxCallbackNumberLength"):
        value = integer(cfg, key)
        if value is not None and value < 1:
            yield Finding(
                pointer("configuration", key),
                f"{key} ({value}) is less than 1",
                "use the digit count of a callback number, e.g. 10 for NANP numbers",
            )


@rule("CT303", "callback-number-length-beyond-e164", "warning", "3.1")
def callback_number_length_beyond_e164(target: CallTarget) -> Iterator[Finding]:
    """A callback number longer than 15 digits needs allowCallbackExtension.

    Why: E.164 numbers have at most 15 digits; longer input is only meaningful as an extension.
    Bad:  maxCallbackNumberLength: 20, allowCallbackExtension: false
    Good: maxCallbackNumberLength: 15, allowCallbackExtension: false
    """
    cfg = configuration(target)
    high = integer(cfg, "maxCallbackNumberLength")
    # Absent or null is the documented default, false; a value of another type is the schema's.
    extension = member(cfg, "allowCallbackExtension")
    if extension is not None and extension is not False:
        return
    if high is not None and high > E164_MAX_DIGITS:
        yield Finding(
            pointer("configuration", "maxCallbackNumberLength"),
            f"maxCallbackNumberLength ({high}) is greater than {E164_MAX_DIGITS}, "
            "the most digits of an E.164 number, while allowCallbackExtension is not true",
            f"lower maxCallbackNumberLength to {E164_MAX_DIGITS} or less, "
            "or set allowCallbackExtension: true",
        )


@rule("CT304", "ecbt-playback-order", "error", "3.2")
def ecbt_playback_order(target: CallTarget) -> Iterator[Finding]:
    """The floor of the spoken callback time must not be above its ceiling.

    Why: no estimated callback time (ECBT) can be spoken within both bounds.
    Bad:  minEcbtPlayback: 3600, maxEcbtPlayback: 600
    Good: minEcbtPlayback: 60, maxEcbtPlayback: 14400
    """
    cfg = configuration(target)
    low = integer(cfg, "minEcbtPlayback")
    high = integer(cfg, "maxEcbtPlayback")
    if low is not None and high is not None and low > high:
        yield Finding(
            pointer("configuration", "minEcbtPlayback"),
            f"minEcbtPlayback ({low}) is greater than maxEcbtPlayback ({high})",
            "both are seconds: swap the two values, or lower minEcbtPlayback",
        )


@rule("CT305", "ecbt-playback-ceiling-in-minutes", "warning", "3.2")
def ecbt_playback_ceiling_in_minutes(target: CallTarget) -> Iterator[Finding]:
    """The ceiling of the spoken callback time is in seconds and is rarely under a minute.

    Why: a value below 60 was most likely meant as minutes; callers then hear a wrong estimate.
    Bad:  maxEcbtPlayback: 240
    Good: maxEcbtPlayback: 14400
    """
    high = integer(configuration(target), "maxEcbtPlayback")
    if high is None or high >= ECBT_CEILING_FLOOR_SECONDS:
        return
    hint = "maxEcbtPlayback is in seconds: e.g. 14400 for four hours"
    if high > 0:
        hint = f"maxEcbtPlayback is in seconds: for {high} minutes write {high * 60}"
    yield Finding(
        pointer("configuration", "maxEcbtPlayback"),
        f"maxEcbtPlayback ({high}) is less than {ECBT_CEILING_FLOOR_SECONDS} seconds",
        hint,
    )


@rule("CT313", "dnis-mapping-limit", "error", "3.7")
def dnis_mapping_limit(target: CallTarget) -> Iterator[Finding]:
    """A call target holds at most 50 dynamicDnisMapping entries.

    Why: Mindful documents a limit of 50 entries; a longer table is rejected.
    Bad:  dynamicDnisMapping with 51 entries
    Good: dynamicDnisMapping with 50 entries or fewer, the rest moved to a second call target
    """
    entries = member(configuration(target), "dynamicDnisMapping")
    if isinstance(entries, list) and len(entries) > DNIS_MAPPING_MAX_ENTRIES:
        yield Finding(
            pointer("configuration", "dynamicDnisMapping"),
            f"dynamicDnisMapping has {len(entries)} entries, more than the "
            f"{DNIS_MAPPING_MAX_ENTRIES} allowed",
            "split the inbound numbers across call targets of at most "
            f"{DNIS_MAPPING_MAX_ENTRIES} entries each",
        )
