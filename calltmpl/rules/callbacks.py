"""Rules on the switches of agent-answer recognition, scheduled and next-day callbacks,
registration and the double check, and the members each needs (reference items 3.11 to 3.14)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from calltmpl.rules.registry import (
    CallTarget,
    Finding,
    boolean,
    configuration,
    integer,
    pointer,
    rule,
    string,
)

# [I] priorityQueueTimeout that stands for the UI's "infinite".
INFINITE_PRIORITY_QUEUE_TIMEOUT = 0
# The firstPartyCalled value agent-answer recognition needs.
RECOGNITION_FIRST_PARTY = "customer"


class _Channel(NamedTuple):
    """A scheduled-callback channel: its offer switch (with the documented default), its
    after-hours switch and its days available."""

    offer: str
    offer_default: bool
    after_hours: str
    days: str


# Documented defaults: voice scheduling is off unless set, widget scheduling on.
CHANNELS = (
    _Channel(
        "offerScheduledCallbackVoice",
        False,
        "enableVoiceScheduledCallbackAfterHours",
        "voiceScheduledDaysAvailable",
    ),
    _Channel(
        "offerScheduledCallbackWidget",
        True,
        "enableWidgetScheduledCallbackAfterHours",
        "widgetScheduledDaysAvailable",
    ),
)
# Every way a registered callback can be offered, with the documented default of each switch.
OFFERS = (
    ("offerAsapCallback", False),
    ("offerScheduledCallbackVoice", False),
    ("offerScheduledCallbackWidget", True),
    ("offerNextDayCallback", False),
)


def _switch(cfg: Mapping[str, Any], key: str, default: bool = False) -> bool | None:
    """A switch as Mindful reads it: absent or null is ``default``; another type is None."""
    value = cfg.get(key)
    if value is None:
        return default
    return value if isinstance(value, bool) else None


def _state(cfg: Mapping[str, Any], key: str, default: bool | None = None) -> str:
    """``key`` and its value for a message, naming the default an absent or null one takes."""
    shown = f"{key} is missing" if key not in cfg else f"{key} is {json.dumps(cfg[key])}"
    if cfg.get(key) is None and default is not None:
        shown += f" (default {json.dumps(default)})"
    return shown


def _keywords(cfg: Mapping[str, Any]) -> list[str] | None:
    """The non-blank recognition keywords; None when the member is not a list."""
    words = cfg.get("agentAnswerRecognitionKeywords")
    if not isinstance(words, list):
        return None
    return [word for word in words if isinstance(word, str) and word.strip()]


def _offered_channels(cfg: Mapping[str, Any]) -> list[_Channel]:
    return [c for c in CHANNELS if _switch(cfg, c.offer, c.offer_default) is True]


@rule("CT410", "recognition-needs-customer-first", "error", "3.11")
def recognition_needs_customer_first(target: CallTarget) -> Iterator[Finding]:
    """Agent-answer recognition needs the customer called first and held for a live agent.

    Why: recognition listens for the agent answering a call the customer is already on; Mindful
    documents that it needs firstPartyCalled "customer" and waitForLiveAgent true.
    Bad:  allowAgentAnswerRecognition: true, firstPartyCalled: agent
    Good: allowAgentAnswerRecognition: true, firstPartyCalled: customer, waitForLiveAgent: true
    """
    cfg = configuration(target)
    if _switch(cfg, "allowAgentAnswerRecognition") is not True:
        return
    first = cfg.get("firstPartyCalled")
    if (first is None or isinstance(first, str)) and first != RECOGNITION_FIRST_PARTY:
        yield Finding(
            pointer("configuration", "firstPartyCalled"),
            f"{_state(cfg, 'firstPartyCalled')} while allowAgentAnswerRecognition is true, "
            f"which needs {json.dumps(RECOGNITION_FIRST_PARTY)}",
            f"set firstPartyCalled: {RECOGNITION_FIRST_PARTY}, "
            "or allowAgentAnswerRecognition: false",
        )
    if _switch(cfg, "waitForLiveAgent") is False:
        yield Finding(
            pointer("configuration", "waitForLiveAgent"),
            f"{_state(cfg, 'waitForLiveAgent')} while allowAgentAnswerRecognition is true, "
            "which needs it true",
            "set waitForLiveAgent: true, or allowAgentAnswerRecognition: false",
        )


@rule("CT411", "recognition-with-infinite-priority-timeout", "error", "3.11")
def recognition_with_infinite_priority_timeout(target: CallTarget) -> Iterator[Finding]:
    """Agent-answer recognition cannot be combined with an infinite priority queue timeout.

    Why: Mindful documents that the two do not work together.
    Bad:  allowAgentAnswerRecognition: true, priorityQueueTimeout: 0
    Good: allowAgentAnswerRecognition: true, priorityQueueTimeout: 900
    Inferred: that 0 stands for the UI's "infinite" is our reading.
    """
    cfg = configuration(target)
    timeout = integer(cfg, "priorityQueueTimeout")
    if (
        _switch(cfg, "allowAgentAnswerRecognition") is True
        and timeout == INFINITE_PRIORITY_QUEUE_TIMEOUT
    ):
        yield Finding(
            pointer("configuration", "priorityQueueTimeout"),
            f"priorityQueueTimeout ({timeout}, infinite) is set while "
            "allowAgentAnswerRecognition is true, which needs a finite timeout",
            "set priorityQueueTimeout to a number of seconds, e.g. 900, "
            "or allowAgentAnswerRecognition: false",
        )


@rule("CT412", "recognition-without-keywords", "error", "3.11")
def recognition_without_keywords(target: CallTarget) -> Iterator[Finding]:
    """Agent-answer recognition by keyword needs at least one keyword.

    Why: with allowAnyRecognitionForAgentAnswerRecognition false only the keywords count as an
    answer; with none, no agent answer is ever recognised.
    Bad:  allowAnyRecognitionForAgentAnswerRecognition: false, agentAnswerRecognitionKeywords: []
    Good: allowAnyRecognitionForAgentAnswerRecognition: false, agentAnswerRecognitionKeywords:
          [ready]
    """
    cfg = configuration(target)
    if (
        _switch(cfg, "allowAgentAnswerRecognition") is not True
        or _switch(cfg, "allowAnyRecognitionForAgentAnswerRecognition", True) is not False
    ):
        return
    words = cfg.get("agentAnswerRecognitionKeywords")
    if words is None:
        shown = _state(cfg, "agentAnswerRecognitionKeywords")
    elif _keywords(cfg) == []:
        shown = "agentAnswerRecognitionKeywords has no keyword"
    else:
        return
    yield Finding(
        pointer("configuration", "agentAnswerRecognitionKeywords"),
        f"{shown} while allowAgentAnswerRecognition is true and "
        "allowAnyRecognitionForAgentAnswerRecognition is false",
        'add the words agents say to accept a callback, e.g. ["ready"], '
        "or set allowAnyRecognitionForAgentAnswerRecognition: true",
    )


@rule("CT413", "recognition-keywords-ignored", "info", "3.11")
def recognition_keywords_ignored(target: CallTarget) -> Iterator[Finding]:
    """Recognition keywords are ignored while any speech counts as an agent answer.

    Why: with allowAnyRecognitionForAgentAnswerRecognition on (its default) the keywords are
    dead, or the switch was meant to be off.
    Bad:  allowAnyRecognitionForAgentAnswerRecognition: true, agentAnswerRecognitionKeywords:
          [ready]
    Good: allowAnyRecognitionForAgentAnswerRecognition: false, agentAnswerRecognitionKeywords:
          [ready]
    Note: only while allowAgentAnswerRecognition is true; with recognition off every
    recognition member is unused, and templates commonly carry them all.
    """
    cfg = configuration(target)
    words = _keywords(cfg)
    if (
        not words
        or _switch(cfg, "allowAgentAnswerRecognition") is not True
        or _switch(cfg, "allowAnyRecognitionForAgentAnswerRecognition", True) is not True
    ):
        return
    count = f"{len(words)} keyword" if len(words) == 1 else f"{len(words)} keywords"
    yield Finding(
        pointer("configuration", "agentAnswerRecognitionKeywords"),
        f"agentAnswerRecognitionKeywords has {count}, ignored while "
        f"{_state(cfg, 'allowAnyRecognitionForAgentAnswerRecognition', True)}",
        "set allowAnyRecognitionForAgentAnswerRecognition: false to require the keywords, "
        "or remove them",
    )


@rule("CT414", "after-hours-scheduling-not-offered", "warning", "3.12")
def after_hours_scheduling_not_offered(target: CallTarget) -> Iterator[Finding]:
    """After-hours scheduling does nothing on a channel that does not offer scheduling.

    Why: after-hours scheduling extends a channel's scheduled callbacks; while the channel does
    not offer them, the setting is dead or the offer was meant to be on.
    Bad:  enableVoiceScheduledCallbackAfterHours: true, offerScheduledCallbackVoice: false
    Good: enableVoiceScheduledCallbackAfterHours: true, offerScheduledCallbackVoice: true
    Defaults: an absent or null offer takes its default (voice false, widget true). Only an
    after-hours switch written as true is reported: the widget one defaults to true, and a
    default nobody wrote is no mistake.
    """
    cfg = configuration(target)
    for channel in CHANNELS:
        if (
            boolean(cfg, channel.after_hours) is True
            and _switch(cfg, channel.offer, channel.offer_default) is False
        ):
            yield Finding(
                pointer("configuration", channel.after_hours),
                f"{channel.after_hours} is true while "
                f"{_state(cfg, channel.offer, channel.offer_default)}",
                f"set {channel.offer}: true, or {channel.after_hours}: false",
            )


@rule("CT415", "scheduling-without-days", "error", "3.12")
def scheduling_without_days(target: CallTarget) -> Iterator[Finding]:
    """A channel that offers scheduled callbacks needs at least one day to schedule on.

    Why: with 0 days available the caller is offered scheduling but can pick no day.
    Bad:  offerScheduledCallbackVoice: true, voiceScheduledDaysAvailable: 0
    Good: offerScheduledCallbackVoice: true, voiceScheduledDaysAvailable: 7
    Inferred: that 0 days means none, not "no limit", is our reading. An absent or null offer
    takes its default (voice false, widget true); negative days are CT312's.
    """
    cfg = configuration(target)
    for channel in _offered_channels(cfg):
        if integer(cfg, channel.days) == 0:
            yield Finding(
                pointer("configuration", channel.days),
                f"{channel.days} (0) leaves no day to schedule on while "
                f"{_state(cfg, channel.offer, channel.offer_default)}",
                f"set {channel.days} to the days ahead a caller may pick, e.g. 7, "
                f"or {channel.offer}: false",
            )


@rule("CT416", "next-day-time-without-next-day", "info", "3.12")
def next_day_time_without_next_day(target: CallTarget) -> Iterator[Finding]:
    """Announcing the next-day callback time does nothing while next-day callbacks are off.

    Why: the time is only spoken when a next-day callback is offered; the setting is dead or
    offerNextDayCallback was meant to be on.
    Bad:  announceNextDayCallbackTimeOfDay: true, offerNextDayCallback: false
    Good: announceNextDayCallbackTimeOfDay: true, offerNextDayCallback: true
    """
    cfg = configuration(target)
    if (
        boolean(cfg, "announceNextDayCallbackTimeOfDay") is True
        and _switch(cfg, "offerNextDayCallback") is False
    ):
        yield Finding(
            pointer("configuration", "announceNextDayCallbackTimeOfDay"),
            f"announceNextDayCallbackTimeOfDay is true while {_state(cfg, 'offerNextDayCallback')}",
            "set offerNextDayCallback: true, or announceNextDayCallbackTimeOfDay: false",
        )


@rule("CT417", "registration-without-processing", "warning", "3.13")
def registration_without_processing(target: CallTarget) -> Iterator[Finding]:
    """Registering callbacks that are never processed builds a backlog nobody dials.

    Why: callers are promised a callback, but with enableCallbackProcessing off none is made.
    Bad:  enableCallbackRegistration: true, enableCallbackProcessing: false
    Good: enableCallbackRegistration: true, enableCallbackProcessing: true
    Inferred: Mindful documents both switches, not that this pairing is a mistake; it may be
    meant for a short while, e.g. to pause dialling.
    """
    cfg = configuration(target)
    if (
        _switch(cfg, "enableCallbackRegistration") is True
        and _switch(cfg, "enableCallbackProcessing") is False
    ):
        yield Finding(
            pointer("configuration", "enableCallbackRegistration"),
            "enableCallbackRegistration is true while "
            f"{_state(cfg, 'enableCallbackProcessing')}: registered callbacks are never dialled",
            "set enableCallbackProcessing: true, or enableCallbackRegistration: false",
        )


@rule("CT418", "registration-without-offer", "warning", "3.13")
def registration_without_offer(target: CallTarget) -> Iterator[Finding]:
    """Registering callbacks needs at least one way to offer one.

    Why: with ASAP, scheduled (voice and widget) and next-day callbacks all off, no caller can
    register a callback; registration is dead or an offer was meant to be on.
    Bad:  enableCallbackRegistration: true, offerAsapCallback: false, ... all offers false
    Good: enableCallbackRegistration: true, offerAsapCallback: true
    Defaults: an absent or null offer takes its default (offerScheduledCallbackWidget true, the
    others false).
    """
    cfg = configuration(target)
    if _switch(cfg, "enableCallbackRegistration") is not True:
        return
    if any(_switch(cfg, key, default) is not False for key, default in OFFERS):
        return
    states = ", ".join(_state(cfg, key, default) for key, default in OFFERS)
    yield Finding(
        pointer("configuration", "enableCallbackRegistration"),
        f"enableCallbackRegistration is true while no callback is offered: {states}",
        "set offerAsapCallback: true or another offer, or enableCallbackRegistration: false",
    )


@rule("CT419", "double-check-scope-unused", "info", "3.14")
def double_check_scope_unused(target: CallTarget) -> Iterator[Finding]:
    """callbackDoubleCheckScope is unused while enableCallbackDoubleCheck is off.

    Why: the scope only applies to the pending-callback double check; the setting is dead or
    the check was meant to be on.
    Bad:  enableCallbackDoubleCheck: false, callbackDoubleCheckScope: "Call Target"
    Good: enableCallbackDoubleCheck: true, callbackDoubleCheckScope: "Call Target"
    """
    cfg = configuration(target)
    scope = string(cfg, "callbackDoubleCheckScope")
    if scope and scope.strip() and _switch(cfg, "enableCallbackDoubleCheck") is False:
        yield Finding(
            pointer("configuration", "callbackDoubleCheckScope"),
            f"callbackDoubleCheckScope ({json.dumps(scope)}) is set while "
            f"{_state(cfg, 'enableCallbackDoubleCheck')}",
            'set enableCallbackDoubleCheck: true, or callbackDoubleCheckScope: ""',
        )


@rule("CT420", "scheduling-without-slots", "warning", "inferred")
def scheduling_without_slots(target: CallTarget) -> Iterator[Finding]:
    """A channel that offers scheduled callbacks needs at least one slot to offer.

    Why: with minSchedulingSlots at 0 a caller offered scheduling may get no time to pick.
    Bad:  offerScheduledCallbackWidget: true, minSchedulingSlots: 0
    Good: offerScheduledCallbackWidget: true, minSchedulingSlots: 10
    Inferred: a check of our own; an absent or null offer takes its default (voice false,
    widget true); negative slots are CT312's.
    """
    cfg = configuration(target)
    offered = _offered_channels(cfg)
    if offered and integer(cfg, "minSchedulingSlots") == 0:
        states = ", ".join(_state(cfg, c.offer, c.offer_default) for c in offered)
        yield Finding(
            pointer("configuration", "minSchedulingSlots"),
            f"minSchedulingSlots (0) offers no slot while {states}",
            "set minSchedulingSlots to the slots a caller may pick from, e.g. 10",
        )
