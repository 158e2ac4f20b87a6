"""What a push would change, call target by call target, without writing anything.

Each selected call target is ``create`` (no remote yet), ``update`` (member-by-member
changes), ``unchanged``, ``drifted`` (the remote differs from what calltmpl last pushed, so
someone edited it elsewhere, e.g. in the Mindful UI, and a push leaves it alone unless
forced), or ``conflict``: the remote cannot be told safely (two remotes share the name, or
the one with the name belongs to another queue of the lock file), so nothing is sent for it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from calltmpl.lockfile import Lock, body_hash, content
from calltmpl.parsing import pointer_join

if TYPE_CHECKING:
    from calltmpl.api import Client

ACTIONS = ("create", "update", "unchanged", "drifted", "conflict")


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
    """A call target as the repository wants it."""

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


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]

    @property
    def pending(self) -> bool:
        """Whether anything differs from the remote (the exit code tells CI)."""
        return any(step.action != "unchanged" for step in self.steps)


def make_plan(desired: Sequence[Desired], lock: Lock, client: Client) -> Plan:
    """Compare each desired call target with its remote: by the lock's id, else by name."""
    listing: list[dict[str, Any]] | None = None
    steps = []
    for wanted in desired:
        entry = lock.get(wanted.key)
        remote = client.get_target(entry.id) if entry is not None else None
        if remote is not None:
            steps.append(_step(wanted, remote, entry.remote if entry else None))
            continue
        gone = f"call target {entry.id} of the lock file is gone; " if entry else ""
        if listing is None:
            listing = client.list_targets()
        named = [t for t in listing if t.get("name") == wanted.name]
        if not named:
            steps.append(Step(wanted, "create", note=(gone + "it will be created") if gone else ""))
        elif len(named) > 1:
            ids = ", ".join(str(t.get("id")) for t in named)
            steps.append(
                Step(
                    wanted,
                    "conflict",
                    note=f"{len(named)} remote call targets are "
                    f"named {wanted.name!r} (ids {ids}); rename one in Mindful",
                )
            )
        elif (holder := lock.holder(int(named[0]["id"]))) not in (None, wanted.key):
            steps.append(
                Step(
                    wanted,
                    "conflict",
                    int(named[0]["id"]),
                    note=f"the call target named {wanted.name!r} belongs to {holder} "
                    "in calltmpl.lock; give this queue its own name",
                )
            )
        else:
            steps.append(_step(wanted, named[0], None))
    return Plan(tuple(steps))


def _step(wanted: Desired, remote: Mapping[str, Any], last_remote: str | None) -> Step:
    target_id = int(remote["id"])
    changes = tuple(diff(content(remote), content(wanted.body)))
    if body_hash(remote) == body_hash(wanted.body):
        # What the repository wants is there, whoever wrote it (an interrupted push, say).
        return Step(wanted, "unchanged", target_id, (), remote)
    if last_remote is not None and body_hash(remote) != last_remote:
        return Step(
            wanted,
            "drifted",
            target_id,
            changes,
            remote,
            "changed outside calltmpl since the last push",
        )
    action = "update" if any(_decides(c) for c in changes) else "unchanged"
    return Step(wanted, action, target_id, changes, remote)


def _decides(change: Change) -> bool:
    """Whether a difference calls for an update. A configuration member only the remote
    has may be one the server adds by itself, so it alone does not (it is still shown)."""
    return not (change.new is ABSENT and change.pointer.startswith("/configuration/"))


def differs(remote: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[Change]:
    """The differences between a remote and the desired body that an update would change."""
    return [c for c in diff(content(remote), content(wanted)) if _decides(c)]


def diff(remote: Any, new: Any, base: str = "") -> Iterator[Change]:
    """Member-by-member differences, members only one side has included."""
    if isinstance(remote, Mapping) and isinstance(new, Mapping):
        for key, value in new.items():
            yield from diff(remote.get(key, ABSENT), value, pointer_join(base, key))
        for key in remote.keys() - new.keys():
            yield Change(pointer_join(base, key), remote[key], ABSENT)
    elif remote != new or type(remote) is not type(new):
        yield Change(base, remote, new)
