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
    try:
        relative = Path(os.path.abspath(path)).relative_to(root)
    except ValueError:
        relative = Path(path.name)
    return PurePosixPath(relative.with_suffix("").as_posix()).as_posix()


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
        return codes.QUEUE_SYNTAX.at(shown, exc.line, exc.column, exc.message)
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
