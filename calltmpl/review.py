"""``calltmpl diff``: what a change does to the call targets, between a git revision and the
work tree.

The repository at the revision is read from git's objects into a temporary folder
(:mod:`calltmpl.revision`), so the work tree, the index and HEAD are never touched (no
checkout, no stash): safe in a pre-commit hook and on a detached HEAD in CI. Both sides are
rendered; each call target's members are compared (:func:`calltmpl.plan.diff`), and each
changed member is attributed to the line that caused it where one did (:mod:`calltmpl.explain`
traces both sides): the queue line of a queue value, else the template line that wrote it when
its text changed, else the one queue variable it read whose value changed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calltmpl import config
from calltmpl.config import CONFIG_NAME
from calltmpl.diagnostics import Diagnostic
from calltmpl.environment import BUILTIN_DIR, BUILTIN_PREFIX
from calltmpl.errors import UsageError
from calltmpl.explain import Explainer, Origin, Place, leaves, present, value_at
from calltmpl.graph import relative
from calltmpl.parallel import parallel_map
from calltmpl.paths import shown_path
from calltmpl.plan import ABSENT, Change, diff
from calltmpl.project import Project, Selection
from calltmpl.provenance import Sources
from calltmpl.render import Rendered
from calltmpl.repository import Repository
from calltmpl.revision import materialise, resolve

STATUSES = ("changed", "added", "removed")


@dataclass(frozen=True)
class Member:
    """A member that differs; ``before``/``after`` are :data:`~calltmpl.plan.ABSENT` on the
    side that does not have it. ``cause`` is the line that changed it, when one did (a line
    of the revision is named ``REV:file``)."""

    pointer: str
    before: Any = ABSENT
    after: Any = ABSENT
    cause: Place | None = None

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"pointer": self.pointer}
        if self.before is not ABSENT:
            found["before"] = self.before
        if self.after is not ABSENT:
            found["after"] = self.after
        return found


@dataclass(frozen=True)
class QueueChange:
    """One call target that differs: ``changed``, ``added`` (a new queue file) or ``removed``."""

    queue: str
    name: str
    status: str
    members: tuple[Member, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "name": self.name,
            "status": self.status,
            "members": [m.as_json() for m in self.members],
        }


@dataclass(frozen=True)
class Group:
    """One change (same pointer, before and after) shared by the queues it lists."""

    pointer: str
    before: Any
    after: Any
    queues: tuple[str, ...]
    cause: Place | None


@dataclass(frozen=True)
class Review:
    """The differences between the call targets at ``base`` and in the work tree, or the
    failures of the side(s) that could not be rendered (then there is no comparison)."""

    base: str
    changes: tuple[QueueChange, ...] = ()
    failures: tuple[Diagnostic, ...] = ()
    checked: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"base": self.base, "queues": [c.as_json() for c in self.changes]}

    def count(self, status: str) -> int:
        return sum(change.status == status for change in self.changes)

    def groups(self) -> list[Group]:
        """The members of changed call targets, one entry per change however many queues
        share it, in the order they first appear; attributed when all share one cause."""
        found: dict[tuple[str, str, str], list[tuple[str, Member]]] = {}
        for change in self.changes:
            if change.status != "changed":
                continue
            for member in change.members:
                key = (member.pointer, _key(member.before), _key(member.after))
                found.setdefault(key, []).append((change.queue, member))
        groups = []
        for shared in found.values():
            first = shared[0][1]
            causes = {member.cause for _, member in shared}
            cause = causes.pop() if len(causes) == 1 else None
            queues = tuple(queue for queue, _ in shared)
            groups.append(Group(first.pointer, first.before, first.after, queues, cause))
        return groups


def _key(value: Any) -> str:
    return "\0absent" if value is ABSENT else json.dumps(value, sort_keys=True, default=str)


# --- the two sides ----------------------------------------------------------------------------


@dataclass
class _Side:
    """One side of the comparison: a repository, its root, and how its files are named."""

    repo: Repository
    label: str  # "" for the work tree, "REV:" for the revision
    rendered: dict[str, Rendered | Diagnostic] = dataclasses.field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.repo.root

    def select(self, relatives: Sequence[Path] | None) -> Selection:
        """The queues of the paths (relative to the root) that this side has; None: all."""
        if relatives is None:  # a side may select nothing (no queue yet, all deleted)
            return self.repo.project.select([])
        present = [self.root / r for r in relatives if os.path.lexists(self.root / r)]
        return self.repo.project.select(present) if present else Selection(())

    def render(self, selection: Selection) -> None:
        paths = [path for path, _ in selection.queues]
        results = parallel_map(_render, self.repo.project, paths)
        for path, result in zip(paths, results, strict=True):
            self.rendered[relative(Path(os.path.abspath(path)), self.root)] = result

    def name(self, file: str) -> str:
        """A file as output names it: relative to the root, ``REV:file`` for the revision."""
        return f"{self.label}{file}" if self.label and not file.startswith(BUILTIN_PREFIX) else file

    def line(self, sources: Sources, place: Place) -> str:
        path = self.root / place.file
        if place.file.startswith(BUILTIN_PREFIX) and not path.is_file():
            path = BUILTIN_DIR / place.file[len(BUILTIN_PREFIX) :]
        return sources.line(str(path), place.line)


def _render(project: Project, path: Path) -> Rendered | Diagnostic:
    return project.render(path)


def review(repo: Repository, base: str, paths: Sequence[Path]) -> Review:
    """Compare the call targets of the selected queues (all when ``paths`` is empty) at git
    revision ``base`` with the work tree's; raise UsageError when ``base`` is no commit or
    the repository is not in git."""
    root = repo.root
    commit, prefix = resolve(root, base)
    relatives = _relatives(root, paths) if paths else None
    with tempfile.TemporaryDirectory(prefix="calltmpl-diff-") as folder:
        base_root = Path(folder).resolve() / prefix
        materialise(root, commit, base_root)
        if relatives is not None:
            _check_paths(paths, relatives, root, base_root, base)
        before = _Side(Repository(_settings_at(repo, base_root, base)), f"{base}:")
        after = _Side(repo, "")
        before.render(before.select(relatives))
        after.render(after.select(relatives))
        failures = [d for d in after.rendered.values() if isinstance(d, Diagnostic)]
        failures += [
            _at_base(d, base_root, base)
            for d in before.rendered.values()
            if isinstance(d, Diagnostic)
        ]
        checked = tuple(sorted(set(before.rendered) | set(after.rendered)))
        if failures:
            return Review(base, failures=tuple(failures), checked=checked)
        changes = tuple(_compare(before, after))
    return Review(base, changes, checked=checked)


def _compare(before: _Side, after: _Side) -> Iterator[QueueChange]:
    """Each call target that differs; the changed ones attributed in parallel when many."""
    pending: list[tuple[str, Rendered, Rendered, list[Change]]] = []
    found: dict[str, QueueChange] = {}
    for queue in sorted(set(before.rendered) | set(after.rendered)):
        old, new = before.rendered.get(queue), after.rendered.get(queue)
        if isinstance(old, Rendered) and isinstance(new, Rendered):
            differences = list(diff(old.target, new.target))
            if differences:
                pending.append((queue, old, new, differences))
        elif isinstance(new, Rendered):
            added = tuple(Member(p, after=value_at(new.target, p)) for p in leaves(new.target))
            found[queue] = QueueChange(queue, _name(new), "added", added)
        elif isinstance(old, Rendered):
            removed = tuple(Member(p, before=value_at(old.target, p)) for p in leaves(old.target))
            found[queue] = QueueChange(queue, _name(old), "removed", removed)
    work = [(old, new, [c.pointer for c in changes]) for _, old, new, changes in pending]
    causes = parallel_map(_attribute, _Attribution(before, after), work)
    for (queue, _, new, changes), placed in zip(pending, causes, strict=True):
        members = tuple(
            Member(c.pointer, c.remote, c.new, cause)
            for c, cause in zip(changes, placed, strict=True)
        )
        found[queue] = QueueChange(queue, _name(new), "changed", members)
    for queue in sorted(found):
        yield found[queue]


def _name(rendered: Rendered) -> str:
    return str(rendered.target.get("name", ""))


def _attribute(
    attribution: _Attribution, item: tuple[Rendered, Rendered, list[str]]
) -> list[Place | None]:
    return attribution(*item)


class _Attribution:
    """Finds the line that caused each changed member of a call target present on both sides
    (only places cross between processes: :data:`~calltmpl.plan.ABSENT` is one object)."""

    def __init__(self, before: _Side, after: _Side):
        self.before, self.after = before, after
        self.explainers = (Explainer(before.repo.project), Explainer(after.repo.project))
        self.sources = (Sources(), Sources())

    def __call__(self, old: Rendered, new: Rendered, pointers: Sequence[str]) -> list[Place | None]:
        trace_old = self.explainers[0].tracing(old)
        trace_new = self.explainers[1].tracing(new)
        causes: list[Place | None] = []
        for pointer in pointers:
            now = trace_new(pointer) if present(new.target, pointer) else None
            if now is not None and now.kind == "queue":  # the queue line: no need to look back
                causes.append(now.place)
                continue
            was = trace_old(pointer) if present(old.target, pointer) else None
            causes.append(self.cause(was, now, old, new))
        return causes

    def cause(
        self, was: Origin | None, now: Origin | None, old: Rendered, new: Rendered
    ) -> Place | None:
        """The revision's line of a member or queue value that is gone; the template line
        whose text changed; else the one queue variable read whose value changed."""
        if was is not None and (now is None or was.kind == "queue"):
            return Place(self.before.name(was.file), was.line)
        if now is None:
            return None
        if was is None or self.before.line(self.sources[0], was.place) != self.after.line(
            self.sources[1], now.place
        ):
            return now.place
        moved = [
            v
            for v in now.variables
            if _key(old.queue.variables.get(v.name, ABSENT))
            != _key(new.queue.variables.get(v.name, ABSENT))
        ]
        return Place(moved[0].file, moved[0].line) if len(moved) == 1 else None


def _relatives(root: Path, paths: Sequence[Path]) -> list[Path]:
    found = []
    for path in paths:
        absolute = Path(os.path.abspath(path))
        if not absolute.is_relative_to(root):
            raise UsageError(f"{path}: not inside the repository ({shown_path(root)})")
        found.append(absolute.relative_to(root))
    return found


def _check_paths(
    paths: Sequence[Path], relatives: Sequence[Path], root: Path, base_root: Path, base: str
) -> None:
    for path, rel in zip(paths, relatives, strict=True):
        if not os.path.lexists(root / rel) and not os.path.lexists(base_root / rel):
            raise UsageError(f"{path}: no such file or folder, in the work tree or at {base}")


def _settings_at(repo: Repository, base_root: Path, base: str) -> config.Settings:
    """The settings of the revision: its ``calltmpl.yaml`` where the work tree's is, else the
    defaults."""
    name = CONFIG_NAME
    if repo.settings.config_file is not None:
        name = relative(repo.settings.config_file, repo.root)
    path = base_root / name
    if path.is_file():
        return config.read_config(path, f"{base}:{name}")
    return config.defaults(base_root)


def _at_base(diagnostic: Diagnostic, base_root: Path, base: str) -> Diagnostic:
    """A diagnostic of the revision, its files named ``REV:file`` (git's own notation)."""

    def name(file: str) -> str:
        absolute = Path(os.path.abspath(file))
        if file and absolute.is_relative_to(base_root):
            return f"{base}:{absolute.relative_to(base_root).as_posix()}"
        return file

    def scrub(text: str) -> str:
        for folder in (str(base_root), shown_path(base_root)):
            text = text.replace(folder + os.sep, f"{base}:").replace(folder, f"{base}:.")
        return text

    return dataclasses.replace(
        diagnostic,
        file=name(diagnostic.file),
        queue=name(diagnostic.queue) if diagnostic.queue else "",
        message=scrub(diagnostic.message),
        hint=scrub(diagnostic.hint),
    )
