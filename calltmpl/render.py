"""Rendering queue files through sandboxed, strict Jinja templates into call targets.

Templates behave as in plain Jinja (default settings, standard inheritance, include and
macros); the differences are safety ones: the immutable sandbox, ``StrictUndefined``, and a
loader that never reads outside the template search path. Every failure becomes a located
:class:`~calltmpl.diagnostics.Diagnostic`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import hashlib
import json
import os
import re
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.exceptions import SecurityError

from calltmpl import budget, codes, files, parsing, yamlsafe
from calltmpl.diagnostics import Diagnostic
from calltmpl.environment import (
    BUILTIN_DIR,
    BUILTIN_PREFIX,
    ConfinedLoader,
    cache_folder,
    environment,
    shown_template,
)
from calltmpl.paths import shown_path
from calltmpl.provenance import Locator, Tracer
from calltmpl.queues import QueueFile

TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2")  # the names "did you mean" looks among


@dataclass(frozen=True)
class Rendered:
    """A queue rendered into a call target, with what is needed to locate its members."""

    queue: QueueFile
    text: str
    target: dict[str, Any]

    @cached_property
    def positions(self) -> parsing.Positions:
        """Where each member stands in the rendered text (computed on first use)."""
        if self.text.lstrip().startswith("{"):
            return parsing.json_positions(self.text)
        return parsing.yaml_positions(self.text)


class Renderer:
    """One sandboxed environment per template search path; compiled templates are cached."""

    def __init__(self, search_path: Sequence[Path]):
        self.search_path = tuple(search_path)
        self.loader = ConfinedLoader(self.search_path)
        self.env = environment(self.loader)
        self.tracer = Tracer(self.search_path, self.loader)
        self._analyses: dict[str, tuple[frozenset[str] | None, frozenset[str] | None]] = {}
        self._slow: dict[str, Diagnostic] = {}  # templates over their time budget, and why
        self._names: list[str] | None = None  # every template's name, for "did you mean"

    def render(self, queue: QueueFile) -> Rendered | Diagnostic:
        """The queue's call target, or the located diagnostic of why there is none; a
        diagnostic located in a template names the queue being rendered."""
        result = self._render(queue)
        if not isinstance(result, Diagnostic) or result.file == queue.shown:
            return result
        if result.file.startswith(BUILTIN_PREFIX):
            return self.tracer.failure_in_queue(result, queue)
        return dataclasses.replace(result, queue=queue.shown)

    def locator(self, rendered: Rendered) -> Locator:
        """Where each member of a rendered call target is shown (see :mod:`calltmpl.provenance`)."""
        return self.tracer.locator(rendered.queue, lambda: rendered.positions)

    def _render(self, queue: QueueFile) -> Rendered | Diagnostic:
        slow = self._slow.get(queue.template)
        if slow is not None:  # each render would take the whole time budget again
            return slow
        try:
            template = self.env.get_template(queue.template)
            text = template.render(queue.variables)
        except Exception as exc:  # every template failure becomes a diagnostic
            failure = self._failure(exc, queue)
            if isinstance(exc, budget.TooSlow):
                message = f"not rendered: {failure.message} when rendering {queue.shown}"
                self._slow[queue.template] = dataclasses.replace(failure, message=message)
            return failure
        try:
            value = parsing.load_payload_text(text)
        except parsing.ParseError as exc:
            file, line = self.tracer.blame(queue, exc.line)
            return codes.OUTPUT_SYNTAX.at(
                shown_template(file),
                line,
                0,
                f"rendered line {exc.line} is not valid YAML: {exc.message}",
                hint=_syntax_hint(exc),
            )
        if not isinstance(value, dict):
            kind = "nothing" if value is None else f"a {type(value).__name__}"
            file, line = self.tracer.origin(queue, 1)
            return codes.OUTPUT_SHAPE.at(
                shown_template(file),
                line,
                0,
                f"the template rendered {kind}; expected a mapping with name and configuration",
            )
        rendered = Rendered(queue, text, value)
        return self._not_json(rendered) or rendered

    def _not_json(self, rendered: Rendered) -> Diagnostic | None:
        """CT108 at the first rendered value that is no JSON value (a payload carries only
        JSON): NaN or Infinity, a date, binary data, a set, a key that is not a string, a lone
        surrogate, or the word NaN or Infinity as ``tojson`` writes it, unquoted."""
        problem = yamlsafe.json_problem(rendered.target) or _unquoted_word(rendered)
        if problem is None:
            return None
        where = self.locator(rendered)(problem.pointer)
        note = f" ({where.note})" if where.note else ""
        return codes.OUTPUT_NOT_JSON.at(
            where.file,
            where.line,
            where.column,
            f"{problem.message}{note}",
            pointer=problem.pointer,
            hint="quote text YAML would read as something else (dates, .nan, !!binary), "
            "and insert values with `| tojson`",
            queue=where.queue,
        )

    def _failure(self, exc: Exception, queue: QueueFile) -> Diagnostic:
        if isinstance(exc, jinja2.TemplateSyntaxError):
            file = shown_template(exc.filename) if exc.filename else queue.shown
            return codes.TEMPLATE_SYNTAX.at(file, exc.lineno, 0, exc.message or "")
        if isinstance(exc, jinja2.TemplateNotFound):
            return self._not_found(exc, queue)
        file, line = self._frame(exc, queue)
        if isinstance(exc, jinja2.UndefinedError):
            name = _undefined_name(exc)
            column = _name_column(self._frame_source(exc), name or _attribute_name(exc))
            close = difflib.get_close_matches(name, list(queue.variables), n=1, cutoff=0.75)
            if close:
                hint = f"{queue.shown} sets {close[0]}: did you mean {name}?"
            elif name and file.startswith(BUILTIN_PREFIX):
                hint = f"set `{name}:` in {queue.shown}: {queue.template} requires it"
            elif name:
                hint = (  # said once for all the queues of a shared template
                    f"set `{name}:` in the queue files that use this template, or give it a "
                    f"default in the template (`{{{{ {name} | default(...) }}}}`)"
                )
            else:
                hint = ""
            return codes.UNDEFINED_VARIABLE.at(file, line, column, exc.message or "", hint=hint)
        if isinstance(exc, budget.BudgetExceeded | MemoryError | RecursionError):
            return codes.TEMPLATE_BUDGET.at(
                file,
                line,
                0,
                budget.describe(exc),
                hint="a call target is a few kilobytes: look for a loop, a repetition or a "
                "recursion that grows without bound",
            )
        if isinstance(exc, SecurityError):
            return codes.TEMPLATE_SECURITY.at(file, line, 0, str(exc))
        return codes.TEMPLATE_ERROR.at(file, line, 0, f"{type(exc).__name__}: {exc}")

    def _not_found(self, exc: jinja2.TemplateNotFound, queue: QueueFile) -> Diagnostic:
        missing = str(exc.name or exc)
        if missing == queue.template:
            line, column = parsing.yaml_positions(queue.text).get("/template", (1, 1))
            file = queue.shown
        else:
            (file, line), column = self._frame(exc, queue), 0
        where = ", ".join(shown_path(p) for p in self.search_path) + ", calltmpl/ (built-in)"
        close = [n for n in _close_names(missing, self.template_names()) if n != missing]
        hint = "template names are paths below a template folder, e.g. calltmpl/pstn.yaml.j2"
        if missing in self.template_names():  # it is there, but leads where no template may
            hint = "the file is a link out of its template folder, or not a readable file"
        elif close:
            hint = f"did you mean {' or '.join(close)}?"
        return codes.TEMPLATE_NOT_FOUND.at(
            file,
            line,
            column,
            f"template {missing!r} not found in the search path ({where})",
            hint=hint,
        )

    def template_names(self) -> list[str]:
        """Every template's name, as a queue or a template names it: the built-ins as
        ``calltmpl/<name>``, the others by their path below their template folder."""
        if self._names is None:
            found = {
                BUILTIN_PREFIX + path.relative_to(BUILTIN_DIR).as_posix()
                for path in BUILTIN_DIR.glob("*.j2")
            }
            for folder in self.search_path:
                if folder.is_dir():
                    for path in files.walk(folder, folder, TEMPLATE_SUFFIXES, lenient=True):
                        found.add(path.relative_to(Path(os.path.abspath(folder))).as_posix())
            self._names = sorted(found)
        return self._names

    def _frame_source(self, exc: BaseException) -> str:
        """The source line of the innermost template frame of the traceback ("" if none)."""
        loaded = self.loader.loaded
        frames = traceback.extract_tb(exc.__traceback__)
        found = [f for f in frames if f.filename in loaded]
        if not found:
            return ""
        return self.tracer.sources.line(found[-1].filename, found[-1].lineno or 0)

    def _frame(self, exc: BaseException, queue: QueueFile) -> tuple[str, int]:
        """The innermost template file and line in the traceback (Jinja rewrites frames so)."""
        loaded = self.loader.loaded
        found = (queue.shown, 1)
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename in loaded:
                found = (shown_template(frame.filename), frame.lineno or 0)
        return found

    def closure(self, name: str) -> frozenset[str] | None:
        """Files of ``name`` and every template it extends, includes or imports.

        None when a reference is computed at render time, so the set cannot be known.
        """
        return self._analyse(name)[0]

    def variables(self, name: str) -> frozenset[str] | None:
        """Every variable ``name`` and the templates it reaches may read (None: unknowable)."""
        return self._analyse(name)[1]

    def _analyse(self, name: str) -> tuple[frozenset[str] | None, frozenset[str] | None]:
        if name not in self._analyses:
            self._analyses[name] = self._walk(name)
        return self._analyses[name]

    def _walk(self, name: str) -> tuple[frozenset[str] | None, frozenset[str] | None]:
        files: dict[str, str] = {}
        variables: set[str] = set()
        todo = [name]
        while todo:
            current = todo.pop()
            if current in files:
                continue
            try:
                source, filename, _ = self.loader.get_source(self.env, current)
            except (jinja2.TemplateError, OSError, UnicodeDecodeError):
                files[current] = ""
                continue
            files[current] = filename
            try:
                references, read = self._facts(source)
            except jinja2.TemplateSyntaxError:
                # Its queues fail to render (CT102), so every one of them must be selected.
                return frozenset(f for f in files.values() if f), None
            variables.update(read)
            if None in references:
                return None, None
            todo.extend(r for r in references if r is not None)
        return frozenset(f for f in files.values() if f), frozenset(variables)

    def _facts(self, source: str) -> tuple[list[str | None], list[str]]:
        """The templates a source references and the variables it reads.

        Parsing costs more than loading a compiled template, so the facts are kept in the
        cache folder too, as JSON keyed by the source's hash.
        """
        folder = cache_folder("facts")
        entry = None
        if folder is not None:
            digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
            entry = Path(folder) / f"{digest}.json"
            try:
                cached = json.loads(entry.read_text(encoding="utf-8"))
                return list(cached["references"]), list(cached["variables"])
            except (OSError, ValueError, KeyError, TypeError):
                pass
        tree = self.env.parse(source)
        references = list(meta.find_referenced_templates(tree))
        variables = sorted(meta.find_undeclared_variables(tree))
        if entry is not None:
            with contextlib.suppress(OSError):
                entry.write_text(json.dumps({"references": references, "variables": variables}))
        return references, variables


def _unquoted_word(rendered: Rendered) -> yamlsafe.Problem | None:
    """The first string that is NaN, Infinity or -Infinity written unquoted: what ``tojson``
    writes for a number that is not finite, which YAML then reads as text."""
    if "NaN" not in rendered.text and "Infinity" not in rendered.text:
        return None
    lines = rendered.text.split("\n")
    for pointer, word in yamlsafe.json_words(rendered.target):
        found, line, column = parsing.nearest(rendered.positions, pointer)
        if found == pointer and lines[line - 1][column - 1 : column] not in ("'", '"'):
            return yamlsafe.Problem(
                pointer, f"{word} is not a JSON number (JSON has no NaN or Infinity)"
            )
    return None


def _close_names(missing: str, names: list[str]) -> list[str]:
    """The template names ``missing`` was probably meant to be: those with its file name
    (written without its folder, or with the template folder), else close spellings."""
    base = missing.rsplit("/", 1)[-1]
    same = [n for n in names if n.rsplit("/", 1)[-1] == base]
    return same[:3] or difflib.get_close_matches(missing, names, n=2, cutoff=0.8)


def _syntax_hint(exc: parsing.ParseError) -> str:
    """What to do about rendered output that is not YAML: the layout's fix when the cause is
    the layout (tabs, indentation, an unclosed bracket), else how values are inserted."""
    if exc.hint.startswith("indent"):
        return (
            "indent each member as the members beside it: an overriding block keeps the "
            "built-in layout, each member on a line of its own, indented by two spaces"
        )
    if exc.hint.startswith(("use spaces", "remove")):
        return exc.hint
    return "insert values with `| tojson` so quotes and colons cannot break the YAML"


def _undefined_name(exc: jinja2.UndefinedError) -> str:
    match = re.fullmatch(r"'([^']+)' is undefined", exc.message or "")
    return match.group(1) if match else ""


def _attribute_name(exc: jinja2.UndefinedError) -> str:
    match = re.search(r"has no attribute '([^']+)'", exc.message or "")
    return match.group(1) if match else ""


def _name_column(source: str, name: str) -> int:
    """Where a template line reads an undefined ``name``: the variable inside an expression or
    a tag, else an attribute of that name (``x.name``, ``x["name"]``); 1 when not found."""
    if not name:
        return 1
    word = re.escape(name)
    for pattern in (
        rf"(?<![\w.\[\'\"]){word}(?!\w)",
        rf"(?<=\.){word}(?!\w)",
        rf"['\"]{word}['\"]",
    ):
        for match in re.finditer(pattern, source):
            inside = source.rfind("{{", 0, match.start()) > source.rfind("}}", 0, match.start())
            tag = source.rfind("{%", 0, match.start()) > source.rfind("%}", 0, match.start())
            if inside or tag:
                return match.start() + 1
    return 1
