"""One call target against one template: the queue variables that reproduce it exactly.

A queue's variables are found by rendering (:class:`Bench`), not by reasoning about the
template: start from the call target's name, numbers and own members (and the members the
template is known to require), render, set every member the render got wrong (a variable the
template requires is taken from the call target), and again, until the render equals the
remote call target exactly, types included. Nested values the template completes by itself
(a DNIS entry's derived members, a notification's empty fields) are then trimmed to what the
render needs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from calltmpl import codes
from calltmpl.diagnostics import Diagnostic
from calltmpl.factor_text import queue_text
from calltmpl.queues import QueueFile
from calltmpl.render import Renderer

OWN = ("timezone", "callbackAgentDestination")
"""Members always kept in the queue file, whatever the family shares."""
MESSAGING = "messaging"
TRIMMED = (MESSAGING, "dynamicDnisMapping")
"""Variables whose nested members a template may complete by itself: trimmed after a fit."""
ROUNDS = 8
"""Renders spent completing a queue's variables, beyond one per member it must set."""


class Bench(Protocol):
    """Where candidate templates are tried: ``install`` a template text (returns its name)
    and ``render`` a queue's variables through a template (the call target, or the name of
    the undefined variable that stopped it, or "" for any other failure, then described by
    ``failure``)."""

    failure: str

    def install(self, text: str) -> str: ...

    def render(self, template: str, variables: Mapping[str, Any]) -> dict[str, Any] | str: ...


@dataclass(frozen=True)
class Target:
    """A remote call target as imported: what a queue file must render to."""

    id: int
    name: str
    configuration: dict[str, Any]
    phone_numbers: dict[str, Any] | None  # None: the API answered without it

    @property
    def body(self) -> dict[str, Any]:
        found = {"name": self.name, "configuration": self.configuration}
        if self.phone_numbers is None:
            return found
        return {**found, "phoneNumbers": self.phone_numbers}


@dataclass(frozen=True)
class Fit:
    """A call target's queue file: its template and variables (in file order)."""

    target: Target
    template: str
    variables: dict[str, Any]


# --- comparing --------------------------------------------------------------------------------


def same(left: Any, right: Any) -> bool:
    """Equal as JSON values, types included (1, 1.0 and true differ; so do 0.0 and -0.0)."""
    return next(differences(left, right), None) is None


def differences(
    remote: Any, rendered: Any, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """The paths where two JSON values differ, in value or in type."""
    if isinstance(remote, dict) and isinstance(rendered, dict):
        for key in remote.keys() | rendered.keys():
            if key not in remote or key not in rendered:
                yield (*path, key)
            else:
                yield from differences(remote[key], rendered[key], (*path, key))
    elif isinstance(remote, list) and isinstance(rendered, list) and len(remote) == len(rendered):
        for index, (left, right) in enumerate(zip(remote, rendered, strict=True)):
            yield from differences(left, right, (*path, str(index)))
    elif type(remote) is not type(rendered) or remote != rendered or _signs(remote, rendered):
        yield path


def _signs(left: Any, right: Any) -> bool:
    """0.0 and -0.0 are equal numbers, but not the same JSON text."""
    return isinstance(left, float) and math.copysign(1, left) != math.copysign(1, right)


# --- fitting ----------------------------------------------------------------------------------


def fit(
    bench: Bench,
    target: Target,
    template: str,
    names: Mapping[str, str],
    required: Iterable[str] = (),
) -> Fit | set[str]:
    """The variables that make ``template`` render ``target`` exactly, or the members it
    cannot get right. ``names``: each member's variable; ``required``: members the template
    has no default for (found by rendering otherwise, one render each)."""
    config = target.configuration
    variables: dict[str, Any] = {"name": target.name}
    variables.update({names[m]: config[m] for m in (*OWN, *required) if m in config})
    if target.phone_numbers is not None:
        variables["phoneNumbers"] = target.phone_numbers
    for _ in range(len(config) + ROUNDS):
        rendered = bench.render(template, variables)
        if isinstance(rendered, str):
            member = next((m for m, v in names.items() if v == rendered), "")
            if member in config and names[member] not in variables:
                variables[names[member]] = config[member]  # a variable it requires
                continue
            # It failed on what was set, or on something it needs that this call target
            # lacks: the blocks of those members are suspect.
            suspects = {m for m, v in names.items() if v in variables and m not in OWN}
            return suspects or {rendered or "(template)"}
        wrong = {_member(p) for p in differences(target.body, rendered)}
        if not wrong:
            return Fit(
                target, template, _ordered(_trimmed(bench, target, template, variables), names)
            )
        if not _complete(variables, wrong, target, rendered, names):
            return wrong
    return {"(too many rounds)"}


def _member(path: tuple[str, ...]) -> str:
    """The configuration member a difference is in (or the top-level member)."""
    if len(path) > 1 and path[0] == "configuration":
        return path[1]
    return path[0] if path else "(all)"


def _complete(
    variables: dict[str, Any],
    wrong: set[str],
    target: Target,
    rendered: Mapping[str, Any],
    names: Mapping[str, str],
) -> bool:
    """Set the variables of the members rendered wrong; whether anything changed. Messaging
    is set part by part: only the parts rendered wrong."""
    config, changed = target.configuration, False
    out = rendered.get("configuration")
    out = out if isinstance(out, dict) else {}
    for member in sorted(wrong):
        if member not in config or member not in names:
            continue  # a member only the render has, or name/phoneNumbers: no variable helps
        value = config[member]
        if member == MESSAGING and isinstance(value, dict) and isinstance(out.get(member), dict):
            held = variables.get(names[member])
            parts = dict(held) if isinstance(held, dict) else {}
            now = out[member]
            parts.update({p: v for p, v in value.items() if p not in now or not same(now[p], v)})
            value = parts
        if names[member] not in variables or not same(variables[names[member]], value):
            variables[names[member]] = value
            changed = True
    return changed


def _trimmed(
    bench: Bench, target: Target, template: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """``variables`` without the nested members of :data:`TRIMMED` variables that the
    template completes by itself (each removal checked by a render)."""
    for variable in TRIMMED:
        value = variables.get(variable)
        for path in list(_nested_keys(value)):
            smaller = _without(variables[variable], path)
            trial = {**variables, variable: smaller}
            rendered = bench.render(template, trial)
            if not isinstance(rendered, str) and same(target.body, rendered):
                variables = trial
    return variables


def _nested_keys(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths to the members of the objects inside ``value`` (two levels deep), innermost
    first."""
    if len(path) > 3:
        return
    items: Iterable[tuple[Any, Any]]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in list(items):
        yield from _nested_keys(item, (*path, key))
        if path and isinstance(value, dict):
            yield (*path, key)


def _without(value: Any, path: tuple[Any, ...]) -> Any:
    """A copy of ``value`` without the member at ``path`` (unchanged if it is gone)."""
    head, *rest = path
    if isinstance(value, dict) and head in value:
        if not rest:
            return {k: v for k, v in value.items() if k != head}
        return {**value, head: _without(value[head], tuple(rest))}
    if isinstance(value, list) and isinstance(head, int) and head < len(value) and rest:
        return [_without(v, tuple(rest)) if i == head else v for i, v in enumerate(value)]
    return value


def _ordered(variables: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """Name, time zone, destination, numbers first; then the members in the order the
    call target has them."""
    first = ["name", "timezone", "callbackAgentDestination", "sipTerminationUri", "phoneNumbers"]
    order = first + [v for v in names.values() if v not in first]
    rank = {v: i for i, v in enumerate(order)}
    return dict(sorted(variables.items(), key=lambda item: rank.get(item[0], len(rank))))


def departures(found: Fit) -> int:
    """How many members a queue file sets beyond its name, numbers and own members."""
    count = 0
    for variable, value in found.variables.items():
        if variable in ("name", "phoneNumbers", *OWN):
            continue
        count += len(value) if variable == MESSAGING and isinstance(value, dict) else 1
    return count


# --- the bench -----------------------------------------------------------------------------


class Workbench:
    """Candidate templates tried in a temporary folder searched before the repository's."""

    def __init__(self, templates: Sequence[Path], folder: Path):
        self.folder = folder / "trials"
        self.folder.mkdir()
        self.renderer = Renderer((self.folder, *templates))
        self.count = 0
        self.failure = ""  # the last render that failed, other than for an undefined variable

    def install(self, text: str) -> str:
        self.count += 1
        name = f"_trial/{self.count}.yaml.j2"
        (self.folder / "_trial").mkdir(exist_ok=True)
        (self.folder / name).write_text(text, encoding="utf-8")
        return name

    def render(self, template: str, variables: Mapping[str, Any]) -> dict[str, Any] | str:
        text = queue_text(template, variables)
        path = self.folder / "probe.yaml"
        queue = QueueFile(
            path, "probe.yaml", "probe", template, {**variables, "queue": "probe"}, text
        )
        result = self.renderer.render(queue)
        if isinstance(result, Diagnostic):
            undefined = result.code == codes.UNDEFINED_VARIABLE.code
            if undefined and "'" in result.message:
                return result.message.split("'")[1]
            self.failure = f"{result.code} {result.message}"
            return ""
        return result.target
