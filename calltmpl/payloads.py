"""Payload files: the API's JSON bodies, read as call targets to lint or push."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calltmpl import codes, parsing
from calltmpl.diagnostics import Diagnostic
from calltmpl.paths import UnreadableFile, escapes, read_text, shown_path


@dataclass(frozen=True)
class PayloadFile:
    """A call target read from a payload file: ``base`` is its pointer in the file ("/data"
    in a POST body, "/data/callTarget" in a GET answer, "" for a bare call target)."""

    file: str
    text: str
    target: dict[str, Any]
    base: str

    @property
    def is_answer(self) -> bool:
        """A GET answer is what the server holds, id and all: it is no body for a create."""
        return self.base == "/data/callTarget"


def payload_document(target: dict[str, Any]) -> str:
    """The POST body for a call target, as ``render`` prints and writes it."""
    return json.dumps({"data": target}, indent=2, ensure_ascii=False) + "\n"


def unwrap(document: Any) -> tuple[dict[str, Any], str] | None:
    """The call target in a POST body, a GET answer or bare, with its pointer in the file."""
    if not isinstance(document, dict):
        return None
    data = document.get("data")
    if isinstance(data, dict):
        inner = data.get("callTarget")
        if isinstance(inner, dict) and len(data) == 1:
            return inner, "/data/callTarget"
        return data, "/data"
    if "configuration" in document:
        return document, ""
    return None


def load_payload(path: Path, root: Path) -> PayloadFile | Diagnostic:
    """Read a payload file; raise :class:`~calltmpl.paths.UnreadableFile` (exit 2) when it
    cannot be read at all (see :func:`~calltmpl.paths.read_text`). Content that cannot be
    read (over :data:`~calltmpl.paths.MAX_JSON_BYTES`, not UTF-8) is a CT004."""
    shown = shown_path(path)
    if escapes(path, root):
        return codes.LINK_OUTSIDE.at(shown, 1, 1, "the payload file links outside the repository")
    try:
        text = read_text(path)
    except UnreadableFile as exc:
        if not exc.line:
            raise
        return codes.PAYLOAD_SYNTAX.at(shown, exc.line, exc.column, exc.reason)
    try:
        document = parsing.load_json(text)
    except parsing.ParseError as exc:
        return codes.PAYLOAD_SYNTAX.at(shown, exc.line, exc.column, exc.message)
    found = unwrap(document)
    if found is None:
        return codes.PAYLOAD_SHAPE.at(
            shown,
            1,
            1,
            'no call target found; expected {"data": {...}} (a POST body), '
            '{"data": {"callTarget": {...}}} (a GET answer) or a bare call target',
        )
    target, base = found
    return PayloadFile(shown, text, target, base)


def looks_like_payload(path: Path) -> bool:
    """Whether a .json file met in a folder or a hook's file list is a call target: it holds
    one, or it does not parse but names the API's members (so its syntax error is shown).

    A .json file that cannot be read raises :class:`~calltmpl.paths.UnreadableFile`, and
    one whose content cannot be read (too large, not UTF-8) counts as a payload, for
    :func:`load_payload` to report: it might be one, so it is never skipped in silence."""
    try:
        text = read_text(path)
    except UnreadableFile as exc:
        if not exc.line:
            raise
        return True
    try:
        return unwrap(parsing.load_json(text)) is not None
    except parsing.ParseError:
        return '"configuration"' in text or '"callTarget"' in text
