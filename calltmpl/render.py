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
import functools
import hashlib
import json
import os
import re
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment

from calltmpl import codes, parsing
from calltmpl.diagnostics import Diagnostic
from calltmpl.queues import QueueFile, shown_path

BUILTIN_DIR = Path(__file__).resolve().parent / "templates"
BUILTIN_PREFIX = "calltmpl/"


class ConfinedLoader(jinja2.BaseLoader):
    """Loads ``calltmpl/<name>`` from the built-ins and other names from the search path.

    A name may not climb out of its folder (``..``), and a link that resolves outside the
    folder is treated as missing, so a template cannot read arbitrary files.
    """

    def __init__(self, search_path: Sequence[Path], mark: Callable[[str, str], str] | None = None):
        self.search_path = tuple(p.resolve() for p in search_path)
        self.builtin = BUILTIN_DIR.resolve()
        self.mark = mark
        self.loaded: set[str] = set()

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        path = self.find(template)
        source = path.read_text(encoding="utf-8")
        self.loaded.add(str(path))
        if self.mark is not None:
            source = self.mark(str(path), source)
        return source, str(path), lambda: True

    def find(self, template: str) -> Path:
        if template.startswith(BUILTIN_PREFIX):
            folders: tuple[Path, ...] = (self.builtin,)
            name = template[len(BUILTIN_PREFIX) :]
        else:
            folders, name = self.search_path, template
        pieces = split_template_path(name)
        for folder in folders:
            candidate = folder.joinpath(*pieces).resolve()
            if candidate.is_file() and candidate.is_relative_to(folder):
                return candidate
        raise jinja2.TemplateNotFound(template)


def is_builtin(filename: str) -> bool:
    return Path(filename).is_relative_to(BUILTIN_DIR.resolve())


def shown_template(filename: str) -> str:
    """A template file as users name it: ``calltmpl/<name>`` for built-ins, else its path."""
    path = Path(filename)
    if path.is_relative_to(BUILTIN_DIR.resolve()):
        return BUILTIN_PREFIX + path.relative_to(BUILTIN_DIR.resolve()).as_posix()
    return shown_path(path)


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
        self.env = _environment(self.loader)
        self._origins: _Origins | None = None
        self._analyses: dict[str, tuple[frozenset[str] | None, frozenset[str] | None]] = {}
        self._sources: dict[str, list[str]] = {}

    def render(self, queue: QueueFile) -> Rendered | Diagnostic:
        """The queue's call target, or the located diagnostic of why there is none; a
        diagnostic located in a template names the queue being rendered."""
        result = self._render(queue)
        if isinstance(result, Diagnostic) and result.file != queue.shown:
            return dataclasses.replace(result, queue=queue.shown)
        return result

    def _render(self, queue: QueueFile) -> Rendered | Diagnostic:
        try:
            template = self.env.get_template(queue.template)
            text = template.render(queue.variables)
        except Exception as exc:  # every template failure becomes a diagnostic
            return self._failure(exc, queue)
        try:
            value = parsing.load_payload_text(text)
        except parsing.ParseError as exc:
            file, line = self.origin(queue, exc.line)
            return codes.OUTPUT_SYNTAX.at(
                shown_template(file),
                line,
                0,
                f"rendered line {exc.line} is not valid YAML: {exc.message}",
                hint="insert values with `| tojson` so quotes and colons cannot break the YAML",
            )
        if not isinstance(value, dict):
            kind = "nothing" if value is None else f"a {type(value).__name__}"
            file, line = self.origin(queue, 1)
            return codes.OUTPUT_SHAPE.at(
                shown_template(file),
                line,
                0,
                f"the template rendered {kind}; expected a mapping with name and configuration",
            )
        return Rendered(queue, text, value)

    def _failure(self, exc: Exception, queue: QueueFile) -> Diagnostic:
        if isinstance(exc, jinja2.TemplateSyntaxError):
            file = shown_template(exc.filename) if exc.filename else queue.shown
            return codes.TEMPLATE_SYNTAX.at(file, exc.lineno, 0, exc.message or "")
        if isinstance(exc, jinja2.TemplateNotFound):
            return self._not_found(exc, queue)
        file, line = self._frame(exc, queue)
        if isinstance(exc, jinja2.UndefinedError):
            name = _undefined_name(exc)
            close = difflib.get_close_matches(name, list(queue.variables), n=1, cutoff=0.75)
            if close:
                hint = f"{queue.shown} sets {close[0]}: did you mean {name}?"
            elif name:
                hint = (
                    f"set `{name}:` in {queue.shown}, or give it a default in the template "
                    f"(`{{{{ {name} | default(...) }}}}`)"
                )
            else:
                hint = ""
            return codes.UNDEFINED_VARIABLE.at(file, line, 0, exc.message or "", hint=hint)
        if isinstance(exc, SecurityError):
            return codes.TEMPLATE_SECURITY.at(file, line, 0, str(exc))
        return codes.TEMPLATE_ERROR.at(file, line, 0, f"{type(exc).__name__}: {exc}")

    def _not_found(self, exc: jinja2.TemplateNotFound, queue: QueueFile) -> Diagnostic:
        missing = exc.name or str(exc)
        if missing == queue.template:
            line, column = parsing.yaml_positions(queue.text).get("/template", (1, 1))
            file = queue.shown
        else:
            (file, line), column = self._frame(exc, queue), 0
        where = ", ".join(shown_path(p) for p in self.search_path) + ", calltmpl/ (built-in)"
        return codes.TEMPLATE_NOT_FOUND.at(
            file,
            line,
            column,
            f"template {missing!r} not found in the search path ({where})",
            hint="template names are paths below a template folder, e.g. calltmpl/pstn.yaml.j2",
        )

    def _frame(self, exc: BaseException, queue: QueueFile) -> tuple[str, int]:
        """The innermost template file and line in the traceback (Jinja rewrites frames so)."""
        loaded = self.loader.loaded
        found = (queue.shown, 1)
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename in loaded:
                found = (shown_template(frame.filename), frame.lineno or 0)
        return found

    def origin(self, queue: QueueFile, output_line: int, member: str = "") -> tuple[str, int]:
        """The template file (its full path) and line that wrote ``output_line`` of a queue's
        output: of several candidates, the one whose source names ``member``, else the one
        where the line starts; the queue's own template, line 1, when none can be traced."""
        if self._origins is None:
            self._origins = _Origins(self.search_path)
        candidates = self._origins.markers(queue, output_line)
        for file, line in candidates:
            if member and f"{member}:" in self.source_line(file, line):
                return file, line
        if candidates:
            return candidates[0]
        try:
            return str(self.loader.find(queue.template)), 1
        except jinja2.TemplateNotFound:
            return str(queue.path), 1

    def source_line(self, filename: str, line: int) -> str:
        """Line ``line`` (1-based) of a template file, "" when there is none."""
        if filename not in self._sources:
            try:
                self._sources[filename] = Path(filename).read_text(encoding="utf-8").split("\n")
            except (OSError, UnicodeDecodeError):
                self._sources[filename] = []
        lines = self._sources[filename]
        return lines[line - 1] if 1 <= line <= len(lines) else ""

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
                references, read = self._facts(source)
            except (jinja2.TemplateError, OSError, UnicodeDecodeError):
                files[current] = ""
                continue
            files[current] = filename
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
        folder = _cache_folder("facts")
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


def _environment(loader: jinja2.BaseLoader, kind: str = "plain") -> jinja2.Environment:
    env = ImmutableSandboxedEnvironment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        auto_reload=False,
        cache_size=-1,
        bytecode_cache=_bytecode_cache(kind),
    )
    env.policies["json.dumps_function"] = _dumps
    return env


def _undefined(value: Any) -> Any:
    """Let ``{{ missing | tojson }}`` fail as an undefined variable, not as a JSON error."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_SORTED_ENCODER = json.JSONEncoder(sort_keys=True, default=_undefined)


def _dumps(value: Any, **options: Any) -> str:
    """``json.dumps`` for ``tojson``, byte for byte; the usual options use one prebuilt
    encoder instead of building one per call (``tojson`` runs for every member)."""
    if options == {"sort_keys": True}:
        return _SORTED_ENCODER.encode(value)
    return json.dumps(value, default=_undefined, **options)


def _bytecode_cache(kind: str) -> jinja2.BytecodeCache | None:
    """Compiled templates kept between runs: compiling is most of a one-file lint's time.

    Entries are keyed by file and checked against the source, so an edited template is
    compiled afresh; ``kind`` keeps the marked sources of :class:`_Origins` apart from the
    plain ones.
    """
    folder = _cache_folder(kind)
    return jinja2.FileSystemBytecodeCache(folder) if folder is not None else None


@functools.cache
def _cache_folder(kind: str) -> str | None:
    """``$CALLTMPL_CACHE_DIR``, else ``$XDG_CACHE_HOME/calltmpl`` or ``~/.cache/calltmpl``,
    with a subfolder per Jinja version and ``kind``.

    Compiled code is executable, so every folder from ``calltmpl`` down must be the user's own
    and writable by nobody else; otherwise nothing is cached.
    """
    base = os.environ.get("CALLTMPL_CACHE_DIR")
    if not base:
        home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(home, "calltmpl")
    levels = [base, os.path.join(base, f"jinja-{jinja2.__version__}")]
    levels.append(os.path.join(levels[-1], kind))
    try:
        for folder in levels:
            if not os.path.isdir(folder):
                os.makedirs(folder, mode=0o700, exist_ok=True)
            info = os.stat(folder)
            if info.st_uid != os.getuid() or info.st_mode & 0o022:
                return None
    except OSError:
        return None
    return levels[-1]


def _undefined_name(exc: jinja2.UndefinedError) -> str:
    match = re.fullmatch(r"'([^']+)' is undefined", exc.message or "")
    return match.group(1) if match else ""


# --- where output lines come from ----------------------------------------------------------
#
# To map an output line back to its template line, templates are rendered a second time with
# a marker at the start of every line of their source, naming the file and line. Markers are
# made only of characters that Python and Jinja treat as whitespace, so whitespace control
# (`{%-`, `-%}`) strips them exactly as it strips the whitespace around them, and inside tags
# the lexer skips them. The marked output, once markers are removed, equals the normal output.

_DIGITS = "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
_OPEN, _SPLIT, _CLOSE = "\x1f", "\x1d", "\x1e"
_MARKER = re.compile(f"{_OPEN}([{_DIGITS}]+){_SPLIT}([{_DIGITS}]+){_CLOSE}")
_TO_DIGITS = str.maketrans("0123456789", _DIGITS)
_FROM_DIGITS = str.maketrans(_DIGITS, "0123456789")


class _Origins:
    def __init__(self, search_path: Sequence[Path]):
        self.files: list[str] = []
        self._last: tuple[Path, list[list[tuple[str, int]]]] | None = None
        self.loader = ConfinedLoader(search_path, mark=self._mark)
        self.env = _environment(self.loader, "marked")

    def _mark(self, filename: str, source: str) -> str:
        index = len(self.files)
        self.files.append(filename)
        tag = f"{_OPEN}{str(index).translate(_TO_DIGITS)}{_SPLIT}"
        return "\n".join(
            f"{tag}{str(number).translate(_TO_DIGITS)}{_CLOSE}{text}"
            for number, text in enumerate(source.split("\n"), start=1)
        )

    def lines(self, queue: QueueFile) -> list[list[tuple[str, int]]]:
        """For each output line, the (template file, line) of every marker left on it.

        The first marker is where the line's text starts. Others remain where whitespace
        control or an include joined the text of several template lines into one.
        """
        try:
            marked = self.env.get_template(queue.template).render(queue.variables)
        except Exception:  # the plain render succeeded; this one only adds whitespace
            return []
        return [
            [
                (self.files[int(index.translate(_FROM_DIGITS))], int(line.translate(_FROM_DIGITS)))
                for index, line in _MARKER.findall(text)
            ]
            for text in marked.split("\n")
        ]

    def markers(self, queue: QueueFile, output_line: int) -> list[tuple[str, int]]:
        """The markers of ``output_line``, or of the first line after it that has any."""
        if self._last is None or self._last[0] != queue.path:
            self._last = (queue.path, self.lines(queue))
        for found in self._last[1][max(output_line, 1) - 1 :]:
            if found:
                return found
        return []
