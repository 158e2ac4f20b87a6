"""The engine over one repository: its queues, what a list of paths selects, render and lint.

Commands reach it through :mod:`calltmpl.repository`, the library's front door.
"""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calltmpl import files, suppress
from calltmpl.config import CONFIG_NAME, Settings
from calltmpl.diagnostics import Diagnostic
from calltmpl.errors import UsageError
from calltmpl.lint import ANSWER, CREATE, Subject, lint_set, lint_subject, unused_variables
from calltmpl.lockfile import content
from calltmpl.outputs import Outputs, expected_outputs
from calltmpl.parallel import parallel_map
from calltmpl.paths import shown_path
from calltmpl.payloads import PayloadFile, load_payload, looks_like_payload, payload_document
from calltmpl.plan import Desired
from calltmpl.policy import LintOptions
from calltmpl.provenance import payload_locator, read_shown
from calltmpl.queues import discover, load_queue, matches_queue_glob, queue_id
from calltmpl.render import Rendered, Renderer
from calltmpl.suppress import Suppression

TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2")
YAML_SUFFIXES = (".yaml", ".yml")


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
        self._queues: list[tuple[Path, str]] | None = None

    # --- selection ---------------------------------------------------------------------

    def all_queues(self) -> list[tuple[Path, str]]:
        if self._queues is None:
            self._queues = list(discover(self.settings.root, self.settings.queues))
        return list(self._queues)

    def select(self, paths: Sequence[Path], *, ignore_unmatched: bool = False) -> Selection:
        """Resolve command-line paths; no path means every queue of the repository."""
        if not paths:
            return Selection(tuple(self.all_queues()), complete=True)
        queues: dict[Path, str] = {}
        payloads: dict[Path, None] = {}
        complete = False
        for path in paths:
            problem = _unusable(path)
            if problem is not None:
                raise UsageError(f"{path}: {problem}")
            if path.is_dir():
                self._select_folder(Path(os.path.abspath(path)), queues, payloads)
            elif path.name == CONFIG_NAME:
                queues.update(self.all_queues())
                complete = True
            elif path.suffix in TEMPLATE_SUFFIXES or self._in_template_folder(path):
                queues.update(self.queues_using({path}))
            elif path.suffix == ".json":
                if not ignore_unmatched or self._hook_payload(path):
                    payloads[Path(os.path.abspath(path))] = None
            elif path.suffix in YAML_SUFFIXES:
                root = matches_queue_glob(path, self.settings.root, self.settings.queues)
                if root is not None or not ignore_unmatched:
                    queues[path.resolve()] = root or ""
            elif not ignore_unmatched:
                raise UsageError(
                    f"{path}: not a queue file, template, payload .json or {CONFIG_NAME}"
                )
        return Selection(tuple(sorted(queues.items())), tuple(payloads), complete)

    def _hook_payload(self, path: Path) -> bool:
        """A .json file a hook passes is linted when it is a payload, but not when it is one
        of the rendered outputs, which would only repeat their queues (and clash by name)."""
        output = Path(os.path.abspath(self.settings.output))
        return not Path(os.path.abspath(path)).is_relative_to(output) and looks_like_payload(path)

    def _select_folder(
        self, folder: Path, queues: dict[Path, str], payloads: dict[Path, None]
    ) -> None:
        queues.update((p, r) for p, r in self.all_queues() if p.is_relative_to(folder))
        templates = set(files.walk(folder, self.settings.root, TEMPLATE_SUFFIXES, lenient=True))
        if templates:
            queues.update(self.queues_using(templates))
        output = Path(os.path.abspath(self.settings.output))
        for path in files.walk(folder, self.settings.root, (".json",), hidden=False):
            if not path.is_relative_to(output) and looks_like_payload(path):
                payloads[path] = None

    def _in_template_folder(self, path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved.is_relative_to(t.resolve()) for t in self.settings.templates)

    def queues_using(self, templates: set[Path]) -> Iterator[tuple[Path, str]]:
        """Queues that render through one of ``templates``: directly, by inheritance or
        include."""
        wanted = {str(t.resolve()) for t in templates}
        for path, root in self.all_queues():
            try:
                loaded = load_queue(path, self.settings.root)
            except (OSError, UnicodeDecodeError, UsageError):  # its render will say why
                yield path, root
                continue
            if isinstance(loaded, Diagnostic):
                continue
            closure = self.renderer.closure(loaded.template)
            if closure is None or wanted & closure:
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
            loaded = load_payload(path, self.settings.root)
            if isinstance(loaded, Diagnostic):
                found.append(loaded)
                continue
            subject = payload_subject(loaded)
            found.extend(lint_subject(subject, options))
            labelled.append((loaded.file, dict(loaded.target)))
            subjects.append(functools.partial(_same, subject))
        found.extend(lint_set(labelled, lambda index: subjects[index](), options))
        checked = [shown_path(p) for p in (*queues, *selection.payloads)]
        outcome = suppress.apply(
            found,
            [*checked, *(d.file for d in found), *self._template_files(selection.complete)],
            functools.partial(read_shown, root=self.settings.root),
            lambda file: file in checked or selection.complete,
            options.enabled,
        )
        kept = [d for d in (options.apply(d) for d in outcome.kept) if d is not None]
        return LintReport(tuple(kept), outcome.suppressed, tuple(checked))

    def _queue_subject(self, path: Path) -> Subject:
        rendered = self.render(path)
        if isinstance(rendered, Diagnostic):  # it rendered in the worker; files changed since
            raise UsageError(f"{path}: changed while being linted")
        return self.rendered_subject(rendered)

    def rendered_subject(self, rendered: Rendered) -> Subject:
        """A rendered call target, its members shown where the user edits them."""
        queue = rendered.queue
        return Subject(queue.shown, rendered.target, self.renderer.locator(rendered))

    def _template_files(self, complete: bool) -> list[str]:
        """The repository's template files, when all their findings were looked for."""
        if not complete:
            return []
        root = self.settings.root
        return [
            shown_path(path)
            for folder in self.settings.templates
            for path in files.walk(folder, root, TEMPLATE_SUFFIXES, lenient=True)
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
            loaded = load_payload(path, self.settings.root)
            if isinstance(loaded, Diagnostic):
                found.append(loaded)
            else:
                key = queue_id(path, self.settings.root) + path.suffix
                found.append(Desired(key, loaded.file, content(loaded.target)))
        return found

    def render_documents(self, paths: Sequence[Path]) -> list[str | Diagnostic]:
        """The payload documents of many queue files, in parallel when there are enough."""
        return parallel_map(_render_document, self, list(paths))

    def outputs(self, selection: Selection, folder: Path) -> Outputs | list[Diagnostic]:
        """The documents of the selected queues under ``folder``, or why they cannot be built."""
        problem = _unusable(folder, missing_ok=True)
        if problem is not None:
            raise UsageError(f"{shown_path(folder)}: cannot write into it: {problem}")
        queues = [path for path, _ in selection.queues]
        documents = self.render_documents(queues)
        failures = [d for d in documents if isinstance(d, Diagnostic)]
        if failures:
            return failures
        planned = [
            (queue, self.output_path(queue, root, folder), document)
            for (queue, root), document in zip(selection.queues, documents, strict=True)
            if isinstance(document, str)
        ]
        inputs = [*queues, self.settings.root / CONFIG_NAME]
        root = self.settings.root
        return expected_outputs(
            folder, planned, inputs, self.settings.templates, root, selection.complete
        )


def _unusable(path: Path, missing_ok: bool = False) -> str | None:
    """Why a path named on the command line cannot be used (missing, a link loop, a name too
    long...), or None."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return None if missing_ok else "no such file or folder"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a link loop"
        return exc.strerror or type(exc).__name__
    return None


def _lint_queue(
    state: tuple[Project, LintOptions], path: Path
) -> tuple[list[Diagnostic], dict[str, Any] | None]:
    """One queue's diagnostics, and its call target for the rules across targets."""
    project, options = state
    result = project.render(path)
    if isinstance(result, Diagnostic):
        return [result], None
    queue = result.queue
    read = project.renderer.variables(queue.template)
    found = list(unused_variables(queue.shown, queue.text, queue.template, queue.variables, read))
    found.extend(lint_subject(project.rendered_subject(result), options))
    return found, result.target


def _render_document(project: Project, path: Path) -> str | Diagnostic:
    result = project.render(path)
    return result if isinstance(result, Diagnostic) else payload_document(result.target)


def _same(subject: Subject) -> Subject:
    return subject


def payload_subject(payload: PayloadFile) -> Subject:
    """A call target read from a payload file; members are shown at their place in it."""
    locate = payload_locator(payload.file, payload.text, payload.base)
    return Subject(payload.file, payload.target, locate, ANSWER if payload.is_answer else CREATE)
