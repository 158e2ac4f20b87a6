"""Every error that ends a command, each with the exit code it ends it with.

The library raises these and never exits; the CLI catches :class:`CalltmplError` in one place,
prints ``calltmpl: error: <message>`` and exits with the error's ``exit_code``. Findings in the
user's files are not errors: they are :class:`~calltmpl.diagnostics.Diagnostic` records.

Exit codes, for every command: 0 nothing at error severity; 1 an error finding; 2 usage error,
unreadable path or invalid settings; 3 the remote refused or failed; 4 (plan) changes pending;
70 a bug in calltmpl (an internal error, reported in one line).
"""

from __future__ import annotations

from dataclasses import dataclass

OK, FINDINGS, USAGE, REMOTE_FAILED, PENDING = 0, 1, 2, 3, 4
INTERNAL = 70
"""A bug in calltmpl (EX_SOFTWARE): said in one line, never a traceback."""


class CalltmplError(Exception):
    """An error that ends a command; the message is what the user reads."""

    exit_code = USAGE


class UsageError(CalltmplError):
    """A path or argument the command cannot work with."""


class UnreadableFile(UsageError):
    """A file calltmpl must read and cannot: the message names it and says why.

    ``line`` is 0 when the file cannot be read at all (missing, not allowed, not a regular
    file: exit 2); else its content is unusable (over the size cap, or not UTF-8) and
    ``line``/``column`` locate the problem, so readers report it as a finding in the file.
    """

    def __init__(self, shown: str, reason: str, line: int = 0, column: int = 0) -> None:
        where = f"{shown}:{line}:{column}: {reason}" if line else f"{shown}: cannot read: {reason}"
        super().__init__(where)
        self.shown, self.reason, self.line, self.column = shown, reason, line, column

    def __reduce__(self) -> tuple[type[UnreadableFile], tuple[str, str, int, int]]:
        return UnreadableFile, (self.shown, self.reason, self.line, self.column)  # from workers


class ConfigError(UsageError):
    """An invalid ``calltmpl.yaml``, located in the file."""

    def __init__(self, file: str, line: int, column: int, message: str) -> None:
        super().__init__(f"{file}:{line}:{column}: {message}")
        self.file, self.line, self.column, self.message = file, line, column, message


class SelectorError(UsageError, ValueError):
    """A rule selector that matches no code, with a suggestion in the message."""


class SettingsError(UsageError):
    """Missing credentials or an unsafe URL: nothing was sent."""


class LockError(UsageError):
    """An unreadable or malformed lock file."""


class ApiError(CalltmplError):
    """The API refused or failed a request; the message is already redacted."""

    exit_code = REMOTE_FAILED

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class AmbiguousWrite(ApiError):
    """A write whose outcome is unknown: it may or may not have been applied. ``in_flight``
    when it timed out: the server may still be working on it."""

    def __init__(self, message: str, status: int | None = None, in_flight: bool = False):
        super().__init__(message, status)
        self.in_flight = in_flight


@dataclass(frozen=True)
class ParseError(CalltmplError):
    """Text that is not valid YAML/JSON, with the 1-based position of the problem. Readers
    turn it into a located finding (or, for ``calltmpl.yaml``, a :class:`ConfigError`)."""

    message: str
    line: int
    column: int
    hint: str = ""  # what to do, when the cause is known (see calltmpl.yamlerrors)

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message}"
