"""The rule registry: every cross-field rule, by code and by name.

A rule is a small function over one call target (``{"name", "configuration", ...}``) that
yields :class:`~calltmpl.diagnostics.Finding` records; registering it makes it a
:class:`~calltmpl.codes.Code` (the one record of a code) with the function as its
``check``. The engine adds the code, the severity and the location; rules never read files,
settings or output formats.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from calltmpl.codes import ANSWER as ANSWER
from calltmpl.codes import SET, TARGET, Code
from calltmpl.diagnostics import Finding as Finding
from calltmpl.diagnostics import Severity
from calltmpl.parsing import pointer_join

CallTarget = Mapping[str, Any]
Check = Callable[[CallTarget], Iterator["Finding"]]
SetCheck = Callable[[Sequence[tuple[str, CallTarget]]], Iterator[tuple[int, "Finding"]]]
"""A check across call targets: gets (label, target) pairs, yields (index, finding); the
labels (files as shown) are only for naming the other target in a message."""

_CODE = re.compile(r"CT[0-9]{3}")
_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


class Registry:
    """Rules by code; refuses a code or a name used twice."""

    def __init__(self) -> None:
        self._by_code: dict[str, Code] = {}
        self._by_name: dict[str, Code] = {}

    def add(self, rule: Code) -> None:
        if not _CODE.fullmatch(rule.code):
            raise ValueError(f"rule code {rule.code!r} is not CT followed by three digits")
        if not _NAME.fullmatch(rule.name):
            raise ValueError(f"rule name {rule.name!r} is not lower-case words joined by '-'")
        if rule.code in self._by_code:
            raise ValueError(f"rule code {rule.code} is registered twice")
        if rule.name in self._by_name:
            raise ValueError(f"rule name {rule.name} is registered twice")
        if not rule.explanation:
            raise ValueError(f"rule {rule.code} has no docstring to explain it")
        self._by_code[rule.code] = rule
        self._by_name[rule.name] = rule

    def __iter__(self) -> Iterator[Code]:
        return iter(sorted(self._by_code.values(), key=lambda r: r.code))

    def __len__(self) -> int:
        return len(self._by_code)

    def get(self, code_or_name: str) -> Code | None:
        return self._by_code.get(code_or_name.upper()) or self._by_name.get(code_or_name.lower())


REGISTRY = Registry()


def rule(
    code: str, name: str, severity: str, reference: str = "", not_for: tuple[str, ...] = ()
) -> Callable[[Check], Check]:
    """Register ``check`` as rule ``code``/``name`` with a default severity.

    ``reference`` names the item of the domain reference the rule implements (e.g. "3.1"),
    or "inferred" for checks of our own; ``not_for`` the kinds of call target it does not
    apply to (``"answer"``: a GET answer, which holds the server's id).
    """

    def register(check: Check) -> Check:
        REGISTRY.add(_code(code, name, severity, reference, TARGET, check, not_for))
        return check

    return register


def set_rule(
    code: str, name: str, severity: str, reference: str = ""
) -> Callable[[SetCheck], SetCheck]:
    """Register ``check`` as a rule across the call targets linted together."""

    def register(check: SetCheck) -> SetCheck:
        REGISTRY.add(_code(code, name, severity, reference, SET, check))
        return check

    return register


def _code(
    code: str,
    name: str,
    severity: str,
    reference: str,
    scope: str,
    check: Callable[..., Any],
    not_for: tuple[str, ...] = (),
) -> Code:
    return Code(
        code,
        name,
        Severity.parse(severity),
        check.__doc__ or "",
        reference=reference,
        scope=scope,
        check=check,
        not_for=not_for,
    )


def member(mapping: Any, key: str) -> Any:
    """``mapping[key]`` when ``mapping`` is a mapping that has it, else None."""
    return mapping.get(key) if isinstance(mapping, Mapping) else None


def configuration(target: CallTarget) -> Mapping[str, Any]:
    """The target's ``configuration`` mapping, or an empty one when it is missing or no mapping."""
    cfg = target.get("configuration")
    return cfg if isinstance(cfg, Mapping) else {}


def integer(mapping: Any, key: str) -> int | None:
    """An integer member (booleans are not integers here), else None."""
    value = member(mapping, key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def boolean(mapping: Any, key: str) -> bool | None:
    value = member(mapping, key)
    return value if isinstance(value, bool) else None


def string(mapping: Any, key: str) -> str | None:
    value = member(mapping, key)
    return value if isinstance(value, str) else None


def pointer(*parts: str | int) -> str:
    """An RFC 6901 pointer from path parts, escaping ``~`` and ``/``."""
    result = ""
    for part in parts:
        result = pointer_join(result, part)
    return result
