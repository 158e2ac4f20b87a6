"""A configuration repository: its queues, what a list of paths selects, render and lint.

This is the library's front door; the CLI is a thin layer over :class:`Project`.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from calltmpl import codes, parsing, suppress
from calltmpl.config import CONFIG_NAME, Settings
from calltmpl.diagnostics import Diagnostic
from calltmpl.lint import (
    Subject,
    lint_set,
    lint_subject,
    payload_subject,
    rendered_subject,
    unused_variables,
)
from calltmpl.plan import Desired, content
from calltmpl.policy import LintOptions
from calltmpl.queues import discover, load_queue, matches_queue_glob, queue_id, shown_path
from calltmpl.render import BUILTIN_DIR, BUILTIN_PREFIX, Rendered, Renderer
from calltmpl.suppress import Suppression

TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2")
YAML_SUFFIXES = (".yaml", ".yml")


class UsageError(Exception):
    """A path or argument the command cannot work with (exit code 2)."""


@dataclass(frozen=True)
class Selection:
    """What a list of paths asks to check: queue files (with their glob root) and payloads."""

    queues: tuple[tuple[Path, str], ...] = ()
    payloads: tuple[Path, ...] = ()
    complete: bool = False  # every queue of the repository, so every template's findings


@dataclass(frozen=True)
class LintReport:
    """What a lint found: diagnostics to report, what comments silenced, and the call
    targets checked (queue and payload files, as shown)."""

    diagnostics: tuple[Diagnostic, ...]
    suppressed: tuple[tuple[Diagnostic, Suppression], ...] = ()
    checked: tuple[str, ...] = ()


class Project:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.renderer = Renderer(settings.templates)

    # --- selection ---------------------------------------------------------------------

    def all_queues(self) -> list[tuple[Path, str]]:
        return list(discover(self.settings))

    def select(self, paths: Sequence[Path], *, ignore_unmatched: bool = False) -> Selection:
        """Resolve command-line paths; no path means every queue of the repository."""
        if not paths:
            return Selection(tuple(self.all_queues()), complete=True)
        queues: dict[Path, str] = {}
        payloads: dict[Path, None] = {}
        complete = False
        for path in paths:
            if not path.exists():
                raise UsageError(f"{path}: no such file or folder")
            if path.is_dir():
                self._select_folder(path.resolve(), queues, payloads)
            elif path.name == CONFIG_NAME:
                queues.update(self.all_queues())
                complete = True
            elif path.suffix == ".json":
                if not ignore_unmatched or _looks_like_payload(path):
                    payloads[path.resolve()] = None
            elif path.suffix in TEMPLATE_SUFFIXES or self._in_template_folder(path):
                queues.update(self.queues_using(path))
            elif path.suffix in YAML_SUFFIXES:
                root = matches_queue_glob(path, self.settings)
                if root is not None or not ignore_unmatched:
                    queues[path.resolve()] = root or ""
            elif not ignore_unmatched:
                raise UsageError(
                    f"{path}: not a queue file, template, payload .json or {CONFIG_NAME}"
                )
        return Selection(tuple(sorted(queues.items())), tuple(payloads), complete)

    def _select_folder(
        self, folder: Path, queues: dict[Path, str], payloads: dict[Path, None]
    ) -> None:
        queues.update((p, r) for p, r in self.all_queues() if p.is_relative_to(folder))
        output = self.settings.output.resolve()
        for path in sorted(folder.rglob("*.json")):
            hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
            if not hidden and not path.is_relative_to(output) and _looks_like_payload(path):
                payloads[path] = None

    def _in_template_folder(self, path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved.is_relative_to(t.resolve()) for t in self.settings.templates)

    def queues_using(self, template: Path) -> Iterator[tuple[Path, str]]:
        """Queues that render through ``template``: directly, by inheritance or include."""
        wanted = str(template.resolve())
        for path, root in self.all_queues():
            try:
                loaded = load_queue(path, self.settings.root)
            except (OSError, UnicodeDecodeError):
                yield path, root
                continue
            if isinstance(loaded, Diagnostic):
                continue
            closure = self.renderer.closure(loaded.template)
            if closure is None or wanted in closure:
                yield path, root

    # --- render ------------------------------------------------------------------------

    def render(self, path: Path) -> Rendered | Diagnostic:
        """Render one queue file; raise UsageError when it cannot be read."""
        try:
            loaded = load_queue(path, self.settings.root)
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: cannot read: {exc}") from None
        if isinstance(loaded, Diagnostic):
            return loaded
        return self.renderer.render(loaded)

    def output_path(self, queue: Path, root: str, out: Path) -> Path:
        """Where ``render --out`` writes a queue: its path below its glob's root, as .json."""
        base = (self.settings.root / root).resolve() if root else self.settings.root
        try:
            relative = queue.resolve().relative_to(base)
        except ValueError:
            relative = Path(queue.name)
        return out / relative.with_suffix(".json")

    # --- lint --------------------------------------------------------------------------

    def lint(self, selection: Selection, options: LintOptions) -> LintReport:
        """Render and check the selection: each call target, then the set of them, then the
        suppression comments and the policy's selection and severities."""
        queues = [path for path, _root in selection.queues]
        found: list[Diagnostic] = []
        labelled: list[tuple[str, dict[str, Any]]] = []
        subjects: list[Callable[[], Subject]] = []
        for path, (diagnostics, target) in zip(
            queues, parallel_map(_lint_queue, (self, options), queues), strict=True
        ):
            found.extend(diagnostics)
            if target is not None:
                labelled.append((shown_path(path), target))
                subjects.append(functools.partial(self._queue_subject, path))
        for path in selection.payloads:
            loaded = load_payload(path)
            if isinstance(loaded, Diagnostic):
                found.append(loaded)
                continue
            found.extend(lint_subject(loaded, options))
            labelled.append((loaded.file, dict(loaded.target)))
            subjects.append(functools.partial(_same, loaded))
        found.extend(lint_set(labelled, lambda index: subjects[index](), options))
        checked = [shown_path(p) for p in (*queues, *selection.payloads)]
        outcome = suppress.apply(
            found,
            [*checked, *(d.file for d in found), *self._template_files(selection.complete)],
            read_shown,
            lambda file: file in checked or selection.complete,
        )
        kept = [d for d in (options.apply(d) for d in outcome.kept) if d is not None]
        return LintReport(tuple(kept), outcome.suppressed, tuple(checked))

    def _queue_subject(self, path: Path) -> Subject:
        rendered = self.render(path)
        if isinstance(rendered, Diagnostic):  # it rendered in the worker; files changed since
            raise UsageError(f"{path}: changed while being linted")
        return rendered_subject(rendered, self.renderer)

    def _template_files(self, complete: bool) -> list[str]:
        """The repository's template files, when all their findings were looked for."""
        if not complete:
            return []
        return [
            shown_path(path)
            for folder in self.settings.templates
            for path in sorted(folder.rglob("*"))
            if path.suffix in TEMPLATE_SUFFIXES and path.is_file()
        ]

    def desired(self, selection: Selection) -> list[Desired | Diagnostic]:
        """The call targets a push would send, keyed for the lock file: a queue by its path
        below the repository without extension, a payload file by its path."""
        found: list[Desired | Diagnostic] = []
        for path, _root in selection.queues:
            rendered = self.render(path)
            if isinstance(rendered, Diagnostic):
                found.append(rendered)
            else:
                queue = rendered.queue
                found.append(Desired(queue.queue, queue.shown, content(rendered.target)))
        for path in selection.payloads:
            loaded = load_payload(path)
            if isinstance(loaded, Diagnostic):
                found.append(loaded)
            else:
                key = queue_id(path, self.settings.root) + path.suffix
                found.append(Desired(key, loaded.file, content(loaded.target)))
        return found

    def render_documents(self, paths: Sequence[Path]) -> list[str | Diagnostic]:
        """The payload documents of many queue files, in parallel when there are enough."""
        return parallel_map(_render_document, self, list(paths))


def _lint_queue(
    state: tuple[Project, LintOptions], path: Path
) -> tuple[list[Diagnostic], dict[str, Any] | None]:
    """One queue's diagnostics, and its call target for the rules across targets."""
    project, options = state
    result = project.render(path)
    if isinstance(result, Diagnostic):
        return [result], None
    found = list(unused_variables(result.queue, project.renderer))
    found.extend(lint_subject(rendered_subject(result, project.renderer), options))
    return found, result.target


def _render_document(project: Project, path: Path) -> str | Diagnostic:
    result = project.render(path)
    return result if isinstance(result, Diagnostic) else payload_document(result.target)


# --- parallel work -------------------------------------------------------------------------

PARALLEL_FROM = 48
"""Below this many queues, starting worker processes costs more than it saves."""

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")
_STATE: Any = None


def parallel_map(function: Callable[[S, T], R], state: S, items: list[T]) -> list[R]:
    """``[function(state, item) for item in items]``, spread over the CPUs when worth it.

    Workers are forked, so they inherit ``state`` (a loaded project, compiled templates)
    instead of rebuilding it; where forking is unavailable or unsafe, the work runs here.
    """
    workers = _worker_count(len(items))
    if workers < 2:
        return [function(state, item) for item in items]
    global _STATE
    _STATE = (function, state)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            chunk = max(1, len(items) // (workers * 8))
            return pool.map(_run, items, chunksize=chunk)
    finally:
        _STATE = None


def _run(item: Any) -> Any:
    function, state = _STATE
    return function(state, item)


def _worker_count(items: int) -> int:
    if items < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if threading.active_count() > 1:  # forking a threaded process can deadlock
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cpus or 1, 8)


def _same(subject: Subject) -> Subject:
    return subject


def read_shown(file: str) -> str | None:
    """The text of a file named as diagnostics name it, built-in templates included."""
    path = Path(file)
    if not path.is_file() and file.startswith(BUILTIN_PREFIX):
        path = BUILTIN_DIR / file[len(BUILTIN_PREFIX) :]
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def payload_document(target: dict[str, Any]) -> str:
    """The POST body for a call target, as ``render`` prints and writes it."""
    return json.dumps({"data": target}, indent=2, ensure_ascii=False) + "\n"


ENVELOPES = ("/data/callTarget", "/data", "")


def unwrap(document: Any) -> tuple[dict[str, Any], str] | None:
    """The call target in a POST body, a GET answer or bare, with its pointer in the file."""
    if not isinstance(document, dict):
        return None
    data = document.get("data")
    if isinstance(data, dict):
        inner = data.get("callTarget")
        if isinstance(inner, dict) and len(data) == 1:
            return inner, "/data/callTarget"
        return data, "/data"
    if "configuration" in document or "name" in document:
        return document, ""
    return None


def load_payload(path: Path) -> Subject | Diagnostic:
    shown = shown_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    try:
        document = parsing.load_json(text)
    except parsing.ParseError as exc:
        return codes.PAYLOAD_SYNTAX.at(shown, exc.line, exc.column, exc.message)
    found = unwrap(document)
    if found is None:
        return codes.PAYLOAD_SHAPE.at(
            shown,
            1,
            1,
            'no call target found; expected {"data": {...}} (a POST body), '
            '{"data": {"callTarget": {...}}} (a GET answer) or a bare call target',
        )
    target, base = found
    return payload_subject(shown, text, target, base)


def _looks_like_payload(path: Path) -> bool:
    try:
        return unwrap(json.loads(path.read_text(encoding="utf-8"))) is not None
    except (OSError, UnicodeDecodeError, ValueError):
        return False
