"""The JSON Schema of a call target request body (schemas/call-target.schema.json)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "call-target.schema.json"
# The example request body of Mindful's create-call-target page: every member, placeholder values.
SEED_PATH = Path(__file__).resolve().parent / "fixtures" / "seed-example-payload.json"

JsonPath = tuple[str | int, ...]


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE = _Delete()

DNIS_ENTRY: dict[str, Any] = {
    "key": {"type": "Diversion", "header": "Diversion", "value": "+13125550142"},
    "callbackAgentDestination": "+13125550100",
    "callbackCallerId": "+13125550101",
    "callbackTelephonyType": "PSTN",
    "callbackFailoverAgentDestination": "sip:failover@pbx.example.com",
    "callbackFailoverTelephonyType": "SIP",
    "chooseHoldAgentDestination": "+13125550102",
    "chooseHoldTelephonyType": "PSTN",
    "chooseHoldFailoverAgentDestination": "",
    "chooseHoldFailoverTelephonyType": "PSTN",
}

VALID: dict[str, Any] = {
    "data": {
        "name": "Support",
        "configuration": {
            "agentAnswerRecognitionConfidenceLevel": 80,
            "allowCallbackExtension": False,
            "announceAni": True,
            "callbackAgentDestination": "+13125550100",
            "callbackCallerId": 13125550100,
            "callbackDoubleCheckScope": "Call Target",
            "callbackRetryDelay": 300,
            "callbackTelephonyType": "PSTN",
            "customerPromptLoops": 3,
            "dynamicDnisMapping": [DNIS_ENTRY],
            "dynamicDnisMappingEnabled": True,
            "ecbtPlaybackType": "range",
            "enableCallbackDoubleCheck": True,
            "firstPartyCalled": "agent",
            "messaging": {
                "handle": "+13125550199",
                "offerMessageIntercept": False,
                "confirmationNotification": {
                    "enabled": True,
                    "text": "We will call you back.",
                    "widgetId": "",
                },
                "voiceToMessage": {"text": "Reply here to chat.", "widgetId": ""},
            },
            "metadata": [
                {
                    "name": "Account",
                    "slug": "account",
                    "type": "numeric",
                    "presentTo": "agent",
                    "fromClient": False,
                    "persistForever": False,
                    "maxLength": 8,
                    "mediaName": "account_id",
                    "terminator": "#",
                }
            ],
            "scheduledCallbackExperience": "Voice",
            "timezone": "America/Chicago",
        },
        "phoneNumbers": {"main": "+13125550142"},
    }
}

CONFIG: JsonPath = ("data", "configuration")
MESSAGING: JsonPath = (*CONFIG, "messaging")
DNIS: JsonPath = (*CONFIG, "dynamicDnisMapping")


@dataclass(frozen=True)
class Change:
    at: JsonPath
    value: Any


@dataclass(frozen=True)
class BadCase:
    name: str
    changes: tuple[Change, ...]
    pointer: str
    keyword: str


def changed(payload: dict[str, Any], changes: Iterable[Change]) -> dict[str, Any]:
    result = copy.deepcopy(payload)
    for change in changes:
        parent: Any = result
        for step in change.at[:-1]:
            parent = parent[step]
        if change.value is DELETE:
            del parent[change.at[-1]]
        else:
            parent[change.at[-1]] = copy.deepcopy(change.value)
    return result


def at(*path: str | int, value: Any) -> tuple[Change, ...]:
    return (Change(path, value),)


def pointer(path: Iterable[str | int]) -> str:
    return "".join(f"/{str(step).replace('~', '~0').replace('/', '~1')}" for step in path)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema)


@pytest.fixture(scope="module")
def seed() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SEED_PATH.read_text(encoding="utf-8"))
    return loaded


def errors_of(validator: Draft202012Validator, payload: Any) -> list[tuple[str, str]]:
    found: list[ValidationError] = sorted(
        validator.iter_errors(payload), key=lambda error: list(map(str, error.absolute_path))
    )
    return [(pointer(error.absolute_path), str(error.validator)) for error in found]


def test_schema_is_a_valid_draft_2020_12_schema(schema: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_seed_example_validates_without_errors(
    validator: Draft202012Validator, seed: dict[str, Any]
) -> None:
    assert errors_of(validator, seed) == []


def test_schema_lists_every_configuration_member_of_the_seed(
    schema: dict[str, Any], seed: dict[str, Any]
) -> None:
    in_seed = set(seed["data"]["configuration"])
    in_schema = set(schema["$defs"]["configuration"]["properties"])
    assert sorted(in_seed - in_schema) == []


NESTED_SHAPES: list[tuple[str, JsonPath]] = [
    ("callTarget", ("data",)),
    ("dnisMappingEntry", (*DNIS, 0)),
    ("dnisKey", (*DNIS, 0, "key")),
    ("messaging", MESSAGING),
    ("notification", (*MESSAGING, "confirmationNotification")),
    ("messageTemplate", (*MESSAGING, "voiceToMessage")),
    ("metadataItem", (*CONFIG, "metadata", 0)),
]


@pytest.mark.parametrize(
    ("definition", "seed_path"), NESTED_SHAPES, ids=[d for d, _ in NESTED_SHAPES]
)
def test_schema_lists_every_nested_member_of_the_seed(
    schema: dict[str, Any], seed: dict[str, Any], definition: str, seed_path: JsonPath
) -> None:
    node: Any = seed
    for step in seed_path:
        node = node[step]
    assert set(node) == set(schema["$defs"][definition]["properties"])


BAD_CASES: list[BadCase] = [
    BadCase(
        "string_where_integer_expected",
        at(*CONFIG, "customerPromptLoops", value="3"),
        "/data/configuration/customerPromptLoops",
        "type",
    ),
    BadCase(
        "boolean_is_not_an_integer",
        at(*CONFIG, "customerPromptLoops", value=True),
        "/data/configuration/customerPromptLoops",
        "type",
    ),
    BadCase(
        "fraction_is_not_an_integer",
        at(*CONFIG, "callbackRetryDelay", value=1.5),
        "/data/configuration/callbackRetryDelay",
        "type",
    ),
    BadCase(
        "integer_is_not_a_boolean",
        at(*CONFIG, "allowCallbackExtension", value=1),
        "/data/configuration/allowCallbackExtension",
        "type",
    ),
    BadCase(
        "caller_id_is_an_integer_at_top_level",
        at(*CONFIG, "callbackCallerId", value="+13125550100"),
        "/data/configuration/callbackCallerId",
        "type",
    ),
    BadCase(
        "caller_id_is_a_string_in_dnis_entries",
        at(*DNIS, 0, "callbackCallerId", value=13125550101),
        "/data/configuration/dynamicDnisMapping/0/callbackCallerId",
        "type",
    ),
    BadCase(
        "null_not_allowed_for_allow_callback_extension",
        at(*CONFIG, "allowCallbackExtension", value=None),
        "/data/configuration/allowCallbackExtension",
        "type",
    ),
    BadCase(
        "unknown_telephony_type",
        at(*CONFIG, "callbackTelephonyType", value="VOIP"),
        "/data/configuration/callbackTelephonyType",
        "enum",
    ),
    BadCase(
        "telephony_type_is_case_sensitive",
        at(*CONFIG, "callbackTelephonyType", value="pstn"),
        "/data/configuration/callbackTelephonyType",
        "enum",
    ),
    BadCase(
        "unknown_failover_telephony_type_in_dnis_entry",
        at(*DNIS, 0, "callbackFailoverTelephonyType", value="H323"),
        "/data/configuration/dynamicDnisMapping/0/callbackFailoverTelephonyType",
        "enum",
    ),
    BadCase(
        "unknown_ecbt_playback_type",
        at(*CONFIG, "ecbtPlaybackType", value="Range"),
        "/data/configuration/ecbtPlaybackType",
        "enum",
    ),
    BadCase(
        "unknown_first_party_called",
        at(*CONFIG, "firstPartyCalled", value="both"),
        "/data/configuration/firstPartyCalled",
        "enum",
    ),
    BadCase(
        "unknown_scheduled_callback_experience",
        at(*CONFIG, "scheduledCallbackExperience", value="SMS"),
        "/data/configuration/scheduledCallbackExperience",
        "enum",
    ),
    BadCase(
        "more_than_50_dnis_entries",
        at(*DNIS, value=[DNIS_ENTRY] * 51),
        "/data/configuration/dynamicDnisMapping",
        "maxItems",
    ),
    BadCase(
        "notification_text_over_500_characters",
        at(*MESSAGING, "confirmationNotification", "text", value="x" * 501),
        "/data/configuration/messaging/confirmationNotification/text",
        "maxLength",
    ),
    BadCase(
        "message_text_over_500_characters",
        at(*MESSAGING, "voiceToMessage", "text", value="x" * 501),
        "/data/configuration/messaging/voiceToMessage/text",
        "maxLength",
    ),
    BadCase(
        "confidence_above_100",
        at(*CONFIG, "agentAnswerRecognitionConfidenceLevel", value=101),
        "/data/configuration/agentAnswerRecognitionConfidenceLevel",
        "maximum",
    ),
    BadCase(
        "negative_confidence",
        at(*CONFIG, "agentAnswerRecognitionConfidenceLevel", value=-1),
        "/data/configuration/agentAnswerRecognitionConfidenceLevel",
        "minimum",
    ),
    BadCase(
        "negative_callback_retry_delay",
        at(*CONFIG, "callbackRetryDelay", value=-60),
        "/data/configuration/callbackRetryDelay",
        "minimum",
    ),
    BadCase(
        "negative_metadata_max_length",
        at(*CONFIG, "metadata", 0, "maxLength", value=-1),
        "/data/configuration/metadata/0/maxLength",
        "minimum",
    ),
    BadCase(
        "negative_id",
        at("data", "id", value=-1),
        "/data/id",
        "minimum",
    ),
    BadCase(
        "unknown_configuration_member",
        at(*CONFIG, "customerPromptLoop", value=3),
        "/data/configuration",
        "additionalProperties",
    ),
    BadCase(
        "unknown_messaging_member",
        at(*MESSAGING, "sender", value="+13125550199"),
        "/data/configuration/messaging",
        "additionalProperties",
    ),
    BadCase(
        "enabled_on_a_message_without_switch",
        at(*MESSAGING, "voiceToMessage", "enabled", value=True),
        "/data/configuration/messaging/voiceToMessage",
        "additionalProperties",
    ),
    BadCase(
        "unknown_dnis_entry_member",
        at(*DNIS, 0, "failoverTelephonyType", value="PSTN"),
        "/data/configuration/dynamicDnisMapping/0",
        "additionalProperties",
    ),
    BadCase(
        "unknown_dnis_key_member",
        at(*DNIS, 0, "key", "pattern", value="+1312*"),
        "/data/configuration/dynamicDnisMapping/0/key",
        "additionalProperties",
    ),
    BadCase(
        "unknown_metadata_item_member",
        at(*CONFIG, "metadata", 0, "required", value=True),
        "/data/configuration/metadata/0",
        "additionalProperties",
    ),
    BadCase(
        "unknown_call_target_member",
        at("data", "callTarget", value={}),
        "/data",
        "additionalProperties",
    ),
    BadCase(
        "unknown_envelope_member",
        at("meta", value={}),
        "",
        "additionalProperties",
    ),
    BadCase(
        "missing_name",
        at("data", "name", value=DELETE),
        "/data",
        "required",
    ),
    BadCase(
        "missing_configuration",
        at("data", "configuration", value=DELETE),
        "/data",
        "required",
    ),
    BadCase(
        "missing_data",
        at("data", value=DELETE),
        "",
        "required",
    ),
    BadCase(
        "phone_number_not_a_string",
        at("data", "phoneNumbers", "main", value=13125550142),
        "/data/phoneNumbers/main",
        "type",
    ),
]


@pytest.mark.parametrize("case", BAD_CASES, ids=[case.name for case in BAD_CASES])
def test_schema_rejects_bad_payload(validator: Draft202012Validator, case: BadCase) -> None:
    assert errors_of(validator, changed(VALID, case.changes)) == [(case.pointer, case.keyword)]


GOOD_CASES: list[tuple[str, tuple[Change, ...]]] = [
    ("valid_as_written", ()),
    ("announce_ani_null", at(*CONFIG, "announceAni", value=None)),
    ("callback_double_check_null", at(*CONFIG, "enableCallbackDoubleCheck", value=None)),
    ("sip_telephony_type", at(*CONFIG, "callbackTelephonyType", value="SIP")),
    ("exact_ecbt_playback", at(*CONFIG, "ecbtPlaybackType", value="exact")),
    ("customer_called_first", at(*CONFIG, "firstPartyCalled", value="customer")),
    ("text_scheduled_callbacks", at(*CONFIG, "scheduledCallbackExperience", value="Text")),
    ("confidence_0", at(*CONFIG, "agentAnswerRecognitionConfidenceLevel", value=0)),
    ("confidence_100", at(*CONFIG, "agentAnswerRecognitionConfidenceLevel", value=100)),
    ("retry_delay_0", at(*CONFIG, "callbackRetryDelay", value=0)),
    ("exactly_50_dnis_entries", at(*DNIS, value=[DNIS_ENTRY] * 50)),
    ("no_dnis_entries", at(*DNIS, value=[])),
    (
        "text_of_500_characters",
        at(*MESSAGING, "confirmationNotification", "text", value="x" * 500),
    ),
    ("other_double_check_scope", at(*CONFIG, "callbackDoubleCheckScope", value="Account")),
    ("other_dnis_key_type", at(*DNIS, 0, "key", "type", value="To")),
    ("other_metadata_type", at(*CONFIG, "metadata", 0, "type", value="text")),
    ("other_metadata_audience", at(*CONFIG, "metadata", 0, "presentTo", value="customer")),
    ("with_server_id", at("data", "id", value=4711)),
    ("without_phone_numbers", at("data", "phoneNumbers", value=DELETE)),
    ("empty_configuration", at(*CONFIG, value={})),
]


@pytest.mark.parametrize(
    "changes", [changes for _, changes in GOOD_CASES], ids=[name for name, _ in GOOD_CASES]
)
def test_schema_accepts_good_payload(
    validator: Draft202012Validator, changes: tuple[Change, ...]
) -> None:
    assert errors_of(validator, changed(VALID, changes)) == []
