"""The call targets of a repository's other queues, kept between runs.

The rules that compare call targets (a duplicate name, a number on two call targets) compare
the queues a run checks with every other queue of the repository, which must be rendered for
that. A hook's run of one file would render them all each time; instead each rendered call
target is kept in the cache folder (see :func:`calltmpl.environment.cache_folder`), keyed by
everything its render reads: the queue file (its path, and its identity: size, inode and
times), every file of the template folders and the built-in templates, and calltmpl's own
code. Only what those rules read is kept (:func:`calltmpl.lint.context_view`). A run renders
only the queues whose key changed. Without a usable cache folder, everything is rendered.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from calltmpl import files
from calltmpl.environment import BUILTIN_DIR, cache_folder
from calltmpl.errors import CalltmplError
from calltmpl.lint import context_view
from calltmpl.paths import atomic_write, shown_path
from calltmpl.queues import queue_id

MAX_TEMPLATE_FILES = 5000
"""Template folders holding more files than this are not hashed (nothing is kept)."""
SETTLED_NS = 2_000_000_000
"""A queue file changed less than this long ago (2 s, in nanoseconds) is rendered, never
kept: its times may not yet tell its next change."""
MAX_CACHE_BYTES = 64 * 1024 * 1024
"""A cache file larger than this is not read (it is rewritten)."""

Target = dict[str, Any] | None
"""A call target, or None for a queue that failed to render (left out of the context)."""


class ContextCache:
    """The kept call targets of one repository: ``lookup`` before rendering, ``keep`` after,
    ``save`` once at the end."""

    def __init__(self, root: Path, templates: Sequence[Path]):
        self.root = root
        folder = cache_folder("context")
        digest = _templates_digest(root, templates) if folder is not None else None
        self.file = None
        if folder is not None and digest is not None:
            name = hashlib.sha256(str(root).encode("utf-8", "surrogatepass")).hexdigest()
            self.file = Path(folder) / f"{name}.json"
        self.digest = digest or ""
        self.entries: dict[str, list[Any]] = self._load()
        self.keys: dict[Path, str] = {}
        self.changed = False

    def _load(self) -> dict[str, list[Any]]:
        if self.file is None:
            return {}
        with contextlib.suppress(OSError, ValueError, TypeError):
            if os.stat(self.file).st_size <= MAX_CACHE_BYTES:
                data = json.loads(self.file.read_text(encoding="utf-8"))
                entries = data.get("entries") if isinstance(data, dict) else None
                if isinstance(entries, dict):
                    return entries
        return {}

    def split(
        self, context: list[Path], checked: list[Path]
    ) -> tuple[list[tuple[str, dict[str, Any]]], list[Path]]:
        """The kept call targets of the ``context`` queues (by file; one that failed to
        render is left out) and the queues to render; the keys of the ``checked`` queues
        are computed too, so that what the run renders of them is kept."""
        kept: list[tuple[str, dict[str, Any]]] = []
        missing: list[Path] = []
        for path in context:
            hit, target = self.lookup(path, queue_id(path, self.root))
            if not hit:
                missing.append(path)
            elif target is not None:
                kept.append((shown_path(path), target))
        for path in checked:
            self.lookup(path, queue_id(path, self.root))
        return kept, missing

    def update(
        self, paths: list[Path], targets: list[Target], checked: int, every: set[str]
    ) -> list[tuple[str, dict[str, Any]]]:
        """Keep the call targets a run rendered (``targets`` of ``paths``, the first
        ``checked`` of them the queues it checked), save the cache for the repository's
        queues ``every``, and return the rendered context by file, sorted."""
        for path, target in zip(paths, targets, strict=True):
            view = None if target is None else context_view(target)
            self.keep(path, queue_id(path, self.root), view)
        self.save(every)
        pairs = zip(paths[checked:], targets[checked:], strict=True)
        rendered = [(shown_path(p), context_view(t)) for p, t in pairs if t is not None]
        return sorted(rendered, key=lambda pair: pair[0])

    def lookup(self, path: Path, queue: str) -> tuple[bool, Target]:
        """(True, target) when the queue's call target is kept under its current key, else
        (False, None): it must be rendered."""
        if self.file is None:
            return False, None
        key, settled = self._key(path, queue)
        if key is None:
            return False, None
        if settled:
            self.keys[path] = key
        entry = self.entries.get(queue)
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == key:
            target = entry[1]
            return True, target if isinstance(target, dict) else None
        return False, None

    def keep(self, path: Path, queue: str, target: Target) -> None:
        """Keep a rendered call target under the key :meth:`lookup` computed for it."""
        key = self.keys.get(path)
        if key is None:
            return
        entry = [key, target]
        if self.entries.get(queue) != entry:
            self.entries[queue] = entry
            self.changed = True

    def save(self, queues: set[str]) -> None:
        """Write the cache when it changed, keeping only ``queues`` (the repository's now)."""
        stale = set(self.entries) - queues
        if self.file is None or not (self.changed or stale):
            return
        kept = {queue: entry for queue, entry in self.entries.items() if queue in queues}
        with contextlib.suppress(OSError, ValueError, TypeError):
            atomic_write(self.file, json.dumps({"entries": kept}, separators=(",", ":")))

    def _key(self, path: Path, queue: str) -> tuple[str | None, bool]:
        """The queue file's key: the templates' digest, its queue name and its identity
        (device, inode, size and times, as make and git tell a changed file), which a stat
        gives without reading it; and whether the file is settled: changed more than
        :data:`SETTLED_NS` ago. A file changed just now could change again within the
        clock's tick and keep its times, so what is rendered of it is not kept (git's
        "racy" files)."""
        try:
            info = os.stat(path)
        except OSError:
            return None, False
        if not stat.S_ISREG(info.st_mode):
            return None, False
        identity = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        data = f"{self.digest}\0{queue}\0{identity}".encode("utf-8", "surrogatepass")
        settled = max(info.st_mtime_ns, info.st_ctime_ns) < time.time_ns() - SETTLED_NS
        return hashlib.sha256(data).hexdigest(), settled


def _templates_digest(root: Path, templates: Sequence[Path]) -> str | None:
    """A digest of every file a render may read (the template folders, in search order, and
    the built-ins) and of calltmpl's code; None when the folders are too large to hash."""
    digest = hashlib.sha256()
    size = 0
    for index, folder in enumerate((*templates, BUILTIN_DIR)):
        digest.update(f"\0folder {index} {folder}\0".encode("utf-8", "surrogatepass"))
        try:  # every file or none: a walk cut short would leave changes unseen
            found = files.walk(folder, root if index < len(templates) else folder, ("",))
        except CalltmplError:
            return None
        if len(found) > MAX_TEMPLATE_FILES:
            return None
        for path in found:
            try:
                data = path.read_bytes()
            except OSError:
                data = b"\0unreadable"
            size += len(data)
            if size > MAX_CACHE_BYTES:
                return None
            digest.update(f"\0{path}\0".encode("utf-8", "surrogatepass"))
            digest.update(data)
    code = Path(__file__).resolve().parent
    for path in sorted(code.rglob("*.py")):
        with contextlib.suppress(OSError):
            info = path.stat()
            digest.update(f"\0{path.name} {info.st_size} {info.st_mtime_ns}".encode())
    return digest.hexdigest()
