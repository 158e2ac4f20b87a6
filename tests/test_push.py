"""Plan and push against the stand-in Mindful server, over real HTTP on 127.0.0.1.

The server enforces Mindful's limits (one write a second, a one-second read cache, expiring
tokens), so these tests take some seconds: each push waits as a real one would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from calltmpl.cli import main
from calltmpl.sandbox import Sandbox
from tests.conftest import write_tree

CLIENT_ID = "calltmpl-tests"
SECRET = "s3cr3t-Client-Secret-7f9a2c"

QUEUE = """template: calltmpl/pstn.yaml.j2
name: {name}
timezone: America/Chicago
callbackAgentDestination: "{destination}"
phoneNumbers: {{"{number}": "main"}}
maxCallbackRetries: {retries}
"""


def queue(name: str, index: int, retries: int = 2) -> str:
    return QUEUE.format(
        name=name, destination=f"+1312555014{index}", number=f"+1312555012{index}", retries=retries
    )


OUTPUTS: list[str] = []


@pytest.fixture
def server() -> Iterator[Sandbox]:
    OUTPUTS.clear()
    with Sandbox(client_id=CLIENT_ID, client_secret=SECRET) as sandbox:
        yield sandbox
        # No token the server issued appears in anything a command printed.
        for token in sandbox.issued_tokens():
            assert all(token not in text for text in OUTPUTS)


@pytest.fixture
def repo(in_tmp: Path, server: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINDFUL_API_URL", server.url)
    monkeypatch.setenv("MINDFUL_TOKEN_URL", server.token_url)
    monkeypatch.setenv("MINDFUL_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("MINDFUL_CLIENT_SECRET", SECRET)
    monkeypatch.delenv("MINDFUL_TOKEN", raising=False)
    return write_tree(
        in_tmp,
        {
            "calltmpl.yaml": "{}\n",
            "queues/billing.yaml": queue("Billing", 1),
            "queues/sales.yaml": queue("Sales", 2),
        },
    )


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    OUTPUTS.extend((result.stdout, result.stderr))
    for text in (result.stdout, result.stderr):
        assert SECRET not in text
        assert "Traceback" not in text
    return result


def writes(server: Sandbox) -> list[tuple[str, str]]:
    return [
        (r["method"], r["path"])
        for r in server.requests()
        if r["method"] in ("POST", "PUT") and r["path"].startswith("/v2/") and r["status"] < 300
    ]


def names(server: Sandbox) -> list[str]:
    return sorted(t["name"] for t in server.targets())


def lock(repo: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((repo / "calltmpl.lock").read_text(encoding="utf-8"))
    return data


def test_first_push_creates_every_target_once_and_records_it(repo: Path, server: Sandbox) -> None:
    result = run("push", "--yes")
    assert result.exit_code == 0, result.output
    assert names(server) == ["Billing", "Sales"]
    assert [m for m, _ in writes(server)] == ["POST", "POST"]
    entries = lock(repo)["targets"]
    assert set(entries) == {"queues/billing", "queues/sales"}
    assert {e["id"] for e in entries.values()} == {t["id"] for t in server.targets()}
    assert "created" in result.stdout
    log = server.requests()
    assert [r["path"] for r in log].count("/oauth2/token") == 1  # one token, reused
    assert [r for r in log if r["status"] == 429] == []  # the client kept to 1 write/s
    stamps = [r["time"] for r in log if r["method"] == "POST" and r["path"].startswith("/v2/")]
    assert stamps[1] - stamps[0] >= 0.95


def test_second_push_writes_nothing_and_plan_says_in_sync(repo: Path, server: Sandbox) -> None:
    assert run("push", "--yes").exit_code == 0
    server.reset()
    again = run("push", "--yes")
    assert again.exit_code == 0, again.output
    assert writes(server) == []
    assert "in sync" in again.stdout
    plan = run("plan")
    assert plan.exit_code == 0, plan.output


def test_one_changed_queue_sends_one_put_with_the_whole_target(repo: Path, server: Sandbox) -> None:
    assert run("push", "--yes").exit_code == 0
    (repo / "queues/billing.yaml").write_text(queue("Billing", 1, retries=4), encoding="utf-8")
    plan = run("plan", "--format", "json")
    assert plan.exit_code == 4
    steps = {s["queue"]: s for s in json.loads(plan.stdout)["plan"]}
    assert steps["queues/sales"]["action"] == "unchanged"
    assert steps["queues/billing"]["changes"] == [
        {"pointer": "/configuration/maxCallbackRetries", "remote": 2, "new": 4}
    ]
    server.reset()
    billing_id = lock(repo)["targets"]["queues/billing"]["id"]
    assert run("push", "--yes").exit_code == 0
    assert writes(server) == [("PUT", f"/v2/callback/callTargets/{billing_id}")]
    remote = next(t for t in server.targets() if t["id"] == billing_id)
    assert remote["configuration"]["maxCallbackRetries"] == 4
    assert len(remote["configuration"]) > 50  # the whole call target, not the change
    backups = list((repo / ".calltmpl/backups" / str(billing_id)).glob("*.json"))
    assert len(backups) == 1
    saved = json.loads(backups[0].read_text(encoding="utf-8"))["data"]["callTarget"]
    assert saved["configuration"]["maxCallbackRetries"] == 2


def test_ui_edit_is_drift_and_survives_a_push_without_force(repo: Path, server: Sandbox) -> None:
    assert run("push", "--yes").exit_code == 0
    sales_id = lock(repo)["targets"]["queues/sales"]["id"]
    server.edit(sales_id, {"maxCallbackRetries": 7})
    plan = run("plan", "--format", "json")
    assert plan.exit_code == 4
    step = next(s for s in json.loads(plan.stdout)["plan"] if s["queue"] == "queues/sales")
    assert step["action"] == "drifted"
    assert {"pointer": "/configuration/maxCallbackRetries", "remote": 7, "new": 2} in step[
        "changes"
    ]
    pushed = run("push", "--yes")
    assert pushed.exit_code == 3
    assert "left-drifted" in pushed.stdout
    remote = next(t for t in server.targets() if t["id"] == sales_id)
    assert remote["configuration"]["maxCallbackRetries"] == 7
    forced = run("push", "--yes", "--force")
    assert forced.exit_code == 0, forced.output
    remote = next(t for t in server.targets() if t["id"] == sales_id)
    assert remote["configuration"]["maxCallbackRetries"] == 2
    assert run("plan").exit_code == 0


def test_queue_without_lock_entry_is_matched_by_name(repo: Path, server: Sandbox) -> None:
    assert run("push", "--yes").exit_code == 0
    (repo / "calltmpl.lock").unlink()
    server.reset()
    result = run("push", "--yes")
    assert result.exit_code == 0, result.output
    assert writes(server) == []
    assert names(server) == ["Billing", "Sales"]
    assert set(lock(repo)["targets"]) == {"queues/billing", "queues/sales"}


@pytest.mark.parametrize(
    ("method", "kind", "retry_after"),
    [
        ("POST", "429", 1.0),
        ("POST", "429", None),
        ("POST", "503", None),
        ("POST", "drop-after-commit", None),
        ("POST", "drop", None),
        ("GET", "500", None),
        ("POST", "expire-token", None),
    ],
)
def test_faults_end_with_every_target_present_exactly_once(
    repo: Path, server: Sandbox, method: str, kind: str, retry_after: float | None
) -> None:
    server.add_fault(method, kind, retry_after=retry_after)
    result = run("push", "--yes")
    assert result.exit_code == 0, result.output
    assert names(server) == ["Billing", "Sales"]
    assert run("plan").exit_code == 0


def test_faults_on_update_are_retried(repo: Path, server: Sandbox) -> None:
    assert run("push", "--yes").exit_code == 0
    (repo / "queues/billing.yaml").write_text(queue("Billing", 1, retries=3), encoding="utf-8")
    server.add_fault("PUT", "502")
    server.add_fault("PUT", "429", retry_after=1.0)
    result = run("push", "--yes")
    assert result.exit_code == 0, result.output
    assert names(server) == ["Billing", "Sales"]
    assert run("plan").exit_code == 0


def test_a_refused_target_fails_the_run_but_not_the_others(repo: Path, server: Sandbox) -> None:
    assert run("push", "--yes").exit_code == 0
    billing_id = lock(repo)["targets"]["queues/billing"]["id"]
    (repo / "queues/billing.yaml").write_text(queue("Billing", 1, retries=3), encoding="utf-8")
    (repo / "queues/sales.yaml").write_text(queue("Sales", 2, retries=3), encoding="utf-8")
    server.add_fault("PUT", "500", times=30, path=f"/v2/callback/callTargets/{billing_id}")
    result = run("push", "--yes", "--format", "json")
    assert result.exit_code == 3
    outcome = {r["queue"]: r["result"] for r in json.loads(result.stdout)["results"]}
    assert outcome == {"queues/billing": "failed", "queues/sales": "updated"}
    retries = {t["name"]: t["configuration"]["maxCallbackRetries"] for t in server.targets()}
    assert retries == {"Billing": 2, "Sales": 3}


def test_a_create_that_times_out_is_never_sent_twice(repo: Path, server: Sandbox) -> None:
    (repo / "calltmpl.yaml").write_text("api: {timeout: 1}\n", encoding="utf-8")
    server.add_fault("POST", "slow", delay=1.6)
    result = run("push", "--yes")
    assert result.exit_code == 0, result.output
    assert names(server) == ["Billing", "Sales"]


def test_slow_reads_are_retried(repo: Path, server: Sandbox) -> None:
    (repo / "calltmpl.yaml").write_text("api: {timeout: 1}\n", encoding="utf-8")
    server.add_fault("GET", "slow", delay=1.5)
    result = run("plan")
    assert result.exit_code == 4, result.output


def _api(server: Sandbox, method: str, path: str, body: Any = None) -> Any:
    token = httpx.post(
        server.token_url, auth=(CLIENT_ID, SECRET), data={"grant_type": "client_credentials"}
    ).json()["access_token"]
    answer = httpx.request(
        method, server.url + path, json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code < 300, answer.text
    return answer.json()


def test_two_remotes_with_the_name_are_a_conflict_not_a_create(repo: Path, server: Sandbox) -> None:
    for _ in range(2):
        _api(
            server,
            "POST",
            "/v2/callback/callTargets",
            {"data": {"name": "Billing", "configuration": {}}},
        )
        time.sleep(1.1)  # the write limit, then the read cache
    plan = run("plan", "--format", "json")
    assert plan.exit_code == 4
    step = next(s for s in json.loads(plan.stdout)["plan"] if s["queue"] == "queues/billing")
    assert step["action"] == "conflict"
    pushed = run("push", "--yes")
    assert pushed.exit_code == 3
    assert names(server) == ["Billing", "Billing", "Sales"]


def test_a_queue_cannot_take_over_another_queues_target(repo: Path, server: Sandbox) -> None:
    assert run("push", "--yes").exit_code == 0
    (repo / "queues/copy.yaml").write_text(queue("Billing", 3), encoding="utf-8")
    server.reset()
    # Lint compares the file pushed with every queue (issue 9): the clash stops it there.
    linted = run("push", "--yes", "queues/copy.yaml")
    assert linted.exit_code == 1, linted.output
    assert "CT703" in linted.output and "queues/billing.yaml" in linted.output
    # With the rule switched off, the plan still refuses to take the other's call target.
    (repo / "calltmpl.yaml").write_text("lint: {ignore: [CT703]}\n", encoding="utf-8")
    result = run("push", "--yes", "queues/copy.yaml")
    assert result.exit_code == 3
    assert "belongs to queues/billing" in result.output
    assert writes(server) == []


def test_an_edit_of_a_member_the_repository_does_not_write_is_drift_shown_as_removal(
    repo: Path, server: Sandbox
) -> None:
    assert run("push", "--yes").exit_code == 0
    sales_id = lock(repo)["targets"]["queues/sales"]["id"]
    server.edit(sales_id, {"uiOnlyField": "x"})
    plan = run("plan", "--format", "json")
    step = next(s for s in json.loads(plan.stdout)["plan"] if s["queue"] == "queues/sales")
    assert step["action"] == "drifted"
    assert step["changes"] == [{"pointer": "/configuration/uiOnlyField", "remote": "x"}]


def test_a_push_whose_write_landed_but_was_not_recorded_is_not_drift(
    repo: Path, server: Sandbox
) -> None:
    assert run("push", "--yes").exit_code == 0
    billing_id = lock(repo)["targets"]["queues/billing"]["id"]
    (repo / "queues/billing.yaml").write_text(queue("Billing", 1, retries=6), encoding="utf-8")
    body = json.loads(run("render", "queues/billing.yaml").stdout)["data"]
    _api(server, "PUT", f"/v2/callback/callTargets/{billing_id}", {"data": body})
    time.sleep(1.1)
    assert run("plan").exit_code == 0
    server.reset()
    assert run("push", "--yes").exit_code == 0
    assert writes(server) == []


def test_a_valid_bearer_token_from_the_environment_is_used(
    repo: Path, server: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = httpx.post(
        server.token_url, auth=(CLIENT_ID, SECRET), data={"grant_type": "client_credentials"}
    ).json()["access_token"]
    monkeypatch.setenv("MINDFUL_TOKEN", token)
    monkeypatch.delenv("MINDFUL_CLIENT_SECRET")
    server.reset()
    result = run("plan")
    assert result.exit_code == 4, result.output
    assert "/oauth2/token" not in [r["path"] for r in server.requests()]


def test_lint_errors_block_the_push(repo: Path, server: Sandbox) -> None:
    (repo / "queues/sales.yaml").write_text(
        queue("Sales", 2) + "minCallbackNumberLength: 16\n", encoding="utf-8"
    )
    result = run("push", "--yes")
    assert result.exit_code == 1
    assert "CT301" in result.stdout
    assert server.requests() == []


def test_push_without_a_terminal_needs_yes(repo: Path, server: Sandbox) -> None:
    result = run("push")
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert writes(server) == []


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MINDFUL_CLIENT_SECRET", "", "no credentials"),
        ("MINDFUL_API_URL", "http://api.example.com", "plain http"),
        ("MINDFUL_TOKEN_URL", "http://192.0.2.10/oauth2/token", "plain http"),
    ],
)
def test_settings_errors_exit_2_before_sending(
    repo: Path,
    server: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(variable, value)
    result = run("plan")
    assert result.exit_code == 2
    assert message in result.stderr
    assert server.requests() == []


def test_wrong_secret_is_reported_without_showing_it(
    repo: Path, server: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINDFUL_CLIENT_SECRET", SECRET + "-wrong")
    result = run("plan")
    assert result.exit_code == 3
    assert "401" in result.stderr
    assert SECRET + "-wrong" not in result.output


def test_no_credential_reaches_files_the_push_writes(repo: Path, server: Sandbox) -> None:
    assert run("push", "--yes").exit_code == 0
    (repo / "queues/billing.yaml").write_text(queue("Billing", 1, retries=5), encoding="utf-8")
    assert run("push", "--yes").exit_code == 0
    written = [repo / "calltmpl.lock", *(repo / ".calltmpl").rglob("*.json")]
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert SECRET not in text and "Bearer" not in text and "access_token" not in text


def test_bearer_token_from_the_environment_is_used_as_is(
    repo: Path, server: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINDFUL_TOKEN", "not-a-token-the-server-issued")
    monkeypatch.delenv("MINDFUL_CLIENT_SECRET")
    result = run("plan")
    assert result.exit_code == 3
    assert "not-a-token-the-server-issued" not in result.output


def test_sandbox_command_serves_until_interrupted(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINDFUL_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "calltmpl",
            "sandbox",
            "--port",
            "0",
            "--state",
            str(tmp_path / "state.json"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.split()[3]
        assert url.startswith("http://127.0.0.1:")
        answer = httpx.post(
            f"{url}/oauth2/token",
            auth=("sandbox", "sandbox-secret"),
            data={"grant_type": "client_credentials"},
            timeout=5,
        )
        assert answer.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()
    assert code == 0


def test_verbose_shows_requests_but_never_credentials(repo: Path, server: Sandbox) -> None:
    result = run("push", "--yes", "--verbose")
    assert result.exit_code == 0, result.output
    assert "POST /v2/callback/callTargets -> 201" in result.stderr
    assert "/oauth2/token -> 200" in result.stderr
    for leak in ("Bearer", "Authorization", SECRET, CLIENT_ID + ":"):
        assert leak not in result.output


def test_a_token_about_to_expire_is_renewed_before_use(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Sandbox(client_id=CLIENT_ID, client_secret=SECRET, token_lifetime=1.5) as short:
        monkeypatch.setenv("MINDFUL_API_URL", short.url)
        monkeypatch.setenv("MINDFUL_TOKEN_URL", short.token_url)
        result = run("push", "--yes")
        assert result.exit_code == 0, result.output
        log = short.requests()
    assert [r for r in log if r["status"] == 401] == []
    assert [r["path"] for r in log].count("/oauth2/token") >= 2
