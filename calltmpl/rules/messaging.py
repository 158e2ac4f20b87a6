"""Rules on SMS messaging (reference item 3.19)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

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

# The notifications that carry an `enabled` switch; each sends an SMS when on.
NOTIFICATIONS = (
    "confirmationNotification",
    "failedNotification",
    "reminderNotification",
    "successfulNotification",
)


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
