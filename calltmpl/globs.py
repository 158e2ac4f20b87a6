"""Globs of queue files and per-file settings, with ``**`` spanning folders."""

from __future__ import annotations

import fnmatch
from pathlib import PurePosixPath


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
