"""The library's front door: a repository opened for a command, and every command's call.

Each call returns values and never prints or exits; errors are raised as
:class:`~calltmpl.errors.CalltmplError` subclasses carrying their exit code. The CLI, and the
commands to come, are thin layers over :class:`Repository`::

    repo = Repository.open(None, [Path("queues/billing.yaml")])
    report = repo.lint([Path("queues/billing.yaml")], repo.options())
    prepared = repo.prepare([])                 # lint, then the bodies a push would send
    with repo.client(log=None) as client:
        lock, plan = repo.plan(prepared.desired, client)
        results = repo.apply(plan, client, lock)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from calltmpl import config, policy
from calltmpl.config import CONFIG_NAME, Settings
from calltmpl.diagnostics import Diagnostic, Severity
from calltmpl.errors import ApiError, UsageError
from calltmpl.outputs import Outputs
from calltmpl.paths import shown_path
from calltmpl.policy import LintOptions
from calltmpl.project import LintReport, Project, Selection
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
    if config_file is None:
        named = [p for p in paths if p.name == CONFIG_NAME and p.is_file()]
        config_file = named[0] if named else config.find_config(Path.cwd())
    if config_file is None and paths:
        first = paths[0] if paths[0].is_dir() else paths[0].parent
        config_file = config.find_config(first)
    if config_file is None:
        return config.defaults(Path.cwd())
    if not config_file.is_file():
        raise UsageError(f"{config_file}: no such configuration file")
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
        return self.project.select(list(paths), ignore_unmatched=ignore_unmatched)

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
        selection = self.select(paths)
        report = self.project.lint(selection, options)
        errors = tuple(d for d in report.diagnostics if d.severity >= Severity.ERROR)
        if errors:
            return Prepared(report.checked, lint_errors=errors)
        built = self.project.desired(selection)
        failures = tuple(d for d in built if isinstance(d, Diagnostic))
        desired = tuple(d for d in built if not isinstance(d, Diagnostic))
        return Prepared(report.checked, desired, failures=failures)

    def client(
        self, log: Callable[[str], None] | None, environ: Mapping[str, str] | None = None
    ) -> Client:
        """A client of the Mindful API, from ``api:`` and the ``MINDFUL_*`` variables."""
        from calltmpl.api import Client, resolve_settings

        source = os.environ if environ is None else environ
        return Client(resolve_settings(self.settings.api, source), log=log)

    def lock(self) -> Lock:
        from calltmpl.lockfile import LOCK_NAME, Lock

        return Lock.load(self.root / LOCK_NAME)

    def plan(self, desired: Sequence[Desired], client: Client) -> tuple[Lock, Plan]:
        """The lock and the plan: what a push of ``desired`` would change."""
        from calltmpl.plan import make_plan

        lock = self.lock()
        try:
            return lock, make_plan(list(desired), lock, client)
        except ApiError as exc:
            raise ApiError(f"reading the remote call targets: {exc}", exc.status) from None

    def backups(self) -> Path:
        """The backups folder, created now: a push that could not back up must not start."""
        folder = self.root / BACKUPS
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
        progress: Callable[[int, Result], None] | None = None,
    ) -> list[Result]:
        """Apply the plan (recording each push in the lock), then verify what was sent."""
        from calltmpl.push import apply

        if progress is None:
            return apply(plan, client, lock, backups, force=force)
        return apply(plan, client, lock, backups, force=force, progress=progress)
