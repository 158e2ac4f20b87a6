"""The repository's ``calltmpl.yaml``: found, read and checked in form into :class:`Settings`.

Rule selectors are kept as written, each with its place in the file, and checked against the
catalogue of codes by :func:`calltmpl.policy.check`, which the front door runs on opening a
repository (this module knows files, not codes).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from calltmpl import parsing
from calltmpl.diagnostics import Severity
from calltmpl.errors import ConfigError, UsageError
from calltmpl.paths import MAX_YAML_BYTES, UnreadableFile, glob_root, read_text, shown_path

CONFIG_NAME = "calltmpl.yaml"
DEFAULT_TEMPLATES = ("templates",)
DEFAULT_QUEUES = ("queues/**/*.yaml", "queues/**/*.yml")
DEFAULT_OUTPUT = "build"


@dataclass(frozen=True)
class LintSettings:
    """The ``lint:`` section as written (selectors not yet expanded). ``places`` maps the
    pointer of each selector (and of ``/lint/severity``) to its (line, column) in ``file``."""

    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    severity: tuple[tuple[str, Severity], ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    unknown_members: Severity = Severity.WARNING
    strict: bool = False
    file: str = ""
    places: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    def selectors(self) -> Iterator[tuple[str, str]]:
        """(pointer, selector) for every selector in the file, in the file's order."""
        for index, selector in enumerate(self.select):
            yield f"/lint/select/{index}", selector
        for index, selector in enumerate(self.ignore):
            yield f"/lint/ignore/{index}", selector
        for selector, _ in self.severity:
            yield parsing.pointer_join("/lint/severity", selector), selector
        for pattern, selectors in self.per_file_ignores:
            where = parsing.pointer_join("/lint/per-file-ignores", pattern)
            for index, selector in enumerate(selectors):
                yield f"{where}/{index}", selector


@dataclass(frozen=True)
class Settings:
    """Everything the commands need to know about the repository, resolved once."""

    root: Path
    config_file: Path | None
    templates: tuple[Path, ...]
    queues: tuple[str, ...]
    output: Path
    lint: LintSettings = field(default_factory=LintSettings)
    api: Mapping[str, Any] = field(default_factory=dict)


def find_config(start: Path) -> Path | None:
    """The nearest ``calltmpl.yaml`` in ``start`` or a folder above it."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file() or (os.path.lexists(candidate) and not candidate.is_dir()):
            return candidate  # a FIFO or a broken link too: reading it says what is wrong
    return None


def defaults(root: Path) -> Settings:
    """The settings of a repository without ``calltmpl.yaml``; its default folders too must
    stay inside it (a committed link could point one elsewhere)."""
    root = root.resolve()
    for name, what in ((*DEFAULT_TEMPLATES, "template folder"), (DEFAULT_OUTPUT, "output folder")):
        problem = outside_reason(root, name)
        if problem is not None:
            raise UsageError(f"{shown_path(root / name)}: the default {what} {problem}")
    return Settings(
        root=root,
        config_file=None,
        templates=tuple(root / t for t in DEFAULT_TEMPLATES),
        queues=DEFAULT_QUEUES,
        output=root / DEFAULT_OUTPUT,
    )


def outside_reason(root: Path, folder: str) -> str | None:
    """Why ``folder`` (relative to the repository ``root``, or absolute) may not be used: it
    resolves outside the repository (through ``..``, an absolute path or a link), or cannot
    be resolved (a link loop, a name too long); None when it may. Links inside the
    repository are fine: it is the real path that must stay inside."""
    path = root / folder
    try:
        real = Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:  # not there yet: what there is of it must stay inside
        real = Path(os.path.realpath(path))
    except OSError as exc:
        return f"cannot be resolved: {exc.strerror or type(exc).__name__}"
    if not real.is_relative_to(root):
        return "resolves outside the repository"
    return None


def read_config(config_file: Path, shown_as: str | None = None) -> Settings:
    """Read and validate ``config_file``; raise :class:`ConfigError` naming the line at fault."""
    shown = shown_as or str(config_file)
    try:
        text = read_text(config_file, MAX_YAML_BYTES)
    except UnreadableFile as exc:
        at = (exc.line, exc.column) if exc.line else (1, 1)
        raise ConfigError(shown, *at, f"cannot read the configuration: {exc.reason}") from None
    try:
        data = parsing.load_yaml(text)
    except parsing.ParseError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        raise ConfigError(shown, exc.line, exc.column, exc.message + hint) from None
    reader = _Reader(shown, text)
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise ConfigError(shown, 1, 1, "expected a mapping of settings at the top level")
    reader.known_keys(data, "", ("templates", "queues", "output", "lint", "api"))
    root = config_file.resolve().parent
    written = data.get("templates", list(DEFAULT_TEMPLATES))
    templates = reader.strings(written, "/templates")
    for index, folder in enumerate(templates):
        where = f"/templates/{index}" if isinstance(written, list) else "/templates"
        reader.confine(where, root, folder, "template folder")
    queues = reader.strings(data.get("queues", list(DEFAULT_QUEUES)), "/queues")
    for index, pattern in enumerate(queues):
        if PurePosixPath(pattern).is_absolute() or ".." in PurePosixPath(pattern).parts:
            raise reader.fail(
                f"/queues/{index}",
                f"queue glob {pattern!r} must stay inside "
                "the repository: relative to calltmpl.yaml, without '..'",
            )
        reader.confine(f"/queues/{index}", root, glob_root(pattern) or ".", "queue folder")
    output = data.get("output", DEFAULT_OUTPUT)
    if not isinstance(output, str) or not output.strip() or "\0" in output:
        raise reader.fail("/output", f"output must be a folder name, got {output!r}")
    reader.confine("/output", root, output, "output folder")
    return Settings(
        root=root,
        config_file=config_file.resolve(),
        templates=tuple(root / t for t in templates),
        queues=queues,
        output=root / output,
        lint=_lint_settings(reader, data.get("lint", {})),
        api=_api_settings(reader, data.get("api", {})),
    )


API_KEYS = ("base_url", "token_url", "writes_per_second", "timeout")


def _api_settings(reader: _Reader, api: Any) -> dict[str, Any]:
    """``api:``: where the Mindful API is (credentials never live in this file)."""
    if not isinstance(api, Mapping):
        raise reader.fail("/api", "api must be a mapping with base_url and token_url")
    reader.known_keys(api, "/api", API_KEYS)
    for key in ("base_url", "token_url"):
        if key in api and not (isinstance(api[key], str) and api[key].strip()):
            raise reader.fail(f"/api/{key}", f"{key} must be a URL")
        problem = _url_problem(api[key]) if key in api else None
        if problem is not None:
            raise reader.fail(
                f"/api/{key}", f"{key} {api[key][:200]!r} is not a valid URL: {problem}"
            )
    rate = api.get("writes_per_second", 1)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 1:
        raise reader.fail(
            "/api/writes_per_second",
            "writes_per_second must be a number above 0 and at most 1 (Mindful's limit)",
        )
    timeout = api.get("timeout", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 600:
        raise reader.fail(
            "/api/timeout", "timeout must be a number of seconds above 0 and at most 600"
        )
    return dict(api)


def _url_problem(url: str) -> str | None:
    """What makes ``url`` no URL at all (the API client checks scheme and host further)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks it: a number from 0 to 65535
    except ValueError as exc:
        return str(exc)
    if not parts.scheme or not parts.hostname:
        return "expected scheme://host/..."
    return None


LINT_KEYS = ("select", "ignore", "severity", "per-file-ignores", "unknown-members")


def _lint_settings(reader: _Reader, lint: Any) -> LintSettings:
    if not isinstance(lint, Mapping):
        raise reader.fail("/lint", "lint must be a mapping of lint settings")
    reader.known_keys(lint, "/lint", LINT_KEYS)
    places: dict[str, tuple[int, int]] = {}
    select = reader.selectors(lint.get("select", ["ALL"]), "/lint/select", places)
    ignore = reader.selectors(lint.get("ignore", []), "/lint/ignore", places)
    severities = []
    table = lint.get("severity", {})
    if not isinstance(table, Mapping):
        raise reader.fail(
            "/lint/severity", "severity must map rule codes to error, warning or info"
        )
    places["/lint/severity"] = reader.place("/lint/severity")
    for selector, level in table.items():
        where = parsing.pointer_join("/lint/severity", selector)
        places[where] = reader.place(where, at_key=True)
        severities.append((str(selector), reader.severity(level, where)))
    per_file = []
    globs = lint.get("per-file-ignores", {})
    if not isinstance(globs, Mapping):
        raise reader.fail("/lint/per-file-ignores", "per-file-ignores must map globs to codes")
    for pattern in globs:
        where = parsing.pointer_join("/lint/per-file-ignores", pattern)
        per_file.append((str(pattern), reader.selectors(globs[pattern], where, places)))
    unknown = reader.severity(lint.get("unknown-members", "warning"), "/lint/unknown-members")
    if unknown == Severity.INFO:
        raise reader.fail("/lint/unknown-members", "unknown-members must be warning or error")
    return LintSettings(
        select,
        ignore,
        tuple(severities),
        tuple(per_file),
        unknown,
        file=reader.shown,
        places=places,
    )


class _Reader:
    """Typed access to the parsed file, with errors located at the offending entry."""

    def __init__(self, shown: str, text: str):
        self.shown = shown
        self.values = parsing.yaml_positions(text)
        self.keys = parsing.yaml_key_positions(text)

    def place(self, pointer: str, at_key: bool = False) -> tuple[int, int]:
        _, line, column = parsing.nearest(self.keys if at_key else self.values, pointer)
        return line, column

    def fail(self, pointer: str, message: str, at_key: bool = False) -> ConfigError:
        return ConfigError(self.shown, *self.place(pointer, at_key), message)

    def confine(self, pointer: str, root: Path, folder: str, what: str) -> None:
        """Refuse a folder that leaves the repository (see :func:`outside_reason`)."""
        problem = outside_reason(root, folder)
        if problem is not None:
            raise self.fail(
                pointer,
                f"{what} {folder!r} {problem}; calltmpl reads and writes only inside the "
                "repository (the folder of calltmpl.yaml), links included",
            )

    def known_keys(self, data: Mapping[str, Any], base: str, known: tuple[str, ...]) -> None:
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = (
                    f"; did you mean {close[0]}?"
                    if close
                    else f"; expected one of {', '.join(known)}"
                )
                raise self.fail(parsing.pointer_join(base, key), f"unknown key {key!r}{hint}", True)

    def strings(self, value: Any, pointer: str) -> tuple[str, ...]:
        """A string or a list of non-empty strings, as a tuple."""
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            name = parsing.unescape(pointer.rsplit("/", 1)[-1])
            raise self.fail(pointer, f"{name} must be a list of non-empty strings, got {value!r}")
        for index, text in enumerate(value):
            if "\0" in text:  # no path or glob holds one; the OS refuses it
                raise self.fail(f"{pointer}/{index}", f"{text!r} holds a null character")
        return tuple(value)

    def selectors(
        self, value: Any, pointer: str, places: dict[str, tuple[int, int]]
    ) -> tuple[str, ...]:
        found = self.strings(value, pointer)
        for index in range(len(found)):
            places[f"{pointer}/{index}"] = self.place(f"{pointer}/{index}")
        return found

    def severity(self, level: Any, pointer: str) -> Severity:
        try:
            return Severity.parse(str(level))
        except ValueError as exc:
            raise self.fail(pointer, str(exc)) from None
