"""Paths and globs, the ground floor: how a path is shown, whether it leaves the repository,
and globs with ``**`` spanning folders (queue globs, ``per-file-ignores``)."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path, PurePosixPath


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
    return absolute.is_relative_to(root) and not path.resolve().is_relative_to(root)


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


def glob_match(pattern: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    """Match path parts against glob parts, ``**`` spanning any number of folders."""
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(glob_match(pattern[1:], parts[k:]) for k in range(len(parts) + 1))
    return (
        bool(parts)
        and fnmatch.fnmatchcase(parts[0], pattern[0])
        and glob_match(pattern[1:], parts[1:])
    )
