"""The API client's settings and safety rules that need no server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from calltmpl.api import ApiSettings, Secrets, SettingsError, check_url, resolve_settings
from calltmpl.lockfile import Entry, Lock, LockError, body_hash
from calltmpl.plan import Desired, Step
from calltmpl.push import Result, _verify

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
    secrets = Secrets()
    secrets.add("abc")
    secrets.add("abcdef")
    secrets.add("")
    assert secrets.redact("x abcdef y abc") == "x [redacted] y [redacted]"


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
