"""Rules on lengths, ranges and orderings of numeric members (reference items 3.1 to 3.7)."""

from __future__ import annotations

from collections.abc import Iterator

from calltmpl.rules.forms import E164_MAX_DIGITS
from calltmpl.rules.registry import (
    CallTarget,
    Finding,
    configuration,
    integer,
    member,
    pointer,
    rule,
)

# Below this ceiling the value was most likely meant as minutes, not seconds.
ECBT_CEILING_FLOOR_SECONDS = 60
# Mindful's documented limit on entries in dynamicDnisMapping.
DNIS_MAPPING_MAX_ENTRIES = 50
# [I] The recogniser confidence is a percentage (the API example has 80).
RECOGNITION_CONFIDENCE_RANGE = range(0, 101)
# [I] A customer leg that rings for less than this is hung up before most people can answer it;
# one that rings for longer than the ceiling outlasts any phone's own ringing or voicemail pickup.
DIAL_TIMEOUT_USUAL_SECONDS = range(20, 301)
# [I] Retrying a callback sooner than a minute calls back a customer who just did not answer.
RETRY_DELAY_MIN_SECONDS = 60
# [I] All retries of one callback should be over within a day of the first attempt.
RETRY_SPAN_MAX_SECONDS = 24 * 60 * 60
# [I] Members that are counts, seconds, days, thresholds or slots, so never below 0. Left out:
# callbackCallerId (a phone number) and the members whose lower bound another rule owns:
# min/maxCallbackNumberLength (CT302), agentAnswerRecognitionConfidenceLevel (CT307),
# customerPromptLoops (CT308) and customerDialTimeout (CT309).
NON_NEGATIVE_MEMBERS = (
    "maxActiveCalls",
    "maxCallbackRetries",
    "maxCallbacksToDisableCallback",
    "maxNextDayCallbacks",
    "callbackRetryDelay",
    "endOfDayTimeMargin",
    "maxEcbtPlayback",
    "maxEcbtToDisableCallback",
    "minCallbackDelay",
    "minEcbtPlayback",
    "nextDayCallbackOffset",
    "priorityQueueTimeout",
    "voiceScheduledDaysAvailable",
    "widgetScheduledDaysAvailable",
    "minSchedulingSlots",
)


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
    Bad:  maxEcbtPlayback: 45
    Good: maxEcbtPlayback: 2700
    A negative ceiling is CT312's finding, not this one's.
    """
    high = integer(configuration(target), "maxEcbtPlayback")
    if high is None or high < 0 or high >= ECBT_CEILING_FLOOR_SECONDS:
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


@rule("CT306", "ecbt-floor-above-disable-threshold", "warning", "3.3")
def ecbt_floor_above_disable_threshold(target: CallTarget) -> Iterator[Finding]:
    """The floor of the spoken callback time should be below the time that stops callback offers.

    Why: offers stop once the estimate passes maxEcbtToDisableCallback, so with the floor at or
    above it every caller who is offered a callback hears the floor, never the real estimate.
    Bad:  minEcbtPlayback: 3600, maxEcbtToDisableCallback: 1800
    Good: minEcbtPlayback: 120, maxEcbtToDisableCallback: 7200
    Inferred: the interplay of the two members is our reading; 0 means no threshold.
    """
    cfg = configuration(target)
    floor = integer(cfg, "minEcbtPlayback")
    threshold = integer(cfg, "maxEcbtToDisableCallback")
    if floor is None or threshold is None or threshold <= 0 or floor < threshold:
        return
    yield Finding(
        pointer("configuration", "minEcbtPlayback"),
        f"minEcbtPlayback ({floor}) is not less than maxEcbtToDisableCallback ({threshold}), "
        "so callers offered a callback only ever hear the floor",
        "both are seconds: lower minEcbtPlayback below maxEcbtToDisableCallback, "
        "or raise the threshold",
    )


@rule("CT307", "recognition-confidence-range", "error", "3.4")
def recognition_confidence_range(target: CallTarget) -> Iterator[Finding]:
    """The confidence agent-answer recognition needs is a percentage from 0 to 100.

    Why: a value outside 0-100 is no confidence level the recogniser can reach or use.
    Bad:  agentAnswerRecognitionConfidenceLevel: 800
    Good: agentAnswerRecognitionConfidenceLevel: 80
    Inferred: the range follows from the example value 80; Mindful does not document it.
    """
    level = integer(configuration(target), "agentAnswerRecognitionConfidenceLevel")
    if level is None or level in RECOGNITION_CONFIDENCE_RANGE:
        return
    low, high = RECOGNITION_CONFIDENCE_RANGE[0], RECOGNITION_CONFIDENCE_RANGE[-1]
    yield Finding(
        pointer("configuration", "agentAnswerRecognitionConfidenceLevel"),
        f"agentAnswerRecognitionConfidenceLevel ({level}) is outside {low} to {high}",
        "it is a percentage: e.g. 80",
    )


@rule("CT308", "customer-prompt-loops-positive", "error", "3.5")
def customer_prompt_loops_positive(target: CallTarget) -> Iterator[Finding]:
    """The customer prompt must play at least once.

    Why: with customerPromptLoops below 1 the customer who is called back hears no prompt.
    Bad:  customerPromptLoops: 0
    Good: customerPromptLoops: 3
    Inferred: Mindful does not document the lower bound.
    """
    loops = integer(configuration(target), "customerPromptLoops")
    if loops is not None and loops < 1:
        yield Finding(
            pointer("configuration", "customerPromptLoops"),
            f"customerPromptLoops ({loops}) is less than 1",
            "set how many times the customer prompt plays, e.g. 3",
        )


@rule("CT309", "customer-dial-timeout-positive", "error", "3.5")
def customer_dial_timeout_positive(target: CallTarget) -> Iterator[Finding]:
    """The customer leg must ring for some time.

    Why: with customerDialTimeout at 0 or below the customer's phone never rings long enough
    to answer, so no callback connects.
    Bad:  customerDialTimeout: 0
    Good: customerDialTimeout: 30
    Inferred: Mindful does not document the lower bound.
    """
    timeout = integer(configuration(target), "customerDialTimeout")
    if timeout is not None and timeout <= 0:
        yield Finding(
            pointer("configuration", "customerDialTimeout"),
            f"customerDialTimeout ({timeout}) is not greater than 0 seconds",
            "set how many seconds the customer's phone rings, e.g. 30",
        )


@rule("CT310", "customer-dial-timeout-unusual", "warning", "3.5")
def customer_dial_timeout_unusual(target: CallTarget) -> Iterator[Finding]:
    """The customer leg usually rings for 20 to 300 seconds.

    Why: under 20 seconds most customers cannot reach the phone in time; over 300 seconds is
    longer than any phone rings before voicemail or the network gives up, so the value was
    most likely meant in another unit.
    Bad:  customerDialTimeout: 10
    Good: customerDialTimeout: 30
    Inferred: the bounds are ours. Values of 0 or less are CT309's.
    """
    timeout = integer(configuration(target), "customerDialTimeout")
    if timeout is None or timeout <= 0 or timeout in DIAL_TIMEOUT_USUAL_SECONDS:
        return
    low, high = DIAL_TIMEOUT_USUAL_SECONDS[0], DIAL_TIMEOUT_USUAL_SECONDS[-1]
    hint = "give the customer time to answer, e.g. 30"
    if timeout > high:
        hint = "customerDialTimeout is in seconds: phones stop ringing well before, e.g. use 45"
    yield Finding(
        pointer("configuration", "customerDialTimeout"),
        f"customerDialTimeout ({timeout}) is outside the usual {low} to {high} seconds",
        hint,
    )


@rule("CT311", "retry-delay-too-short", "warning", "3.6")
def retry_delay_too_short(target: CallTarget) -> Iterator[Finding]:
    """Callback retries should be at least a minute apart.

    Why: callbackRetryDelay is in seconds; a retry seconds after a missed callback reaches a
    customer who could not answer a moment ago, and a value under 60 was often meant as minutes.
    Bad:  maxCallbackRetries: 2, callbackRetryDelay: 5
    Good: maxCallbackRetries: 2, callbackRetryDelay: 300
    Inferred: the minimum is ours. Negative delays are CT312's.
    """
    cfg = configuration(target)
    delay = integer(cfg, "callbackRetryDelay")
    retries = integer(cfg, "maxCallbackRetries")
    if delay is None or retries is None or retries <= 0:
        return
    if delay < 0 or delay >= RETRY_DELAY_MIN_SECONDS:
        return
    hint = "callbackRetryDelay is in seconds: e.g. 300 for five minutes"
    if delay > 0:
        hint = f"callbackRetryDelay is in seconds: for {delay} minutes write {delay * 60}"
    yield Finding(
        pointer("configuration", "callbackRetryDelay"),
        f"callbackRetryDelay ({delay}) is less than {RETRY_DELAY_MIN_SECONDS} seconds "
        f"while maxCallbackRetries is {retries}",
        hint,
    )


@rule("CT312", "negative-value", "error", "3.6")
def negative_value(target: CallTarget) -> Iterator[Finding]:
    """Counts, delays, timeouts, thresholds, days and slots are never negative.

    Why: a negative count or duration has no meaning; Mindful rejects or misreads it.
    Bad:  callbackRetryDelay: -300
    Good: callbackRetryDelay: 300
    Members: those in NON_NEGATIVE_MEMBERS. The lower bounds of the callback number
    lengths (CT302), the recognition confidence (CT307), customerPromptLoops (CT308) and
    customerDialTimeout (CT309) are left to those rules, so no value is reported twice.
    """
    cfg = configuration(target)
    for key in NON_NEGATIVE_MEMBERS:
        value = integer(cfg, key)
        if value is not None and value < 0:
            yield Finding(
                pointer("configuration", key),
                f"{key} ({value}) is less than 0",
                f"set {key} to 0 or more",
            )


@rule("CT314", "retries-span-beyond-a-day", "warning", "inferred")
def retries_span_beyond_a_day(target: CallTarget) -> Iterator[Finding]:
    """All retries of one callback should be over within a day.

    Why: retries spread over more than a day call a customer back about a day-old request,
    which is almost never meant; usually callbackRetryDelay was written in minutes or hours.
    Bad:  maxCallbackRetries: 5, callbackRetryDelay: 36000
    Good: maxCallbackRetries: 5, callbackRetryDelay: 600
    Inferred: a check of our own; Mindful documents no such limit.
    """
    cfg = configuration(target)
    delay = integer(cfg, "callbackRetryDelay")
    retries = integer(cfg, "maxCallbackRetries")
    if delay is None or retries is None or delay <= 0 or retries <= 0:
        return
    span = delay * retries
    if span > RETRY_SPAN_MAX_SECONDS:
        yield Finding(
            pointer("configuration", "callbackRetryDelay"),
            f"maxCallbackRetries ({retries}) times callbackRetryDelay ({delay}) is {span} "
            f"seconds of retries, more than a day ({RETRY_SPAN_MAX_SECONDS})",
            "callbackRetryDelay is in seconds: lower it or maxCallbackRetries",
        )
