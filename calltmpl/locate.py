"""Where a finding must be shown: the place the user edits, not the generated output.

For a payload file, the member's own line and column. For a rendered queue, the queue
file's line of the variable whose value produced the member, when one did; otherwise the
template line that wrote it; a built-in template's default is shown at the queue's
``template:`` line, since nobody edits the installed package.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from calltmpl import parsing
from calltmpl.environment import expression_names, is_builtin, shown_template
from calltmpl.lint import Location, Subject
from calltmpl.parsing import nearest
from calltmpl.render import Rendered, Renderer

# A GET answer is what the server holds, id and all: it is no body meant for a create.
_NOT_APPLICABLE = {"/data/callTarget": frozenset({"CT705"})}


def payload_subject(file: str, text: str, target: Mapping[str, Any], base: str) -> Subject:
    """A call target read from a payload file; members are located in that file.

    ``base`` is the call target's pointer in the file: "/data" in a POST body,
    "/data/callTarget" in a GET answer, "" for a bare call target."""
    cache: dict[str, parsing.Positions] = {}

    def locate(pointer: str) -> Location:
        if "positions" not in cache:
            cache["positions"] = parsing.json_positions(text)
        _, line, column = nearest(cache["positions"], base + pointer)
        return Location(file, line, column)

    return Subject(file, target, locate, _NOT_APPLICABLE.get(base, frozenset()))


def rendered_subject(rendered: Rendered, renderer: Renderer) -> Subject:
    """A call target rendered from a queue file, located where the user edits:

    1. the queue file's variable, when the template line that wrote the member uses exactly
       one variable the queue sets (at the same member inside it, when the variable is a
       mapping or list that holds it);
    2. else a queue variable named like a member on the pointer's path (the built-in
       templates name variables after members, and pass some through filters and macros);
    3. else the template line that wrote it, unless that is a built-in template, which users
       do not edit: then the queue file's ``template:`` line, naming the built-in default.
    """
    queue = rendered.queue
    cache: dict[str, parsing.Positions] = {}

    def locate(pointer: str) -> Location:
        _, output_line, _ = nearest(rendered.positions, pointer)
        member = parsing.unescape(pointer.rsplit("/", 1)[-1])
        template, line = renderer.origin(queue, output_line, member)
        source = renderer.source_line(template, line)
        if "queue" not in cache:
            cache["queue"] = parsing.yaml_positions(queue.text)
        variable = _variable(source, pointer, queue.variables)
        if variable is not None:
            _, var_line, var_column = nearest(cache["queue"], _inside(pointer, variable))
            return Location(queue.shown, var_line, var_column)
        shown = shown_template(template)
        if is_builtin(template):
            _, at_line, at_column = nearest(cache["queue"], "/template")
            return Location(queue.shown, at_line, at_column, note=f"default of {shown}:{line}")
        return Location(shown, line, _value_column(source, member), queue.shown)

    return Subject(queue.shown, rendered.target, locate)


def _variable(source: str, pointer: str, variables: Mapping[str, Any]) -> str | None:
    """The queue variable that produced the member at ``pointer``, if one can be told."""
    settable = set(variables) - {"queue"}
    used = expression_names(source) & settable
    if len(used) == 1:
        return used.pop()
    for part in pointer.split("/")[1:]:
        if parsing.unescape(part) in settable:
            return parsing.unescape(part)
    return None


def _value_column(source: str, member: str) -> int:
    """Where a template line writes the value of ``member``: after ``member:``, else at the
    first expression, else at the line's first character."""
    match = re.search(rf"(?:^|[\s{{,\"]){re.escape(member)}\"?\s*:\s*", source)
    if match is not None and match.end() < len(source):
        return match.end() + 1
    return source.find("{{") + 1 or len(source) - len(source.lstrip()) + 1


def _inside(pointer: str, variable: str) -> str:
    """Where ``pointer`` lies inside a queue variable: ``/configuration/messaging/handle``
    with variable ``messaging`` is ``/messaging/handle``; just ``/variable`` otherwise."""
    parts = [parsing.unescape(p) for p in pointer.split("/")[1:]]
    tail = parts[parts.index(variable) + 1 :] if variable in parts else []
    result = parsing.pointer_join("", variable)
    for part in tail:
        result = parsing.pointer_join(result, part)
    return result
