"""GitHub-safe Markdown for pull-request comments: ``diff --format markdown`` and
``plan --format markdown``.

Everything from the repository (values, paths, names, messages) is inert: inside ``<code>``
with every ASCII punctuation character as a character reference (:func:`code`), so no raw
HTML, no Markdown, no @mention and no ``#123`` reference can come from a value, and nothing in
one can close the collapsible sections. A comment is capped below GitHub's 65,536 characters,
with a note saying how much was left out; a change group lists at most :data:`QUEUES_LISTED`
queues.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from calltmpl.diagnostics import Diagnostic
from calltmpl.plan import ABSENT
from calltmpl.reporters import printable

if TYPE_CHECKING:
    from calltmpl.plan import Plan
    from calltmpl.review import Group, Review

LIMIT = 60_000
"""The most characters of a comment (GitHub refuses more than 65,536)."""
QUEUES_LISTED = 50
"""The most queues listed in one change group; the others are counted."""
VALUE_CHARS = 300
"""The most characters of one value shown; the rest is cut (``…``)."""


def code(text: str) -> str:
    """``text`` as an inline ``<code>`` element that nothing inside can close, escape or turn
    into Markdown: each character of :data:`_PUNCTUATION` (``<``, ``&``, backticks, ``|``,
    ``*``, ``@``, ``#``...) as a numeric character reference, control characters as escapes
    (a value never spans lines)."""
    return f"<code>{_inert(printable(text))}</code>"


def _inert(text: str) -> str:
    return "".join(f"&#{ord(c)};" if c in _PUNCTUATION else c for c in text)


_PUNCTUATION = frozenset("\"#$&'*:<>@[\\]_`|~")
"""What HTML or GitHub's Markdown could read in a line: tags and references, code spans,
emphasis, links, tables, strikethrough, math, mentions, issue references, autolinks."""


def value(item: Any) -> str:
    """A value as JSON text, cut at :data:`VALUE_CHARS`; "(absent)" for a missing member."""
    if item is ABSENT:
        return "(absent)"
    text = json.dumps(item, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


class _Comment:
    """Sections added while they fit in :data:`LIMIT`; the ones that do not are counted."""

    def __init__(self, head: str):
        self.parts = [head]
        self.size = len(head)
        self.left_out = 0

    def add(self, section: str) -> None:
        if self.left_out or self.size + len(section) > LIMIT - 500:
            self.left_out += 1
            return
        self.parts.append(section)
        self.size += len(section)

    def text(self, hint: str) -> str:
        if self.left_out:
            self.parts.append(
                f"\n> **{_plural(self.left_out, 'more section')} not shown** (the comment would "
                f"be over GitHub's size limit): {hint}\n"
            )
        return "".join(self.parts)


# --- diff ---------------------------------------------------------------------------------


def review(result: Review) -> str:
    """The comment for ``calltmpl diff``: a summary line, one collapsible section per change
    group, then the call targets added and removed."""
    base = code(result.base)
    if result.failures:
        return failures(result.failures, f"calltmpl diff against {base}")
    changed, added, removed = (result.count(s) for s in ("changed", "added", "removed"))
    if not result.changes:
        return f"### calltmpl diff against {base}\n\nNo call target changes.\n"
    groups = result.groups()
    summary = ", ".join(
        part
        for part in (
            f"{changed:,} changed" if changed else "",
            f"{added:,} added" if added else "",
            f"{removed:,} removed" if removed else "",
        )
        if part
    )
    comment = _Comment(
        f"### calltmpl diff against {base}\n\n"
        f"**{_plural(len(result.changes), 'call target')}** differ: {summary}"
        f" ({_plural(len(groups), 'change')}).\n\n"
    )
    for group in groups:
        comment.add(_group(group))
    for status in ("added", "removed"):
        listed = [c for c in result.changes if c.status == status]
        if listed:
            comment.add(
                f"<details><summary>{_plural(len(listed), 'call target')} {status}</summary>\n\n"
                + "".join(f"- {code(c.queue)} {code(c.name)}\n" for c in listed[:QUEUES_LISTED])
                + _more(len(listed))
                + "\n</details>\n\n"
            )
    return comment.text(f"run {code('calltmpl diff --base ' + result.base)} to see them all")


def _group(group: Group) -> str:
    count = len(group.queues)
    where = code(group.queues[0]) if count == 1 else f"{count:,} queues"
    title = (
        f"{code(group.pointer)}: {code(value(group.before))} → "
        f"{code(value(group.after))} in {where}"
    )
    lines = [f"<details><summary>{title}</summary>\n\n"]
    if group.cause is not None:
        lines.append(f"Caused by {code(f'{group.cause.file}:{group.cause.line}')}.\n\n")
    lines.append(f"- before: {code(value(group.before))}\n- after: {code(value(group.after))}\n")
    lines.append(f"- {_plural(count, 'queue')}:\n")
    lines.extend(f"  - {code(queue)}\n" for queue in group.queues[:QUEUES_LISTED])
    lines.append(_more(count, indent="  "))
    lines.append("\n</details>\n\n")
    return "".join(lines)


def _more(count: int, indent: str = "") -> str:
    extra = count - QUEUES_LISTED
    return f"{indent}- … and {extra:,} more\n" if extra > 0 else ""


def failures(found: Sequence[Diagnostic], title: str, what: str = "could not be rendered") -> str:
    """Diagnostics that stopped a command (call targets that could not be built, or error
    findings), one line each."""
    comment = _Comment(f"### {title}\n\n**{_plural(len(found), 'problem')}** ({what}):\n\n")
    for d in sorted(found, key=Diagnostic.sort_key):
        where = f"{d.file}:{d.line}:{d.column}"
        comment.add(f"- {code(where)} {d.code} {code(d.text)}\n")
    return comment.text(f"run {code('calltmpl lint')} to see them all") + "\n"


# --- plan ---------------------------------------------------------------------------------


def plan(result: Plan) -> str:
    """The comment for ``calltmpl plan``: the counts, then one collapsible section per call
    target that is not unchanged, with each member's remote and new value."""
    counts = ", ".join(f"{n:,} {action}" for action, n in result.counts().items() if n)
    comment = _Comment(f"### calltmpl plan\n\n**Plan:** {counts or 'nothing to do'}.\n\n")
    for step in result.steps:
        if step.action == "unchanged":
            continue
        ident = f" (id {step.target_id})" if step.target_id is not None else ""
        title = f"{step.action} {code(step.desired.file)} {code(step.desired.name)}{ident}"
        lines = [f"<details><summary>{title}</summary>\n\n"]
        if step.note:
            lines.append(f"{code(step.note)}\n\n")
        lines.extend(
            f"- {code(c.pointer)}: {code(value(c.remote))} → {code(value(c.new))}\n"
            for c in step.changes
        )
        lines.append("\n</details>\n\n")
        comment.add("".join(lines))
    return comment.text(f"run {code('calltmpl plan')} to see them all")
