"""The sandboxed Jinja environment: what templates may load, and how it is set up.

Templates behave as in plain Jinja (default settings); the differences are safety and speed:
the immutable sandbox, ``StrictUndefined``, a loader that never reads outside the template
search path, and a per-user cache of compiled templates.
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
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment

from calltmpl.paths import shown_path

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


_EXPRESSION = re.compile(r"\{\{(.*?)\}\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def expression_names(source: str) -> set[str]:
    """The names inside the ``{{ }}`` expressions of a template line (variables, filters and
    all: callers intersect with the variables they know)."""
    return {n for expr in _EXPRESSION.findall(source) for n in _NAME.findall(expr)}


def is_builtin(filename: str) -> bool:
    return Path(filename).is_relative_to(BUILTIN_DIR.resolve())


def shown_template(filename: str) -> str:
    """A template file as users name it: ``calltmpl/<name>`` for built-ins, else its path."""
    if is_builtin(filename):
        return BUILTIN_PREFIX + Path(filename).relative_to(BUILTIN_DIR.resolve()).as_posix()
    return shown_path(Path(filename))


def environment(loader: jinja2.BaseLoader, kind: str = "plain") -> jinja2.Environment:
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
    folder = cache_folder(kind)
    return jinja2.FileSystemBytecodeCache(folder) if folder is not None else None


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
