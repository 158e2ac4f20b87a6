"""The repository's ``calltmpl.yaml``: found, validated, resolved once into :class:`Settings`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calltmpl import parsing

CONFIG_NAME = "calltmpl.yaml"
DEFAULT_TEMPLATES = ("templates",)
DEFAULT_QUEUES = ("queues/**/*.yaml",)
DEFAULT_OUTPUT = "build"


class ConfigError(Exception):
    """An invalid ``calltmpl.yaml``, located in the file."""

    def __init__(self, file: str, line: int, column: int, message: str) -> None:
        super().__init__(f"{file}:{line}:{column}: {message}")
        self.file, self.line, self.column, self.message = file, line, column, message


@dataclass(frozen=True)
class Settings:
    """Everything the commands need to know about the repository, resolved once."""

    root: Path
    config_file: Path | None
    templates: tuple[Path, ...]
    queues: tuple[str, ...]
    output: Path


def find_config(start: Path) -> Path | None:
    """The nearest ``calltmpl.yaml`` in ``start`` or a folder above it."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def defaults(root: Path) -> Settings:
    root = root.resolve()
    return Settings(
        root=root,
        config_file=None,
        templates=tuple(root / t for t in DEFAULT_TEMPLATES),
        queues=DEFAULT_QUEUES,
        output=root / DEFAULT_OUTPUT,
    )


def load_settings(config_file: Path, shown_as: str | None = None) -> Settings:
    """Read and validate ``config_file``; raise :class:`ConfigError` naming the line at fault."""
    shown = shown_as or str(config_file)
    try:
        text = config_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(shown, 0, 0, f"cannot read the configuration: {exc}") from None
    try:
        data = parsing.load_yaml(text)
    except parsing.ParseError as exc:
        raise ConfigError(shown, exc.line, exc.column, exc.message) from None
    data = {} if data is None else data
    positions = parsing.yaml_positions(text)
    key_positions = parsing.yaml_key_positions(text)

    def fail(key: str, message: str, at_key: bool = False) -> ConfigError:
        table = key_positions if at_key else positions
        line, column = table.get(parsing.pointer_join("", key), (1, 1))
        return ConfigError(shown, line, column, message)

    if not isinstance(data, Mapping):
        raise ConfigError(shown, 1, 1, "expected a mapping of settings at the top level")
    root = config_file.resolve().parent
    known = {"templates", "queues", "output"}
    for key in data:
        if key not in known:
            raise fail(
                str(key),
                f"unknown key {key!r}; expected one of {', '.join(sorted(known))}",
                at_key=True,
            )
    templates = _string_list(data, "templates", DEFAULT_TEMPLATES, fail)
    queues = _string_list(data, "queues", DEFAULT_QUEUES, fail)
    output = data.get("output", DEFAULT_OUTPUT)
    if not isinstance(output, str) or not output.strip():
        raise fail("output", f"output must be a folder name, got {output!r}")
    return Settings(
        root=root,
        config_file=config_file.resolve(),
        templates=tuple(root / t for t in templates),
        queues=queues,
        output=root / output,
    )


def _string_list(
    data: Mapping[str, Any], key: str, default: tuple[str, ...], fail: Any
) -> tuple[str, ...]:
    value = data.get(key, list(default))
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise fail(key, f"{key} must be a list of non-empty strings, got {value!r}")
    if not value:
        raise fail(key, f"{key} must name at least one entry")
    return tuple(value)
