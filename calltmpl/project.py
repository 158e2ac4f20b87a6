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
from calltmpl.context import ContextCache
from calltmpl.diagnostics import Diagnostic
from calltmpl.dropped import dropped_members
from calltmpl.errors import UsageError
from calltmpl.lint import (
    ANSWER,
    CREATE,
    Subject,
    context_view,
    lint_set,
    lint_subject,
    set_rules_run,
    unused_variables,
)
from calltmpl.lockfile import content
from calltmpl.outputs import Outputs, expected_outputs
from calltmpl.parallel import parallel_map
from calltmpl.paths import shown_path
from calltmpl.payloads import PayloadFile, load_payload, looks_like_payload, payload_document
from calltmpl.plan import Desired
from calltmpl.policy import LintOptions
from calltmpl.provenance import gather, payload_locator, read_shown
from calltmpl.queues import (
    discover,
    in_queue_folder,
    load_queue,
    matches_queue_glob,
    queue_id,
    same_queue,
    unmatched,
    unmatched_file,
)
from calltmpl.render import Rendered, Renderer
from calltmpl.suppress import Suppression

TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2")
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Selection:
    """What a list of paths asks to check: queue files (with their glob root) and payloads;
    ``unmatched``, the paths given that select nothing (skipped ones under
    ``--ignore-unmatched`` aside); ``strays``, the YAML files in queue folders, among or below
    the paths, that no queue glob matches."""

    queues: tuple[tuple[Path, str], ...] = ()
    payloads: tuple[Path, ...] = ()
    complete: bool = False  # every queue of the repository, so every template's findings
    unmatched: tuple[Path, ...] = ()
    strays: tuple[Path, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether it checks no call target at all."""
        return not self.queues and not self.payloads


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
        """Every queue file of the repository; two files that are one queue (``a.yaml`` and
        ``a.yml``) are a usage error naming both."""
        if self._queues is None:
            found = list(discover(self.settings.root, self.settings.queues))
            twins = same_queue(found, self.settings.root)
            if twins is not None:
                first, second = (shown_path(p) for p in twins)
                raise UsageError(
                    f"{first} and {second} are one queue ({queue_id(twins[0], self.root)}: "
                    "the same path without extension); keep one of them"
                )
            self._queues = found
        return list(self._queues)

    @property
    def root(self) -> Path:
        return self.settings.root

    def select(self, paths: Sequence[Path], *, ignore_unmatched: bool = False) -> Selection:
        """Resolve command-line paths; no path means every queue of the repository."""
        globs = self.settings.queues
        if not paths:
            everywhere = tuple(unmatched(self.root, globs, known=self.all_queues()))
            return Selection(tuple(self.all_queues()), complete=True, strays=everywhere)
        queues: dict[Path, str] = {}
        payloads: dict[Path, None] = {}
        complete = False
        nothing: list[Path] = []
        strays: dict[Path, None] = {}
        for path in paths:
            problem = _unusable(path)
            if problem is not None:
                raise UsageError(f"{path}: {problem}")
            found: dict[Path, str] = {}
            found_payloads: dict[Path, None] = {}
            if path.is_dir():
                folder = Path(os.path.abspath(path))
                self._select_folder(folder, found, found_payloads)
                strays.update(dict.fromkeys(unmatched(self.root, globs, folder, self.all_queues())))
            elif path.name == CONFIG_NAME:
                found.update(self.all_queues())
                strays.update(dict.fromkeys(unmatched(self.root, globs, known=self.all_queues())))
                complete = True
            elif path.suffix in TEMPLATE_SUFFIXES or self._in_template_folder(path):
                found.update(self.queues_using({path}))
            elif path.suffix == ".json":
                if not ignore_unmatched or self._hook_payload(path):
                    found_payloads[Path(os.path.abspath(path))] = None
            elif path.suffix in YAML_SUFFIXES:
                root = matches_queue_glob(path, self.root, globs)
                if root is None and in_queue_folder(path, self.root, globs):
                    strays[Path(os.path.abspath(path))] = None
                if root is not None or not ignore_unmatched:
                    found[path.resolve()] = root or ""
            elif not ignore_unmatched:
                raise UsageError(
                    f"{path}: not a queue file, template, payload .json or {CONFIG_NAME}"
                )
            if not found and not found_payloads:
                nothing.append(path)
            queues.update(found)
            payloads.update(found_payloads)
        return Selection(
            tuple(sorted(queues.items())),
            tuple(payloads),
            complete,
            tuple(nothing),
            tuple(strays),
        )

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
        cache, others, missing = self._context(selection, options)
        jobs = [(path, True) for path in queues] + [(path, False) for path in missing]
        results = parallel_map(_lint_queue, (self, options), jobs)
        found = [unmatched_file(path, self.settings.queues) for path in selection.strays]
        labelled: list[tuple[str, dict[str, Any]]] = []
        subjects: list[Callable[[], Subject]] = []
        for path, (diagnostics, target) in zip(queues, results, strict=False):
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
        rendered = [target for _, target in results]
        others.extend(self._keep(cache, [*queues, *missing], rendered, len(queues)))
        others.sort(key=lambda pair: pair[0])  # findings name them in a stable order
        found.extend(lint_set(labelled, lambda index: subjects[index](), options, others))
        checked = [shown_path(p) for p in (*queues, *selection.payloads)]
        outcome = suppress.apply(
            found,
            [*checked, *(d.file for d in found), *self._template_files(selection.complete)],
            functools.partial(read_shown, root=self.settings.root),
            lambda file: file in checked or selection.complete,
            options.enabled,
        )
        kept = [d for d in (options.apply(d) for d in outcome.kept) if d is not None]
        return LintReport(tuple(gather(kept)), outcome.suppressed, tuple(checked))

    def _context(
        self, selection: Selection, options: LintOptions
    ) -> tuple[ContextCache | None, list[tuple[str, dict[str, Any]]], list[Path]]:
        """The queues of the repository a selection leaves out, which the rules that compare
        call targets compare the selected ones with: the cache of their call targets, those
        it holds, and the queues to render (see :mod:`calltmpl.context`). A run of the whole
        repository has no context, but keeps what it renders for the runs of some files."""
        if not set_rules_run(options):
            return None, [], []
        chosen = [path for path, _root in selection.queues]
        resolved = {path.resolve() for path in chosen}
        names = {path.name for path in resolved}  # resolve only what might be one of them
        context = [
            path
            for path, _root in ([] if selection.complete else self.all_queues())
            if path.name not in names or path.resolve() not in resolved
        ]
        cache = ContextCache(self.root, self.settings.templates)
        return (cache, *cache.split(context, chosen))

    def _keep(
        self,
        cache: ContextCache | None,
        paths: list[Path],
        targets: list[dict[str, Any] | None],
        checked: int,
    ) -> list[tuple[str, dict[str, Any]]]:
        """Keep what this run rendered; the rendered call targets of the context."""
        if cache is None:
            return []
        every = {queue_id(path, self.root) for path, _root in self.all_queues()}
        return cache.update(paths, targets, checked, every)

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
    state: tuple[Project, LintOptions], job: tuple[Path, bool]
) -> tuple[list[Diagnostic], dict[str, Any] | None]:
    """One queue's diagnostics, and its call target for the rules across targets; for a
    queue only rendered for context (``job[1]`` False), its call target alone (None when it
    fails to render, and then without a word: it is not among those checked)."""
    project, options = state
    path, checked = job
    try:
        result = project.render(path)
    except UsageError:
        if checked:
            raise
        return [], None
    if isinstance(result, Diagnostic):
        return ([result] if checked else []), None
    if not checked:
        return [], context_view(result.target)
    queue = result.queue
    read = project.renderer.variables(queue.template)
    found = list(unused_variables(queue.shown, queue.text, queue.template, queue.variables, read))
    found.extend(dropped_members(project.renderer, result))
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
