"""The records of what checks find: a :class:`Finding` in a call target, a located
:class:`Diagnostic` in a file, and the severities they carry."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple


class Severity(enum.IntEnum):
    """How bad a finding is; the order lets reporters sort the worst first."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(
                f"unknown severity {text!r}: expected error, warning or info"
            ) from None


@dataclass(frozen=True)
class Finding:
    """What a check reports inside one call target: where (an RFC 6901 pointer relative to
    the call target) and what is wrong there. Rules leave ``code`` empty (the engine knows
    whose finding it is); the schema check names the code it found (CT201 or CT202)."""

    pointer: str
    message: str
    hint: str = ""
    code: str = ""


@dataclass(frozen=True)
class Diagnostic:
    """A located finding.

    ``line`` and ``column`` are 1-based; ``pointer`` is an RFC 6901 JSON pointer into the call
    target ("" when the finding is about a whole file). ``queue`` names the queue file(s) being
    rendered when the location is in a template, which many queues share.
    """

    code: str
    message: str
    severity: Severity
    file: str
    line: int = 0
    column: int = 0
    pointer: str = ""
    hint: str = ""
    queue: str = ""

    @property
    def text(self) -> str:
        """The message as printed: with the queue it was rendered for, when in a template."""
        return f"{self.message} (rendering {self.queue})" if self.queue else self.message

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.column, self.code, self.pointer)


class Location(NamedTuple):
    """Where a finding is shown: 1-based line and column of a file; ``queue`` names the queue
    rendered when the place is in a template; ``note`` is said after the message (e.g. where
    a default came from); ``hint``, when the place itself shows what to do, replaces the
    finding's hint (e.g. an unquoted +number that YAML read as a number)."""

    file: str
    line: int
    column: int
    queue: str = ""
    note: str = ""
    hint: str = ""
