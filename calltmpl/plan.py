"""What a push would change, call target by call target, without writing anything.

Each selected call target is ``create`` (no remote yet), ``update`` (member-by-member
changes), ``moved`` (its queue file was renamed: the call target a lock entry whose file is
gone held, same id and name; a push moves the lock entry, and sends the changes if any),
``unchanged``, ``drifted`` (the remote differs from what calltmpl last pushed, so someone
edited it elsewhere, e.g. in the Mindful UI, or calltmpl.lock has no entry for the queue and
the call target of its name differs; a push leaves it alone unless forced), ``pending`` (a
create whose outcome is unknown has not appeared yet, so nothing is sent), or ``conflict``:
the remote cannot be told safely (two remotes share the name, the one with the name belongs
to another queue of the lock file, or an inbound number the push would attach is another call
target's), so nothing is sent for it.

Besides, each lock entry whose file is gone (and that no queue took over) is an ``orphan``:
its call target is still in Mindful, and only ``push --prune`` touches it (it parks it).
Steps come in the order of their files, and the changes of one in a fixed order, so two
runs print the same plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from calltmpl.lockfile import Entry, Lock, body_hash, compared
from calltmpl.parsing import pointer_join
from calltmpl.rules.forms import inbound_number

if TYPE_CHECKING:
    from calltmpl.api import Client

ACTIONS = ("create", "update", "moved", "orphan", "drifted", "conflict", "pending", "unchanged")
"""Every kind of step, in the order the plan's summary counts them."""
SETTLE = timedelta(minutes=2)
"""How long after it was sent a create with no answer may still arrive: until then it is not
sent again, and after that only if its name has still not appeared."""
PARK = {"enableCallbackProcessing": False, "enableCallbackRegistration": False}
"""What parks a call target: the documented way to take one out of service without a delete."""
_SENDS = ("create", "update", "moved", "drifted")
"""Steps whose push may send the desired body (a drifted one under ``--force``)."""


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()
"""A member one side does not have."""


@dataclass(frozen=True)
class Change:
    pointer: str
    remote: Any
    new: Any


@dataclass(frozen=True)
class Desired:
    """A call target as the repository wants it (an orphan's: only its key, file and name)."""

    key: str  # its lock key: the queue's path without extension, or a payload file's path
    file: str  # the file as shown
    body: Mapping[str, Any] = field(repr=False)  # name, configuration, phoneNumbers

    @property
    def name(self) -> str:
        return str(self.body.get("name", ""))


@dataclass(frozen=True)
class Step:
    desired: Desired
    action: str  # one of ACTIONS
    target_id: int | None = None
    changes: tuple[Change, ...] = ()
    remote: Mapping[str, Any] | None = field(default=None, repr=False)
    note: str = ""
    moved_from: str = ""  # a renamed queue's old lock key, whose entry a push moves to its own


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]

    @property
    def pending(self) -> bool:
        """Whether anything differs from the remote or the lock (the exit code tells CI)."""
        return any(step.action != "unchanged" for step in self.steps)

    def counts(self) -> dict[str, int]:
        """How many steps of each kind, every kind named (in :data:`ACTIONS` order)."""
        return {action: sum(s.action == action for s in self.steps) for action in ACTIONS}


@dataclass(frozen=True)
class _Context:
    """What one plan compares with: the lock, the remote call targets (listed once, by name
    and by inbound number), the lock entries whose files are gone, and the time."""

    lock: Lock
    client: Client
    named: Mapping[str, list[dict[str, Any]]]
    numbers: Mapping[str, list[dict[str, Any]]]
    gone: Mapping[str, str]  # lock key -> its file as shown
    now: datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


def make_plan(
    desired: Sequence[Desired],
    lock: Lock,
    client: Client,
    *,
    now: Callable[[], datetime] = _utc_now,
    gone: Mapping[str, str] | None = None,
    orphans: Collection[str] | None = None,
) -> Plan:
    """Compare each desired call target with its remote: by the lock's id, else by name.

    ``gone`` maps the lock keys whose files are gone to those files as shown: a desired call
    target that one of them held is ``moved``; the others among ``orphans`` (all of them when
    None) are ``orphan`` steps. The remote call targets are listed once, so that two of one
    name, or of one inbound number, are always seen."""
    gone = dict(gone or {})
    wanted_orphans = set(gone) if orphans is None else set(orphans) & set(gone)
    if not desired and not wanted_orphans:
        return Plan(())
    named: dict[str, list[dict[str, Any]]] = {}
    numbers: dict[str, list[dict[str, Any]]] = {}
    for target in client.list_targets():
        named.setdefault(str(target.get("name")), []).append(target)
        for number in sorted(inbound_numbers(target)):
            numbers.setdefault(number, []).append(target)
    context = _Context(lock, client, named, numbers, gone, now())
    steps = [_clash(_plan_one(wanted, context), context) for wanted in desired]
    taken = {step.moved_from for step in steps if step.moved_from}
    taken |= _claimed(wanted_orphans, desired, steps, lock)
    steps += [_orphan(key, context) for key in sorted(wanted_orphans - taken)]
    return Plan(tuple(sorted(steps, key=lambda s: (s.desired.file, s.desired.key))))


def _claimed(
    keys: Collection[str], desired: Sequence[Desired], steps: Sequence[Step], lock: Lock
) -> set[str]:
    """Lock keys of gone files whose call target a queue still claims, by name or by the id
    its step found: never an orphan to park (a renamed queue may have taken it over in a way
    no single step could tell, e.g. into the file of another queue that was deleted)."""
    names = {d.name for d in desired}
    ids = {step.target_id for step in steps if step.target_id is not None}
    claimed = set()
    for key in keys:
        entry = lock.get(key)
        if entry is not None and (entry.name in names or entry.id in ids):
            claimed.add(key)
    return claimed


def _plan_one(wanted: Desired, context: _Context) -> Step:
    entry = context.lock.get(wanted.key)
    same_name = context.named.get(wanted.name, [])
    if entry is not None and entry.id is None:
        return _pending(wanted, entry, context)
    if entry is None or entry.id is None:
        return _by_name(wanted, same_name, context, "")
    remote = context.client.get_target(entry.id)
    if remote is None:
        gone = f"call target {entry.id} of the lock file is gone; "
        return _by_name(wanted, same_name, context, gone)
    others = [t for t in same_name if _id(t) != entry.id]
    if others:
        ids = ", ".join(str(_id(t)) for t in [remote, *others])
        return Step(
            wanted,
            "conflict",
            entry.id,
            note=f"{len(others) + 1} remote call targets are or would be named "
            f"{wanted.name!r} (ids {ids}; {entry.id} is this queue's in calltmpl.lock); "
            "remove or rename the others in Mindful",
        )
    return _step(wanted, remote, entry)


def _by_name(
    wanted: Desired, same_name: list[dict[str, Any]], context: _Context, gone: str
) -> Step:
    """A queue without a usable lock entry: created, matched by its name, or a conflict."""
    if not same_name:
        return Step(wanted, "create", note=(gone + "it will be created") if gone else "")
    if len(same_name) > 1:
        ids = ", ".join(str(_id(t)) for t in same_name)
        return Step(
            wanted,
            "conflict",
            note=f"{len(same_name)} remote call targets are "
            f"named {wanted.name!r} (ids {ids}); rename one in Mindful",
        )
    return matched(wanted, same_name[0], context.lock, gone, context.gone)


def matched(
    wanted: Desired,
    remote: Mapping[str, Any],
    lock: Lock,
    gone: str = "",
    gone_files: Mapping[str, str] | None = None,
) -> Step:
    """The step for the one remote named like ``wanted`` when the lock does not say it is
    this queue's. Held by a lock entry whose file is gone (in ``gone_files``) under the same
    name, the queue was renamed: ``moved``. Held by another queue, it is a conflict. Held by
    none, with the same content it is simply recorded; one that differs may be someone
    else's work, so it is drift (``--force``)."""
    target_id = _id(remote)
    holder = lock.holder(target_id)
    files = gone_files or {}
    if holder is not None and holder != wanted.key:
        entry = lock.entries[holder]
        if holder in files and entry.name == wanted.name:
            return _moved(wanted, remote, holder, entry, files[holder])
        whose = f"{holder}, whose file {files[holder]} is gone," if holder in files else holder
        return Step(
            wanted,
            "conflict",
            target_id,
            note=f"{gone}the call target named {wanted.name!r} belongs to {whose} "
            "in calltmpl.lock; give this queue its own name",
        )
    changes = tuple(diff(compared(remote), compared(wanted.body)))
    if body_hash(remote) == body_hash(wanted.body):
        return Step(wanted, "unchanged", target_id, (), remote)
    return Step(
        wanted,
        "drifted",
        target_id,
        changes,
        remote,
        f"{gone}calltmpl.lock has no entry for this queue, and the call target named "
        f"{wanted.name!r} differs from it; --force overwrites it (after a backup)",
    )


def _moved(wanted: Desired, remote: Mapping[str, Any], key: str, entry: Entry, file: str) -> Step:
    """A renamed queue: the call target of ``key``'s entry (file gone, same name) is its."""
    step = _step(wanted, remote, entry)
    note = f"renamed from {file}: push moves its calltmpl.lock entry to this file"
    if step.note:
        note += f" ({step.note})"
    if step.action == "drifted":
        return dataclasses.replace(step, moved_from=key, note=f"{note}; --force overwrites it")
    tail = ", and sends these changes" if step.action == "update" else "; nothing is sent"
    return dataclasses.replace(step, action="moved", moved_from=key, note=note + tail)


def _pending(wanted: Desired, entry: Entry, context: _Context) -> Step:
    """A create sent without an answer: found by the name it was sent with, it is this
    queue's; not found, it is not sent again before :data:`SETTLE` has passed."""
    arrived = context.named.get(entry.name, [])
    sent = f"a create of {entry.name!r} sent at {entry.pending} had no answer"
    if len(arrived) == 1 and context.lock.holder(_id(arrived[0])) in (None, wanted.key):
        step = _step(wanted, arrived[0], None)
        note = f"{sent}; it arrived as id {_id(arrived[0])}"
        return dataclasses.replace(step, note=note)
    if arrived:
        ids = ", ".join(str(_id(t)) for t in arrived)
        return Step(
            wanted,
            "conflict",
            note=f"{sent}, and call targets {ids} have its name now; remove the extra "
            "ones in Mindful",
        )
    sent_at = entry.sent_at
    if sent_at is not None and context.now < sent_at + SETTLE:
        until = (sent_at + SETTLE).isoformat(timespec="seconds")
        return Step(
            wanted,
            "pending",
            note=f"{sent} and has not appeared yet; it may still arrive, so nothing is "
            f"sent for it before {until}: plan again then",
        )
    never = f"{sent} and never arrived; "
    return _by_name(wanted, context.named.get(wanted.name, []), context, never)


def _id(target: Mapping[str, Any]) -> int:
    return int(target["id"])


def _step(wanted: Desired, remote: Mapping[str, Any], entry: Entry | None) -> Step:
    """A call target whose remote is known: in sync, drifted, or an update. Any difference
    calls for an update (a member only the remote has would be removed by the whole body
    sent), except what the last push of this very body left there: the API holds what it
    made of it, and sending it again would change nothing."""
    target_id = _id(remote)
    if body_hash(remote) == body_hash(wanted.body):
        # What the repository wants is there, whoever wrote it (an interrupted push, say).
        return Step(wanted, "unchanged", target_id, (), remote)
    changes = tuple(diff(compared(remote), compared(wanted.body)))
    if entry is not None and body_hash(remote) != entry.remote:
        return Step(
            wanted,
            "drifted",
            target_id,
            changes,
            remote,
            "changed outside calltmpl since the last push",
        )
    if entry is not None and entry.pushed == body_hash(wanted.body):
        shown = ", ".join(c.pointer for c in changes[:3]) + (", ..." if len(changes) > 3 else "")
        note = (
            f"the API keeps {len(changes)} difference(s) from this body ({shown}) since it "
            "was last pushed; sending it again would change nothing"
        )
        return Step(wanted, "unchanged", target_id, (), remote, note)
    return Step(wanted, "update", target_id, changes, remote)


def _orphan(key: str, context: _Context) -> Step:
    """A lock entry whose file is gone: its call target is left in Mindful unless pruned."""
    entry = context.lock.entries[key]
    orphan = Desired(key, context.gone[key], {"name": entry.name})
    lost, drop = f"its file {context.gone[key]} is gone", "push --prune drops its lock entry"
    target_id = entry.id
    if target_id is None:  # a create with no answer: found by its name, or not there
        arrived = context.named.get(entry.name, [])
        if len(arrived) != 1 or context.lock.holder(_id(arrived[0])) is not None:
            if entry.sent_at is not None and context.now < entry.sent_at + SETTLE:
                note = f"{lost}, and its create (sent at {entry.pending}) may still arrive"
                return Step(orphan, "pending", note=f"{note}: plan again later")
            return Step(orphan, "orphan", note=f"{lost}, and its create never arrived; {drop}")
        target_id = _id(arrived[0])
    remote = context.client.get_target(target_id)
    if remote is None:
        note = f"{lost}, and call target {target_id} is gone from Mindful too; {drop}"
    elif parked(remote):
        note = f"{lost}; call target {target_id} is already parked: {drop}"
    else:
        note = (
            f"{lost}; call target {target_id} is still live in Mindful: push leaves it, push "
            "--prune parks it (callback processing and registration off) and drops its lock entry"
        )
    return Step(orphan, "orphan", target_id, (), remote, note)


def parked(target: Mapping[str, Any]) -> bool:
    """Whether a call target is parked: callback processing and registration both off."""
    configuration = target.get("configuration")
    if not isinstance(configuration, Mapping):
        return False
    return all(configuration.get(member) is False for member in PARK)


def inbound_numbers(target: Mapping[str, Any]) -> set[str]:
    """The inbound numbers attached to a call target (either side of a phoneNumbers entry
    that is an E.164 number)."""
    entries = target.get("phoneNumbers")
    if not isinstance(entries, Mapping):
        return set()
    return {n for k, v in entries.items() if (n := inbound_number(k, v)) is not None}


def _clash(step: Step, context: _Context) -> Step:
    """A step that would attach an inbound number another call target holds is a conflict:
    a number routes to one call target, so a push never gives it to a second one."""
    if step.action not in _SENDS:
        return step
    held = inbound_numbers(step.remote) if step.remote is not None else set()
    for number in sorted(inbound_numbers(step.desired.body) - held):
        others = [t for t in context.numbers.get(number, []) if _id(t) != step.target_id]
        if others:
            note = _clash_note(number, others[0], context)
            # moved_from kept: the entry a renamed queue takes over is no orphan to park
            return Step(
                step.desired, "conflict", step.target_id, note=note, moved_from=step.moved_from
            )
    return step


def _clash_note(number: str, other: Mapping[str, Any], context: _Context) -> str:
    other_id, name = _id(other), str(other.get("name"))
    holder = context.lock.holder(other_id)
    said = f"inbound number {number} is already attached to call target {other_id} ({name!r}"
    if holder is not None and holder in context.gone:
        return (
            f"{said}, calltmpl.lock's {holder}, whose file {context.gone[holder]} is gone): "
            f"to move that queue to this file, keep its name {name!r} here (the plan then "
            "says moved); else remove the number from it in Mindful first"
        )
    if holder is not None:
        return f"{said}, {holder}'s in calltmpl.lock): push its removal from there first"
    return f"{said}): remove it from that call target in Mindful first"


def differs(remote: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[Change]:
    """The differences between a remote and the desired body, which an update would change
    (a member the desired body leaves out is compared with the API's default for it)."""
    return list(diff(compared(remote), compared(wanted)))


def diff(remote: Any, new: Any, base: str = "") -> Iterator[Change]:
    """Member-by-member differences, members only one side has included: the desired
    body's members in its order, then those only the remote has, sorted."""
    if isinstance(remote, Mapping) and isinstance(new, Mapping):
        for key, value in new.items():
            yield from diff(remote.get(key, ABSENT), value, pointer_join(base, key))
        for key in sorted(remote.keys() - new.keys(), key=str):
            yield Change(pointer_join(base, key), remote[key], ABSENT)
    elif remote != new or type(remote) is not type(new):
        yield Change(base, remote, new)
