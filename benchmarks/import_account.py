"""A generated Mindful account to adopt with ``calltmpl import``, and the figures of doing so.

    python benchmarks/import_account.py [--out account.json]

:func:`account` builds ~40 call targets the way a team's account grows: four families of near
copies (PSTN support, billing, EMEA; SIP partners), each member departing from its family in
a member or two, plus outliers: a lone queue, an old call target with few members, one with
members the API added later and every JSON type (1 vs 1.0, true, null, "", []), one whose
DNIS mapping and one whose messaging the built-in template would not write as they are, and
names that are hard as file names (slashes, quotes, non-ASCII letters, two that make the same
file name). Full configurations come from rendering the built-in templates, as the API would
hold them after a create.

:func:`measure` seeds an in-process sandbox with it, runs ``calltmpl import`` in an empty
repository and returns the figures: median lines of a queue file, lines of the imported
repository (queue files and templates) against a flat JSON dump (indent 2) of the same call
targets, and the time taken. ``--out`` also writes the account, for ``calltmpl sandbox
--seed``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

from calltmpl.diagnostics import Diagnostic  # noqa: E402
from calltmpl.queues import QueueFile  # noqa: E402
from calltmpl.render import Renderer  # noqa: E402

CLIENT_ID, SECRET = "import-bench", "import-bench-Secret-4c1e9b"

_RENDERER = Renderer(())

SUPPORT = {
    "maxCallbackRetries": 4,
    "callbackRetryDelay": 600,
    "customerDialTimeout": 45,
    "ecbtPlaybackType": "exact",
    "minEcbtPlayback": 120,
    "maxEcbtPlayback": 5400,
    "maxEcbtToDisableCallback": 7200,
    "callbackCallerId": 13125550100,
    "mediaSetId": "acme-en-US",
    "offerScheduledCallbackVoice": True,
    "enableVoiceScheduledCallbackAfterHours": True,
    "voiceScheduledDaysAvailable": 5,
    "maxCallbackNumberLength": 11,
    "countryCodes": "1",
    "callerInput": True,
    "messaging": {
        "handle": "+13125550199",
        "confirmationNotification": {
            "enabled": True,
            "text": "Acme Support will call you back. Reply STOP to opt out.",
            "widgetId": "w-support",
        },
        "reminderNotification": {
            "enabled": True,
            "text": "Acme Support calls you in 10 minutes.",
            "widgetId": "w-support",
        },
    },
    "metadata": [
        {
            "name": "Account number",
            "slug": "account-number",
            "type": "numeric",
            "presentTo": "agent",
            "fromClient": False,
            "persistForever": False,
            "maxLength": 10,
            "mediaName": "account_id",
            "terminator": "#",
        }
    ],
}
BILLING = {
    "maxCallbackRetries": 3,
    "callbackRetryDelay": 900,
    "offerNextDayCallback": True,
    "announceNextDayCallbackTimeOfDay": True,
    "maxNextDayCallbacks": 50,
    "nextDayCallbackOffset": 3600,
    "enableCallbackFailover": True,
    "callbackFailoverAgentDestination": "+13125550170",
    "mediaSetId": "acme-billing",
    "useEcbtForEndOfDay": False,
    "endOfDayTimeMargin": 900,
    "offerRescheduleCallback": False,
    "metadata": [
        {
            "name": "Invoice number",
            "slug": "invoice-number",
            "type": "numeric",
            "presentTo": "agent",
            "fromClient": False,
            "persistForever": False,
            "maxLength": 12,
            "mediaName": "invoice_id",
            "terminator": "#",
        }
    ],
}
PARTNERS = {
    "sipTerminationUri": "sip:trunk.partners.example.com",
    "usePaiForAgentDial": True,
    "usePaiForCustomerDial": True,
    "appendUuiToReferToHeader": True,
    "firstPartyCalled": "customer",
    "allowAgentAnswerRecognition": True,
    "agentAnswerRecognitionConfidenceLevel": 70,
    "priorityQueueTimeout": 600,
    "maxActiveCalls": 20,
    "mediaSetId": "partners",
    "callbackCallerId": 13125550300,
}
EMEA = {
    "countryCodes": "44,33,49",
    "requireCountryCode": True,
    "minCallbackNumberLength": 9,
    "maxCallbackNumberLength": 13,
    "mediaSetId": "acme-en-GB",
    "callbackCallerId": 442079460100,
    "offerScheduledCallbackVoice": True,
    "offerScheduledCallbackWidget": False,
    "enableCallbackDoubleCheck": False,
    "minCallbackDelay": 60,
}


def built(template: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The call target a built-in template renders (with ``phoneNumbers``, as the API answers)."""
    queue = QueueFile(
        Path("generated.yaml"),
        "generated.yaml",
        "generated",
        template,
        {**variables, "queue": "generated"},
        "",
    )
    rendered = _RENDERER.render(queue)
    if isinstance(rendered, Diagnostic):
        raise RuntimeError(f"{variables.get('name')}: {rendered.message}")
    target: dict[str, Any] = rendered.target
    target.setdefault("phoneNumbers", {})
    return target


def _merged(family: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    found = copy.deepcopy(family)
    found.update(copy.deepcopy(own))
    return found


def _support() -> Iterator[dict[str, Any]]:
    places = [
        ("East", "America/New_York"),
        ("West", "America/Los_Angeles"),
        ("Central", "America/Chicago"),
        ("Mountain", "America/Denver"),
        ("Phoenix", "America/Phoenix"),
        ("Zürich", "Europe/Zurich"),
        ("São Paulo", "America/Sao_Paulo"),
        ("O'Hare", "America/Chicago"),
        ("Toronto", "America/Toronto"),
        ("Honolulu", "Pacific/Honolulu"),
    ]
    for index, (place, zone) in enumerate(places):
        own: dict[str, Any] = {
            "name": f"Support - {place}",
            "timezone": zone,
            "callbackAgentDestination": f"+1312555{110 + index:04d}",
            "phoneNumbers": {f"+1312555{130 + index:04d}": f"Support {place} main line"},
        }
        if index % 4 == 1:
            own["maxCallbackRetries"] = 3
        if index % 5 == 2:
            own["offerChooseHold"] = True
            own["chooseHoldAgentDestination"] = f"+1312555{150 + index:04d}"
        yield built("calltmpl/pstn.yaml.j2", _merged(SUPPORT, own))


def _billing() -> Iterator[dict[str, Any]]:
    for index, part in enumerate(
        [
            "General",
            "Disputes",
            "Refunds",
            "Collections",
            "Enterprise",
            "Small Business",
            "Invoices",
            "Payment Plans",
        ]
    ):
        own: dict[str, Any] = {
            "name": f"Billing - {part}",
            "timezone": "America/Chicago",
            "callbackAgentDestination": f"+1312555{160 + index:04d}",
            "phoneNumbers": {
                f"+1312555{180 + index:04d}": f"Billing {part}",
                f"+1800555{100 + index:04d}": f"Billing {part} toll free",
            },
        }
        if index == 3:
            own["customerDialTimeout"] = 60
        yield built("calltmpl/pstn.yaml.j2", _merged(BILLING, own))


def _partners() -> Iterator[dict[str, Any]]:
    for index, partner in enumerate(
        ["Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell", "Cyberdyne"]
    ):
        slug = partner.lower()
        own: dict[str, Any] = {
            "name": f"Partner {partner} (SIP)",
            "timezone": "America/New_York",
            "callbackAgentDestination": f"sip:{slug}@sbc.partners.example.com",
            "phoneNumbers": {f"+1646555{100 + index:04d}": f"{partner} inbound"},
            "dynamicDnisMappingEnabled": True,
            "dynamicDnisMapping": [
                {
                    "key": {"value": f"+1646555{120 + index:04d}"},
                    "callbackAgentDestination": f"sip:{slug}-vip@sbc.partners.example.com",
                    "callbackCallerId": "13125550300",
                }
            ],
        }
        if index == 5:
            own["agentAnswerRecognitionConfidenceLevel"] = 85
        yield built("calltmpl/sip.yaml.j2", _merged(PARTNERS, own))


def _emea() -> Iterator[dict[str, Any]]:
    places = [
        ("London", "Europe/London"),
        ("Manchester", "Europe/London"),
        ("Paris", "Europe/Paris"),
        ("Lyon", "Europe/Paris"),
        ("Berlin", "Europe/Berlin"),
        ("München", "Europe/Berlin"),
        ("Dublin", "Europe/Dublin"),
    ]
    for index, (place, zone) in enumerate(places):
        own: dict[str, Any] = {
            "name": f"EMEA {place}",
            "timezone": zone,
            "callbackAgentDestination": f"+44207946{1100 + index:04d}",
            "phoneNumbers": {f"+44207946{1200 + index:04d}": f"{place} line"},
        }
        if index == 2:
            own["minCallbackNumberLength"] = 10
        yield built("calltmpl/pstn.yaml.j2", _merged(EMEA, own))


def _outliers() -> Iterator[dict[str, Any]]:
    yield built(
        "calltmpl/pstn.yaml.j2",
        {
            "name": "Night Desk",
            "timezone": "America/Anchorage",
            "callbackAgentDestination": "+19075550100",
            "phoneNumbers": {"+19075550101": "Night desk"},
            "maxCallbackRetries": 6,
            "callbackRetryDelay": 1200,
            "allowRetryAfterHours": True,
            "offerAsapCallback": False,
            "offerNextDayCallback": True,
            "maxNextDayCallbacks": 200,
            "minSchedulingSlots": 4,
            "mediaSetId": "night",
        },
    )
    yield {
        "name": "Legacy Overflow",
        "configuration": {
            "callbackTelephonyType": "PSTN",
            "callbackAgentDestination": "+13125550190",
            "timezone": "America/Chicago",
            "enableCallbackRegistration": True,
            "enableCallbackProcessing": True,
            "offerAsapCallback": True,
            "maxCallbackRetries": 2,
            "callbackRetryDelay": 300,
        },
        "phoneNumbers": {"+13125550191": "Overflow"},
    }
    future = built(
        "calltmpl/pstn.yaml.j2",
        {
            "name": 'Future API "Beta" Queue',
            "timezone": "America/Chicago",
            "callbackAgentDestination": "+13125550192",
            "announceAni": None,
            "enableCallbackDoubleCheck": None,
            "callbackDoubleCheckScope": "",
            "spokenAniPrefix": "",
        },
    )
    future["configuration"].update(
        {
            "callbackSurveyEnabled": True,
            "surveyWeight": 1.0,
            "surveyCount": 1,
            "surveyScale": 1e3,
            "largeCounter": 12345678901234567890,
            "surveyTags": [],
            "surveyNote": "",
            "aiAssist": None,
            "routingHints": {"skill": "billing", "weights": [0.5, 1, True, None]},
        }
    )
    yield future
    odd = built(
        "calltmpl/pstn.yaml.j2",
        {
            "name": "Odd DNIS",
            "timezone": "America/Chicago",
            "callbackAgentDestination": "+13125550193",
            "dynamicDnisMappingEnabled": True,
        },
    )
    odd["configuration"]["dynamicDnisMapping"] = [  # as an older API version answered it
        {
            "key": {"type": "Diversion", "value": "+13125550194"},
            "callbackAgentDestination": "+13125550195",
            "callbackCallerId": "13125550100",
        }
    ]
    yield odd
    extra = built(
        "calltmpl/pstn.yaml.j2",
        {
            "name": "SMS Pilot",
            "timezone": "America/Chicago",
            "callbackAgentDestination": "+13125550196",
        },
    )
    extra["configuration"]["messaging"]["optOutText"] = "Reply STOP to opt out"
    del extra["configuration"]["messaging"]["voiceToMessage"]
    yield extra
    for index, name in enumerate(["Sales/EMEA", "Sales EMEA"]):
        yield built(
            "calltmpl/pstn.yaml.j2",
            _merged(
                EMEA,
                {
                    "name": name,
                    "timezone": "Europe/London",
                    "callbackAgentDestination": f"+44207946{1300 + index:04d}",
                    "offerChooseHold": True,
                    "chooseHoldAgentDestination": "+442079461399",
                },
            ),
        )
    yield built(
        "calltmpl/pstn.yaml.j2",
        {
            "name": "東京 サポート",
            "timezone": "Asia/Tokyo",
            "callbackAgentDestination": "+81355550100",
            "countryCodes": "81",
            "requireCountryCode": True,
            "maxCallbackNumberLength": 12,
        },
    )


def account() -> list[dict[str, Any]]:
    """The call targets of the generated account, as create bodies (no ids)."""
    return [*_support(), *_billing(), *_partners(), *_emea(), *_outliers()]


# --- measuring --------------------------------------------------------------------------------


def lines(text: str) -> int:
    return len(text.splitlines())


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def measure(folder: Path, targets: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Import ``targets`` (the generated account by default) from a seeded sandbox into an
    empty repository at ``folder``; the figures."""
    from click.testing import CliRunner

    from calltmpl.cli import main
    from calltmpl.sandbox import Sandbox

    targets = account() if targets is None else targets
    (folder / "calltmpl.yaml").write_text("{}\n", encoding="utf-8")
    with Sandbox(
        client_id=CLIENT_ID, client_secret=SECRET, writes_per_second=math.inf, read_cache_seconds=0
    ) as sandbox:
        sandbox.seed(targets)
        remote = sandbox.targets()
        variables = {
            "MINDFUL_API_URL": sandbox.url,
            "MINDFUL_TOKEN_URL": sandbox.token_url,
            "MINDFUL_CLIENT_ID": CLIENT_ID,
            "MINDFUL_CLIENT_SECRET": SECRET,
        }
        previous = Path.cwd()
        os.chdir(folder)
        try:
            with _environment(variables):
                started = time.perf_counter()
                result = CliRunner().invoke(main, ["import"], catch_exceptions=False)
                seconds = time.perf_counter() - started
        finally:
            os.chdir(previous)
    if result.exit_code != 0:
        raise RuntimeError(f"calltmpl import exited {result.exit_code}: {result.output}")
    queues = sorted((folder / "queues").glob("*.yaml"))
    templates = sorted((folder / "templates").rglob("*.j2"))
    queue_lines = [lines(p.read_text(encoding="utf-8")) for p in queues]
    template_lines = sum(lines(p.read_text(encoding="utf-8")) for p in templates)
    dump = lines(json.dumps(remote, indent=2, ensure_ascii=False))
    repository = sum(queue_lines) + template_lines
    return {
        "call_targets": len(remote),
        "queue_files": len(queues),
        "templates": len(templates),
        "median_queue_lines": statistics.median(queue_lines),
        "max_queue_lines": max(queue_lines),
        "repository_lines": repository,
        "lock_lines": lines((folder / "calltmpl.lock").read_text(encoding="utf-8")),
        "dump_lines": dump,
        "ratio": repository / dump,
        "seconds": seconds,
        "output": result.output,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="also write the account here (JSON list)")
    parser.add_argument("--keep", type=Path, help="import into this empty folder and keep it")
    options = parser.parse_args()
    targets = account()
    if options.out:
        options.out.write_text(json.dumps(targets, indent=2, ensure_ascii=False) + "\n", "utf-8")
    with tempfile.TemporaryDirectory() as scratch:
        folder = options.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        figures = measure(folder.resolve(), targets)
    print(figures.pop("output"))
    print(f"call targets            {figures['call_targets']}")
    print(f"queue files             {figures['queue_files']}")
    print(f"templates made          {figures['templates']}")
    print(
        f"median queue-file lines {figures['median_queue_lines']} (goal <= 12; "
        f"longest {figures['max_queue_lines']})"
    )
    print(
        f"repository lines        {figures['repository_lines']} = "
        f"{figures['ratio']:.1%} of the flat dump's {figures['dump_lines']} (goal <= 20%; "
        f"calltmpl.lock adds {figures['lock_lines']})"
    )
    print(f"import time             {figures['seconds']:.2f} s")


if __name__ == "__main__":
    main()
