"""A queue's whole life in git, against the sandbox: created, renamed, deleted, pruned.

A renamed queue file is the same call target (``moved``: the lock entry moves, nothing is
sent); a deleted one leaves an ``orphan`` that a push leaves alone and ``push --prune`` parks
(callback processing and registration off, nothing else changed); then the plan is in sync.
"""

from __future__ import annotations

import json
from pathlib import Path

from calltmpl.sandbox import Sandbox
from tests.sandboxed import lock, queue, repo, run, server, steps, writes

__all__ = ["repo", "server"]  # fixtures


def test_rename_delete_and_prune_end_in_sync(repo: Path, server: Sandbox) -> None:
    (repo / "queues/support.yaml").write_text(queue("Support", 3), encoding="utf-8")
    first = run("push", "--yes")
    assert first.exit_code == 0, first.output
    assert [m for m, _ in writes(server)] == ["POST", "POST", "POST"]
    ids = {key: entry["id"] for key, entry in lock(repo)["targets"].items()}

    # A renamed file (git mv): the same call target, moved in the lock, nothing sent.
    (repo / "queues/sales.yaml").rename(repo / "queues/sales-desk.yaml")
    plan = run("plan", "--format", "json")
    assert plan.exit_code == 4, plan.output
    moved = steps(plan)["queues/sales-desk"]
    assert (moved["action"], moved["id"], moved["changes"]) == ("moved", ids["queues/sales"], [])
    assert "renamed from queues/sales" in moved["note"]
    assert "queues/sales" not in steps(plan)  # neither an orphan nor a conflict
    text = run("plan")
    assert text.exit_code == 4
    assert "Plan: 0 create, 0 update, 1 moved, 0 orphan, 0 drifted, 0 conflict, 0 pending, " in (
        text.stdout
    )
    server.reset()
    pushed = run("push", "--yes")
    assert pushed.exit_code == 0, pushed.output
    assert writes(server) == []
    entries = lock(repo)["targets"]
    assert "queues/sales" not in entries
    assert entries["queues/sales-desk"]["id"] == ids["queues/sales"]
    assert run("plan").exit_code == 0

    # A deleted file: an orphan, left alone by a push, parked by push --prune.
    (repo / "queues/billing.yaml").unlink()
    plan = run("plan", "--format", "json")
    assert plan.exit_code == 4, plan.output
    orphan = steps(plan)["queues/billing"]
    assert orphan["action"] == "orphan"
    assert (orphan["file"], orphan["name"], orphan["id"]) == (
        "queues/billing",
        "Billing",
        ids["queues/billing"],
    )
    assert "--prune parks it" in orphan["note"]
    before = next(t for t in server.targets() if t["id"] == ids["queues/billing"])
    assert before["configuration"]["enableCallbackProcessing"] is True
    server.reset()
    left = run("push", "--yes")
    assert left.exit_code == 0, left.output
    assert f"orphan left alone: queues/billing ('Billing'), call target {before['id']}" in (
        left.stdout
    )
    assert "calltmpl push --prune" in left.stdout
    assert writes(server) == []
    assert "queues/billing" in lock(repo)["targets"]
    assert run("plan").exit_code == 4

    pruned = run("push", "--yes", "--prune", "--format", "json")
    assert pruned.exit_code == 0, pruned.output
    results = {r["queue"]: r for r in json.loads(pruned.stdout)["results"]}
    assert results["queues/billing"]["result"] == "parked"
    assert "backup" in results["queues/billing"]["message"]
    assert writes(server) == [("PUT", f"/v2/callback/callTargets/{before['id']}")]
    after = next(t for t in server.targets() if t["id"] == before["id"])
    assert after["configuration"]["enableCallbackProcessing"] is False
    assert after["configuration"]["enableCallbackRegistration"] is False
    for member in ("enableCallbackProcessing", "enableCallbackRegistration"):
        after["configuration"][member] = before["configuration"][member]
    assert after == before  # nothing else changed
    backups = list((repo / ".calltmpl/backups" / str(before["id"])).glob("*.json"))
    assert len(backups) == 1
    assert json.loads(backups[0].read_text(encoding="utf-8"))["data"]["callTarget"] == before
    assert "queues/billing" not in lock(repo)["targets"]
    final = run("plan")
    assert final.exit_code == 0, final.output


def test_every_queue_file_deleted_still_plans_its_orphans(repo: Path, server: Sandbox) -> None:
    assert run("push", "--yes").exit_code == 0
    for path in (repo / "queues").glob("*.yaml"):
        path.unlink()
    plan = run("plan", "--format", "json")
    assert plan.exit_code == 4, plan.output  # not "nothing to check": the lock knows two
    assert {s["action"] for s in steps(plan).values()} == {"orphan"}
    assert set(steps(plan)) == {"queues/billing", "queues/sales"}
    pruned = run("push", "--yes", "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert lock(repo)["targets"] == {}
    empty = run("plan")  # no queue file, nothing in the lock: a usage error, never "in sync"
    assert empty.exit_code == 2, empty.output
    assert "nothing to check: no queue file matches queues/**/*.yaml or queues/**/*.yml" in (
        empty.stderr
    )


def test_mistyped_glob_is_no_green_plan(repo: Path, server: Sandbox) -> None:
    assert run("push", "--yes").exit_code == 0
    (repo / "calltmpl.yaml").write_text('queues: ["queue/**/*.yaml"]\n', encoding="utf-8")
    plan = run("plan")  # the lock's files are all there: none is an orphan to show
    assert plan.exit_code == 2, plan.output
    assert "no queue file matches queue/**/*.yaml" in plan.stderr


def test_a_queue_renamed_into_a_deleted_queues_file_is_never_parked(
    repo: Path, server: Sandbox
) -> None:
    """Retire one queue and move another into its file name: the moved queue's call target
    is claimed by name, so it is no orphan, and --prune never parks it."""
    assert run("push", "--yes").exit_code == 0
    ids = {key: entry["id"] for key, entry in lock(repo)["targets"].items()}
    (repo / "queues/billing.yaml").unlink()
    (repo / "queues/sales.yaml").rename(repo / "queues/billing.yaml")
    plan = run("plan", "--format", "json")
    assert "queues/sales" not in steps(plan), plan.output  # claimed by name: no orphan
    server.reset()
    run("push", "--yes", "--prune")
    sales = next(t for t in server.targets() if t["id"] == ids["queues/sales"])
    assert sales["configuration"]["enableCallbackProcessing"] is True
    assert ("PUT", f"/v2/callback/callTargets/{ids['queues/sales']}") not in writes(server)
