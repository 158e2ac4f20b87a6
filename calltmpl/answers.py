"""What the Mindful API answers, checked before the client uses it and described without
quoting it.

A remote's body may echo the credentials (an ``Authorization`` header, the form it was sent),
so no body is ever quoted: an error carries the status and its standard reason phrase; for a
token endpoint only an RFC 6749 error code from a fixed list; for a request the API refused
(a 4xx other than an authentication failure) only the API's own short error text, redacted
before it is cut short. Answers of the wrong shape (a call target without an integer id, a
token that is no printable ASCII string, JSON nested too deeply to read) are
remote errors (:class:`~calltmpl.errors.ApiError`, exit 3), never crashes.
"""

from __future__ import annotations

import math
from http import HTTPStatus
from typing import Any

import httpx

from calltmpl.errors import ApiError
from calltmpl.redact import MAX_SECRET, Redactor

MISSING: Any = object()
"""What :meth:`calltmpl.api.Client._request` answers for a 404 that ``missing_ok`` allows."""

SHOWN = 160
"""The most characters of a remote's own error text an error message carries."""

OAUTH_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    }
)
"""The error codes of RFC 6749 5.2: the only part of a token endpoint's body ever shown."""


# --- shapes ----------------------------------------------------------------------------------


def json(response: httpx.Response, where: str) -> Any:
    """The JSON of an answer; :class:`ApiError` when it is none, or nests too deeply."""
    status = response.status_code
    try:
        return response.json()
    except RecursionError:
        raise ApiError(f"{where} answered {status} with JSON nested too deeply", status) from None
    except ValueError:
        raise ApiError(f"{where} answered {status} without JSON", status) from None


def data(answer: Any) -> Any:
    """What an answer holds under ``data``, or None."""
    return answer.get("data") if isinstance(answer, dict) else None


def target(value: Any, path: str) -> dict[str, Any]:
    """``value`` if it is a call target: an object with an integer id, and a string name."""
    if not isinstance(value, dict):
        raise ApiError(f"{path} answered {shape(value)} where a call target belongs")
    ident = value.get("id")
    if isinstance(ident, bool) or not isinstance(ident, int):
        raise ApiError(f"{path} answered a call target whose id is {shape(ident)}, not an integer")
    if not isinstance(value.get("name", ""), str):
        raise ApiError(f"{path} answered call target {ident} with a name that is no string")
    return value


def shape(value: Any) -> str:
    """What a JSON value is, without quoting it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def seconds(value: Any) -> float | None:
    """A positive, finite number of seconds (a number or a numeric string), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def reason(status: int) -> str:
    """The standard reason phrase of a status (never the one a server sent)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


# --- the token endpoint ----------------------------------------------------------------------


def token(response: httpx.Response, redactor: Redactor) -> tuple[str, float]:
    """The access token of a 200 answer and its lifetime in seconds. The token is registered
    with ``redactor`` before anything else is done with it, even when it is refused."""
    answer = json(response, "the token endpoint")
    value = answer.get("access_token") if isinstance(answer, dict) else None
    if isinstance(value, str):
        redactor.add(value)
    if not isinstance(value, str) or not value:
        raise ApiError(f"the token endpoint answered {shape(value)} as access_token")
    if len(value) > MAX_SECRET or not (value.isascii() and value.isprintable()) or " " in value:
        raise ApiError(
            "the token endpoint answered an access_token an HTTP header cannot carry "
            f"(it must be printable ASCII without spaces, at most {MAX_SECRET} characters)"
        )
    lifetime = answer.get("expires_in", 3600)
    number = seconds(lifetime)
    if number is None:
        raise ApiError(
            f"the token endpoint answered {shape(lifetime)} as expires_in, "
            "not a positive number of seconds"
        )
    return value, number


def token_failure(response: httpx.Response, url: str, redactor: Redactor) -> str:
    """A token endpoint's refusal: status, reason and a known OAuth error code only."""
    status = response.status_code
    text = f"POST {url} answered {status} {reason(status)}".rstrip()
    try:
        code = response.json().get("error")
    except (ValueError, RecursionError, AttributeError):
        code = None
    if isinstance(code, str) and code in OAUTH_ERRORS:
        text += f" ({code})"
    if status == 401 or code == "invalid_client":
        text += ": check MINDFUL_CLIENT_ID and MINDFUL_CLIENT_SECRET"
    return redactor.redact(text)


# --- the API ---------------------------------------------------------------------------------


def failure(method: str, path: str, response: httpx.Response, redactor: Redactor) -> str:
    """Status and reason; for a refusal of the request itself (a 4xx other than an
    authentication failure) also the API's own error text, short and redacted."""
    status = response.status_code
    text = f"{method} {path} answered {status} {reason(status)}".rstrip()
    if 400 <= status < 500 and status not in (401, 403, 407):
        detail = _refusal(response, redactor)
        if detail:
            text += f": {detail}"
    return redactor.redact(text)


def _refusal(response: httpx.Response, redactor: Redactor) -> str:
    """The string under ``error``, ``message`` or ``detail`` of a JSON answer, if any."""
    try:
        answer = response.json()
    except (ValueError, RecursionError):
        return ""
    for key in ("error", "message", "detail") if isinstance(answer, dict) else ():
        value = answer.get(key)
        if isinstance(value, str) and value.strip():
            return short(value, redactor)
    return ""


def problem(exc: BaseException, redactor: Redactor) -> str:
    """A transport failure: the exception's type and its text, short and redacted."""
    text = short(str(exc), redactor)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def short(text: str, redactor: Redactor) -> str:
    """Printable, redacted, then at most :data:`SHOWN` characters: redacted before it is cut,
    so no piece of a secret too short to recognise is left at the cut."""
    text = redactor.redact(text[: SHOWN * 20])
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."
