"""Applying a plan: create and update call targets, keep the lock file, back up, verify.

Nothing here decides whether to push (the CLI lints and asks first); it carries a plan out
safely: the remote read again right before each update (an edit made since the plan is drift,
left alone unless forced) and backed up, the lock written after each write (an interrupted push
keeps what it did), and every written target read back once the API's read cache has caught
up, which also catches a create that arrived twice.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from calltmpl.api import READ_CACHE, Client
from calltmpl.errors import ApiError
from calltmpl.lockfile import Entry, Lock, body_hash, content
from calltmpl.plan import Change, Plan, Step, differs

OK_RESULTS = ("created", "updated", "unchanged")


@dataclass(frozen=True)
class Result:
    step: Step
    result: str  # created | updated | unchanged | left-drifted | conflict | failed | not-verified
    target_id: int | None = None
    message: str = ""
    changes: tuple[Change, ...] = ()

    @property
    def ok(self) -> bool:
        return self.result in OK_RESULTS


def apply(
    plan: Plan,
    client: Client,
    lock: Lock,
    backups: Path,
    *,
    force: bool = False,
    progress: Callable[[int, Result], None] = lambda index, result: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[Result]:
    """Carry out ``plan``; each call target's outcome, failures included (others go on)."""
    results: list[Result] = []
    last_write = -float("inf")
    for index, step in enumerate(plan.steps):
        try:
            result = _apply_step(step, client, lock, backups, force)
        except ApiError as exc:
            result = Result(step, "failed", step.target_id, str(exc))
        except OSError as exc:  # the lock file or a backup could not be written
            result = Result(step, "failed", step.target_id, f"{exc.filename}: {exc.strerror}")
        if result.result in ("created", "updated"):
            last_write = clock()
        results.append(result)
        progress(index, result)
    if last_write > -float("inf"):
        sleep(max(0.0, READ_CACHE + 0.1 - (clock() - last_write)))
        results = _verify_all(results, client, lock)
    return results


def _apply_step(step: Step, client: Client, lock: Lock, backups: Path, force: bool) -> Result:
    key, body = step.desired.key, content(step.desired.body)
    if step.action == "conflict":
        return Result(step, "conflict", step.target_id, step.note)
    if step.action == "unchanged":
        assert step.remote is not None and step.target_id is not None
        lock.set(
            key, Entry(step.target_id, step.desired.name, body_hash(body), body_hash(step.remote))
        )
        return Result(step, "unchanged", step.target_id)
    if step.action == "drifted" and not force:
        return Result(
            step,
            "left-drifted",
            step.target_id,
            "changed outside calltmpl since the last push; --force overwrites it",
            step.changes,
        )
    if step.action == "create":
        created = client.create_target(body)
        target_id = int(created["id"])
        lock.set(key, Entry(target_id, step.desired.name, body_hash(body), body_hash(created)))
        return Result(step, "created", target_id)
    assert step.target_id is not None and step.remote is not None
    current = client.get_target(step.target_id)
    if current is None:
        return Result(step, "failed", step.target_id, "the call target vanished since the plan")
    if body_hash(current) != body_hash(step.remote) and not force:
        return Result(
            step,
            "left-drifted",
            step.target_id,
            "changed outside calltmpl since the plan was made; --force overwrites it",
        )
    backup(backups, step.target_id, current)
    updated = client.update_target(step.target_id, body)
    lock.set(key, Entry(step.target_id, step.desired.name, body_hash(body), body_hash(updated)))
    return Result(step, "updated", step.target_id, changes=step.changes)


def backup(folder: Path, target_id: int, remote: Mapping[str, Any]) -> Path:
    """Save the remote's body before it is overwritten: ``<folder>/<id>/<UTC time>.json``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    path = folder / str(target_id) / f"{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"data": {"callTarget": dict(remote)}}, indent=2) + "\n", encoding="utf-8"
    )
    return path


def _verify_all(results: list[Result], client: Client, lock: Lock) -> list[Result]:
    """Read every written target back; a created name found more than once is reported."""
    checked = [
        _verify(r, client, lock) if r.result in ("created", "updated") else r for r in results
    ]
    if not any(r.result == "created" for r in checked):
        return checked
    try:
        names = Counter(t.get("name") for t in client.list_targets())
    except ApiError as exc:
        return [
            _unverified(r, f"listing call targets: {exc}") if r.result == "created" else r
            for r in checked
        ]
    return [
        _unverified(
            r,
            f"{names[r.step.desired.name]} call targets are now named "
            f"{r.step.desired.name!r}; remove the extra one in Mindful",
        )
        if r.result == "created" and names[r.step.desired.name] > 1
        else r
        for r in checked
    ]


def _unverified(result: Result, message: str) -> Result:
    return Result(result.step, "not-verified", result.target_id, message, result.changes)


def _verify(result: Result, client: Client, lock: Lock) -> Result:
    """Read a written target back; what the API now holds becomes the lock's baseline."""
    assert result.target_id is not None
    key = result.step.desired.key
    try:
        remote = client.get_target(result.target_id)
    except ApiError as exc:
        return _unverified(result, f"reading back: {exc}")
    if remote is None:
        return _unverified(result, "the call target is missing when read back")
    entry = lock.get(key)
    if entry is not None:
        try:
            lock.set(key, Entry(entry.id, entry.name, entry.pushed, body_hash(remote)))
        except OSError as exc:
            return _unverified(result, f"{exc.filename}: {exc.strerror}")
    differences = tuple(differs(remote, result.step.desired.body))
    if differences:
        shown = ", ".join(c.pointer for c in differences[:5])
        return Result(
            result.step,
            "not-verified",
            result.target_id,
            f"read back with {len(differences)} difference(s): {shown}",
            differences,
        )
    return result
