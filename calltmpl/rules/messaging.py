"""Rules on SMS messaging (reference items 3.19 to 3.23)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from calltmpl.rules.forms import SMS_SIZES, e164_problem, in_gsm7, shown_character, sms_count
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

# Mindful SMS reaches +1 (NANP) numbers only.
NANP_COUNTRY_CODE = "1"
# SMS short codes in the NANP have 5 or 6 digits.
SHORT_CODE = re.compile(r"[0-9]{5,6}")
# The Mindful UI does not accept a message text longer than this.
SMS_TEXT_MAX_CHARACTERS = 500
# The notifications that carry an `enabled` switch; each sends an SMS when on.
NOTIFICATIONS = (
    "confirmationNotification",
    "failedNotification",
    "reminderNotification",
    "successfulNotification",
)
# Every member of messaging that carries a text.
TEXTS = (*NOTIFICATIONS, "scheduledCallbackNotification", "voiceToMessage")


def _sms_features(target: CallTarget) -> list[str]:
    """The SMS features that are on, named as written in the configuration."""
    cfg = configuration(target)
    messaging = member(cfg, "messaging")
    features = [
        f"messaging.{name}.enabled"
        for name in NOTIFICATIONS
        if boolean(member(messaging, name), "enabled") is True
    ]
    if boolean(messaging, "offerMessageIntercept") is True:
        features.append("messaging.offerMessageIntercept")
    if string(cfg, "scheduledCallbackExperience") == "Text":
        features.append('scheduledCallbackExperience "Text"')
    return features


@rule("CT601", "sms-handle-missing", "error", "3.19")
def sms_handle_missing(target: CallTarget) -> Iterator[Finding]:
    """SMS features need a messaging handle to send from.

    Why: notifications, message intercept and text scheduling all send SMS from
    messaging.handle; without one no message goes out.
    Bad:  messaging: {handle: "", confirmationNotification: {enabled: true}}
    Good: messaging: {handle: "+13125550100", confirmationNotification: {enabled: true}}
    """
    messaging = member(configuration(target), "messaging")
    if messaging is not None and not isinstance(messaging, Mapping):
        return
    handle = member(messaging, "handle")
    if handle is not None and (not isinstance(handle, str) or handle.strip()):
        return
    features = _sms_features(target)
    if not features:
        return
    if handle is None:
        shown = "is missing" if messaging is None or "handle" not in messaging else "is null"
    else:
        shown = f"({json.dumps(handle)}) is empty"
    yield Finding(
        pointer("configuration", "messaging", "handle"),
        f"messaging.handle {shown} while SMS features are on: {', '.join(features)}",
        "set messaging.handle to the SMS sender, a +1 number such as +13125550100 or a "
        "5-6 digit short code, or turn those features off",
    )


def _emptiness(cfg: Mapping[str, Any], *keys: str) -> str | None:
    """How the text at ``configuration.<keys>`` is empty, or None when it is not.

    "<name> is missing", "<name> is null" (for the first member on the way that is) or
    "<name> ("") is empty"; None for a non-blank string, a value of another type, or a parent of
    another type: the schema reports those.
    """
    node: Any = cfg
    name = ""
    for key in keys:
        name = f"{name}.{key}" if name else key
        if not isinstance(node, Mapping):
            return None
        if key not in node:
            return f"{name} is missing"
        if node[key] is None:
            return f"{name} is null"
        node = node[key]
    if isinstance(node, str) and not node.strip():
        return f"{name} ({json.dumps(node)}) is empty"
    return None


def _texts(target: CallTarget) -> Iterator[tuple[str, str]]:
    """Every message text that is a string: its name as written, and the text."""
    messaging = member(configuration(target), "messaging")
    for part in TEXTS:
        text = string(member(messaging, part), "text")
        if text is not None:
            yield f"messaging.{part}.text", text


def _handle_problem(handle: str) -> str | None:
    """What keeps ``handle`` from being a +1 number or a short code, or None when it is one."""
    if SHORT_CODE.fullmatch(handle):
        return None
    if handle.startswith("+" + NANP_COUNTRY_CODE) or handle != handle.strip():
        return e164_problem(handle)
    if handle.startswith("+"):
        return "it is a number outside +1 (NANP), where Mindful sends no SMS"
    if re.fullmatch(r"[0-9]+", handle):
        return f"it has {len(handle)} digits, not 5 or 6, and a number starts with +1"
    return "it starts with neither + nor a digit"


@rule("CT602", "sms-handle-form", "error", "3.20")
def sms_handle_form(target: CallTarget) -> Iterator[Finding]:
    """The messaging handle must be a +1 number or a 5-6 digit short code.

    Why: Mindful SMS reaches +1 (NANP) numbers only, so texts are sent from a NANP number or a
    short code; any other sender sends nothing.
    Bad:  messaging: {handle: "+442079460123"}
    Good: messaging: {handle: "+13125550100"}
    """
    handle = string(member(configuration(target), "messaging"), "handle")
    problem = _handle_problem(handle) if handle and handle.strip() else None
    if problem:
        yield Finding(
            pointer("configuration", "messaging", "handle"),
            f"messaging.handle ({json.dumps(handle)}) is neither a +1 (NANP) number nor a 5-6 "
            f"digit short code: {problem}",
            "write a number such as +13125550100 or a short code such as 55501",
        )


@rule("CT603", "notification-text-empty", "error", "3.21")
def notification_text_empty(target: CallTarget) -> Iterator[Finding]:
    """An enabled notification needs a text.

    Why: the notification is an SMS; with no text there is nothing to send.
    Bad:  confirmationNotification: {enabled: true, text: ""}
    Good: confirmationNotification: {enabled: true, text: "Your callback is booked."}
    """
    cfg = configuration(target)
    messaging = member(cfg, "messaging")
    for name in NOTIFICATIONS:
        if boolean(member(messaging, name), "enabled") is not True:
            continue
        emptiness = _emptiness(cfg, "messaging", name, "text")
        if emptiness:
            yield Finding(
                pointer("configuration", "messaging", name, "text"),
                f"{emptiness} while messaging.{name}.enabled is true",
                f"write the text of the SMS, or set messaging.{name}.enabled: false",
            )


@rule("CT604", "message-intercept-text-empty", "error", "3.21")
def message_intercept_text_empty(target: CallTarget) -> Iterator[Finding]:
    """Offering message intercept needs the text of the message.

    Why: callers who choose a text instead of a callback get voiceToMessage.text; with none
    they get nothing.
    Bad:  messaging: {offerMessageIntercept: true, voiceToMessage: {text: ""}}
    Good: messaging: {offerMessageIntercept: true, voiceToMessage: {text: "Reply to chat."}}
    """
    cfg = configuration(target)
    if boolean(member(cfg, "messaging"), "offerMessageIntercept") is not True:
        return
    emptiness = _emptiness(cfg, "messaging", "voiceToMessage", "text")
    if emptiness:
        yield Finding(
            pointer("configuration", "messaging", "voiceToMessage", "text"),
            f"{emptiness} while messaging.offerMessageIntercept is true",
            "write the text of the SMS, or set messaging.offerMessageIntercept: false",
        )


@rule("CT605", "sms-text-too-long", "error", "3.21")
def sms_text_too_long(target: CallTarget) -> Iterator[Finding]:
    """A message text must have at most 500 characters.

    Why: 500 characters is the most the Mindful UI accepts for a message text.
    Bad:  confirmationNotification: {text: <a text of 501 characters>}
    Good: confirmationNotification: {text: "Your callback is booked."}
    """
    for name, text in _texts(target):
        if len(text) > SMS_TEXT_MAX_CHARACTERS:
            yield Finding(
                pointer("configuration", *name.split(".")),
                f"{name} has {len(text)} characters, more than the {SMS_TEXT_MAX_CHARACTERS} "
                "Mindful accepts",
                f"shorten it to {SMS_TEXT_MAX_CHARACTERS} characters or fewer",
            )


@rule("CT606", "sms-text-split", "info", "3.21")
def sms_text_split(target: CallTarget) -> Iterator[Finding]:
    """A message text that does not fit in one SMS is sent as several.

    Why: each part is billed as one SMS, and some phones show the parts apart or out of order.
    Bad:  voiceToMessage: {text: <100 characters, one of them a curly apostrophe or an emoji>}
    Good: voiceToMessage: {text: <100 characters, all of them in GSM-7>}
    Inferred: SMS are counted as carriers count them, not as characters: one SMS holds 160
    GSM-7 characters (^ { } [ ] ~ | \\ € count twice), or 70 when any character is outside GSM-7.
    """
    for name, text in _texts(target):
        if len(text) > SMS_TEXT_MAX_CHARACTERS:
            continue
        encoding, units, count = sms_count(text)
        if count < 2:
            continue
        single = SMS_SIZES[encoding][0]
        if encoding == "GSM-7":
            doubled = " (^ { } [ ] ~ | \\ € count twice)" if units > len(text) else ""
            why = f"it takes {units} GSM-7 characters{doubled}, one SMS holds {single}"
            hint = f"shorten it to {single} GSM-7 characters to send one SMS"
        else:
            odd = next(c for c in text if not in_gsm7(c))
            why = f"{shown_character(odd)} is not in GSM-7, so it goes as UCS-2, {single} per SMS"
            hint = "replace characters outside GSM-7 (curly quotes, dashes, emoji)" + (
                "" if len(text) <= SMS_SIZES["GSM-7"][0] else ", and shorten it to 160 characters"
            )
        yield Finding(
            pointer("configuration", *name.split(".")),
            f"{name} ({len(text)} characters) is sent as {count} SMS: {why}",
            hint,
        )


@rule("CT607", "text-scheduling-widget-missing", "error", "3.22")
def text_scheduling_widget_missing(target: CallTarget) -> Iterator[Finding]:
    """Scheduling by text needs the widget the text links to.

    Why: with scheduledCallbackExperience Text, callers get a link to the scheduling widget
    named by scheduledCallbackNotification.widgetId; without one there is nothing to link to.
    Bad:  scheduledCallbackExperience: Text, scheduledCallbackNotification: {widgetId: ""}
    Good: scheduledCallbackExperience: Text, scheduledCallbackNotification: {widgetId: "3f1c9a52"}
    """
    cfg = configuration(target)
    if string(cfg, "scheduledCallbackExperience") != "Text":
        return
    emptiness = _emptiness(cfg, "messaging", "scheduledCallbackNotification", "widgetId")
    if emptiness:
        yield Finding(
            pointer("configuration", "messaging", "scheduledCallbackNotification", "widgetId"),
            f'{emptiness} while scheduledCallbackExperience is "Text"',
            "set it to the id of a Scheduler widget, or scheduledCallbackExperience: Voice",
        )


@rule("CT608", "sms-non-nanp-callers", "warning", "3.23")
def sms_non_nanp_callers(target: CallTarget) -> Iterator[Finding]:
    """SMS features never reach callers that countryCodes lets in from outside +1.

    Why: Mindful SMS reaches +1 (NANP) numbers only, so those callers get no confirmation,
    reminder or intercept text while the others do.
    Bad:  countryCodes: "1,44", confirmationNotification: {enabled: true}
    Good: countryCodes: "1", confirmationNotification: {enabled: true}
    """
    value = string(configuration(target), "countryCodes")
    codes = [code.strip().removeprefix("+") for code in (value or "").split(",")]
    foreign = [code for code in codes if re.fullmatch(r"[0-9]+", code) and code != "1"]
    features = _sms_features(target) if foreign else []
    if features:
        yield Finding(
            pointer("configuration", "countryCodes"),
            f"countryCodes ({json.dumps(value)}) lets in callers with country code "
            f"{', '.join(foreign)}, who get no SMS from {', '.join(features)}: Mindful texts "
            "+1 numbers only",
            "limit countryCodes to 1, or serve other countries from a call target without SMS",
        )


@rule("CT609", "text-scheduling-text-empty", "warning", "inferred")
def text_scheduling_text_empty(target: CallTarget) -> Iterator[Finding]:
    """Scheduling by text needs the text that carries the link.

    Why: with scheduledCallbackExperience Text, callers get scheduledCallbackNotification.text
    with the widget link; an empty one sends a bare link or nothing.
    Bad:  scheduledCallbackExperience: Text, scheduledCallbackNotification: {text: ""}
    Good: scheduledCallbackExperience: Text, scheduledCallbackNotification: {text: "Pick a time."}
    Inferred: the whole rule, the counterpart of CT603 and CT604 for text scheduling; a warning,
    as Mindful may fall back to the text of the Global Settings page.
    """
    cfg = configuration(target)
    if string(cfg, "scheduledCallbackExperience") != "Text":
        return
    emptiness = _emptiness(cfg, "messaging", "scheduledCallbackNotification", "text")
    if emptiness:
        yield Finding(
            pointer("configuration", "messaging", "scheduledCallbackNotification", "text"),
            f'{emptiness} while scheduledCallbackExperience is "Text"',
            "write the text of the SMS, e.g. Pick a time for your callback here.",
        )
