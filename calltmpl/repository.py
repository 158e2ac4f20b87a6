"""The library's front door: a repository opened for a command, and every command's call.

Each call returns values and never prints or exits; errors are raised as
:class:`~calltmpl.errors.CalltmplError` subclasses carrying their exit code. The CLI, and the
commands to come, are thin layers over :class:`Repository`::

    repo = Repository.open(None, [Path("queues/billing.yaml")])
    report = repo.lint([Path("queues/billing.yaml")], repo.options())
    prepared = repo.prepare([])                 # lint, then the bodies a push would send
    with repo.locked(), repo.client(log=None) as client:   # one push at a time
        lock, plan = repo.plan(prepared.desired, client)
        results = repo.apply(plan, client, lock, repo.backups())
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from calltmpl import config, policy
from calltmpl.config import CONFIG_NAME, Settings
from calltmpl.diagnostics import Diagnostic, Severity
from calltmpl.errors import ApiError, LockError, UsageError
from calltmpl.outputs import Outputs
from calltmpl.paths import escapes, shown_path
from calltmpl.policy import LintOptions
from calltmpl.project import YAML_SUFFIXES, LintReport, Project, Selection
from calltmpl.queues import queue_id
from calltmpl.render import Rendered

if TYPE_CHECKING:  # the API modules load httpx, which lint and render have no use for
    from calltmpl.api import Client
    from calltmpl.lockfile import Lock
    from calltmpl.plan import Desired, Plan
    from calltmpl.push import Result

BACKUPS = Path(".calltmpl") / "backups"


def find_settings(config_file: Path | None, paths: Sequence[Path]) -> Settings:
    """``config_file``, else a calltmpl.yaml given as a path, else the nearest one above the
    current folder, else the nearest one above the first path, else the defaults."""
    try:
        if config_file is None:
            named = [p for p in paths if p.name == CONFIG_NAME and p.is_file()]
            config_file = named[0] if named else config.find_config(Path.cwd())
        if config_file is None and paths:
            first = paths[0] if paths[0].is_dir() else paths[0].parent
            config_file = config.find_config(first)
        if config_file is None:
            return config.defaults(Path.cwd())
        if not config_file.is_file():
            what = "not a regular file" if config_file.exists() else "no such configuration file"
            raise UsageError(f"{shown_path(config_file)}: {what}")
    except OSError as exc:  # a name too long, a link loop: is_file() and friends raise
        where = exc.filename if exc.filename is not None else config_file
        raise UsageError(f"{where}: cannot be used: {exc.strerror or exc}") from None
    settings = config.read_config(config_file, shown_path(config_file))
    policy.check(settings.lint)
    return settings


@dataclass(frozen=True)
class Prepared:
    """What a push would start from: the call targets to send, or why nothing may be sent
    (``lint_errors``: error findings; ``failures``: targets that could not be built)."""

    checked: tuple[str, ...]
    desired: tuple[Desired, ...] = ()
    lint_errors: tuple[Diagnostic, ...] = ()
    failures: tuple[Diagnostic, ...] = ()
    scope: tuple[str, ...] | None = None
    """Where a plan looks for orphans (lock entries whose file is gone): None, the whole
    repository; else below these folders (lock-key prefixes, "" the root), the folders
    among the paths (a file given by its path has no orphans)."""


class Repository:
    """A repository opened for one command: its settings and the engine over it."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.project = Project(settings)

    @classmethod
    def open(cls, config_file: Path | None, paths: Sequence[Path]) -> Repository:
        """The repository of ``--config`` or of the paths (see :func:`find_settings`)."""
        return cls(find_settings(config_file, paths))

    @property
    def root(self) -> Path:
        return self.settings.root

    # --- check ---------------------------------------------------------------------------

    def options(
        self, select: tuple[str, ...] = (), ignore: tuple[str, ...] = (), strict: bool = False
    ) -> LintOptions:
        """The lint policy: ``calltmpl.yaml``'s, with the command line's selectors over it
        (``select`` replaces the selection, ``ignore`` adds to it, ``strict`` makes warnings
        fail)."""
        lint = self.settings.lint
        layered = dataclasses.replace(
            lint,
            select=select or lint.select,
            ignore=lint.ignore + ignore,
            strict=strict or lint.strict,
        )
        return policy.resolve(layered, self.root)

    def select(self, paths: Sequence[Path], *, ignore_unmatched: bool = False) -> Selection:
        """What ``paths`` select (every queue when none). A selection that checks nothing, or
        a path that selects nothing, is a usage error naming what was looked for, except
        under ``ignore_unmatched`` (a hook passes whatever a commit touched)."""
        selection = self.project.select(list(paths), ignore_unmatched=ignore_unmatched)
        if not ignore_unmatched:
            self._require(selection, paths)
        return selection

    def _require(self, selection: Selection, paths: Sequence[Path]) -> None:
        """Raise UsageError when the selection, or one of ``paths``, selects nothing."""
        if not paths and selection.empty:
            raise UsageError(f"nothing to check: {self._no_queues(selection)}")
        if selection.unmatched:
            reasons = "; ".join(self._selects_nothing(path) for path in selection.unmatched)
            raise UsageError(f"nothing to check in {reasons}")

    def _no_queues(self, selection: Selection) -> str:
        """Why a repository has no queue: which globs matched nothing, and where from."""
        globs = " or ".join(self.settings.queues)
        if self.settings.config_file is None:
            where = f"the default globs; no {CONFIG_NAME} in this folder or above"
        else:
            where = f"the queues globs of {shown_path(self.settings.config_file)}"
        found = f"no queue file matches {globs} ({where})"
        if selection.strays:
            shown = ", ".join(shown_path(p) for p in selection.strays[:3])
            more = ", ..." if len(selection.strays) > 3 else ""
            found += f"; YAML files no glob matches: {shown}{more}"
        return found

    def _selects_nothing(self, path: Path) -> str:
        """Why one path given selects nothing."""
        if path.name == CONFIG_NAME:
            return f"{shown_path(path)}: {self._no_queues(Selection())}"
        if path.is_dir():
            globs = " or ".join(self.settings.queues)
            return (
                f"{shown_path(path)}: it holds no queue file (matching {globs}), template "
                "used by a queue or payload .json"
            )
        return f"{shown_path(path)}: no queue file renders through this template"

    def lint(
        self, paths: Sequence[Path], options: LintOptions, *, ignore_unmatched: bool = False
    ) -> LintReport:
        """Lint what ``paths`` select (every queue when none)."""
        return self.project.lint(self.select(paths, ignore_unmatched=ignore_unmatched), options)

    # --- render --------------------------------------------------------------------------

    def render_one(self, paths: Sequence[Path]) -> Rendered | Diagnostic:
        """The call target of the one queue file in ``paths``."""
        if len(paths) != 1 or paths[0].is_dir():
            raise UsageError("give one QUEUE_FILE to print, or --out DIR to write many")
        return self.project.render(paths[0])

    def outputs(self, paths: Sequence[Path], folder: Path | None) -> Outputs | list[Diagnostic]:
        """The payload files the selected queues should have under ``folder`` (the configured
        output folder when None), or the diagnostics of the queues that fail to render."""
        selection = self.select(paths)
        return self.project.outputs(selection, folder if folder is not None else self.output)

    @property
    def output(self) -> Path:
        return self.settings.output

    # --- remote --------------------------------------------------------------------------

    def prepare(self, paths: Sequence[Path]) -> Prepared:
        """Lint the selection (an error finding stops everything), then build the bodies."""
        options = policy.resolve(self.settings.lint, self.root)
        selection = self.project.select(list(paths))
        scope = None if selection.complete else self._folders(paths)
        if not (selection.empty and self._lock_knows(scope)):
            self._require(selection, paths)  # else its plan shows the lock's orphans
        report = self.project.lint(selection, options)
        errors = tuple(d for d in report.diagnostics if d.severity >= Severity.ERROR)
        if errors:
            return Prepared(report.checked, lint_errors=errors)
        built = self.project.desired(selection)
        failures = tuple(d for d in built if isinstance(d, Diagnostic))
        desired = tuple(d for d in built if not isinstance(d, Diagnostic))
        return Prepared(report.checked, desired, failures=failures, scope=scope)

    def _lock_knows(self, scope: tuple[str, ...] | None) -> bool:
        """Whether ``calltmpl.lock`` holds an entry below ``scope`` (see
        :attr:`Prepared.scope`) whose file is gone: a plan has an orphan to show. (Entries
        whose files are there but unselected, as under a mistyped glob, do not count.)"""
        from calltmpl.lockfile import LOCK_NAME

        if not os.path.lexists(self.root / LOCK_NAME):
            return False
        entries = self.lock().entries
        return any(_below(key, scope) and not self._has_file(key) for key in entries)

    def _folders(self, paths: Sequence[Path]) -> tuple[str, ...]:
        """The folders among ``paths`` inside the repository, as lock-key prefixes."""
        found = []
        for path in paths:
            if path.is_dir():
                try:
                    relative = Path(os.path.abspath(path)).relative_to(self.root)
                except ValueError:
                    continue
                found.append("" if relative == Path() else relative.as_posix())
        return tuple(found)

    def client(
        self, log: Callable[[str], None] | None, environ: Mapping[str, str] | None = None
    ) -> Client:
        """A client of the Mindful API, from ``api:`` and the ``MINDFUL_*`` variables."""
        from calltmpl.api import Client, resolve_settings

        source = os.environ if environ is None else environ
        return Client(resolve_settings(self.settings.api, source), log=log)

    def lock(self) -> Lock:
        from calltmpl.lockfile import LOCK_NAME, Lock

        path = self.root / LOCK_NAME
        if escapes(path, self.root):
            raise LockError(f"{shown_path(path)} links outside the repository; not reading it")
        return Lock.load(path)

    @contextmanager
    def locked(
        self, *, shared: bool = False, environ: Mapping[str, str] | None = None
    ) -> Iterator[bool]:
        """Hold the repository's push lock (``.calltmpl/push.lock``) while the block runs:
        exclusively for a push or an import, for their whole run (read the lock file, plan,
        apply); shared for a plan, and only when the lock exists (a plan writes nothing).
        Another holder is waited for ``CALLTMPL_LOCK_WAIT`` seconds (30 by default)."""
        from calltmpl.lockfile import repository_lock

        with repository_lock(self.root, shared=shared, wait=lock_wait(environ)) as held:
            yield held

    def plan(
        self,
        desired: Sequence[Desired],
        client: Client,
        *,
        scope: tuple[str, ...] | None = None,
    ) -> tuple[Lock, Plan]:
        """The lock and the plan: what a push of ``desired`` would change, with the lock
        entries whose file is gone: taken over by a renamed queue (``moved``), or orphans
        when below ``scope`` (see :attr:`Prepared.scope`; None, the whole repository)."""
        from calltmpl.plan import make_plan

        lock = self.lock()
        keys = {wanted.key for wanted in desired}
        gone = {
            key: shown_path(self.root / key)
            for key in sorted(lock.entries)
            if key not in keys and not self._has_file(key)
        }
        orphans = [key for key in gone if _below(key, scope)]
        if scope is not None and orphans:
            orphans = self._not_taken_elsewhere(orphans, lock, keys)
        try:
            return lock, make_plan(list(desired), lock, client, gone=gone, orphans=orphans)
        except ApiError as exc:
            raise ApiError(f"reading the remote call targets: {exc}", exc.status) from None

    def _has_file(self, key: str) -> bool:
        """Whether a lock key's file is there: a payload file by its path, a queue file by
        its path without extension (anything at the path counts, a folder does not)."""
        base = str(self.root / key)
        candidates = [Path(base), *(Path(base + suffix) for suffix in YAML_SUFFIXES)]
        return any(os.path.lexists(path) and not path.is_dir() for path in candidates)

    def _not_taken_elsewhere(self, orphans: list[str], lock: Lock, selected: set[str]) -> list[str]:
        """The orphans of a plan of some paths whose name no unselected queue of the
        repository has: such a queue is its successor (a whole plan shows it moved), and
        its call target must not be parked."""
        rest = tuple(
            (path, root)
            for path, root in self.project.all_queues()
            if queue_id(path, self.root) not in selected
        )
        names = {
            d.name for d in self.project.desired(Selection(rest)) if not isinstance(d, Diagnostic)
        }
        return [key for key in orphans if lock.entries[key].name not in names]

    def backups(self) -> Path:
        """The backups folder, created now: a push that could not back up must not start,
        and one that would write through a link out of the repository is refused."""
        from calltmpl.lockfile import state_folder

        state_folder(self.root, create=True)
        folder = self.root / BACKUPS
        try:
            outside = escapes(folder, self.root)
        except (OSError, RuntimeError):  # a loop of links
            outside = True
        if outside:
            raise UsageError(
                f"{shown_path(folder)} links outside the repository; not writing backups "
                "through it: remove the link"
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / ".writable"
            probe.write_text("", encoding="utf-8")
            probe.unlink()
        except OSError as exc:
            raise UsageError(f"cannot write backups to {folder}: {exc.strerror or exc}") from None
        return folder

    def apply(
        self,
        plan: Plan,
        client: Client,
        lock: Lock,
        backups: Path,
        *,
        force: bool = False,
        prune: bool = False,
        progress: Callable[[int, Result], None] | None = None,
    ) -> list[Result]:
        """Apply the plan (recording each push in the lock), then verify what was sent.
        Orphans are parked only when ``prune``."""
        from calltmpl.push import apply

        if progress is None:
            return apply(plan, client, lock, backups, force=force, prune=prune)
        return apply(plan, client, lock, backups, force=force, prune=prune, progress=progress)


def _below(key: str, scope: tuple[str, ...] | None) -> bool:
    """Whether a lock key lies below one of the folders of ``scope`` (None: everywhere)."""
    if scope is None:
        return True
    return any(folder == "" or key.startswith(folder + "/") for folder in scope)


def lock_wait(environ: Mapping[str, str] | None = None) -> float:
    """Seconds to wait for another command's push lock: ``CALLTMPL_LOCK_WAIT``, else 30."""
    from calltmpl.lockfile import LOCK_WAIT, LOCK_WAIT_VARIABLE

    value = (os.environ if environ is None else environ).get(LOCK_WAIT_VARIABLE, "").strip()
    if not value:
        return LOCK_WAIT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not (math.isfinite(seconds) and 0 <= seconds <= 86400):
        raise UsageError(
            f"{LOCK_WAIT_VARIABLE}={value[:40]!r} is not a number of seconds (0-86400)"
        )
    return seconds
