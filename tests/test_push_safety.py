"""What a push may take for its own, and what it must leave alone or leave for later.

A name looked up again before each create; a create whose outcome is unknown recorded as
pending and found by name later, never sent again blind; two remotes of one name a conflict;
a call target matched by name only (no lock entry) never overwritten without ``--force``; and
a member the API fills in by itself (``phoneNumbers``) no difference.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from calltmpl.errors import ApiError
from calltmpl.lockfile import Entry, Lock, body_hash
from calltmpl.plan import SETTLE, Desired, Plan, Step, differs, make_plan
from calltmpl.push import apply
from calltmpl.repository import Repository
from calltmpl.sandbox import Sandbox
from tests.sandboxed import body, create, lock, names, repo, run, server, steps, writes

__all__ = ["repo", "server"]  # fixtures

NOW = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
BODY = {"name": "A", "configuration": {"maxCallbackRetries": 2}}
WANTED = Desired("queues/a", "queues/a.yaml", BODY)


class Remote:
    """A client over a fixed list of call targets, for plans that need no server."""

    def __init__(self, *targets: dict[str, Any]) -> None:
        self.targets = list(targets)

    def list_targets(self) -> list[dict[str, Any]]:
        return [dict(t) for t in self.targets]

    def get_target(self, target_id: int) -> dict[str, Any] | None:
        return next((dict(t) for t in self.targets if t["id"] == target_id), None)


def _plan(lock: Lock, remote: Remote, now: datetime = NOW) -> Step:
    plan = make_plan([WANTED], lock, remote, now=lambda: now)  # type: ignore[arg-type]
    return plan.steps[0]


def _pending_lock(tmp_path: Path, sent: datetime) -> Lock:
    lock = Lock(tmp_path / "calltmpl.lock")
    lock.set("queues/a", Entry.sent("A", body_hash(BODY), sent))
    return lock


# --- phoneNumbers: a member the API fills in ------------------------------------------------


def test_a_body_without_phone_numbers_matches_the_apis_empty_default() -> None:
    remote = {"id": 1, **BODY, "phoneNumbers": {}}
    assert differs(remote, BODY) == []
    assert body_hash(remote) == body_hash(BODY)
    assert [c.pointer for c in differs({**remote, "phoneNumbers": {"+13125550100": "x"}}, BODY)]
    assert differs({"id": 1, **BODY}, {**BODY, "phoneNumbers": {}}) == []


def test_a_queue_without_phone_numbers_converges(repo: Path, server: Sandbox) -> None:
    (repo / "queues/sales.yaml").write_text(
        "template: calltmpl/pstn.yaml.j2\nname: Sales\ntimezone: America/Chicago\n"
        'callbackAgentDestination: "+13125550142"\nmaxCallbackRetries: 2\n',
        encoding="utf-8",
    )
    pushed = run("push", "--yes", "--format", "json")
    assert pushed.exit_code == 0, pushed.output
    assert {r["result"] for r in json.loads(pushed.stdout)["results"]} == {"created"}
    assert run("plan").exit_code == 0
    server.reset()
    assert run("push", "--yes").exit_code == 0
    assert writes(server) == []


# --- two remotes of one name ----------------------------------------------------------------


def test_a_second_remote_of_a_locked_name_is_a_conflict(repo: Path, server: Sandbox) -> None:
    assert run("push", "--yes").exit_code == 0
    ours = lock(repo)["targets"]["queues/billing"]["id"]
    extra = create(server, body("queues/billing.yaml"))  # e.g. a push from another clone
    plan = run("plan", "--format", "json")
    assert plan.exit_code == 4
    step = steps(plan)["queues/billing"]
    assert step["action"] == "conflict"
    assert f"ids {ours}, {extra}" in step["note"]
    assert steps(plan)["queues/sales"]["action"] == "unchanged"
    (repo / "queues/billing.yaml").write_text(
        (repo / "queues/billing.yaml")
        .read_text(encoding="utf-8")
        .replace("Retries: 2", "Retries: 3"),
        encoding="utf-8",
    )
    server.reset()
    assert run("push", "--yes").exit_code == 3
    assert writes(server) == []


# --- a name match without a lock entry ------------------------------------------------------


def test_a_differing_target_matched_only_by_name_needs_force(repo: Path, server: Sandbox) -> None:
    edited = body("queues/billing.yaml")
    edited["configuration"]["maxCallbackRetries"] = 5  # a UI edit the lock never saw
    target_id = create(server, edited)
    plan = run("plan", "--format", "json")
    assert plan.exit_code == 4
    step = steps(plan)["queues/billing"]
    assert step["action"] == "drifted"
    assert "no entry" in step["note"] and "--force" in step["note"]
    assert {"pointer": "/configuration/maxCallbackRetries", "remote": 5, "new": 2} in step[
        "changes"
    ]
    server.reset()
    pushed = run("push", "--yes", "--format", "json")
    assert pushed.exit_code == 3
    results = {r["queue"]: r for r in json.loads(pushed.stdout)["results"]}
    assert results["queues/billing"]["result"] == "left-drifted"
    assert writes(server) == [("POST", "/v2/callback/callTargets")]  # Sales only
    remote = next(t for t in server.targets() if t["id"] == target_id)
    assert remote["configuration"]["maxCallbackRetries"] == 5
    assert "queues/billing" not in lock(repo)["targets"]
    forced = run("push", "--yes", "--force")
    assert forced.exit_code == 0, forced.output
    remote = next(t for t in server.targets() if t["id"] == target_id)
    assert remote["configuration"]["maxCallbackRetries"] == 2
    assert list((repo / ".calltmpl/backups" / str(target_id)).glob("*.json"))
    assert lock(repo)["targets"]["queues/billing"]["id"] == target_id
    assert run("plan").exit_code == 0


# --- the name looked up again right before a create ----------------------------------------


def test_a_name_that_appeared_since_the_plan_is_never_created_twice(
    repo: Path, server: Sandbox
) -> None:
    repository = Repository.open(None, [])
    prepared = repository.prepare([])
    with repository.client(None) as client:
        lock_file, plan = repository.plan(prepared.desired, client)
        assert [s.action for s in plan.steps] == ["create", "create"]
        billing_id = create(server, body("queues/billing.yaml"))  # the same content
        other = body("queues/sales.yaml")
        other["configuration"]["maxCallbackRetries"] = 9  # someone else's
        create(server, other)
        results = repository.apply(plan, client, lock_file, repository.backups())
    outcome = {r.step.desired.key: r.result for r in results}
    assert outcome == {"queues/billing": "unchanged", "queues/sales": "left-drifted"}
    assert names(server) == ["Billing", "Sales"]
    assert [m for m, _ in writes(server)] == ["POST", "POST"]  # the two made above
    assert lock(repo)["targets"] == {
        "queues/billing": {
            "id": billing_id,
            "name": "Billing",
            "pushed": body_hash(body("queues/billing.yaml")),
            "remote": body_hash(body("queues/billing.yaml")),
        }
    }


# --- a create whose outcome is unknown ------------------------------------------------------


def test_a_timed_out_create_is_pending_and_never_sent_again_blind(
    repo: Path, server: Sandbox
) -> None:
    (repo / "calltmpl.yaml").write_text("api: {timeout: 0.2}\n", encoding="utf-8")
    (repo / "queues/sales.yaml").unlink()
    server.add_fault("POST", "slow", delay=2.0)  # answered long after the client gave up
    first = run("push", "--yes")
    assert first.exit_code == 3
    assert "pending" in first.output
    entry = lock(repo)["targets"]["queues/billing"]
    assert entry["id"] is None and entry["pending"]
    again = run("push", "--yes")  # a CI retry, at once
    assert again.exit_code == 3
    assert "pending" in again.stdout and "has not appeared yet" in again.stdout
    deadline = time.monotonic() + 10
    while not writes(server) and time.monotonic() < deadline:  # the first create lands
        time.sleep(0.05)
    assert [m for m, _ in writes(server)] == ["POST"]
    plan = run("plan")
    assert plan.exit_code == 0, plan.output
    assert "arrived as id" in plan.stdout
    assert run("push", "--yes").exit_code == 0
    assert names(server) == ["Billing"]
    assert lock(repo)["targets"]["queues/billing"]["id"] == server.targets()[0]["id"]


def test_plan_with_a_pending_create_is_not_in_sync(repo: Path, server: Sandbox) -> None:
    Lock(repo / "calltmpl.lock").set(
        "queues/billing", Entry.sent("Billing", "sha256:x", datetime.now(UTC))
    )
    plan = run("plan")
    assert plan.exit_code == 4
    assert "pending" in plan.stdout and "had no answer" in plan.stdout


def test_a_pending_create_is_resolved_by_name_or_sent_again_once_settled(tmp_path: Path) -> None:
    pending = _pending_lock(tmp_path, NOW - timedelta(seconds=5))
    step = _plan(pending, Remote())
    assert step.action == "pending" and "has not appeared yet" in step.note
    assert Plan((step,)).pending
    settled = _plan(pending, Remote(), NOW + SETTLE)
    assert settled.action == "create" and "never arrived" in settled.note
    found = _plan(pending, Remote({"id": 7, **BODY, "phoneNumbers": {}}))
    assert (found.action, found.target_id) == ("unchanged", 7)
    assert "arrived as id 7" in found.note
    changed = _plan(pending, Remote({"id": 7, "name": "A", "configuration": {}}))
    assert (changed.action, changed.target_id) == ("update", 7)
    twice = _plan(pending, Remote({"id": 7, **BODY}, {"id": 8, **BODY}))
    assert twice.action == "conflict" and "7, 8" in twice.note


class _Creates(Remote):
    def __init__(self, failure: BaseException) -> None:
        super().__init__()
        self.failure = failure
        self.lock: Lock | None = None
        self.seen: Entry | None = None

    def create_target(self, body: dict[str, Any]) -> dict[str, Any]:
        assert self.lock is not None
        self.seen = Lock.load(self.lock.path).get("queues/a")  # what a kill would leave
        raise self.failure


@pytest.mark.parametrize(
    ("failure", "kept"),
    [
        (ApiError("creating 'A' timed out and it has not appeared"), True),
        (ApiError("POST answered 503", 503), True),
        (KeyboardInterrupt(), True),
        (ApiError("POST answered 400: data.name is required", 400), False),
    ],
)
def test_a_create_is_recorded_as_pending_before_it_is_sent(
    tmp_path: Path, failure: BaseException, kept: bool
) -> None:
    lock_file = Lock(tmp_path / "calltmpl.lock")
    client = _Creates(failure)
    client.lock = lock_file
    plan = Plan((Step(WANTED, "create"),))
    try:
        results = apply(plan, client, lock_file, tmp_path, sleep=lambda s: None)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        results = []
    assert client.seen is not None and client.seen.id is None and client.seen.pending
    after = Lock.load(lock_file.path).get("queues/a")
    assert (after == client.seen) if kept else (after is None)
    if results:
        assert results[0].result == "failed"
        assert ("pending" in results[0].message) == kept
