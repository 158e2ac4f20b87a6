"""The sandboxed Jinja environment: what templates may load, and how it is set up.

Templates behave as in plain Jinja (default settings); the differences are safety and speed:
the immutable sandbox, ``StrictUndefined``, the budgets of :mod:`calltmpl.budget` (time, sizes,
memory), a loader that never reads outside the template search path, and a per-user cache of
compiled templates.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jinja2
from jinja2.compiler import CodeGenerator, Frame
from jinja2.loaders import split_template_path
from jinja2.nodes import Concat
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg

from calltmpl import budget, guards
from calltmpl.paths import shown_path

BUILTIN_DIR = Path(__file__).resolve().parent / "templates"
BUILTIN_PREFIX = "calltmpl/"


class ConfinedLoader(jinja2.BaseLoader):
    """Loads ``calltmpl/<name>`` from the built-ins and other names from the search path.

    A name may not climb out of its folder (``..``), and a link that resolves outside the
    folder is treated as missing, so a template cannot read arbitrary files.
    """

    def __init__(self, search_path: Sequence[Path], mark: Callable[[str, str], str] | None = None):
        self.search_path = tuple(Path(os.path.realpath(p)) for p in search_path)
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
            try:  # a link loop or a name too long is no template either
                candidate = Path(os.path.realpath(folder.joinpath(*pieces), strict=True))
                if candidate.is_file() and candidate.is_relative_to(folder):
                    return candidate
            except OSError:
                continue
        raise jinja2.TemplateNotFound(template)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def expression_names(source: str) -> set[str]:
    """The names inside the ``{{ }}`` expressions of a template line (variables, filters and
    all: callers intersect with the variables they know)."""
    names: set[str] = set()
    start = source.find("{{")
    while start >= 0:  # linear, where a lazy pattern would rescan from every "{{"
        end = source.find("}}", start + 2)
        if end < 0:
            break
        names.update(_NAME.findall(source, start + 2, end))
        start = source.find("{{", end + 2)
    return names


def is_builtin(filename: str) -> bool:
    return Path(filename).is_relative_to(BUILTIN_DIR.resolve())


def shown_template(filename: str) -> str:
    """A template file as users name it: ``calltmpl/<name>`` for built-ins, else its path."""
    if is_builtin(filename):
        return BUILTIN_PREFIX + Path(filename).relative_to(BUILTIN_DIR.resolve()).as_posix()
    return shown_path(Path(filename))


class _Generator(CodeGenerator):
    """Jinja's code generator, with ``~`` checked by :meth:`BudgetedEnvironment.join_values`
    and the text of blocks gathered in :class:`~calltmpl.budget.TextBuffer`."""

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.text_buffer()")

    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.join_values({join}, (")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


class BudgetedTemplate(jinja2.Template):
    """A template whose :meth:`render` keeps the time and memory budgets."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        with budget.limits():
            return super().render(*args, **kwargs)


class BudgetedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the budgets of :mod:`calltmpl.budget` in its hooks: sizes
    are checked before ``*``, ``**``, ``+``, ``%``, ``~``, calls and filters build a value,
    and after they return; every printed value and block of text is checked too."""

    code_generator_class = _Generator
    template_class = BudgetedTemplate
    intercepted_binops = guards.INTERCEPTED
    text_buffer = budget.TextBuffer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, finalize=budget.finalize, **kwargs)
        self.globals["range"] = guards.safe_range
        for name in guards.FILTER_CHECKS:
            function = self.filters[name]
            passes = _PassArg.from_obj(function) is not None
            self.filters[name] = guards.guard_filter(name, function, passes)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        guards.check_binop(operator, left, right)
        return self.binop_table[operator](left, right)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        args = guards.check_call(obj, args, kwargs)
        return budget.check_result(super().call(context, obj, *args, **kwargs))

    @staticmethod
    def join_values(join: Callable[[Any], str], values: tuple[Any, ...]) -> str:
        """``a ~ b ~ ...``, refused when the text would be over budget."""
        budget.tick()
        budget.check_size(values, "the text joined with ~")
        return join(values)


def environment(loader: jinja2.BaseLoader, kind: str = "plain") -> jinja2.Environment:
    env = BudgetedEnvironment(
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
    guards.check_json(value, options)
    if options == {"sort_keys": True}:
        return _SORTED_ENCODER.encode(value)
    return json.dumps(value, default=_undefined, **options)


def _bytecode_cache(kind: str) -> jinja2.BytecodeCache | None:
    """Compiled templates kept between runs: compiling is most of a one-file lint's time.

    Entries are keyed by file and checked against the source, so an edited template is
    compiled afresh; ``kind`` keeps the marked sources of :class:`_Origins` apart from the
    plain ones.
    """
    folder = cache_folder(kind)
    return jinja2.FileSystemBytecodeCache(folder) if folder is not None else None


CODE_VERSION = "b1"
"""Names the compiled code calltmpl generates (the budget hooks): a change to the code generator
or to the intercepted operators must change it, or stale compiled templates would be loaded."""


@functools.cache
def cache_folder(kind: str) -> str | None:
    """``$CALLTMPL_CACHE_DIR``, else ``$XDG_CACHE_HOME/calltmpl`` or ``~/.cache/calltmpl``,
    with a subfolder per Jinja version and ``kind``.

    Compiled code is executable, so every folder from ``calltmpl`` down must be the user's own
    and writable by nobody else; otherwise nothing is cached.
    """
    base = os.environ.get("CALLTMPL_CACHE_DIR")
    if not base:
        home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(home, "calltmpl")
    levels = [base, os.path.join(base, f"jinja-{jinja2.__version__}-{CODE_VERSION}")]
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
