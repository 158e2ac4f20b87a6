"""Applying a plan: create and update call targets, keep the lock file, back up, verify.

Nothing here decides whether to push (the CLI lints and asks first, and holds the
repository's push lock); it carries a plan out safely: the remote read again right before
each update (an edit made since the plan is drift, left alone unless forced) and backed up,
the name looked up again right before each create (a call target of that name that appeared
since the plan is matched, never duplicated), each create recorded in the lock as pending
before it is sent (a create whose outcome is unknown is found by name later, never sent again
blind), the lock written after each write (an interrupted push keeps what it did), and every
written target read back once the API's read cache has caught up, which also catches a create
that arrived twice.

A renamed queue (``moved``) only moves its lock entry, unless its content changed too. An
``orphan`` (a lock entry whose file is gone) is left alone, unless pruning: then its call
target is parked (read, backed up, sent back whole with callback processing and registration
off, nothing else changed) and, once read back parked, its lock entry dropped.
"""

from __future__ import annotations

import errno
import json
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from calltmpl.api import READ_CACHE, Client
from calltmpl.errors import AmbiguousWrite, ApiError
from calltmpl.lockfile import Entry, Lock, body_hash, content
from calltmpl.paths import atomic_write, shown_path
from calltmpl.plan import PARK, Change, Plan, Step, differs, inbound_numbers, matched, parked

OK_RESULTS = ("created", "updated", "unchanged", "moved", "orphan", "parked", "dropped")
"""Results that end a push well: ``orphan`` is one left alone (no ``--prune``), ``dropped``
an orphan whose call target was gone already (its lock entry forgotten)."""
WRITES = ("created", "updated", "parked")


@dataclass(frozen=True)
class Result:
    step: Step
    result: str  # created | updated | unchanged | moved | orphan | parked | dropped
    # | left-drifted | conflict | pending | failed | not-verified
    target_id: int | None = None
    message: str = ""
    changes: tuple[Change, ...] = ()
    sent: Mapping[str, Any] | None = field(default=None, repr=False)  # a parking body

    @property
    def ok(self) -> bool:
        return self.result in OK_RESULTS

    @property
    def wrote(self) -> bool:
        """Whether this call target was written, so is read back."""
        return self.result in WRITES and (self.result != "parked" or self.sent is not None)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def apply(
    plan: Plan,
    client: Client,
    lock: Lock,
    backups: Path,
    *,
    force: bool = False,
    prune: bool = False,
    progress: Callable[[int, Result], None] = lambda index, result: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = _utc_now,
) -> list[Result]:
    """Carry out ``plan``; each call target's outcome, failures included (others go on).
    Orphans are parked only when ``prune``."""
    results: list[Result] = []
    last_write = -float("inf")
    for index, step in enumerate(plan.steps):
        try:
            if step.action == "orphan":
                result = _park(step, client, lock, backups) if prune else _leave(step)
            else:
                result = _apply_step(step, client, lock, backups, force, now)
        except ApiError as exc:
            result = Result(step, "failed", step.target_id, str(exc))
        except OSError as exc:  # the lock file or a backup could not be written
            result = Result(step, "failed", step.target_id, f"{exc.filename}: {exc.strerror}")
        if result.wrote:
            last_write = clock()
        results.append(result)
        progress(index, result)
    if last_write > -float("inf"):
        sleep(max(0.0, READ_CACHE + 0.1 - (clock() - last_write)))
        results = _verify_all(results, client, lock)
    return results


def _apply_step(
    step: Step, client: Client, lock: Lock, backups: Path, force: bool, now: Callable[[], datetime]
) -> Result:
    if step.action in ("conflict", "pending"):
        return Result(step, step.action, step.target_id, step.note)
    if step.action == "unchanged":
        return _record(step, lock)
    if step.action == "drifted" and not force:
        return _left(step)
    if step.action == "create":
        return _create(step, client, lock, backups, force, now)
    if step.action == "moved" and not step.changes:
        return _record(step, lock, f"renamed: its calltmpl.lock entry moved from {step.moved_from}")
    return _update(step, client, lock, backups, force)


def _record(step: Step, lock: Lock, message: str = "") -> Result:
    """An unchanged (or only renamed) call target: its id and state are recorded, nothing
    is sent."""
    assert step.remote is not None and step.target_id is not None
    body = content(step.desired.body)
    entry = Entry(step.target_id, step.desired.name, body_hash(body), body_hash(step.remote))
    _keep(lock, step, entry)
    return Result(step, "moved" if step.moved_from else "unchanged", step.target_id, message)


def _keep(lock: Lock, step: Step, entry: Entry) -> None:
    """Record a call target's entry under its queue's key, moving a renamed queue's."""
    if step.moved_from:
        lock.move(step.moved_from, step.desired.key, entry)
    else:
        lock.set(step.desired.key, entry)


def _left(step: Step, message: str = "") -> Result:
    note = message or step.note or "changed outside calltmpl since the last push"
    hint = "" if "--force" in note else "; --force overwrites it"
    return Result(step, "left-drifted", step.target_id, note + hint, step.changes)


def _create(
    step: Step, client: Client, lock: Lock, backups: Path, force: bool, now: Callable[[], datetime]
) -> Result:
    """Look the name up again, then create: recorded as pending before it is sent, so an
    outcome that never comes (a timeout, a kill) is looked for by name, never sent twice."""
    name = step.desired.name
    listed = client.list_targets()
    again = [t for t in listed if t.get("name") == name]
    if again:
        return _appeared(step, again, client, lock, backups, force)
    numbers = inbound_numbers(step.desired.body)
    taken = sorted({n for t in listed for n in inbound_numbers(t) & numbers})
    if taken:
        message = f"inbound number {taken[0]} was attached to another call target since the plan"
        return Result(step, "conflict", None, message + "; plan again")
    key, body = step.desired.key, content(step.desired.body)
    previous = lock.get(key)
    lock.set(key, Entry.sent(name, body_hash(body), now()))
    try:
        created = client.create_target(body)
    except ApiError as exc:
        if not _refused(exc):
            return Result(
                step,
                "failed",
                None,
                f"{exc}; recorded as pending in calltmpl.lock: the next plan or push looks "
                "for it by name before anything is sent again",
            )
        if previous is None:
            lock.remove(key)
        else:
            lock.set(key, previous)
        raise
    target_id = int(created["id"])
    lock.set(key, Entry(target_id, name, body_hash(body), body_hash(created)))
    return Result(step, "created", target_id)


def _refused(exc: ApiError) -> bool:
    """Whether a failed create surely created nothing: the API refused it (4xx)."""
    return (
        not isinstance(exc, AmbiguousWrite) and exc.status is not None and 400 <= exc.status < 500
    )


def _appeared(
    step: Step,
    again: list[dict[str, Any]],
    client: Client,
    lock: Lock,
    backups: Path,
    force: bool,
) -> Result:
    """A call target of the name appeared since the plan: matched as the plan would have."""
    since = "appeared since the plan"
    if len(again) > 1:
        ids = ", ".join(str(t.get("id")) for t in again)
        message = f"{len(again)} call targets named {step.desired.name!r} {since} (ids {ids})"
        return Result(step, "conflict", None, message + "; rename one in Mindful")
    found = matched(step.desired, again[0], lock)
    if found.action == "conflict":
        return Result(found, "conflict", found.target_id, f"{since}: {found.note}")
    if found.action == "unchanged":
        return _record(found, lock, f"{since}, with this content; recorded")
    if not force:
        return _left(found, f"{since}: {found.note}")
    return _update(found, client, lock, backups, force)


def _update(step: Step, client: Client, lock: Lock, backups: Path, force: bool) -> Result:
    """Read the remote again, back it up, send the whole call target, record it."""
    assert step.target_id is not None and step.remote is not None
    body = content(step.desired.body)
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
    _keep(lock, step, Entry(step.target_id, step.desired.name, body_hash(body), body_hash(updated)))
    moved = (
        f"renamed: its calltmpl.lock entry moved from {step.moved_from}" if step.moved_from else ""
    )
    return Result(step, "updated", step.target_id, moved, step.changes)


def _leave(step: Step) -> Result:
    """An orphan without ``--prune``: nothing is sent, its lock entry stays."""
    still = f"call target {step.target_id} " if step.target_id is not None else ""
    return Result(
        step,
        "orphan",
        step.target_id,
        f"left alone: its file is gone, {still or 'its lock entry '}stays; "
        "push --prune parks it and drops its lock entry",
    )


def _park(step: Step, client: Client, lock: Lock, backups: Path) -> Result:
    """Park an orphan's call target: read it, back it up, send it back whole with callback
    processing and registration off. Its lock entry is dropped once it reads back parked;
    one whose call target is gone, or already parked, is dropped at once."""
    key = step.desired.key
    current = client.get_target(step.target_id) if step.target_id is not None else None
    if current is None:
        lock.remove(key)
        gone = (
            f"call target {step.target_id} is gone"
            if step.target_id is not None
            else "no call target"
        )
        return Result(step, "dropped", step.target_id, f"{gone}; its lock entry is dropped")
    assert step.target_id is not None
    if parked(current):
        lock.remove(key)
        return Result(step, "parked", step.target_id, "already parked; its lock entry is dropped")
    configuration = current.get("configuration")
    if not isinstance(configuration, dict):
        why = f"call target {step.target_id} was read without a configuration object"
        return Result(step, "failed", step.target_id, f"{why}; not parked, its lock entry stays")
    saved = backup(backups, step.target_id, current)
    body = {**content(current), "configuration": {**configuration, **PARK}}
    client.update_target(step.target_id, body)
    changes = tuple(differs(current, body))
    note = f"callback processing and registration off; backup {shown_path(saved)}"
    return Result(step, "parked", step.target_id, note, changes, body)


def backup(folder: Path, target_id: int, remote: Mapping[str, Any]) -> Path:
    """Save the remote's body before it is overwritten: ``<folder>/<id>/<UTC time>.json``,
    written whole or not at all, never through a link out of ``folder``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    place = folder / str(target_id)
    place.mkdir(parents=True, exist_ok=True)
    if not place.resolve().is_relative_to(folder.resolve()):
        raise OSError(errno.EXDEV, "links out of the backups folder; not writing", str(place))
    path = place / f"{stamp}.json"
    atomic_write(path, json.dumps({"data": {"callTarget": dict(remote)}}, indent=2) + "\n")
    return path


def _verify_all(results: list[Result], client: Client, lock: Lock) -> list[Result]:
    """Read every written target back; a created name found more than once is reported."""
    checked = [_verify(r, client, lock) if r.wrote else r for r in results]
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
    if result.sent is not None:
        return _verify_parked(result, remote, lock)
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


def _verify_parked(result: Result, remote: Mapping[str, Any], lock: Lock) -> Result:
    """A parked orphan read back: parked and otherwise as it was, its lock entry is dropped;
    else the entry stays, so the next ``push --prune`` tries again."""
    assert result.sent is not None
    differences = tuple(differs(remote, result.sent))
    if differences:
        shown = ", ".join(c.pointer for c in differences[:5])
        message = f"read back with {len(differences)} difference(s): {shown}; its lock entry stays"
        return Result(result.step, "not-verified", result.target_id, message, differences)
    try:
        lock.remove(result.step.desired.key)
    except OSError as exc:
        return _unverified(result, f"{exc.filename}: {exc.strerror}")
    return Result(
        result.step,
        "parked",
        result.target_id,
        f"{result.message}; its lock entry is dropped",
        result.changes,
        result.sent,
    )
