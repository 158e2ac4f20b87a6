"""``calltmpl.lock``: which remote call target each queue is, and what was last pushed.

Meant to be committed, so a teammate's or CI's push knows the same ids. Each entry keeps the
remote id, the name, the hash of the body last sent (``pushed``) and the hash of the body the
API held right after (``remote``): the server may normalise what it stores, so drift (an edit
made in the Mindful UI) is a remote that differs from ``remote``, not from ``pushed``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from calltmpl.errors import LockError as LockError

LOCK_NAME = "calltmpl.lock"
VERSION = 1
MEMBERS = ("name", "configuration", "phoneNumbers")
"""What a call target's hash covers: everything but the server-assigned id."""


@dataclass(frozen=True)
class Entry:
    id: int
    name: str
    pushed: str
    remote: str


def content(target: Mapping[str, Any]) -> dict[str, Any]:
    """The members a push sends and a hash covers: everything but the server's id."""
    return {k: target[k] for k in MEMBERS if k in target}


def body_hash(target: Mapping[str, Any]) -> str:
    """A stable hash of a call target's content (key order and the id do not count)."""
    text = json.dumps(content(target), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _entry(value: Any) -> Entry | None:
    if not isinstance(value, dict):
        return None
    target_id, name, pushed, remote = (value.get(k) for k in ("id", "name", "pushed", "remote"))
    if isinstance(target_id, bool) or not isinstance(target_id, int):
        return None
    if not (isinstance(name, str) and isinstance(pushed, str) and isinstance(remote, str)):
        return None
    return Entry(target_id, name, pushed, remote)


class Lock:
    """The lock file's entries by key (a queue's path without extension, or a payload
    file's path), read once and written whole, atomically, after every change."""

    def __init__(self, path: Path, entries: dict[str, Entry] | None = None):
        self.path = path
        self.entries: dict[str, Entry] = dict(entries or {})

    @classmethod
    def load(cls, path: Path) -> Lock:
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise LockError(f"{path}: cannot read: {exc}") from None
        except json.JSONDecodeError as exc:
            raise LockError(f"{path}:{exc.lineno}:{exc.colno}: {exc.msg}") from None
        targets = data.get("targets") if isinstance(data, dict) else None
        if not isinstance(targets, dict) or data.get("version") != VERSION:
            raise LockError(f'{path}: expected {{"version": {VERSION}, "targets": {{...}}}}')
        entries = {}
        for key, value in targets.items():
            entry = _entry(value)
            if entry is None:
                wanted = "an integer id and strings name, pushed and remote"
                raise LockError(f"{path}: entry {key!r} needs {wanted}")
            entries[key] = entry
        return cls(path, entries)

    def get(self, key: str) -> Entry | None:
        return self.entries.get(key)

    def holder(self, target_id: int) -> str | None:
        """The key whose entry holds ``target_id``, if any."""
        return next((k for k, e in self.entries.items() if e.id == target_id), None)

    def set(self, key: str, entry: Entry) -> None:
        """Record an entry and write the file at once, so an interrupted push keeps what it
        did."""
        self.entries[key] = entry
        self.save()

    def save(self) -> None:
        document = {
            "version": VERSION,
            "targets": {key: asdict(self.entries[key]) for key in sorted(self.entries)},
        }
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        handle, temporary = tempfile.mkstemp(prefix=".calltmpl.lock.", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
