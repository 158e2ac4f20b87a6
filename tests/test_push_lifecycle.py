"""Plans that see every call target the lock knows, and say the same thing every run.

A renamed queue is ``moved`` (its content may change too), never a conflict; a lock entry
whose file is gone is an ``orphan`` (in a plan of some paths only below the folders given,
never one an unselected queue takes over); an inbound number another call target holds is
never attached to a second one; ``push --prune`` parks orphans; an update is never shown as
``unchanged``; the plan's order and summary are fixed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from calltmpl.lockfile import Entry, Lock, body_hash
from calltmpl.plan import ABSENT, SETTLE, Change, Desired, diff, differs, make_plan
from calltmpl.push import apply
from calltmpl.sandbox import Sandbox
from tests.sandboxed import NO_WAITING, lock, queue, repo, run, server, steps, writes

__all__ = ["repo", "server"]  # fixtures

NOW = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)


def _rename(repo: Path, old: str, new: str) -> None:
    (repo / new).parent.mkdir(parents=True, exist_ok=True)
    (repo / old).rename(repo / new)


def _remote(server: Sandbox, target_id: int) -> dict[str, Any]:
    return next(t for t in server.targets() if t["id"] == target_id)


# --- moved ------------------------------------------------------------------------------------


def test_a_renamed_and_edited_queue_is_moved_and_updated_in_one_put(
    repo: Path, server: Sandbox
) -> None:
    assert run("push", "--yes").exit_code == 0
    sales_id = lock(repo)["targets"]["queues/sales"]["id"]
    (repo / "queues/sales.yaml").unlink()
    (repo / "queues/desk.yaml").write_text(queue("Sales", 2, retries=4), encoding="utf-8")
    plan = run("plan", "queues/desk.yaml", "--format", "json")  # a plan of the new file alone
    assert plan.exit_code == 4, plan.output
    step = steps(plan)["queues/desk"]
    assert (step["action"], step["id"]) == ("moved", sales_id)
    assert step["changes"] == [
        {"pointer": "/configuration/maxCallbackRetries", "remote": 2, "new": 4}
    ]
    assert "sends these changes" in step["note"]
    server.reset()
    pushed = run("push", "--yes", "--format", "json")
    assert pushed.exit_code == 0, pushed.output
    assert writes(server) == [("PUT", f"/v2/callback/callTargets/{sales_id}")]
    assert _remote(server, sales_id)["configuration"]["maxCallbackRetries"] == 4
    result = {r["queue"]: r for r in json.loads(pushed.stdout)["results"]}["queues/desk"]
    assert result["result"] == "updated" and "moved from queues/sales" in result["message"]
    assert set(lock(repo)["targets"]) == {"queues/billing", "queues/desk"}
    assert run("plan").exit_code == 0


def test_a_queue_renamed_with_a_new_name_never_takes_a_second_target_with_its_number(
    repo: Path, server: Sandbox
) -> None:
    assert run("push", "--yes").exit_code == 0
    sales_id = lock(repo)["targets"]["queues/sales"]["id"]
    (repo / "queues/sales.yaml").unlink()
    (repo / "queues/desk.yaml").write_text(queue("Sales desk", 2), encoding="utf-8")
    plan = run("plan")
    assert plan.exit_code == 4
    assert "Plan: 0 create, 0 update, 0 moved, 1 orphan, 0 drifted, 1 conflict, 0 pending, " in (
        plan.stdout
    )
    step = steps(run("plan", "--format", "json"))["queues/desk"]
    assert step["action"] == "conflict"
    assert f"+13125550122 is already attached to call target {sales_id}" in step["note"]
    assert "keep its name 'Sales' here" in step["note"]
    server.reset()
    assert run("push", "--yes").exit_code == 3
    assert writes(server) == []
    # The hint followed: the old name kept, the plan says moved; then the rename is an update.
    (repo / "queues/desk.yaml").write_text(queue("Sales", 2), encoding="utf-8")
    assert steps(run("plan", "--format", "json"))["queues/desk"]["action"] == "moved"
    assert run("push", "--yes").exit_code == 0
    (repo / "queues/desk.yaml").write_text(queue("Sales desk", 2), encoding="utf-8")
    assert steps(run("plan", "--format", "json"))["queues/desk"]["action"] == "update"
    assert run("push", "--yes").exit_code == 0
    assert sorted(t["name"] for t in server.targets()) == ["Billing", "Sales desk"]
    assert run("plan").exit_code == 0


# --- orphans ------------------------------------------------------------------------------------


def test_a_plan_of_some_paths_shows_only_the_orphans_below_its_folders(
    repo: Path, server: Sandbox
) -> None:
    (repo / "queues/team").mkdir()
    (repo / "queues/billing.yaml").rename(repo / "queues/team/billing.yaml")
    assert run("push", "--yes").exit_code == 0
    (repo / "queues/team/billing.yaml").unlink()
    assert "queues/team/billing" not in steps(run("plan", "queues/sales.yaml", "--format", "json"))
    assert run("plan", "queues/sales.yaml").exit_code == 0
    for folder in ("queues/team", "queues", "."):
        found = steps(run("plan", folder, "--format", "json"))
        assert found["queues/team/billing"]["action"] == "orphan", folder


def test_a_plan_of_a_folder_never_orphans_a_queue_moved_out_of_it(
    repo: Path, server: Sandbox
) -> None:
    _rename(repo, "queues/billing.yaml", "queues/a/billing.yaml")
    assert run("push", "--yes").exit_code == 0
    billing_id = lock(repo)["targets"]["queues/a/billing"]["id"]
    _rename(repo, "queues/a/billing.yaml", "queues/b/billing.yaml")
    assert steps(run("plan", "queues/a", "--format", "json")) == {}
    server.reset()
    assert run("push", "queues/a", "--yes", "--prune").exit_code == 0
    assert writes(server) == []
    assert (
        steps(run("plan", "queues/b", "--format", "json"))["queues/b/billing"]["id"] == billing_id
    )


def test_an_orphan_whose_target_is_gone_is_dropped_by_prune(repo: Path, server: Sandbox) -> None:
    assert run("push", "--yes").exit_code == 0
    Lock.load(repo / "calltmpl.lock").set("queues/old", Entry(999, "Old", "sha256:a", "sha256:b"))
    step = steps(run("plan", "--format", "json"))["queues/old"]
    assert step["action"] == "orphan" and "gone from Mindful too" in step["note"]
    server.reset()
    pruned = run("push", "--yes", "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert "dropped" in pruned.stdout
    assert writes(server) == []
    assert "queues/old" not in lock(repo)["targets"]
    assert run("plan").exit_code == 0


def test_an_already_parked_orphan_is_dropped_without_a_write(repo: Path, server: Sandbox) -> None:
    assert run("push", "--yes").exit_code == 0
    billing_id = lock(repo)["targets"]["queues/billing"]["id"]
    server.edit(
        billing_id, {"enableCallbackProcessing": False, "enableCallbackRegistration": False}
    )
    (repo / "queues/billing.yaml").unlink()
    assert "already parked" in steps(run("plan", "--format", "json"))["queues/billing"]["note"]
    server.reset()
    assert run("push", "--yes", "--prune").exit_code == 0
    assert writes(server) == []
    assert set(lock(repo)["targets"]) == {"queues/sales"}


class _Remote:
    """A client over fixed call targets whose writes are accepted and read back as
    ``answer`` says."""

    def __init__(self, *targets: dict[str, Any], keeps: bool = True) -> None:
        self.targets = {int(t["id"]): dict(t) for t in targets}
        self.keeps = keeps
        self.sent: list[dict[str, Any]] = []

    def list_targets(self) -> list[dict[str, Any]]:
        return [dict(t) for t in self.targets.values()]

    def get_target(self, target_id: int) -> dict[str, Any] | None:
        found = self.targets.get(target_id)
        return dict(found) if found is not None else None

    def update_target(self, target_id: int, body: dict[str, Any]) -> dict[str, Any]:
        self.sent.append(body)
        if self.keeps:
            self.targets[target_id] = {"id": target_id, **body}
        return {"id": target_id, **body}


LIVE = {"enableCallbackProcessing": True, "enableCallbackRegistration": True, "timezone": "UTC"}


def test_a_park_that_does_not_read_back_parked_keeps_the_lock_entry(tmp_path: Path) -> None:
    lock_file = Lock(tmp_path / "calltmpl.lock")
    lock_file.set("queues/old", Entry(7, "Old", "sha256:a", "sha256:b"))
    for keeps, result, kept in ((False, "not-verified", True), (True, "parked", False)):
        client = _Remote(
            {"id": 7, "name": "Old", "configuration": LIVE, "phoneNumbers": {}}, keeps=keeps
        )
        plan = make_plan([], lock_file, client, gone={"queues/old": "queues/old"})  # type: ignore[arg-type]
        assert [s.action for s in plan.steps] == ["orphan"]
        results = apply(plan, client, lock_file, tmp_path, prune=True, sleep=lambda s: None)  # type: ignore[arg-type]
        assert [r.result for r in results] == [result]
        assert client.sent[-1]["configuration"] == {
            **LIVE,
            **dict.fromkeys(LIVE, False),
            "timezone": "UTC",
        }
        assert ("queues/old" in Lock.load(lock_file.path).entries) == kept


def test_an_orphaned_create_with_no_answer_waits_then_is_dropped(tmp_path: Path) -> None:
    lock_file = Lock(tmp_path / "calltmpl.lock")
    lock_file.set("queues/old", Entry.sent("Old", "sha256:a", NOW))
    gone = {"queues/old": "queues/old"}
    early = make_plan([], lock_file, _Remote(), gone=gone, now=lambda: NOW)  # type: ignore[arg-type]
    assert [s.action for s in early.steps] == ["pending"]
    late = make_plan([], lock_file, _Remote(), gone=gone, now=lambda: NOW + SETTLE)  # type: ignore[arg-type]
    assert [(s.action, s.target_id) for s in late.steps] == [("orphan", None)]
    results = apply(late, _Remote(), lock_file, tmp_path, prune=True)  # type: ignore[arg-type]
    assert [r.result for r in results] == ["dropped"]
    assert Lock.load(lock_file.path).entries == {}
    arrived = _Remote({"id": 9, "name": "Old", "configuration": LIVE})
    lock_file.set("queues/old", Entry.sent("Old", "sha256:a", NOW - timedelta(seconds=5)))
    found = make_plan([], lock_file, arrived, gone=gone, now=lambda: NOW)  # type: ignore[arg-type]
    assert [(s.action, s.target_id) for s in found.steps] == [("orphan", 9)]


# --- never "unchanged" when an update would change something ----------------------------------


def test_a_member_only_the_remote_has_is_an_update_in_text_and_json(
    repo: Path, server: Sandbox
) -> None:
    assert run("push", "--yes").exit_code == 0
    sales_id = lock(repo)["targets"]["queues/sales"]["id"]
    server.edit(sales_id, {"legacyMember": 5})
    # As if the last push had sent a longer body, which the queue's template no longer renders.
    entries = Lock.load(repo / "calltmpl.lock")
    entry = entries.entries["queues/sales"]
    entries.set(
        "queues/sales",
        Entry(entry.id, entry.name, "sha256:older", body_hash(_remote(server, sales_id))),
    )
    plan = run("plan", "--format", "json")
    assert plan.exit_code == 4
    step = steps(plan)["queues/sales"]
    assert step["action"] == "update"
    assert step["changes"] == [{"pointer": "/configuration/legacyMember", "remote": 5}]
    text = run("plan")
    assert "update" in text.stdout and "/configuration/legacyMember: 5 -> (absent)" in text.stdout
    pushed = run("push", "--yes")
    assert pushed.exit_code == 0, pushed.output
    assert "legacyMember" not in _remote(server, sales_id)["configuration"]
    assert run("plan").exit_code == 0


def test_what_the_api_made_of_the_last_push_of_this_body_is_unchanged(tmp_path: Path) -> None:
    wanted = Desired("queues/a", "queues/a.yaml", {"name": "A", "configuration": {"x": 1}})
    remote = {"id": 3, "name": "A", "configuration": {"x": 1, "added": True}, "phoneNumbers": {}}
    lock_file = Lock(tmp_path / "calltmpl.lock")
    lock_file.set("queues/a", Entry(3, "A", body_hash(wanted.body), body_hash(remote)))
    step = make_plan([wanted], lock_file, _Remote(remote)).steps[0]  # type: ignore[arg-type]
    assert (step.action, step.changes) == ("unchanged", ())
    assert "sending it again would change nothing" in step.note
    assert [c.pointer for c in differs(remote, wanted.body)] == ["/configuration/added"]


# --- a stable order ----------------------------------------------------------------------------


def test_differences_come_in_a_fixed_order() -> None:
    remote = {"configuration": {k: 1 for k in "qwertyuiopasdfghjkl"}}
    found = list(diff(remote, {"configuration": {"z": 2}}))
    assert found[0] == Change("/configuration/z", ABSENT, 2)
    pointers = [c.pointer for c in found[1:]]
    assert pointers == sorted(pointers)


def test_plan_output_is_the_same_whatever_the_hash_seed(repo: Path, server: Sandbox) -> None:
    assert run("push", "--yes").exit_code == 0
    (repo / "queues/billing.yaml").unlink()
    sales_id = lock(repo)["targets"]["queues/sales"]["id"]
    server.edit(sales_id, {f"ui{c}": 1 for c in "qwertyuiopasdfgh"})
    outputs = set()
    for seed in ("1", "2", "3"):
        done = subprocess.run(
            [sys.executable, "-c", NO_WAITING, "plan", "--format", "json"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=60,
            check=False,
        )
        assert done.returncode == 4, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1
    plan = json.loads(outputs.pop())["plan"]
    assert [s["queue"] for s in plan] == ["queues/billing", "queues/sales"]


def test_a_pruned_queue_restored_is_drift_until_forced_back(repo: Path, server: Sandbox) -> None:
    assert run("push", "--yes").exit_code == 0
    billing_id = lock(repo)["targets"]["queues/billing"]["id"]
    text = (repo / "queues/billing.yaml").read_text(encoding="utf-8")
    (repo / "queues/billing.yaml").unlink()
    assert run("push", "--yes", "--prune").exit_code == 0
    assert _remote(server, billing_id)["configuration"]["enableCallbackProcessing"] is False
    (repo / "queues/billing.yaml").write_text(text, encoding="utf-8")
    step = steps(run("plan", "--format", "json"))["queues/billing"]
    assert (step["action"], step["id"]) == ("drifted", billing_id)
    assert run("push", "--yes", "--force").exit_code == 0
    assert _remote(server, billing_id)["configuration"]["enableCallbackProcessing"] is True
    assert run("plan").exit_code == 0


def test_an_orphan_read_without_a_configuration_is_not_parked(tmp_path: Path) -> None:
    lock_file = Lock(tmp_path / "calltmpl.lock")
    lock_file.set("queues/old", Entry(7, "Old", "sha256:a", "sha256:b"))
    client = _Remote({"id": 7, "name": "Old", "configuration": None})
    plan = make_plan([], lock_file, client, gone={"queues/old": "queues/old"})  # type: ignore[arg-type]
    results = apply(plan, client, lock_file, tmp_path, prune=True)  # type: ignore[arg-type]
    assert [r.result for r in results] == ["failed"]
    assert "without a configuration object" in results[0].message
    assert client.sent == [] and "queues/old" in Lock.load(lock_file.path).entries
