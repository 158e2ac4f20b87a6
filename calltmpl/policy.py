"""What to check and how seriously: the ``lint:`` settings resolved into codes once.

Layers, each over the one before: every code at its default severity; the repository's
``calltmpl.yaml`` ``lint:`` section; the command line (``--select`` replaces the selection,
``--ignore`` adds to the ignored, ``--strict`` makes warnings fail).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from calltmpl import catalog
from calltmpl.codes import UNKNOWN_MEMBER
from calltmpl.config import LintSettings
from calltmpl.diagnostics import Diagnostic, Severity
from calltmpl.errors import ConfigError, SelectorError
from calltmpl.paths import glob_match


@dataclass(frozen=True)
class LintOptions:
    """The resolved policy: which codes are reported, at which severity, where."""

    enabled: frozenset[str] = field(default_factory=lambda: catalog.expand("ALL"))
    severities: Mapping[str, Severity] = field(default_factory=dict)
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    root: Path | None = None
    strict: bool = False

    def runs(self, code: str) -> bool:
        return code in self.enabled

    def apply(self, diagnostic: Diagnostic) -> Diagnostic | None:
        """The diagnostic at its configured severity, or None when it is not reported."""
        code = diagnostic.code
        if code not in self.enabled or code in self._ignored_in(diagnostic.file):
            return None
        if diagnostic.queue and code in self._ignored_in(diagnostic.queue):
            return None  # a template's finding, ignored for the queue it was rendered for
        severity = self.severities.get(code)
        if severity is None or severity == diagnostic.severity:
            return diagnostic
        return dataclasses.replace(diagnostic, severity=severity)

    def fails(self, diagnostic: Diagnostic) -> bool:
        """Whether the diagnostic makes the command exit 1."""
        floor = Severity.WARNING if self.strict else Severity.ERROR
        return diagnostic.severity >= floor

    def _ignored_in(self, file: str) -> frozenset[str]:
        if not self.per_file_ignores:
            return frozenset()
        parts = _relative_parts(file, self.root)
        ignored: set[str] = set()
        for pattern, codes in self.per_file_ignores:
            if glob_match(PurePosixPath(pattern).parts, parts):
                ignored |= codes
        return frozenset(ignored)


def _relative_parts(file: str, root: Path | None) -> tuple[str, ...]:
    path = Path(file)
    if root is not None:
        try:
            return Path(os.path.abspath(path)).relative_to(root).parts
        except ValueError:
            pass
    return PurePosixPath(path.as_posix()).parts


def codes_of(selectors: tuple[str, ...]) -> frozenset[str]:
    found: set[str] = set()
    for selector in selectors:
        codes = catalog.expand(selector)
        if not codes:
            raise SelectorError(catalog.unknown_message(selector))
        found |= codes
    return frozenset(found)


def resolve(settings: LintSettings, root: Path | None = None) -> LintOptions:
    """Expand the selectors; raise :class:`SelectorError` for one that matches nothing."""
    fatal = frozenset(e.code for e in catalog.entries() if e.fatal)
    enabled = (codes_of(settings.select) - codes_of(settings.ignore)) | fatal
    severities = {UNKNOWN_MEMBER.code: settings.unknown_members}
    for selector, severity in settings.severity:
        for code in codes_of((selector,)):
            if code in fatal and severity != Severity.ERROR:
                raise SelectorError(f"{code} stops a call target from being built; it stays error")
            severities[code] = severity
    per_file = tuple((pattern, codes_of(codes)) for pattern, codes in settings.per_file_ignores)
    return LintOptions(enabled, severities, per_file, root, settings.strict)


def check(settings: LintSettings) -> None:
    """Check the selectors of ``calltmpl.yaml``'s ``lint:`` section against the codes; raise
    :class:`~calltmpl.errors.ConfigError` at the first that matches nothing, or at a fatal
    code given a lower severity."""
    for pointer, selector in settings.selectors():
        if not catalog.expand(selector):
            line, column = settings.places.get(pointer, (1, 1))
            raise ConfigError(settings.file, line, column, catalog.unknown_message(selector))
    try:
        resolve(settings)
    except SelectorError as exc:
        line, column = settings.places.get("/lint/severity", (1, 1))
        raise ConfigError(settings.file, line, column, str(exc)) from None
