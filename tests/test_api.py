"""The API client's settings and safety rules that need no server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from calltmpl.api import ApiError, ApiSettings, SettingsError, check_url, resolve_settings
from calltmpl.lockfile import Entry, Lock, LockError, body_hash
from calltmpl.plan import Desired, Step
from calltmpl.push import Result, _verify
from calltmpl.redact import MAX_SECRET, Redactor

ENV = {"MINDFUL_CLIENT_ID": "id", "MINDFUL_CLIENT_SECRET": "secret"}


@pytest.mark.parametrize(
    "url",
    [
        "https://api.getmindful.com",
        "http://127.0.0.1:8080",
        "http://localhost:1/x",
        "http://[::1]:8080",
        "http://127.5.6.7",
    ],
)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    check_url("API URL", url)


@pytest.mark.parametrize(
    "url",
    [
        "http://api.getmindful.com",
        "http://10.0.0.5",
        "http://192.0.2.1:8080",
        "ftp://api.example.com",
        "api.getmindful.com",
        "https://",
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(SettingsError):
        check_url("API URL", url)


def test_environment_overrides_configuration_and_defaults_apply() -> None:
    configured = {"base_url": "https://gov.example.com/", "token_url": "https://auth.example.com"}
    settings = resolve_settings(configured, {**ENV, "MINDFUL_TOKEN_URL": "https://t.example.com"})
    assert settings.base_url == "https://gov.example.com"
    assert settings.token_url == "https://t.example.com"
    assert resolve_settings({}, ENV).base_url == "https://api.getmindful.com"
    assert resolve_settings({}, ENV).token_url == "https://auth.getmindful.com/oauth2/token"


@pytest.mark.parametrize(
    "environ", [{}, {"MINDFUL_CLIENT_ID": "id"}, {"MINDFUL_CLIENT_SECRET": "secret"}]
)
def test_missing_credentials_are_a_settings_error(environ: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="no credentials"):
        resolve_settings({}, environ)


def test_settings_never_show_their_secrets() -> None:
    settings = ApiSettings("https://a", "https://t", "id", "the-secret", "the-token")
    assert "the-secret" not in repr(settings) and "the-token" not in repr(settings)


def test_redaction_removes_every_secret_even_overlapping_ones() -> None:
    redactor = Redactor()
    redactor.add("abc")
    redactor.add("abcdef")
    redactor.add("")
    assert redactor.redact("x abcdef y abc") == "x [redacted] y [redacted]"


def test_lock_round_trips_and_rejects_malformed_files(tmp_path: Path) -> None:
    path = tmp_path / "calltmpl.lock"
    lock = Lock.load(path)
    lock.set("queues/a", Entry(3, "A", "sha256:1", "sha256:2"))
    assert Lock.load(path).get("queues/a") == Entry(3, "A", "sha256:1", "sha256:2")
    path.write_text('{"version": 1, "targets": {"q": {"id": 1}}}', encoding="utf-8")
    with pytest.raises(LockError, match="needs an integer id"):
        Lock.load(path)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(LockError, match=r"calltmpl\.lock:1:2"):
        Lock.load(path)


def test_hash_ignores_the_id_and_key_order() -> None:
    one = {"id": 1, "name": "A", "configuration": {"a": 1, "b": 2}}
    two = {"configuration": {"b": 2, "a": 1}, "name": "A", "id": 9}
    assert body_hash(one) == body_hash(two)
    assert body_hash(one) != body_hash({**one, "name": "B"})


class _ReadBack:
    def __init__(self, remote: dict[str, Any] | None):
        self.remote = remote

    def get_target(self, target_id: int) -> dict[str, Any] | None:
        return self.remote


def test_a_read_back_that_differs_is_reported(tmp_path: Path) -> None:
    body = {"name": "A", "configuration": {"maxCallbackRetries": 2}}
    step = Step(Desired("queues/a", "queues/a.yaml", body), "create")
    lock = Lock(tmp_path / "calltmpl.lock")
    lock.set("queues/a", Entry(5, "A", body_hash(body), body_hash(body)))
    changed = {"id": 5, "name": "A", "configuration": {"maxCallbackRetries": 3}}
    verified = _verify(Result(step, "created", 5), _ReadBack(changed), lock)  # type: ignore[arg-type]
    assert verified.result == "not-verified"
    assert "/configuration/maxCallbackRetries" in verified.message
    assert lock.get("queues/a") == Entry(5, "A", body_hash(body), body_hash(changed))
    same = _verify(Result(step, "created", 5), _ReadBack({**body, "id": 5}), lock)  # type: ignore[arg-type]
    assert same.result == "created"
    gone = _verify(Result(step, "created", 5), _ReadBack(None), lock)  # type: ignore[arg-type]
    assert gone.result == "not-verified"


# --- hostile answers and settings ------------------------------------------------------------

TOKEN_URL = "https://auth.example/oauth2/token"


def _client(token_answer: bytes, api_answer: bytes = b'{"data": []}', status: int = 200) -> Any:
    """A client whose token endpoint and API answer these bytes; it records what reached the
    API in ``client.sent``."""
    from calltmpl.api import Client

    sent: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            return httpx.Response(200, content=token_answer)
        sent.append(request)
        return httpx.Response(status, content=api_answer)

    settings = ApiSettings("https://api.example", TOKEN_URL, "id", "the-secret-value")
    client = Client(settings, redactor=Redactor(), sleep=lambda _: None)
    client._http = httpx.Client(transport=httpx.MockTransport(handle))
    client.sent = sent
    return client


GOOD_TOKEN = b'{"access_token": "t0ken-value", "expires_in": 3600}'


@pytest.mark.parametrize(
    "answer",
    [
        b'{"access_token": null}',
        b'{"access_token": 12345}',
        b'{"access_token": ""}',
        b"{}",
        b'["t0ken-value"]',
        '{"access_token": "t\u00f6ken"}'.encode(),
        b'{"access_token": "tok\\u0000en"}',
        b'{"access_token": "tok en"}',
        b'{"access_token": "' + b"x" * 9000 + b'"}',
        b'{"access_token": "t0ken-value", "expires_in": "soon"}',
        b'{"access_token": "t0ken-value", "expires_in": NaN}',
        b'{"access_token": "t0ken-value", "expires_in": 1e400}',
        b'{"access_token": "t0ken-value", "expires_in": -5}',
        b'{"access_token": "t0ken-value", "expires_in": true}',
        b"[" * 100_000 + b"]" * 100_000,
        b"<html>not json</html>",
    ],
)
def test_an_unusable_token_answer_is_an_api_error_and_nothing_is_sent(answer: bytes) -> None:
    client = _client(answer)
    with pytest.raises(ApiError) as caught:
        client.list_targets()
    assert caught.value.exit_code == 3
    assert client.sent == []  # never "Bearer None", never a header httpx cannot encode


@pytest.mark.parametrize(
    "answer",
    [
        b'{"data": [{"id": "7", "name": "A"}]}',
        b'{"data": [{"id": 1.5, "name": "A"}]}',
        b'{"data": [{"id": true, "name": "A"}]}',
        b'{"data": [{"id": null}]}',
        b'{"data": [{"name": "A"}]}',
        b'{"data": [{"id": 1, "name": {"first": "A"}}]}',
        b'{"data": [7]}',
        b'{"data": {"id": 1}}',
        b"[]",
        b"null",
        b'"data"',
        b'{"data": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
        b'{"data": [{"id": 1' + b"0" * 5000 + b"}]}",
    ],
)
def test_a_list_of_the_wrong_shape_is_an_api_error(answer: bytes) -> None:
    with pytest.raises(ApiError) as caught:
        _client(GOOD_TOKEN, answer).list_targets()
    assert caught.value.exit_code == 3


@pytest.mark.parametrize(
    "answer",
    [b"null", b'{"data": []}', b'{"data": {"callTarget": {"id": "1"}}}', b"[" * 100_000],
)
def test_a_read_of_the_wrong_shape_is_an_api_error_not_a_missing_target(answer: bytes) -> None:
    with pytest.raises(ApiError):
        _client(GOOD_TOKEN, answer).get_target(1)
    with pytest.raises(ApiError):
        _client(GOOD_TOKEN, answer).update_target(1, {"name": "A"})


def test_well_formed_answers_are_used() -> None:
    client = _client(GOOD_TOKEN, b'{"data": [{"callTarget": {"id": 3, "name": "A"}}, {"id": 4}]}')
    assert client.list_targets() == [{"id": 3, "name": "A"}, {"id": 4}]
    assert client.sent[0].headers["Authorization"] == "Bearer t0ken-value"
    assert _client(GOOD_TOKEN, b"{}", status=404).get_target(9) is None


def test_a_refusal_keeps_the_apis_short_text_but_never_a_body_otherwise() -> None:
    body = b'{"error": "name is too long; the-secret-value", "trace": "t0ken-value in here"}'
    with pytest.raises(ApiError) as refused:
        _client(GOOD_TOKEN, body, status=400).list_targets()
    message = str(refused.value)
    assert message.endswith("answered 400 Bad Request: name is too long; [redacted]")
    with pytest.raises(ApiError) as failed:
        _client(GOOD_TOKEN, body, status=500).list_targets()
    assert "name is too long" not in str(failed.value)
    assert str(failed.value).endswith("answered 500 Internal Server Error")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:8080:x", "not a valid URL"),
        ("https://[::1", "not a valid URL"),
        ("https://api.example.com:99999", "not a valid URL"),
        ("https://api.example.com:-1", "not a valid URL"),
        ("https://:443/", "no valid host"),
        ("https://exa mple.com", "no valid host"),
        ("https://api.example.com/\x00", "not a valid URL"),
        ("https://user:hunter2@api.example.com", "user name or password"),
    ],
)
def test_malformed_urls_are_settings_errors(url: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        resolve_settings({"base_url": url}, ENV)
    assert "hunter2" not in str(caught.value)


def test_a_credential_too_long_for_a_header_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="MINDFUL_TOKEN is longer than"):
        resolve_settings({}, {"MINDFUL_TOKEN": "t" * (MAX_SECRET + 1)})
