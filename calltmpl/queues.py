"""Queue files: discovery through the configured globs, and loading into variables."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from calltmpl import codes, files, parsing
from calltmpl.diagnostics import Diagnostic
from calltmpl.paths import (
    MAX_YAML_BYTES,
    UnreadableFile,
    escapes,
    glob_match,
    glob_root,
    read_text,
    shown_path,
)


@dataclass(frozen=True)
class QueueFile:
    """One queue: its file, its template and the variables it passes to the template."""

    path: Path
    shown: str
    queue: str
    template: str
    variables: Mapping[str, Any]
    text: str


def queue_id(path: Path, root: Path) -> str:
    """The ``queue`` variable: the path relative to the root, without its extension."""
    full, base = os.path.abspath(path), os.path.abspath(root)
    prefix = base if base.endswith(os.sep) else base + os.sep
    if full.startswith(prefix) and len(full) > len(prefix):  # string work: one per queue
        relative = full[len(prefix) :]
    else:
        try:
            relative = str(Path(full).relative_to(root))
        except ValueError:
            relative = path.name
    head, name = os.path.split(relative)
    stem = PurePosixPath(name).stem
    joined = os.path.join(head, stem) if head else stem
    return joined.replace(os.sep, "/") if os.sep != "/" else joined


def discover(root: Path, globs: Sequence[str]) -> Iterator[tuple[Path, str]]:
    """Every queue file of the repository with the root of the glob that found it, sorted.

    Paths are as found, links not resolved, so a link that leaves the repository is named by
    its own path when :func:`load_queue` refuses it. A folder that cannot be read, a link loop
    or a link to a folder outside the repository raises UsageError naming it (see
    :mod:`calltmpl.files`): no queue file is passed over in silence.
    """
    seen: set[Path] = set()
    found: list[tuple[Path, str]] = []
    for pattern in globs:
        for path in files.glob(root, pattern):
            if path not in seen:
                seen.add(path)
                found.append((path, glob_root(pattern)))
    yield from sorted(found)


def matches_queue_glob(path: Path, root: Path, globs: Sequence[str]) -> str | None:
    """The glob root when ``path`` is one of the repository's queue files, else None."""
    try:
        relative = Path(os.path.abspath(path)).relative_to(root).parts
    except ValueError:
        return None
    for pattern in globs:
        if glob_match(files.pattern_parts(pattern), relative):
            return glob_root(pattern)
    return None


QUEUE_SUFFIXES = (".yaml", ".yml")


_ANY_CASE = (*QUEUE_SUFFIXES, *(s.upper() for s in QUEUE_SUFFIXES), ".Yaml", ".Yml")
"""YAML file names as an editor or another system may write them (``a.YAML``)."""


def unmatched(
    root: Path,
    globs: Sequence[str],
    below: Path | None = None,
    known: Sequence[tuple[Path, str]] = (),
) -> list[Path]:
    """YAML files in the globs' folders that no glob matches, sorted: files that look like
    queue files but would never be checked or pushed. A glob whose folder is the repository
    itself is left out (its other YAML files are CI settings and the like), as are hidden
    files; ``below`` limits the search to a folder. ``known`` queue files (as
    :func:`discover` finds them) need no matching."""
    queues = {path for path, _root in known}
    found: set[Path] = set()
    for folder in {glob_root(pattern) for pattern in globs} - {""}:
        top = Path(os.path.abspath(root / folder))
        if below is not None:
            below = Path(os.path.abspath(below))
            if below.is_relative_to(top):
                top = below
            elif not top.is_relative_to(below):
                continue
        for path in files.walk(top, root, _ANY_CASE, hidden=False, lenient=True):
            if path not in queues and matches_queue_glob(path, root, globs) is None:
                found.add(path)
    return sorted(found)


def unmatched_file(path: Path, globs: Sequence[str]) -> Diagnostic:
    """CT009 for a YAML file in a queue folder that no queue glob matches."""
    return codes.UNMATCHED_QUEUE_FILE.at(
        shown_path(path),
        1,
        1,
        f"this YAML file is in a queue folder but matches no queue glob ({', '.join(globs)}); "
        "it is never checked or pushed",
        hint="rename it to match, or add a glob to `queues:` in calltmpl.yaml",
    )


def in_queue_folder(path: Path, root: Path, globs: Sequence[str]) -> bool:
    """Whether ``path`` lies in the folder of a glob (the repository itself aside), where
    :func:`unmatched` looks."""
    path = Path(os.path.abspath(path))
    folders = {glob_root(pattern) for pattern in globs} - {""}
    return any(path.is_relative_to(Path(os.path.abspath(root / f))) for f in folders)


def same_queue(queues: Sequence[tuple[Path, str]], root: Path) -> tuple[Path, Path] | None:
    """Two queue files that are one queue (``a.yaml`` and ``a.yml``: the same path without
    extension, so the same ``queue`` variable, lock entry and output file), or None."""
    seen: dict[str, Path] = {}
    for path, _root in queues:
        key = queue_id(path, root)
        if key in seen:
            return seen[key], path
        seen[key] = path
    return None


def load_queue(path: Path, root: Path) -> QueueFile | Diagnostic:
    """Read a queue file; a file that is not usable gives a located diagnostic instead.

    Raises :class:`~calltmpl.paths.UnreadableFile` (exit 2, naming the file and the reason)
    when it cannot be read at all: missing, not allowed, not a regular file. Content that
    cannot be read (over :data:`~calltmpl.paths.MAX_YAML_BYTES`, not UTF-8) is a CT001.
    """
    shown = shown_path(path)
    if escapes(path, root):
        return codes.LINK_OUTSIDE.at(shown, 1, 1, "the queue file links outside the repository")
    try:
        text = read_text(path, MAX_YAML_BYTES)
    except UnreadableFile as exc:
        if not exc.line:
            raise
        return codes.QUEUE_SYNTAX.at(shown, exc.line, exc.column, exc.reason)
    try:
        data = parsing.load_yaml(text)
    except parsing.ParseError as exc:
        return codes.QUEUE_SYNTAX.at(shown, exc.line, exc.column, exc.message, hint=exc.hint)
    if not isinstance(data, Mapping):
        kind = "empty" if data is None else type(data).__name__
        return codes.QUEUE_SHAPE.at(
            shown,
            1,
            1,
            f"the queue file is {kind}; expected a mapping of template variables",
            hint="start with `template: calltmpl/pstn.yaml.j2` and one `name: value` per line",
        )
    template = data.get("template")
    if not isinstance(template, str) or not template.strip():
        line, column = parsing.yaml_key_positions(text).get("/template", (1, 1))
        got = "no template key" if "template" not in data else f"template is {template!r}"
        return codes.QUEUE_TEMPLATE.at(
            shown,
            line,
            column,
            f"{got}; expected the name of a template, e.g. `template: calltmpl/pstn.yaml.j2`",
        )
    variables = {str(k): v for k, v in data.items() if k != "template"}
    queue = queue_id(path, root)
    variables["queue"] = queue
    return QueueFile(path.resolve(), shown, queue, template, variables, text)
