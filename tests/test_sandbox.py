"""The sandbox speaks the documented call-target API and injects the faults it is told to.

Each test starts its own server on an ephemeral 127.0.0.1 port. Limits that cost wall time (the
write rate, the read cache, token lifetime) are relaxed except in the tests about them.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from calltmpl.sandbox import Sandbox, serve

TARGETS = "/v2/callback/callTargets"
CLIENT = ("sandbox", "sandbox-secret")
GRANT = {"grant_type": "client_credentials"}


def fast(**options: Any) -> Sandbox:
    """A sandbox without the limits that would slow a test down (even 1000 writes a second
    refuses two writes that loopback delivers within a millisecond)."""
    settings: dict[str, Any] = {"writes_per_second": math.inf, "read_cache_seconds": 0.0}
    return Sandbox(**{**settings, **options})


def new_token(server: Sandbox) -> str:
    with httpx.Client(trust_env=False) as http:
        answer = http.post(server.token_url, auth=CLIENT, data=GRANT)
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


@contextmanager
def api(server: Sandbox, token: str | None = None) -> Iterator[httpx.Client]:
    """A client authorised the way calltmpl's is: a bearer token on every request."""
    headers = {"Authorization": f"Bearer {token or new_token(server)}"}
    with httpx.Client(base_url=server.url, headers=headers, trust_env=False) as http:
        yield http


def target(name: str = "billing", **configuration: Any) -> dict[str, Any]:
    return {"data": {"name": name, "configuration": configuration or {"queueName": name}}}


# --- OAuth ------------------------------------------------------------------------------------


def test_token_is_issued_for_the_client_credentials() -> None:
    with fast() as server, httpx.Client(trust_env=False) as http:
        answer = http.post(server.token_url, auth=CLIENT, data=GRANT)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert isinstance(body["access_token"], str) and len(body["access_token"]) >= 32


@pytest.mark.parametrize(
    ("auth", "data", "status", "error"),
    [
        (("sandbox", "wrong"), GRANT, 401, "invalid_client"),
        (("other", "sandbox-secret"), GRANT, 401, "invalid_client"),
        (None, GRANT, 401, "invalid_client"),
        (CLIENT, {"grant_type": "password"}, 400, "unsupported_grant_type"),
        (CLIENT, {}, 400, "unsupported_grant_type"),
    ],
)
def test_token_is_refused_for_wrong_client_or_grant(
    auth: tuple[str, str] | None, data: dict[str, str], status: int, error: str
) -> None:
    with fast() as server, httpx.Client(trust_env=False) as http:
        if auth is None:
            answer = http.post(server.token_url, data=data)
        else:
            answer = http.post(server.token_url, auth=auth, data=data)
    assert (answer.status_code, answer.json()) == (status, {"error": error})


def test_token_endpoint_only_accepts_post() -> None:
    with fast() as server, httpx.Client(trust_env=False) as http:
        answer = http.get(server.token_url)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "POST"


@pytest.mark.parametrize("authorization", [None, "Bearer not-issued", "Basic c2FuZGJveDp4"])
def test_api_requires_an_issued_bearer_token(authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with fast() as server, httpx.Client(trust_env=False) as http:
        answer = http.get(server.url + TARGETS, headers=headers)
    assert (answer.status_code, answer.json()) == (401, {"error": "invalid_token"})


def test_token_stops_working_after_its_lifetime() -> None:
    with fast(token_lifetime=0.3) as server, httpx.Client(trust_env=False) as http:
        issued = http.post(server.token_url, auth=CLIENT, data=GRANT).json()
        assert issued["expires_in"] == 0.3
        with api(server, issued["access_token"]) as client:
            assert client.get(TARGETS).status_code == 200
            time.sleep(0.35)
            answer = client.get(TARGETS)
    assert (answer.status_code, answer.json()) == (401, {"error": "invalid_token"})


# --- call targets ----------------------------------------------------------------------------


def test_create_get_list_and_put_use_the_documented_envelopes() -> None:
    with fast() as server, api(server) as client:
        created = client.post(TARGETS, json=target("billing"))
        assert created.status_code == 201
        first = {"id": 1, "name": "billing", "configuration": {"queueName": "billing"}}
        assert created.json() == {"data": {**first, "phoneNumbers": {}}}
        second = {"name": "sales", "configuration": {"a": 1}, "phoneNumbers": {"+15550100": "x"}}
        assert client.post(TARGETS, json={"data": second}).json() == {"data": {"id": 2, **second}}

        read = client.get(f"{TARGETS}/1")
        assert read.json() == {"data": {"callTarget": {**first, "phoneNumbers": {}}}}
        listed = client.get(TARGETS).json()
        assert [t["id"] for t in listed["data"]] == [1, 2]

        replacement = {"id": 2, "name": "sales-2", "configuration": {"b": 2}}
        put = client.put(f"{TARGETS}/2", json={"data": replacement})
        assert (put.status_code, put.json()) == (200, {"data": {**replacement, "phoneNumbers": {}}})
        assert client.get(f"{TARGETS}/2").json()["data"]["callTarget"]["name"] == "sales-2"
        assert server.targets()[1] == {**replacement, "phoneNumbers": {}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "data"),
        ({"data": []}, "data"),
        ([], "data"),
        ({"data": {"configuration": {}}}, "data.name"),
        ({"data": {"name": "", "configuration": {}}}, "data.name"),
        ({"data": {"name": 7, "configuration": {}}}, "data.name"),
        ({"data": {"name": "billing"}}, "data.configuration"),
        ({"data": {"name": "billing", "configuration": []}}, "data.configuration"),
        ({"data": {"id": 5, "name": "billing", "configuration": {}}}, "data.id"),
        ({"data": {"name": "b", "configuration": {}, "phoneNumbers": []}}, "data.phoneNumbers"),
        (
            {"data": {"name": "b", "configuration": {}, "phoneNumbers": {"1": 2}}},
            "data.phoneNumbers",
        ),
    ],
)
def test_create_refuses_an_invalid_body_naming_the_field(body: Any, field: str) -> None:
    with fast() as server, api(server) as client:
        answer = client.post(TARGETS, json=body)
        assert answer.status_code == 400
        assert answer.json()["field"] == field
        assert field in answer.json()["error"]
        assert server.targets() == []


@pytest.mark.parametrize("sent_id", [2, "1", None])
def test_put_refuses_an_id_other_than_the_paths(sent_id: Any) -> None:
    with fast() as server, api(server) as client:
        client.post(TARGETS, json=target())
        body = {"data": {"id": sent_id, "name": "x", "configuration": {}}}
        answer = client.put(f"{TARGETS}/1", json=body)
        assert (answer.status_code, answer.json()["field"]) == (400, "data.id")
        assert server.targets()[0]["name"] == "billing"


def test_malformed_json_is_400_and_a_body_that_is_not_json_is_415() -> None:
    with fast() as server, api(server) as client:
        malformed = client.post(
            TARGETS, content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert malformed.status_code == 400
        assert "malformed JSON" in malformed.json()["error"]
        form = client.post(TARGETS, content=json.dumps(target()).encode())
        assert (form.status_code, form.json()) == (
            415,
            {"error": "Content-Type must be application/json"},
        )
        assert server.targets() == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", f"{TARGETS}/99", 404),
        ("PUT", f"{TARGETS}/99", 404),
        ("GET", f"{TARGETS}/abc", 404),
        ("GET", "/v2/callback/other", 404),
        ("GET", "/nowhere", 404),
        ("DELETE", f"{TARGETS}/1", 405),
        ("PATCH", TARGETS, 405),
    ],
)
def test_unknown_targets_and_paths_are_404_and_wrong_methods_405(
    method: str, path: str, status: int
) -> None:
    with fast() as server, api(server) as client:
        answer = client.request(method, path, json=target())
    assert answer.status_code == status
    assert "error" in answer.json()
    if status == 405:
        assert answer.headers["Allow"] in {"GET, PUT", "GET, POST"}


# --- rate limit and read cache ---------------------------------------------------------------


def test_second_immediate_write_is_429_and_not_applied_then_succeeds_after_a_second() -> None:
    with Sandbox(read_cache_seconds=0) as server, api(server) as client:
        assert client.post(TARGETS, json=target("a")).status_code == 201
        refused = client.put(f"{TARGETS}/1", json=target("b"))
        assert (refused.status_code, refused.json()) == (429, {"error": "rate limited"})
        assert refused.headers["Retry-After"] == "1"
        assert client.get(TARGETS).status_code == 200  # reads are not limited
        assert server.targets()[0]["name"] == "a"
        time.sleep(1.05)
        assert client.put(f"{TARGETS}/1", json=target("b")).status_code == 200
        assert server.targets()[0]["name"] == "b"


def test_refused_writes_do_not_count_against_the_rate_limit() -> None:
    with Sandbox(read_cache_seconds=0) as server, api(server) as client:
        assert client.post(TARGETS, json={"data": {}}).status_code == 400
        assert client.post(TARGETS, json=target()).status_code == 201


@pytest.mark.parametrize(("writes_per_second", "accepted"), [(math.inf, 20), (1.0, 1)])
def test_concurrent_writes_get_unique_ids_and_at_most_one_per_second(
    writes_per_second: float, accepted: int
) -> None:
    statuses: list[int] = []
    with Sandbox(writes_per_second=writes_per_second) as server:
        headers = {"Authorization": f"Bearer {new_token(server)}"}

        def write(n: int) -> None:
            with httpx.Client(base_url=server.url, headers=headers, trust_env=False) as http:
                statuses.append(http.post(TARGETS, json=target(f"t{n}")).status_code)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [201] * accepted + [429] * (20 - accepted)
        assert [t["id"] for t in server.targets()] == list(range(1, accepted + 1))


def test_reads_right_after_a_write_may_be_stale_until_the_cache_age_passes() -> None:
    with fast(read_cache_seconds=0.5) as server, api(server) as client:
        client.post(TARGETS, json=target("old"))
        assert client.get(f"{TARGETS}/1").json()["data"]["callTarget"]["name"] == "old"
        assert client.get(TARGETS).json()["data"][0]["name"] == "old"
        assert client.put(f"{TARGETS}/1", json=target("new")).json()["data"]["name"] == "new"
        assert client.get(f"{TARGETS}/1").json()["data"]["callTarget"]["name"] == "old"
        assert client.get(TARGETS).json()["data"][0]["name"] == "old"
        time.sleep(0.55)
        assert client.get(f"{TARGETS}/1").json()["data"]["callTarget"]["name"] == "new"
        assert client.get(TARGETS).json()["data"][0]["name"] == "new"


def test_a_ui_edit_applies_at_once_bypassing_cache_and_rate_limit() -> None:
    with Sandbox(read_cache_seconds=5) as server, api(server) as client:
        client.post(TARGETS, json=target("billing", retries=1))
        assert client.get(f"{TARGETS}/1").json()["data"]["callTarget"]["configuration"] == {
            "retries": 1
        }
        server.edit(1, {"retries": 2})
        with httpx.Client(trust_env=False) as control:
            edited = control.patch(f"{server.url}/_sandbox/targets/1", json={"hold": True})
            assert control.patch(f"{server.url}/_sandbox/targets/9", json={}).status_code == 404
        assert edited.json()["data"]["configuration"] == {"retries": 2, "hold": True}
        read = client.get(f"{TARGETS}/1").json()["data"]["callTarget"]["configuration"]
        assert read == {"retries": 2, "hold": True}
        with pytest.raises(KeyError):
            server.edit(9, {})


# --- faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "retry_after", "header"),
    [
        ("429", None, None),
        ("429", 2, "2"),
        ("429", 0.5, "0.5"),
        ("500", None, None),
        ("502", None, None),
        ("503", 3, "3"),
    ],
)
def test_status_faults_answer_without_applying_the_write(
    kind: str, retry_after: float | None, header: str | None
) -> None:
    with fast() as server, api(server) as client:
        server.add_fault("POST", kind, retry_after=retry_after)
        failed = client.post(TARGETS, json=target())
        assert failed.status_code == int(kind)
        assert "error" in failed.json()
        assert failed.headers.get("Retry-After") == header
        assert server.targets() == []
        assert client.post(TARGETS, json=target()).status_code == 201


def test_slow_fault_delays_then_answers_normally() -> None:
    with fast() as server, api(server) as client:
        server.add_fault("GET", "slow", delay=0.3)
        started = time.monotonic()
        answer = client.get(TARGETS)
        assert time.monotonic() - started >= 0.3
        assert answer.status_code == 200


def test_slow_fault_longer_than_the_client_timeout_is_a_timeout() -> None:
    with fast() as server, api(server) as client:
        server.add_fault("GET", "slow", delay=0.4)
        with pytest.raises(httpx.ReadTimeout):
            client.get(TARGETS, timeout=0.1)


def test_drop_closes_the_connection_and_applies_nothing() -> None:
    with fast() as server, api(server) as client:
        server.add_fault("POST", "drop")
        with pytest.raises(httpx.TransportError):
            client.post(TARGETS, json=target())
        assert server.targets() == []
        assert client.post(TARGETS, json=target()).status_code == 201
        assert [r["status"] for r in server.requests()][-2:] == [None, 201]


def test_drop_after_commit_creates_the_target_but_the_client_sees_no_answer() -> None:
    with fast() as server, api(server) as client:
        server.add_fault("POST", "drop-after-commit")
        with pytest.raises(httpx.TransportError):
            client.post(TARGETS, json=target("billing"))
        assert [t["name"] for t in server.targets()] == ["billing"]
        assert client.get(TARGETS).json()["data"][0]["name"] == "billing"


def test_expire_token_fault_revokes_the_presented_token() -> None:
    with fast() as server, api(server) as client:
        server.add_fault("GET", "expire-token")
        first = client.get(TARGETS)
        assert (first.status_code, first.json()) == (401, {"error": "invalid_token"})
        assert client.get(TARGETS).status_code == 401
        with api(server) as renewed:
            assert renewed.get(TARGETS).status_code == 200


def test_faults_match_method_and_path_prefix_and_are_used_up() -> None:
    with fast() as server, api(server) as client:
        server.add_fault("PUT", "503", times=2)
        server.add_fault("*", "500", path="/oauth2/token")
        assert client.post(TARGETS, json=target()).status_code == 201
        assert client.get(f"{TARGETS}/1").status_code == 200
        statuses = [client.put(f"{TARGETS}/1", json=target()).status_code for _ in range(3)]
        assert statuses == [503, 503, 200]
        with httpx.Client(trust_env=False) as http:
            assert http.post(server.token_url, auth=CLIENT, data=GRANT).status_code == 500
            assert http.post(server.token_url, auth=CLIENT, data=GRANT).status_code == 200


def test_faults_can_be_queued_over_http_and_bad_ones_are_refused() -> None:
    with fast() as server, api(server) as client, httpx.Client(trust_env=False) as control:
        fault = {"method": "GET", "kind": "502", "times": 2, "retry_after": None}
        queued = control.post(f"{server.url}/_sandbox/faults", json=fault)
        assert queued.status_code == 201
        assert queued.json()["fault"]["path"] == TARGETS
        assert [client.get(TARGETS).status_code for _ in range(3)] == [502, 502, 200]
        for bad in [{"kind": "404"}, {"kind": "500", "tiems": 2}, {"kind": "500", "times": 0}]:
            refused = control.post(f"{server.url}/_sandbox/faults", json=bad)
            assert refused.status_code == 400, bad
        assert client.get(TARGETS).status_code == 200


@pytest.mark.parametrize(
    ("method", "kind", "options"),
    [
        ("POST", "418", {}),
        ("DELETE", "500", {}),
        ("GET", "500", {"times": 0}),
        ("GET", "429", {"retry_after": -1}),
        ("GET", "slow", {"delay": -1}),
        ("GET", "500", {"path": "v2"}),
    ],
)
def test_add_fault_refuses_what_it_could_not_inject(
    method: str, kind: str, options: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        fast().add_fault(method, kind, **options)


# --- control endpoints and the request log ---------------------------------------------------


def test_state_shows_targets_and_requests_and_reset_keeps_the_targets() -> None:
    with fast() as server, api(server) as client, httpx.Client(trust_env=False) as control:
        client.post(TARGETS, json=target())
        server.add_fault("GET", "500")
        state = control.get(f"{server.url}/_sandbox/state").json()
        assert [t["name"] for t in state["targets"]] == ["billing"]
        assert [(r["method"], r["path"], r["status"]) for r in state["requests"]] == [
            ("POST", "/oauth2/token", 200),
            ("POST", TARGETS, 201),
        ]
        assert control.post(f"{server.url}/_sandbox/reset").status_code == 200
        assert server.requests() == []
        assert client.get(TARGETS).status_code == 200  # the queued fault is gone
        assert [t["name"] for t in server.targets()] == ["billing"]


def test_request_log_holds_no_header_body_token_or_secret() -> None:
    with fast() as server:
        token = new_token(server)
        with api(server, token) as client:
            client.post(f"{TARGETS}?token={token}", json=target("secret-queue-name"))
        with httpx.Client(trust_env=False) as control:
            state = json.dumps(control.get(f"{server.url}/_sandbox/state").json()["requests"])
        logged = json.dumps(server.requests())
    for text in (logged, state):
        for leak in (token, "sandbox-secret", "Authorization", "Bearer", "secret-queue-name"):
            assert leak not in text
    assert all(set(entry) == {"method", "path", "status", "time"} for entry in server.requests())


# --- persistence and lifecycle ---------------------------------------------------------------


def test_state_file_keeps_targets_and_next_id_across_sandboxes(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    with fast(state_file=state_file) as server, api(server) as client:
        client.post(TARGETS, json=target("a"))
        client.post(TARGETS, json=target("b"))
        client.put(f"{TARGETS}/1", json=target("a2"))
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary file left
    with fast(state_file=state_file) as server, api(server) as client:
        assert [t["name"] for t in server.targets()] == ["a2", "b"]
        assert client.post(TARGETS, json=target("c")).json()["data"]["id"] == 3


def test_a_broken_state_file_is_refused(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text('{"targets": [{"name": "no id"}]}', encoding="utf-8")
    with pytest.raises(ValueError, match="not a sandbox state file"):
        Sandbox(state_file=state_file)


def test_stop_closes_the_port_and_can_be_called_twice() -> None:
    server = fast()
    with pytest.raises(RuntimeError):
        _ = server.url
    server.start()
    url = server.url
    with api(server) as client:
        assert client.get(TARGETS).status_code == 200
        server.stop()
        server.stop()
        with pytest.raises(httpx.TransportError):
            client.get(TARGETS)
    with pytest.raises(httpx.ConnectError), httpx.Client(trust_env=False) as http:
        http.get(url + TARGETS)


def test_serve_runs_until_interrupted_then_stops_cleanly() -> None:
    seen: list[str] = []

    def ready(url: str) -> None:
        with httpx.Client(trust_env=False) as http:
            answer = http.post(url + "/oauth2/token", auth=("id", "secret"), data=GRANT)
        assert answer.status_code == 200
        seen.append(url)
        raise KeyboardInterrupt

    serve(0, None, "id", "secret", ready=ready)
    assert len(seen) == 1
    with pytest.raises(httpx.ConnectError), httpx.Client(trust_env=False) as http:
        http.get(seen[0] + TARGETS)
