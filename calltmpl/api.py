"""The Mindful call-target API, spoken safely.

What "safely" means here, from the API's documented behaviour:

* OAuth 2.0 client credentials; a token is reused until shortly before it expires, and an
  expired one (401) is renewed once and the request repeated.
* At most ``writes_per_second`` POST/PUT (1 by default, Mindful's limit); a 429 waits for
  ``Retry-After`` or backs off at least a second.
* GET and PUT are idempotent: 5xx answers and timeouts are retried with bounded, jittered
  backoff. A POST is not: after an ambiguous failure (timeout, dropped connection, 5xx) the
  call target is looked up by name before anything is sent again, so it is never created twice.
* Secrets (the client secret, tokens) never appear in errors: every credential, and every
  access token as it arrives, is registered with the invocation's redactor
  (:func:`calltmpl.redact.current`, the one the command line prints through), and every text
  that leaves this module passes it. A remote's answer body is never quoted: errors carry the
  status, and for a refused call target only the API's own short error text. TLS verification
  is always on; plain ``http://`` is refused for any host that is not loopback.
* Answers are checked before use: a token that is no printable ASCII string, a call target
  without an integer id, or JSON too deep to read is an :class:`ApiError`, never a crash.
"""

from __future__ import annotations

import ipaddress
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from calltmpl import answers
from calltmpl.errors import AmbiguousWrite as AmbiguousWrite
from calltmpl.errors import ApiError as ApiError
from calltmpl.errors import SettingsError as SettingsError
from calltmpl.redact import MAX_SECRET, Redactor, current

DEFAULT_BASE_URL = "https://api.getmindful.com"
DEFAULT_TOKEN_URL = "https://auth.getmindful.com/oauth2/token"
TARGETS = "/v2/callback/callTargets"

TOKEN_MARGIN = 60.0
"""Seconds before its expiry at which a token is renewed rather than reused (at most a tenth
of its lifetime, for short-lived tokens)."""
ATTEMPTS = 5
"""Tries per request, counting the first; after that the error is reported."""
BACKOFF_BASE, BACKOFF_CAP = 0.5, 8.0
"""Backoff doubles from the base up to the cap, each wait jittered between half and all."""
RATE_LIMIT_FLOOR = 1.0
"""A 429 without Retry-After waits at least this long (the documented advice)."""
RETRY_AFTER_CAP = 60.0
READ_CACHE = 1.0
"""Seconds reads of call targets may lag behind writes (documented)."""


@dataclass(frozen=True)
class ApiSettings:
    base_url: str
    token_url: str
    client_id: str = field(default="", repr=False)
    client_secret: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    writes_per_second: float = 1.0
    timeout: float = 10.0


def resolve_settings(configured: Mapping[str, Any], environ: Mapping[str, str]) -> ApiSettings:
    """``calltmpl.yaml``'s ``api:`` with ``MINDFUL_API_URL``/``MINDFUL_TOKEN_URL`` over it,
    and credentials only from the environment; raise :class:`SettingsError` when unusable."""
    base_url = environ.get("MINDFUL_API_URL") or configured.get("base_url") or DEFAULT_BASE_URL
    token_url = environ.get("MINDFUL_TOKEN_URL") or configured.get("token_url") or DEFAULT_TOKEN_URL
    for name, url in (("API URL", base_url), ("token URL", token_url)):
        check_url(name, url)
    token = environ.get("MINDFUL_TOKEN", "")
    client_id = environ.get("MINDFUL_CLIENT_ID", "")
    client_secret = environ.get("MINDFUL_CLIENT_SECRET", "")
    for variable, value in (
        ("MINDFUL_TOKEN", token),
        ("MINDFUL_CLIENT_ID", client_id),
        ("MINDFUL_CLIENT_SECRET", client_secret),
    ):
        if value and not (value.isascii() and value.isprintable()):
            raise SettingsError(
                f"{variable} holds characters an HTTP header cannot carry "
                "(only printable ASCII); check how it was set"
            )
        if len(value) > MAX_SECRET:
            raise SettingsError(
                f"{variable} is longer than {MAX_SECRET} characters; check how it was set"
            )
    if not token and not (client_id and client_secret):
        raise SettingsError(
            "no credentials: set MINDFUL_CLIENT_ID and MINDFUL_CLIENT_SECRET (an Application "
            "Client of the Mindful UI), or MINDFUL_TOKEN (a bearer token)"
        )
    return ApiSettings(
        base_url.rstrip("/"),
        token_url,
        client_id,
        client_secret,
        token,
        float(configured.get("writes_per_second", 1.0)),
        float(configured.get("timeout", 10.0)),
    )


def check_url(name: str, url: str) -> None:
    """Only a well-formed https URL, or plain http to a loopback address (a local sandbox);
    never one that carries credentials (they belong in the ``MINDFUL_*`` variables)."""
    shown = _shown_url(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks it: a number from 0 to 65535
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        raise SettingsError(f"the {name} {shown} is not a valid URL: {exc}") from None
    if "@" in parts.netloc:
        raise SettingsError(
            f"the {name} {shown} carries a user name or password; put credentials in "
            "MINDFUL_CLIENT_ID and MINDFUL_CLIENT_SECRET (or MINDFUL_TOKEN) instead"
        )
    host = parts.hostname or ""
    if parts.scheme in ("http", "https") and not _valid_host(host):
        raise SettingsError(f"the {name} {shown} has no valid host name")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and _is_loopback(host):
        return
    if parts.scheme == "http":
        raise SettingsError(
            f"the {name} {shown} is plain http to a host that is not loopback; use https"
        )
    raise SettingsError(f"the {name} {shown} is not an https:// URL")


def _shown_url(url: str) -> str:
    """The URL quoted for an error: cut short, and without a user name or password."""
    scheme, separator, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if separator and "@" in authority:
        rest = "[redacted]@" + authority.rpartition("@")[2] + slash + path
    shown = repr(scheme + separator + rest)
    return shown if len(shown) <= 200 else shown[:197] + "..."


def _valid_host(host: str) -> bool:
    """A host name or address with no space, control character or URL delimiter in it."""
    return bool(host) and all(
        c.isprintable() and not c.isspace() and c not in '<>"{}|\\^`' for c in host
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Client:
    """One authenticated session with the API.

    ``sleep``, ``clock`` and ``jitter`` are the client's only contacts with time and chance,
    so tests can observe the waits. ``redactor`` (by default the invocation's,
    :func:`calltmpl.redact.current`) learns the credentials and every token obtained.
    """

    def __init__(
        self,
        settings: ApiSettings,
        *,
        redactor: Redactor | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        log: Callable[[str], None] | None = None,
    ):
        self.settings = settings
        self.redactor = current() if redactor is None else redactor
        self.redactor.add_basic(settings.client_id, settings.client_secret)
        self.redactor.add(settings.token)
        self._sleep, self._clock, self._jitter = sleep, clock, jitter
        self._log = log
        # A local sandbox is reached directly, never through a proxy from the environment.
        loopback = _is_loopback(urlsplit(settings.base_url).hostname or "")
        self._http = httpx.Client(
            timeout=settings.timeout, follow_redirects=False, trust_env=not loopback
        )
        self._token = settings.token
        self._renew_at = float("inf") if settings.token else 0.0
        self._last_write = -float("inf")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the endpoints ---------------------------------------------------------------------

    def list_targets(self) -> list[dict[str, Any]]:
        answer = self._request("GET", TARGETS)
        items = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            shape = answers.shape(answer)
            raise ApiError(f"GET {TARGETS} answered {shape}, not a list under data")
        return [
            answers.target(
                item.get("callTarget", item) if isinstance(item, dict) else item, TARGETS
            )
            for item in items
        ]

    def get_target(self, target_id: int) -> dict[str, Any] | None:
        path = f"{TARGETS}/{target_id}"
        answer = self._request("GET", path, missing_ok=True)
        if answer is answers.MISSING:
            return None
        data = answer.get("data") if isinstance(answer, dict) else None
        return answers.target(data.get("callTarget") if isinstance(data, dict) else data, path)

    def find_by_name(self, name: str) -> dict[str, Any] | None:
        matches = [t for t in self.list_targets() if t.get("name") == name]
        if len(matches) > 1:
            ids = ", ".join(str(t.get("id")) for t in matches)
            raise ApiError(f"{len(matches)} call targets are named {name!r} (ids {ids})")
        return matches[0] if matches else None

    def create_target(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST, never blindly repeated: after an ambiguous failure the name is looked up once
        the read cache has caught up, and only a target that is surely missing is created
        again. A POST that timed out may still be committed later, so it is never sent
        again: the name is watched for a while, and if it has not appeared the outcome is
        reported as unknown (the next plan finds the target by name if it did arrive)."""
        name = str(body.get("name"))
        for attempt in range(ATTEMPTS):
            try:
                answer = self._request("POST", TARGETS, {"data": dict(body)})
                return answers.target(answers.data(answer), TARGETS)
            except AmbiguousWrite as exc:
                found = self._appeared(name, exc.in_flight)
                if found is not None:
                    return found
                if exc.in_flight:
                    raise ApiError(
                        f"creating {name!r} timed out and it has not appeared; it "
                        "may still arrive, so it was not sent again: run plan "
                        "later to see"
                    ) from None
                self._backoff(attempt)
        raise ApiError(f"could not create {name!r} after {ATTEMPTS} attempts")

    def _appeared(self, name: str, in_flight: bool) -> dict[str, Any] | None:
        """The call target named ``name`` once reads can show it; watched for as long as a
        request could still be running when ``in_flight``."""
        waited, patience = 0.0, self.settings.timeout * 2 if in_flight else 0.0
        while True:
            pause = READ_CACHE + 0.1 if waited == 0 else min(4.0, waited)
            self._sleep(pause)
            waited += pause
            found = self.find_by_name(name)
            if found is not None or waited >= patience:
                return found

    def update_target(self, target_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """PUT the whole call target (whether PUT merges or replaces is undocumented)."""
        path = f"{TARGETS}/{target_id}"
        return answers.target(
            answers.data(self._request("PUT", path, {"data": {**body, "id": target_id}})), path
        )

    # --- transport -------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, body: Any = None, *, missing_ok: bool = False
    ) -> Any:
        write = method in ("POST", "PUT")
        renewed = False
        last = "no answer"
        for attempt in range(ATTEMPTS):
            if write:
                self._pace()
            try:
                response = self._send(method, path, body)
            except httpx.TimeoutException as exc:
                last = f"timed out ({answers.problem(exc, self.redactor)})"
                if method == "POST":
                    raise AmbiguousWrite(f"{method} {path} {last}", in_flight=True) from None
                self._backoff(attempt)
                continue
            except httpx.TransportError as exc:
                last = f"failed: {answers.problem(exc, self.redactor)}"
                if method == "POST":
                    raise AmbiguousWrite(f"{method} {path} {last}") from None
                self._backoff(attempt)
                continue
            status = response.status_code
            if status == 401 and not renewed and not self.settings.token:
                renewed, self._renew_at = True, 0.0
                continue
            if status == 429:
                last = answers.failure(method, path, response, self.redactor)
                self._sleep(self._retry_after(response, attempt))
                continue
            if status >= 500:
                last = answers.failure(method, path, response, self.redactor)
                if method == "POST":
                    raise AmbiguousWrite(last, status, in_flight=status == 504)
                self._backoff(attempt)
                continue
            if status == 404 and missing_ok:
                return answers.MISSING
            if not 200 <= status < 300:
                raise ApiError(answers.failure(method, path, response, self.redactor), status)
            return answers.json(response, f"{method} {path}")
        raise ApiError(f"{method} {path} still failing after {ATTEMPTS} attempts; last: {last}")

    def _send(self, method: str, path: str, body: Any) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self._bearer()}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        if method in ("POST", "PUT"):
            self._last_write = self._clock()
        started = self._clock()
        response = self._http.request(
            method, self.settings.base_url + path, headers=headers, json=body
        )
        if method in ("POST", "PUT"):
            # The server counts a write when it has handled it: pace from its answer too.
            self._last_write = self._clock()
        self._note(method, path, response.status_code, started)
        return response

    def _note(self, method: str, url: str, status: int, started: float) -> None:
        """One line per request for ``--verbose``: method, URL, status and time, never a
        header or a body (they carry the credentials)."""
        if self._log is not None:
            elapsed = (self._clock() - started) * 1000
            self._log(self.redactor.redact(f"{method} {url} -> {status} ({elapsed:.0f} ms)"))

    def _bearer(self) -> str:
        if self._token and self._clock() < self._renew_at:
            return self._token
        if self.settings.token:
            return self.settings.token
        started = self._clock()
        try:
            response = self._http.post(
                self.settings.token_url,
                auth=(self.settings.client_id, self.settings.client_secret),
                data={"grant_type": "client_credentials"},
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            problem = answers.problem(exc, self.redactor)
            raise ApiError(f"token request failed: {problem}") from None
        self._note("POST", self.settings.token_url, response.status_code, started)
        if response.status_code != 200:
            raise ApiError(
                answers.token_failure(response, self.settings.token_url, self.redactor),
                response.status_code,
            )
        token, lifetime = answers.token(response, self.redactor)
        margin = min(TOKEN_MARGIN, lifetime / 10)
        self._token, self._renew_at = token, self._clock() + lifetime - margin
        return token

    def _pace(self) -> None:
        gap = 1.0 / self.settings.writes_per_second - (self._clock() - self._last_write)
        if gap > 0:
            self._sleep(gap)

    def _backoff(self, attempt: int) -> None:
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)
        self._sleep(ceiling * (0.5 + self._jitter() / 2))

    def _retry_after(self, response: httpx.Response, attempt: int) -> float:
        value = response.headers.get("Retry-After", "")
        try:
            seconds = float(value)
        except ValueError:
            try:
                seconds = parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):
                seconds = RATE_LIMIT_FLOOR * 2**attempt * (0.5 + self._jitter())
        return min(RETRY_AFTER_CAP, max(RATE_LIMIT_FLOOR, seconds))
