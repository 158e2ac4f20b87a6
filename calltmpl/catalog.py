"""Every code calltmpl reports, pipeline checks and rules alike: the one lookup of codes.

Selectors (in ``select``, ``ignore``, ``severity``, ``per-file-ignores``, the command line
and suppression comments) are a code (``CT301``), a code prefix (``CT3``, ``CT30``), a rule
name (``callback-number-length-order``) or ``ALL``.
"""

from __future__ import annotations

import difflib
from functools import cache

from calltmpl import codes
from calltmpl.codes import Code
from calltmpl.rules import REGISTRY


@cache
def entries() -> tuple[Code, ...]:
    """Every code, pipeline checks and rules alike, in code order."""
    return tuple(sorted((*codes.ALL, *REGISTRY), key=lambda c: c.code))


@cache
def rules(scope: str) -> tuple[Code, ...]:
    """The rules of a scope (:data:`~calltmpl.codes.TARGET` or :data:`~calltmpl.codes.SET`)."""
    return tuple(c for c in entries() if c.scope == scope)


def code(code: str) -> Code:
    """The record of a code calltmpl reports (KeyError for one it does not)."""
    found = find(code)
    if found is None:
        raise KeyError(code)
    return found


def find(code_or_name: str) -> Code | None:
    wanted = code_or_name.strip()
    for entry in entries():
        if wanted.upper() == entry.code or wanted.lower() == entry.name:
            return entry
    return None


def expand(selector: str) -> frozenset[str]:
    """The codes a selector stands for; empty when it matches nothing."""
    text = selector.strip()
    if text.upper() == "ALL":
        return frozenset(e.code for e in entries())
    entry = find(text)
    if entry is not None:
        return frozenset({entry.code})
    if text[:2].upper() == "CT" and text[2:].isdigit():
        return frozenset(e.code for e in entries() if e.code.startswith(text.upper()))
    return frozenset()


_LOOK_ALIKE = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "i": "1"})


def suggest(selector: str, count: int = 3) -> list[str]:
    """Codes and names that look like a selector which matched nothing; a code typed with
    a letter for a digit (``CT3O1``) comes first."""
    text = selector.strip()
    found: list[str] = []
    if text[:2].upper() == "CT":
        fixed = "CT" + text[2:].translate(_LOOK_ALIKE)
        found += [e.code for e in entries() if e.code == fixed.upper()]
    candidates = [e.code for e in entries()] + [e.name for e in entries()]
    for guess in (text, text.upper()):
        found += difflib.get_close_matches(guess, candidates, n=count, cutoff=0.6)
    return list(dict.fromkeys(found))[:count]


def unknown_message(selector: str) -> str:
    close = suggest(selector)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return f"unknown rule code or name {selector!r}{hint}"
