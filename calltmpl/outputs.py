"""``render --out`` and ``--check``: the payload files a repository's queues should have.

Rendering writes only what changed, never over one of the repository's own inputs, never
through a link out of the repository, and never two queues into one file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from calltmpl import files
from calltmpl.errors import UsageError
from calltmpl.paths import atomic_write, escapes, shown_path


@dataclass(frozen=True)
class Outputs:
    folder: Path
    documents: dict[Path, str]  # output file -> the text it should hold
    complete: bool  # every queue of the repository, so other .json files are extra


def expected_outputs(
    folder: Path,
    planned: Sequence[tuple[Path, Path, str]],
    inputs: Sequence[Path],
    folders: Sequence[Path],
    root: Path,
    complete: bool,
) -> Outputs:
    """The documents under ``folder``: ``planned`` holds (queue file, output file, document)
    for each selected queue; none may be written over one of the repository's ``inputs``
    (its configuration and queue files) or into its template ``folders``, through a link out
    of ``root``, or twice."""
    protected = {Path(os.path.abspath(p)) for p in inputs}
    kept = [os.path.abspath(f) for f in folders]
    found: dict[Path, str] = {}
    owner: dict[Path, Path] = {}
    for queue, output, document in planned:
        target = Path(os.path.abspath(output))
        if target in owner:
            raise UsageError(
                f"{shown_path(queue)} and {shown_path(owner[target])} would both "
                f"be written to {shown_path(target)}; give them distinct paths"
            )
        if target in protected or any(target.is_relative_to(f) for f in kept):
            raise UsageError(
                f"{shown_path(queue)} would be written over {shown_path(target)}, "
                "an input of the repository; choose another --out folder"
            )
        if escapes(target, root):
            raise UsageError(f"{shown_path(target)} links outside the repository; not writing")
        owner[target], found[target] = queue, document
    return Outputs(Path(os.path.abspath(folder)), found, complete)


def out_of_date(outputs: Outputs) -> list[tuple[Path, str]]:
    """Each output file that is ``missing``, ``stale`` or, for a whole repository,
    ``extra`` (no queue renders it)."""
    problems = []
    for path, document in sorted(outputs.documents.items()):
        current = _read(path)
        if current is None:
            problems.append((path, "missing"))
        elif current != document:
            problems.append((path, "stale"))
    if outputs.complete and outputs.folder.is_dir():
        problems += [
            (path, "extra")
            for path in files.walk(outputs.folder, outputs.folder, (".json",))
            if Path(os.path.abspath(path)) not in outputs.documents
        ]
    return problems


def write(outputs: Outputs) -> int:
    """Write the files that differ, each whole or not at all (a temporary file renamed over
    it: a run killed half-way leaves the old file or the new one, never a part of one); how
    many were written. A link inside the repository is written through, to its target."""
    written = 0
    for path, document in outputs.documents.items():
        if _read(path) == document:
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(Path(os.path.realpath(path)), document)
        except OSError as exc:
            raise UsageError(f"{shown_path(path)}: cannot write: {exc.strerror or exc}") from None
        written += 1
    return written


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
