"""``calltmpl.lock``: which remote call target each queue is, and what was last pushed.

Meant to be committed, so a teammate's or CI's push knows the same ids. Each entry keeps the
remote id, the name, the hash of the body last sent (``pushed``) and the hash of the body the
API held right after (``remote``): the server may normalise what it stores, so drift (an edit
made in the Mindful UI) is a remote that differs from ``remote``, not from ``pushed``.

An entry with a null ``id`` is a create sent whose outcome is unknown (it timed out, or the
push was stopped while it was on its way): ``pending`` holds when it was sent, and the next
plan or push looks for it by name before anything is sent again.

The file is written whole, through a temporary file renamed over it, keeping its mode. A push
holds :func:`repository_lock` for its whole run, so two pushes never interleave.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from calltmpl import parsing
from calltmpl.errors import LockError as LockError
from calltmpl.errors import UsageError
from calltmpl.paths import UnreadableFile, atomic_write, escapes, read_text, shown_path

LOCK_NAME = "calltmpl.lock"
VERSION = 1
MEMBERS = ("name", "configuration", "phoneNumbers")
"""What a call target's hash covers: everything but the server-assigned id."""
API_DEFAULTS: Mapping[str, Any] = {"phoneNumbers": {}}
"""Members a create or update may leave out, and what the API then holds (call-targets.md:
``phoneNumbers`` is optional on create, and always in the answer)."""


@dataclass(frozen=True)
class Entry:
    id: int | None  # None while a create's outcome is unknown: see ``pending``
    name: str
    pushed: str
    remote: str  # "" while pending
    pending: str = ""  # when that create was sent (UTC, ISO 8601); "" once the id is known

    @classmethod
    def sent(cls, name: str, pushed: str, when: datetime) -> Entry:
        """A create sent at ``when`` whose answer has not come (yet)."""
        return cls(None, name, pushed, "", when.astimezone(UTC).isoformat(timespec="seconds"))

    @property
    def sent_at(self) -> datetime | None:
        """When a pending create was sent; None for an entry with a known id."""
        return _when(self.pending) if self.id is None else None


def content(target: Mapping[str, Any]) -> dict[str, Any]:
    """The members a push sends and a hash covers: everything but the server's id."""
    return {k: target[k] for k in MEMBERS if k in target}


def compared(target: Mapping[str, Any]) -> dict[str, Any]:
    """What two call targets are compared on: their content, a member left out counting
    as the API's default for it (so a queue without phoneNumbers matches the ``{}`` the API
    answers with)."""
    return {**API_DEFAULTS, **content(target)}


def body_hash(target: Mapping[str, Any]) -> str:
    """A stable hash of a call target's content (key order, the id and a member left out
    for its API default do not count)."""
    text = json.dumps(compared(target), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _when(text: str) -> datetime | None:
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        return None
    return found if found.tzinfo is not None else None


def _entry(value: Any) -> Entry | None:
    if not isinstance(value, dict):
        return None
    target_id, name, pushed, remote = (value.get(k) for k in ("id", "name", "pushed", "remote"))
    if not (isinstance(name, str) and isinstance(pushed, str) and isinstance(remote, str)):
        return None
    if target_id is None:
        pending = value.get("pending")
        if isinstance(pending, str) and _when(pending) is not None:
            return Entry(None, name, pushed, remote, pending)
        return None
    if isinstance(target_id, bool) or not isinstance(target_id, int):
        return None
    return Entry(target_id, name, pushed, remote)


def _record(entry: Entry) -> dict[str, Any]:
    """An entry as the file holds it: ``pending`` only while the id is unknown."""
    found = asdict(entry)
    if entry.id is not None:
        del found["pending"]
    return found


class Lock:
    """The lock file's entries by key (a queue's path without extension, or a payload
    file's path), read once and written whole, atomically, after every change."""

    def __init__(self, path: Path, entries: dict[str, Entry] | None = None):
        self.path = path
        self.entries: dict[str, Entry] = dict(entries or {})

    @classmethod
    def load(cls, path: Path) -> Lock:
        if not os.path.lexists(path):  # a link, even a broken or looping one, is read
            return cls(path)
        try:
            data = parsing.load_json(read_text(path))
        except UnreadableFile as exc:
            raise LockError(str(exc)) from None
        except parsing.ParseError as exc:
            raise LockError(f"{path}:{exc.line}:{exc.column}: {exc.message}") from None
        targets = data.get("targets") if isinstance(data, dict) else None
        if not isinstance(targets, dict) or data.get("version") != VERSION:
            raise LockError(f'{path}: expected {{"version": {VERSION}, "targets": {{...}}}}')
        entries = {}
        for key, value in targets.items():
            entry = _entry(value)
            if entry is None:
                wanted = (
                    "an integer id (or a null id and the time a pending create was sent) "
                    "and strings name, pushed and remote"
                )
                raise LockError(f"{path}: entry {key!r} needs {wanted}")
            entries[key] = entry
        return cls(path, entries)

    def get(self, key: str) -> Entry | None:
        return self.entries.get(key)

    def holder(self, target_id: int) -> str | None:
        """The key whose entry holds ``target_id``, if any."""
        return next((k for k, e in self.entries.items() if e.id == target_id), None)

    def remove(self, key: str) -> None:
        """Forget an entry, writing the file at once."""
        if self.entries.pop(key, None) is not None:
            self.save()

    def set(self, key: str, entry: Entry) -> None:
        """Record an entry and write the file at once, so an interrupted push keeps what it
        did."""
        self.entries[key] = entry
        self.save()

    def move(self, old: str, key: str, entry: Entry) -> None:
        """Record ``entry`` under ``key`` and forget ``old`` (a renamed queue's), in one
        write: the file never holds both, nor neither."""
        self.entries.pop(old, None)
        self.entries[key] = entry
        self.save()

    def save(self) -> None:
        """Write the whole file: a temporary file beside it, flushed, renamed over it."""
        document = {
            "version": VERSION,
            "targets": {key: _record(self.entries[key]) for key in sorted(self.entries)},
        }
        atomic_write(self.path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


# --- the repository's push lock -------------------------------------------------------------

STATE_FOLDER = ".calltmpl"
"""The repository's own state, kept out of git: backups and the push lock."""
PUSH_LOCK = "push.lock"
LOCK_WAIT = 30.0
"""Seconds a command waits for another one's push lock before it gives up."""
LOCK_WAIT_VARIABLE = "CALLTMPL_LOCK_WAIT"


def state_folder(root: Path, *, create: bool) -> Path | None:
    """The repository's ``.calltmpl`` folder, created when ``create`` (else None when it does
    not exist). A link that leads out of the repository is refused: nothing is written
    through it."""
    folder = root / STATE_FOLDER
    try:
        outside = escapes(folder, root)
    except (OSError, RuntimeError):  # a loop of links
        outside = True
    if outside:
        raise UsageError(
            f"{shown_path(folder)} links outside the repository; calltmpl keeps its backups "
            "and push lock there and writes nothing through such a link: remove it"
        )
    if not create:
        return folder if folder.is_dir() else None
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {shown_path(folder)}: {exc.strerror or exc}") from None
    return folder


@contextmanager
def repository_lock(
    root: Path,
    *,
    shared: bool = False,
    wait: float = LOCK_WAIT,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[bool]:
    """Hold ``.calltmpl/push.lock`` (``flock``) while the block runs; yield whether it is held.

    A push holds it exclusively, creating it if need be, so that two pushes of one repository
    never interleave. A plan holds it shared when it exists (a plan writes nothing), so it
    waits for a running push instead of reading half of its work. Another holder is waited
    for up to ``wait`` seconds, then :class:`UsageError` names the lock. The kernel releases
    the lock when the process ends, however it ends.
    """
    import fcntl  # POSIX only; imported here so the other commands run anywhere

    folder = state_folder(root, create=not shared)
    path = folder / PUSH_LOCK if folder is not None else None
    handle = _open_lock(path, create=not shared) if path is not None else None
    if path is None or handle is None:
        yield False
        return
    try:
        deadline = clock() + wait
        while True:
            try:
                fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if clock() >= deadline:
                    raise _busy(path, wait, shared) from None
                sleep(min(0.1, max(0.0, deadline - clock())))
            except OSError as exc:
                shown = shown_path(path)
                raise UsageError(f"{shown}: cannot lock: {exc.strerror or exc}") from None
        yield True
    finally:
        os.close(handle)


def _open_lock(path: Path, *, create: bool) -> int | None:
    """The lock file's descriptor: a regular file, never a link, never a FIFO waited on."""
    flags = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    flags |= os.O_RDWR | os.O_CREAT if create else os.O_RDONLY
    try:
        handle = os.open(path, flags, 0o644)
    except FileNotFoundError:
        if create:
            raise UsageError(f"{shown_path(path)}: cannot create the push lock") from None
        return None
    except OSError as exc:
        why = "it is a link; remove it" if exc.errno == errno.ELOOP else exc.strerror or str(exc)
        raise UsageError(f"{shown_path(path)}: cannot open the push lock: {why}") from None
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        raise UsageError(f"{shown_path(path)} is not a regular file; remove it")
    return handle


def _busy(path: Path, wait: float, shared: bool) -> UsageError:
    who = "a calltmpl push" if shared else "another calltmpl push (or import)"
    return UsageError(
        f"{who} holds {shown_path(path)} (waited {wait:g} s); run again once it has "
        f"finished, or set {LOCK_WAIT_VARIABLE} to wait longer"
    )
