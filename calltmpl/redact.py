"""Credentials out of every text: one redactor that knows each secret in every form it can take.

A secret leaks in more shapes than its plain text: an echoed ``Authorization: Basic`` header
carries ``base64(client_id:secret)``, an error body may hold it JSON-escaped, percent-encoded or
cut short, and an exception's repr escapes its backslashes and quotes. So :meth:`Redactor.add`
derives every such form (:func:`forms`) and registers every :data:`WINDOW`-character piece of
each; :meth:`Redactor.redact` replaces any run of text covered by such pieces with
:data:`MARK`. Matching is a sliding scan with set lookups: linear in the text, whatever the
secrets are.

What is a credential: ``MINDFUL_CLIENT_SECRET``, ``MINDFUL_TOKEN`` and every access token the
API client obtains. ``MINDFUL_CLIENT_ID`` is not secret on its own (it names the client, and a
short one would blank out ordinary words), so it is registered only inside the Basic form,
``base64(client_id:secret)``.

The command line activates one redactor per invocation (:func:`active`) and prints only through
it; the API client (:class:`calltmpl.api.Client`) registers its tokens with :func:`current`, the
same redactor. This module never prints.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import quote, quote_plus

__all__ = ["MARK", "MAX_SECRET", "WINDOW", "Redactor", "active", "current", "forms"]

MARK = "[redacted]"
WINDOW = 8
"""Any piece of a secret's form this long is redacted: a secret cut short still is."""
MAX_SECRET = 8192
"""Longer credentials are refused (settings: exit 2; an access token: exit 3); only this
many characters of one are registered, so the redactor's memory stays bounded."""


def forms(secret: str) -> set[str]:
    """Every text form of ``secret`` this module knows: plain, JSON-escaped (with and without
    ``\\/``, and twice), as a Python repr escapes it, HTML-escaped, percent-encoded (``quote``
    with and without ``/`` safe, ``quote_plus``, twice, upper- and lower-case hex), as hex
    digits, and base64
    (standard and URL-safe, at each of the three byte alignments it can have inside a longer
    encoded text)."""
    found = {secret, html.escape(secret)}
    for ensure_ascii in (True, False):
        escaped = json.dumps(secret, ensure_ascii=ensure_ascii)[1:-1]
        found |= {escaped, escaped.replace("/", "\\/"), json.dumps(escaped)[1:-1]}
    backslashed = secret.replace("\\", "\\\\")
    found |= {
        repr(secret)[1:-1],
        backslashed.replace("'", "\\'"),
        backslashed.replace('"', '\\"'),
    }
    for encoded in (quote(secret, safe=""), quote(secret), quote_plus(secret)):
        found |= {encoded, _lower_hex(encoded), quote(encoded, safe="")}
    found |= _base64_forms(_bytes(secret))
    found |= {_bytes(secret).hex(), _bytes(secret).hex().upper()}
    return {form for form in found if form}


def _basic_forms(client_id: str, secret: str) -> set[str]:
    """The HTTP Basic credentials ``base64(client_id:secret)``, also with both parts
    form-encoded first (as RFC 6749 2.3.1 asks)."""
    found: set[str] = set()
    for pair in (f"{client_id}:{secret}", f"{quote_plus(client_id)}:{quote_plus(secret)}"):
        encoded = base64.b64encode(_bytes(pair)).decode("ascii")
        found |= {encoded, encoded.translate(_URLSAFE)}
    return found


_URLSAFE = str.maketrans("+/", "-_")


def _base64_forms(data: bytes) -> set[str]:
    """``data`` base64-encoded on its own, and the part of its encoding that is the same
    wherever it sits inside a longer encoded text (one form per alignment: the first and last
    four characters also depend on the bytes around it)."""
    found: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode("ascii")
        if offset == 0:
            texts = {encoded, encoded.rstrip("=")}
        else:
            stable = encoded[4:-4]
            texts = {stable} if len(stable) >= WINDOW else set()
        found |= texts | {text.translate(_URLSAFE) for text in texts}
    return found


def _bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _lower_hex(encoded: str) -> str:
    """Percent-encoding with lower-case hex digits (``%2f`` for ``%2F``)."""
    parts = encoded.split("%")
    return parts[0] + "".join("%" + p[:2].lower() + p[2:] for p in parts[1:])


class Redactor:
    """The credentials seen so far, each in every form, and the text without them."""

    def __init__(self) -> None:
        self._needles: dict[int, set[str]] = {}
        self._known: set[tuple[str, ...]] = set()

    def __bool__(self) -> bool:
        return bool(self._needles)

    def add(self, secret: str | None) -> None:
        """Register a credential (nothing for an empty one)."""
        if secret and ("", secret) not in self._known:
            self._known.add(("", secret))
            self._register(forms(secret[:MAX_SECRET]))

    def add_basic(self, client_id: str | None, secret: str | None) -> None:
        """Register the HTTP Basic form of a client's credentials, and the secret."""
        self.add(secret)
        if client_id and secret and (client_id, secret) not in self._known:
            self._known.add((client_id, secret))
            self._register(_basic_forms(client_id[:MAX_SECRET], secret[:MAX_SECRET]))

    def add_environment(self, environ: Mapping[str, str]) -> None:
        """Register the credentials the ``MINDFUL_*`` variables hold."""
        self.add(environ.get("MINDFUL_TOKEN"))
        self.add_basic(environ.get("MINDFUL_CLIENT_ID"), environ.get("MINDFUL_CLIENT_SECRET"))

    def _register(self, texts: set[str]) -> None:
        for text in texts:
            if len(text) <= WINDOW:
                self._needles.setdefault(len(text), set()).add(text)
                continue
            windows = self._needles.setdefault(WINDOW, set())
            windows.update(text[i : i + WINDOW] for i in range(len(text) - WINDOW + 1))

    def redact(self, text: str) -> str:
        """``text`` with every run covered by a known piece replaced by :data:`MARK`."""
        if not self._needles or not text:
            return text
        spans = sorted(self._spans(text))
        if not spans:
            return text
        pieces: list[str] = []
        kept, start, end = 0, spans[0][0], spans[0][1]
        for begin, finish in spans[1:]:
            if begin > end:
                pieces += [text[kept:start], MARK]
                kept, start = end, begin
            end = max(end, finish)
        pieces += [text[kept:start], MARK, text[end:]]
        return "".join(pieces)

    def _spans(self, text: str) -> Iterator[tuple[int, int]]:
        for length, needles in list(self._needles.items()):
            for index in range(len(text) - length + 1):
                if text[index : index + length] in needles:
                    yield index, index + length


_ACTIVE: ContextVar[Redactor | None] = ContextVar("calltmpl_redactor", default=None)


def current() -> Redactor:
    """The redactor of this invocation (a fresh one, kept for this context, if none is)."""
    redactor = _ACTIVE.get()
    if redactor is None:
        redactor = Redactor()
        _ACTIVE.set(redactor)
    return redactor


@contextmanager
def active(redactor: Redactor) -> Iterator[Redactor]:
    """Make ``redactor`` :func:`current` for the duration of a command."""
    token = _ACTIVE.set(redactor)
    try:
        yield redactor
    finally:
        _ACTIVE.reset(token)
