"""Finding files below a folder without passing over any in silence.

``Path.glob`` and ``rglob`` skip what they cannot read (a folder without permission, a link
loop) without a word, so a lint could say "6 files checked" of 8. These walks raise
:class:`~calltmpl.errors.UsageError` naming the path instead: a folder that cannot be listed,
a link loop, a link to a folder outside the repository, a matching entry that is not a regular
file (a named pipe would block the reader). A link to nothing (a dangling link, such as an
editor's lock file) names no file and is passed over, as before.

Links to folders inside the repository are followed, each real folder walked once, the real
folders first (so a file is found under its own path rather than a link's). Globs match with
``**`` spanning any number of folders, in time linear in the path and the pattern.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath

from calltmpl.errors import UsageError
from calltmpl.paths import glob_start, glob_step, normalise, shown_path

Pattern = tuple[str, ...]


def pattern_parts(pattern: str) -> Pattern:
    """A glob's parts; one ending in ``**`` means every file below (``queues/**/*``)."""
    return PurePosixPath(normalise(pattern)).parts


def glob(root: Path, pattern: str) -> list[Path]:
    """The files below the repository ``root`` whose path relative to it matches ``pattern``,
    as found (links not resolved), sorted."""
    return _Walk(root, pattern_parts(pattern), (), hidden=True).run(root)


def walk(
    top: Path,
    root: Path,
    suffixes: tuple[str, ...],
    *,
    hidden: bool = True,
    lenient: bool = False,
) -> list[Path]:
    """The files below ``top`` whose names end with one of ``suffixes``, sorted. ``top`` is a
    folder of the repository ``root``, or any folder named on the command line (then links
    must stay inside it); ``hidden`` False leaves out names starting with a dot and all below.
    ``lenient`` passes over what cannot be read, for callers that lose nothing by it (the
    templates a run looks into for comments: one that cannot be read fails its queues' render,
    located, anyway)."""
    folder = Path(os.path.abspath(top))
    inside = folder.is_relative_to(Path(os.path.realpath(root)))
    walker = _Walk(root if inside else folder, None, suffixes, hidden)
    if not lenient:
        return walker.run(folder)
    walker.lenient = True
    try:
        return walker.run(folder)
    except UsageError:
        return sorted(walker.found)


_Folder = tuple[Path, tuple[Path, ...], frozenset[int]]
"""A folder to list: its path as found, the real paths of it and of the folders above it (a
link back to one of them is a loop), and the glob states it is reached in."""


class _Walk:
    def __init__(
        self, root: Path, pattern: Pattern | None, suffixes: tuple[str, ...], hidden: bool
    ):
        self.root = Path(os.path.realpath(root))
        self.pattern = pattern
        self.suffixes = suffixes
        self.hidden = hidden
        self.found: list[Path] = []
        self.seen: set[Path] = set()
        self.lenient = False

    def run(self, top: Path) -> list[Path]:
        try:
            real = Path(os.path.realpath(top, strict=True))
        except FileNotFoundError:
            return []  # no such folder: no files, as a glob finds none
        except OSError as exc:
            raise _unreadable(top, exc) from None
        if not real.is_dir():
            return []
        if not real.is_relative_to(self.root):
            raise UsageError(f"{shown_path(top)}: links outside the repository; not read")
        start = glob_start(self.pattern) if self.pattern is not None else frozenset()
        todo: list[_Folder] = [(top, (real,), start)]
        links: list[_Folder] = []
        self.seen.add(real)
        while todo or links:
            if todo:
                folder, chain, states = todo.pop()
                for entry in self._list(folder):
                    self._visit(entry, chain, states, todo, links)
            else:  # the real folders first, then those links lead to
                followed = self._follow(*links.pop(0))
                if followed is not None:
                    todo.append(followed)
        return sorted(self.found)

    def _list(self, folder: Path) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(folder) as entries:
                return sorted(entries, key=lambda e: e.name, reverse=True)
        except OSError as exc:
            if self.lenient:
                return []
            raise _unreadable(folder, exc, folder=True) from None

    def _visit(
        self,
        entry: os.DirEntry[str],
        chain: tuple[Path, ...],
        states: frozenset[int],
        todo: list[_Folder],
        links: list[_Folder],
    ) -> None:
        if not self.hidden and entry.name.startswith("."):
            return
        if self.pattern is None:
            wanted, deeper = entry.name.endswith(self.suffixes), True
        else:
            states = glob_step(self.pattern, states, entry.name)
            wanted = len(self.pattern) in states
            deeper = any(index < len(self.pattern) for index in states)
        if not (wanted or deeper):
            return
        path = Path(entry.path)
        try:
            link = entry.is_symlink()
            mode = os.stat(path).st_mode if link else entry.stat(follow_symlinks=False).st_mode
        except FileNotFoundError:
            return  # a link to nothing names no file
        except OSError as exc:
            if self.lenient:
                return
            raise _unreadable(path, exc) from None
        if stat.S_ISDIR(mode):
            real = chain[-1] / entry.name
            if deeper and link:
                links.append((path, chain, states))
            elif deeper and real not in self.seen:
                self.seen.add(real)
                todo.append((path, (*chain, real), states))
        elif wanted:
            if not stat.S_ISREG(mode) and self.lenient:
                return
            if not stat.S_ISREG(mode):
                raise UsageError(
                    f"{shown_path(path)}: not a regular file (a named pipe, socket or "
                    "device); not read"
                )
            self.found.append(path)

    def _follow(
        self, link: Path, chain: tuple[Path, ...], states: frozenset[int]
    ) -> _Folder | None:
        """The folder a link leads to (None when it was walked already); raise when the link
        leads back to a folder above it, or out of the repository."""
        try:
            real = Path(os.path.realpath(link, strict=True))
        except OSError as exc:
            if self.lenient:
                return None
            raise _unreadable(link, exc) from None
        if self.lenient and (real in chain or not real.is_relative_to(self.root)):
            return None
        if real in chain:
            raise UsageError(
                f"{shown_path(link)}: a link loop (it leads back to {shown_path(real)}); not read"
            )
        if not real.is_relative_to(self.root):
            raise UsageError(
                f"{shown_path(link)}: a link to a folder outside the repository; not read"
            )
        if real in self.seen:
            return None
        self.seen.add(real)
        return (link, (*chain, real), states)


def _unreadable(path: Path, exc: OSError, folder: bool = False) -> UsageError:
    """The error for a path that cannot be read, naming it and the reason."""
    if exc.errno == errno.ELOOP:
        reason = "a link loop"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        reason = "permission denied"
    else:
        reason = exc.strerror or type(exc).__name__
    if folder:
        reason += "; the files in it could not be checked"
    return UsageError(f"{shown_path(path)}: cannot read: {reason}")
