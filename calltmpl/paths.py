"""Paths and globs, the ground floor: how a path is shown, whether it leaves the repository,
and globs with ``**`` spanning folders (queue globs, ``per-file-ignores``)."""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import stat
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from calltmpl.errors import UnreadableFile as UnreadableFile


def shown_path(path: Path) -> str:
    """How a path is printed: relative to the current folder when below it."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def escapes(path: Path, root: Path) -> bool:
    """Whether a path inside the repository resolves outside it (through a link): such a
    file could make calltmpl read, print or overwrite anything the user can."""
    absolute = Path(os.path.abspath(path))
    if not absolute.is_relative_to(root):
        return False
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a link loop: reading it fails, and says why
        return False
    return not resolved.is_relative_to(root)


def normalise(pattern: str) -> str:
    """A glob ending in ``**`` means every file below: ``queues/**`` is ``queues/**/*``."""
    return pattern + "/*" if PurePosixPath(pattern).name == "**" else pattern


def glob_root(pattern: str) -> str:
    """The literal folder a glob starts from: ``queues`` for ``queues/**/*.yaml``."""
    parts = PurePosixPath(pattern).parts
    literal = []
    for part in parts[:-1]:
        if any(ch in part for ch in "*?["):
            break
        literal.append(part)
    return "/".join(literal)


def glob_match(pattern: Sequence[str], parts: Sequence[str]) -> bool:
    """Whether path ``parts`` match glob ``pattern`` (``**`` spans any number of folders)."""
    states = glob_start(pattern)
    for part in parts:
        states = glob_step(pattern, states, part)
        if not states:
            return False
    return len(pattern) in states


def glob_start(pattern: Sequence[str]) -> frozenset[int]:
    """The states of a glob before any path part: positions in the pattern, as an automaton
    (linear in the path and the pattern, where backtracking over ``**`` is exponential)."""
    return _closure(pattern, {0})


def _closure(pattern: Sequence[str], states: set[int]) -> frozenset[int]:
    """``states`` and every state reached by letting a ``**`` match no folder at all."""
    result = set(states)
    todo = list(states)
    while todo:
        index = todo.pop()
        if index < len(pattern) and pattern[index] == "**" and index + 1 not in result:
            result.add(index + 1)
            todo.append(index + 1)
    return frozenset(result)


def glob_step(pattern: Sequence[str], states: frozenset[int], part: str) -> frozenset[int]:
    """The states after matching one more path part (a position in the pattern each)."""
    following = set()
    for index in states:
        if index == len(pattern):
            continue
        if pattern[index] == "**":
            following.add(index)
        elif fnmatch.fnmatchcase(part, pattern[index]):
            following.add(index + 1)
    return _closure(pattern, following)


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` whole or not at all: the text goes to a temporary file in the same
    folder, is flushed to disk, then renamed over ``path``, so a reader, or a process killed
    half-way, finds the old file or the new one, never a part. An existing file keeps its
    permissions; a new one gets the usual ones (0666 less the umask). A link at ``path`` is
    replaced by the file, never written through."""
    data = text.encode("utf-8")
    try:
        mode: int | None = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    temporary = path.with_name(f".{path.name[:200]}.{os.urandom(4).hex()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    handle = os.open(temporary, flags, 0o666)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            if mode is not None:
                os.chmod(stream.fileno(), mode)
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename) to disk, where the platform allows it."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(handle)
    finally:
        os.close(handle)


MAX_YAML_BYTES = 1024 * 1024
"""The largest queue file or ``calltmpl.yaml`` read: real ones are a few kilobytes, and a
megabyte of YAML still loads in seconds."""
MAX_JSON_BYTES = 8 * 1024 * 1024
"""The largest payload file or lock file read: real ones are tens of kilobytes."""


_REASONS = {
    errno.ENOENT: "no such file",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ELOOP: "too many levels of links (a link loop?)",
    errno.ENAMETOOLONG: "the name is too long",
    errno.EISDIR: "it is a folder",
    errno.ENOTDIR: "a part of the path is not a folder",
}


def read_text(path: Path, limit: int = MAX_JSON_BYTES) -> str:
    """A UTF-8 text file's text (line ends as Python's text mode reads them); raise
    :class:`UnreadableFile` naming the path and the reason: it is missing or not allowed, or
    is not a regular file (a FIFO or a device is refused without blocking: it is never opened
    for reading); or, located, it holds more than ``limit`` bytes or is not UTF-8."""
    shown = shown_path(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise UnreadableFile(shown, _kind(os.stat(path).st_mode))
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
        handle = os.open(path, flags)
        try:
            info = os.fstat(handle)
            if not stat.S_ISREG(info.st_mode):  # swapped since the check above
                raise UnreadableFile(shown, _kind(info.st_mode))
            if info.st_size > limit:
                raise UnreadableFile(shown, _too_large(limit), 1, 1)
            with os.fdopen(handle, "rb", closefd=False) as stream:
                data = stream.read(limit + 1)
        finally:
            os.close(handle)
    except OSError as exc:
        reason = _REASONS.get(exc.errno or 0) or exc.strerror or type(exc).__name__
        raise UnreadableFile(shown, reason) from None
    if len(data) > limit:  # it grew while being read
        raise UnreadableFile(shown, _too_large(limit), 1, 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8")
        line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
        bad = data[exc.start : exc.end].hex(" ")
        raise UnreadableFile(shown, f"not UTF-8 text (bytes {bad})", line, column) from None
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "it is a folder"
    if stat.S_ISFIFO(mode):
        return "it is a named pipe (FIFO), not a regular file"
    return "it is not a regular file (a device or socket)"


def _too_large(limit: int) -> str:
    return f"larger than {limit // (1024 * 1024)} MB, the most calltmpl reads of such a file"
