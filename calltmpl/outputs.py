"""``render --out`` and ``--check``: the payload files a repository's queues should have.

Rendering writes only what changed, never over one of the repository's own inputs, never
through a link out of the repository, and never two queues into one file.

When every queue of the repository is rendered, the output folder's **extra** files are the
ones calltmpl wrote for a queue that is gone (deleted or renamed): ``--check`` lists them and
``--out`` removes them. A file is extra only when calltmpl could have written it: a regular
``.json`` file (not a link) whose real path is inside the output folder, outside the template
folders and outside every folder or file whose name starts with a dot, that no queue renders,
and whose text is byte for byte a payload document as calltmpl writes one
(:func:`~calltmpl.payloads.payload_document`: ``{"data": {...}}``, indented by two spaces,
ending with a newline). Anything else there (notes, hand-edited payloads, other tools' JSON)
is not calltmpl's, and is neither reported nor touched.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from calltmpl import files
from calltmpl.errors import UnreadableFile, UsageError
from calltmpl.paths import atomic_write, escapes, read_text, shown_path
from calltmpl.payloads import payload_document


@dataclass(frozen=True)
class Outputs:
    folder: Path
    documents: dict[Path, str]  # output file -> the text it should hold
    complete: bool  # every queue of the repository, so payloads no queue renders are extra
    kept: tuple[Path, ...] = ()  # folders never to look into for extra files (templates)


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
    return Outputs(Path(os.path.abspath(folder)), found, complete, tuple(map(Path, kept)))


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
    problems += [(path, "extra") for path in extra(outputs)]
    return problems


def extra(outputs: Outputs) -> list[Path]:
    """The files of the output folder that calltmpl wrote for a queue it no longer renders
    (see the module's notes); none unless every queue of the repository was rendered."""
    if not outputs.complete or not outputs.folder.is_dir():
        return []
    real = Path(os.path.realpath(outputs.folder))
    kept = [Path(os.path.realpath(folder)) for folder in outputs.kept]
    found = []
    for path in files.walk(outputs.folder, outputs.folder, (".json",), hidden=False):
        if Path(os.path.abspath(path)) in outputs.documents or path.is_symlink():
            continue
        target = Path(os.path.realpath(path))
        if not target.is_relative_to(real) or any(target.is_relative_to(k) for k in kept):
            continue
        if _written_by_calltmpl(path):
            found.append(path)
    return found


def _written_by_calltmpl(path: Path) -> bool:
    """Whether a file's text is a payload document exactly as calltmpl writes one."""
    try:
        text = read_text(path)
        document = json.loads(text)
    except (UnreadableFile, ValueError, RecursionError):
        return False
    if not isinstance(document, dict) or set(document) != {"data"}:
        return False
    data = document["data"]
    return isinstance(data, dict) and payload_document(data) == text


def remove_extra(outputs: Outputs) -> int:
    """Remove the extra files (see :func:`extra`), and each folder below the output folder
    that this leaves empty; how many files were removed."""
    removed = 0
    for path in extra(outputs):
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise UsageError(f"{shown_path(path)}: cannot remove: {exc.strerror or exc}") from None
        removed += 1
        folder = path.parent
        while folder != outputs.folder and folder.is_relative_to(outputs.folder):
            try:
                folder.rmdir()
            except OSError:  # not empty (or not ours to remove): stop here
                break
            folder = folder.parent
    return removed


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
