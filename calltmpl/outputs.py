"""``render --out`` and ``--check``: the payload files a repository's queues should have.

Rendering writes only what changed, never over one of the repository's own inputs, never
through a link out of the repository, and never two queues into one file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from calltmpl.config import CONFIG_NAME
from calltmpl.diagnostics import Diagnostic
from calltmpl.errors import UsageError
from calltmpl.project import Project, Selection
from calltmpl.queues import escapes, shown_path


@dataclass(frozen=True)
class Outputs:
    folder: Path
    documents: dict[Path, str]  # output file -> the text it should hold
    complete: bool  # every queue of the repository, so other .json files are extra


def expected_outputs(
    project: Project, selection: Selection, folder: Path
) -> Outputs | list[Diagnostic]:
    """The documents of the selected queues under ``folder``, or why they cannot be built."""
    queues = [path for path, _ in selection.queues]
    documents = project.render_documents(queues)
    failures = [d for d in documents if isinstance(d, Diagnostic)]
    if failures:
        return failures
    inputs = {Path(os.path.abspath(p)) for p in queues}
    inputs.add(project.settings.root / CONFIG_NAME)
    found: dict[Path, str] = {}
    owner: dict[Path, Path] = {}
    for (queue, root), document in zip(selection.queues, documents, strict=True):
        assert isinstance(document, str)
        target = Path(os.path.abspath(project.output_path(queue, root, folder)))
        if target in owner:
            raise UsageError(
                f"{shown_path(queue)} and {shown_path(owner[target])} would both "
                f"be written to {shown_path(target)}; give them distinct paths"
            )
        if target in inputs or _in_template_folder(project, target):
            raise UsageError(
                f"{shown_path(queue)} would be written over {shown_path(target)}, "
                "an input of the repository; choose another --out folder"
            )
        if escapes(target, project.settings.root):
            raise UsageError(f"{shown_path(target)} links outside the repository; not writing")
        owner[target], found[target] = queue, document
    return Outputs(Path(os.path.abspath(folder)), found, selection.complete)


def _in_template_folder(project: Project, path: Path) -> bool:
    return any(path.is_relative_to(os.path.abspath(t)) for t in project.settings.templates)


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
            for path in sorted(outputs.folder.rglob("*.json"))
            if Path(os.path.abspath(path)) not in outputs.documents
        ]
    return problems


def write(outputs: Outputs) -> int:
    """Write the files that differ; how many were written."""
    written = 0
    for path, document in outputs.documents.items():
        if _read(path) == document:
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(document, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{shown_path(path)}: cannot write: {exc.strerror or exc}") from None
        written += 1
    return written


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
