"""Factoring imported call targets: families found in the data, a template for each family,
and the few variables each queue file keeps.

Call targets are compared by their (member, value) pairs, messaging part by part; two whose
pairs overlap by at least :data:`THRESHOLD` (Jaccard) are near copies, and only call targets
of the same shape (the same members) are ever compared. A family is a call target and its
near copies (:func:`families`); it gets a template extending the built-in one
(``calltmpl/pstn.yaml.j2`` or ``calltmpl/sip.yaml.j2``) that overrides the blocks where the
family's common values differ from the built-in's, or a template of its own when the family
lacks members the built-in always writes. A call target like no other is written against the
built-in template when that reproduces it, else it gets a template for its shape.

Every choice is checked by rendering (:class:`Bench`): a queue's variables are what must be
set for the rendered call target to equal the remote exactly (:func:`fit`), and a family whose
members cannot all be reproduced gets more blocks of its own, then a template that stands
alone. What still cannot be reproduced is an error naming the call target.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from calltmpl.errors import CalltmplError
from calltmpl.factor_fit import (
    MESSAGING,
    OWN,
    ROUNDS,
    Bench,
    Fit,
    Target,
    departures,
    fit,
    same,
)
from calltmpl.factor_text import (
    PSTN,
    REQUIRED,
    SIP,
    Layout,
    Member,
    TemplateSpec,
    canonical,
    template_name,
    template_text,
    variable_names,
)

THRESHOLD = 0.8
"""The share of (member, value) pairs two call targets must have in common to be a family."""


@dataclass(frozen=True)
class Factoring:
    """The templates to write, and each call target's queue file."""

    templates: tuple[TemplateSpec, ...]
    fits: tuple[Fit, ...]


# --- families ---------------------------------------------------------------------------------


def pairs(target: Target) -> frozenset[tuple[str, str]]:
    """What a call target is compared on: (member, value) pairs, messaging part by part, its
    own members left out."""
    found: set[tuple[str, str]] = set()
    for member, value in target.configuration.items():
        if member in OWN:
            continue
        if member == MESSAGING and isinstance(value, dict):
            found.update((f"{member}.{p}", canonical(v)) for p, v in value.items())
        else:
            found.add((member, canonical(value)))
    return frozenset(found)


def shape(target: Target) -> tuple[frozenset[str], Any]:
    """The members a call target has (and its messaging parts): families share one."""
    messaging = target.configuration.get(MESSAGING)
    parts = frozenset(messaging) if isinstance(messaging, dict) else type(messaging).__name__
    return frozenset(target.configuration), parts


def similarity(left: frozenset[tuple[str, str]], right: frozenset[tuple[str, str]]) -> float:
    union = len(left | right)
    return len(left & right) / union if union else 1.0


def families(targets: Sequence[Target], threshold: float = THRESHOLD) -> list[list[Target]]:
    """Call targets grouped into families of near copies (a call target like no other is a
    family of one): the call target with the most near copies leads a family of them, then
    the next among those left, and so on."""
    features = [pairs(t) for t in targets]
    shapes = [shape(t) for t in targets]
    near = [
        {
            j
            for j in range(len(targets))
            if j != i
            and shapes[i] == shapes[j]
            and similarity(features[i], features[j]) >= threshold
        }
        for i in range(len(targets))
    ]
    left = set(range(len(targets)))
    found: list[list[Target]] = []
    while left:
        leader = max(sorted(left), key=lambda i: len(near[i] & left))
        members = sorted({leader} | (near[leader] & left))
        left -= set(members)
        found.append([targets[i] for i in members])
    return found


# --- a family's template ----------------------------------------------------------------------


def parent_of(family: Sequence[Target], layout: Layout) -> str | None:
    """The built-in a family's template extends: SIP when most call back over SIP; None
    when the family lacks members the built-in always writes."""
    if not layout.members <= set(family[0].configuration):
        return None
    sip = sum(t.configuration.get("callbackTelephonyType") == "SIP" for t in family)
    return SIP if 2 * sip > len(family) else PSTN


class _Defaults:
    """What a family's template writes as each member's default: the family's common value
    (held by at least two), else the built-in's when it is the same for all, else nothing
    (each queue sets it). A family of one extending a built-in keeps its own values in its
    queue file; one standing alone keeps them in its template. A messaging part always has a
    default (the first call target's value when there is no other)."""

    def __init__(self, family: Sequence[Target], baselines: Sequence[Mapping[str, Any]] | None):
        self.family, self.baselines = family, baselines

    def values(self, member: str, part: str | None = None) -> list[Any]:
        found = [t.configuration.get(member) for t in self.family]
        return [v.get(part) if isinstance(v, dict) else None for v in found] if part else found

    def default(self, member: str, part: str | None = None) -> Any:
        if member in OWN:
            return REQUIRED
        values = self.values(member, part)
        counts = Counter(canonical(v) for v in values)
        common, count = counts.most_common(1)[0]
        if count >= 2:
            return next(v for v in values if canonical(v) == common)
        if self.baselines is None:  # standing alone: a family of one keeps its values here
            return values[0] if part or len(values) == 1 else REQUIRED
        base = [_at(b, member, part) for b in self.baselines]
        if base and all(v is not _MISSING and canonical(v) == canonical(base[0]) for v in base):
            return base[0]
        return values[0] if part else REQUIRED  # a part is never required: messaging is whole

    def departs(self, member: str, part: str | None = None) -> bool:
        """Whether the family's common value is not what the built-in gives."""
        default = self.default(member, part)
        if default is REQUIRED or self.baselines is None:
            return False
        return any(not same(_at(b, member, part), default) for b in self.baselines)


_MISSING: Any = object()


def _at(config: Mapping[str, Any], member: str, part: str | None) -> Any:
    value = config.get(member, _MISSING)
    if part is None:
        return value
    return value.get(part, _MISSING) if isinstance(value, dict) else _MISSING


def spec(
    name: str,
    family: Sequence[Target],
    parent: str | None,
    blocks: set[str],
    defaults: _Defaults,
    layout: Layout,
    names: Mapping[str, str],
    queues: Sequence[str],
) -> TemplateSpec:
    """A family's template: the ``blocks`` it overrides (every block when it stands alone),
    each member defaulting to the family's value; members the built-in lacks in ``misc``."""
    keys = list(family[0].configuration)
    written = []
    for block, members in layout.blocks:
        present = [m for m in members if m in keys]
        if present and (parent is None or block in blocks):
            written.append((block, tuple(_members(present, family, defaults, names))))
    extra = [m for m in keys if m not in layout.members]
    return TemplateSpec(
        name,
        parent,
        tuple(written),
        tuple(_members(extra, family, defaults, names)),
        tuple(queues),
    )


def _members(
    members: Sequence[str], family: Sequence[Target], defaults: _Defaults, names: Mapping[str, str]
) -> Iterator[Member]:
    for member in members:
        parts = _parts(family, member)
        if parts:
            for part in parts:
                yield Member(part, member, defaults.default(member, part), part=True)
        else:
            yield Member(member, names[member], defaults.default(member))


def _parts(family: Sequence[Target], member: str) -> list[str]:
    """Messaging's parts when every member of the family has the same non-empty set."""
    if member != MESSAGING:
        return []
    values = [t.configuration.get(member) for t in family]
    parts = [list(v) for v in values if isinstance(v, dict) and v]
    if len(parts) != len(values):
        return []
    return parts[0] if all(set(p) == set(parts[0]) for p in parts) else []


def baseline(
    bench: Bench, target: Target, template: str, names: Mapping[str, str]
) -> dict[str, Any] | None:
    """What ``template`` renders for a call target given only what it requires."""
    config = target.configuration
    variables: dict[str, Any] = {"name": target.name}
    variables.update({m: config[m] for m in OWN if m in config})
    for _ in range(ROUNDS):
        rendered = bench.render(template, variables)
        if not isinstance(rendered, str):
            out = rendered.get("configuration")
            return out if isinstance(out, dict) else None
        member = next((m for m, v in names.items() if v == rendered), "")
        if member not in config or names[member] in variables:
            return None
        variables[names[member]] = config[member]
    return None


def family_template(
    bench: Bench,
    family: Sequence[Target],
    layout: Layout,
    names: Mapping[str, str],
    queues: Sequence[str],
) -> tuple[TemplateSpec, list[Fit]] | None:
    """A family's template (named later) and its queues' fits: blocks where the family's
    common values differ from the built-in's are overridden, then any block a call target
    still cannot be reproduced through, then, failing that, the template stands alone. None
    for a family with nothing in common but what the built-in gives."""
    parent = parent_of(family, layout)
    while True:
        found = [baseline(bench, t, parent, names) for t in family] if parent else None
        if found is not None and any(b is None for b in found):
            parent = None
            continue
        defaults = _Defaults(family, [b for b in found if b is not None] if found else None)
        blocks = _departing(family, layout, defaults)
        common = [m for m in family[0].configuration if m not in layout.members]
        shared = [m for m in common if defaults.default(m) is not REQUIRED]
        if len(family) > 1 and parent and not blocks and not shared:
            return None
        while True:
            made = spec(PLACEHOLDER, family, parent, blocks, defaults, layout, names, queues)
            trial = bench.install(template_text(made))
            members = [m for _, ms in made.blocks for m in ms] + list(made.extra)
            required = [m.variable for m in members if m.default is REQUIRED and not m.part]
            fits = [fit(bench, t, trial, names, _members_of(required, names)) for t in family]
            wrong = {m for f in fits if isinstance(f, set) for m in f}
            if not wrong:
                return made, [f for f in fits if isinstance(f, Fit)]
            more = {layout.block_of(m) for m in wrong if m in family[0].configuration}
            if parent is not None and more and not more <= blocks:
                blocks |= more
                continue
            if parent is not None:
                parent = None
                break
            failed = next(f for f in fits if isinstance(f, set))
            target = family[fits.index(failed)]
            why = ", ".join(sorted(failed)) + (f": {bench.failure}" if bench.failure else "")
            raise CalltmplError(
                f"calltmpl import cannot reproduce call target {target.name!r} (id "
                f"{target.id}) exactly ({why[:300]}); nothing was written"
            )


PLACEHOLDER = "imported/family.yaml.j2"
"""The name a family's template is tried under, before it is named."""
COMPLETED = {"dnis": "dynamicDnisMapping"}
"""Blocks whose built-in version completes a nested value: overridden for the family's
common values only when that value itself is common (a flag alone is left to the queues,
which keeps the completion, and so short entries)."""


def _departing(family: Sequence[Target], layout: Layout, defaults: _Defaults) -> set[str]:
    """The blocks holding a common value the built-in does not give."""
    found = set()
    for member in family[0].configuration:
        if member not in layout.members:
            continue
        block = layout.block_of(member)
        if block in COMPLETED and member != COMPLETED[block]:
            continue
        parts = _parts(family, member)
        if defaults.departs(member) or any(defaults.departs(member, p) for p in parts):
            found.add(block)
    return found


# --- the whole import -------------------------------------------------------------------------


def factor(
    bench: Bench,
    targets: Sequence[Target],
    layout: Layout,
    existing: Sequence[str],
    labels: Mapping[int, str],
    taken: set[str],
) -> Factoring:
    """Each call target's template and variables, and the templates to write: an existing
    imported template a call target fits (a later import), else its family's new template,
    else the built-in one (a call target like no other). ``labels``: each call target's
    queue file name; ``taken``: template names in use (names made are added)."""
    names = variable_names([m for t in targets for m in t.configuration])
    fits: list[Fit] = []
    rest: list[Target] = []
    for target in targets:
        found = _existing_fit(bench, target, existing, names)
        if found is None:
            rest.append(target)
        else:
            fits.append(found)
    templates: list[TemplateSpec] = []
    groups = families(rest)
    while groups:
        family = groups.pop(0)
        parent = parent_of(family, layout) if len(family) == 1 else None
        alone = fit(bench, family[0], parent, names) if parent is not None else None
        if isinstance(alone, Fit):
            fits.append(alone)
            continue
        queues = [labels[t.id] for t in family]
        made = family_template(bench, family, layout, names, queues)
        if made is None:  # nothing in common beyond the built-in: each is like no other
            groups[:0] = [[t] for t in family]
            continue
        name = template_name(queues, taken, made[0].parent)
        templates.append(dataclasses.replace(made[0], name=name))
        fits.extend(Fit(f.target, name, f.variables) for f in made[1])
    order = {t.id: i for i, t in enumerate(targets)}
    return Factoring(tuple(templates), tuple(sorted(fits, key=lambda f: order[f.target.id])))


def _existing_fit(
    bench: Bench, target: Target, existing: Sequence[str], names: Mapping[str, str]
) -> Fit | None:
    """The existing imported template that reproduces ``target`` with the fewest members of
    its own, if the call target is a near copy of what it gives (see :data:`THRESHOLD`)."""
    size = len(pairs(target))
    best: tuple[int, Fit] | None = None
    for template in existing:
        found = fit(bench, target, template, names)
        if not isinstance(found, Fit):
            continue
        count = departures(found)
        if (size - count) / (size + count or 1) >= THRESHOLD and (best is None or count < best[0]):
            best = (count, found)
    return best[1] if best else None


def _members_of(variables: Sequence[str], names: Mapping[str, str]) -> list[str]:
    """The members ``variables`` set."""
    wanted = set(variables)
    return [m for m, v in names.items() if v in wanted]
