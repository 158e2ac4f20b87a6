"""What a push would change, call target by call target, without writing anything.

Each selected call target is ``create`` (no remote yet), ``update`` (member-by-member
changes), ``unchanged``, or ``drifted``: the remote differs from what calltmpl last pushed, so
someone edited it elsewhere (the Mindful UI) and a push leaves it alone unless forced.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from calltmpl.lockfile import MEMBERS, Lock, body_hash
from calltmpl.parsing import pointer_join

if TYPE_CHECKING:
    from calltmpl.api import Client


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
    action: str  # create | update | unchanged | drifted
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


def content(target: Mapping[str, Any]) -> dict[str, Any]:
    """The members a push sends: everything but the id."""
    return {k: target[k] for k in MEMBERS if k in target}


def make_plan(desired: Sequence[Desired], lock: Lock, client: Client) -> Plan:
    """Compare each desired call target with its remote: by the lock's id, else by name."""
    listing: list[dict[str, Any]] | None = None
    steps = []
    for wanted in desired:
        entry = lock.get(wanted.key)
        remote, note = None, ""
        if entry is not None:
            remote = client.get_target(entry.id)
            if remote is None:
                note = f"call target {entry.id} of the lock file is gone; it will be created again"
        if remote is None:
            if listing is None:
                listing = client.list_targets()
            named = [t for t in listing if t.get("name") == wanted.name]
            remote = named[0] if len(named) == 1 else None
            if len(named) > 1:
                note = f"{len(named)} remote call targets are named {wanted.name!r}"
        steps.append(_step(wanted, remote, entry.remote if entry and not note else None, note))
    return Plan(tuple(steps))


def _step(
    wanted: Desired, remote: Mapping[str, Any] | None, last_remote: str | None, note: str
) -> Step:
    if remote is None:
        return Step(wanted, "create", note=note)
    target_id = int(remote["id"])
    changes = tuple(diff(content(remote), content(wanted.body)))
    if last_remote is not None and body_hash(remote) != last_remote:
        return Step(
            wanted,
            "drifted",
            target_id,
            changes,
            remote,
            "changed outside calltmpl since the last push",
        )
    action = "update" if changes else "unchanged"
    return Step(wanted, action, target_id, changes, remote, note)


def diff(remote: Any, new: Any, base: str = "") -> Iterator[Change]:
    """Member-by-member differences, over the members the repository writes; members only
    the remote has (the server may add its own) are not differences."""
    if isinstance(remote, Mapping) and isinstance(new, Mapping):
        for key, value in new.items():
            yield from diff(remote.get(key, ABSENT), value, pointer_join(base, key))
    elif remote != new or type(remote) is not type(new):
        yield Change(base, remote, new)
