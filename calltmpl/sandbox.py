"""A stand-in Mindful server on 127.0.0.1, for tests and for rehearsing a push.

It speaks the call-target API as ``call-targets.md`` section 1 describes it (OAuth client
credentials, the envelopes, 201 on create) and models the behaviours a careful client must
survive: the write rate limit (429), reads served stale from a cache, expiring tokens, and
faults injected on demand through ``/_sandbox/`` (5xx, dropped connections, a write that is
applied but never answered). Only the standard library is used, so the sandbox runs wherever
calltmpl does. It binds only the loopback address: the control endpoints have no auth.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import math
import os
import re
import secrets
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

__all__ = ["FAULT_KINDS", "Sandbox", "serve"]

TARGETS = "/v2/callback/callTargets"
FAULT_KINDS = ("429", "500", "502", "503", "slow", "drop", "drop-after-commit", "expire-token")
FAULT_METHODS = ("GET", "POST", "PUT", "*")
_STATUS_TEXT = {
    "429": "rate limited",
    "500": "internal server error",
    "502": "bad gateway",
    "503": "service unavailable",
}
_TARGET_PATH = re.compile(rf"{TARGETS}(?:/([0-9]+))?")
_EDIT_PATH = re.compile(r"/_sandbox/targets/([0-9]+)")
_LIST = -1
"""Read-cache key of the list of call targets (target ids are positive)."""

Json = dict[str, Any]


class _Reply(NamedTuple):
    status: int
    body: Any
    headers: tuple[tuple[str, str], ...] = ()


class _Refusal(Exception):
    """Carries an error answer out of deep inside request handling."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        headers = extra.pop("headers", ())
        self.reply = _Reply(status, {"error": message, **extra}, headers)


class _Fields(NamedTuple):
    """What a create or replace may set; everything else in ``data`` is ignored."""

    name: str
    configuration: Json
    phone_numbers: dict[str, str]


@dataclass(frozen=True)
class _Fault:
    method: str
    path: str
    kind: str
    times: int
    retry_after: float | None
    delay: float

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and path.startswith(self.path)


def _fault(
    method: str, kind: str, times: int, retry_after: float | None, delay: float, path: str
) -> _Fault:
    """Check a fault before it is queued, so a typo fails the test that made it, at once."""
    if kind not in FAULT_KINDS:
        raise ValueError(f"fault kind {kind!r} is not one of {', '.join(FAULT_KINDS)}")
    if method.upper() not in FAULT_METHODS:
        raise ValueError(f"fault method {method!r} is not one of {', '.join(FAULT_METHODS)}")
    if type(times) is not int or times < 1:
        raise ValueError(f"fault times {times!r} is not a positive integer")
    if retry_after is not None and not _non_negative(retry_after):
        raise ValueError(f"fault retry_after {retry_after!r} is not null or a number >= 0")
    if not _non_negative(delay):
        raise ValueError(f"fault delay {delay!r} is not a number >= 0")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"fault path {path!r} is not a path starting with /")
    return _Fault(method.upper(), path, kind, times, retry_after, float(delay))


def _non_negative(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < math.inf


def _seconds(value: float) -> str:
    """A header value in whole seconds when it is whole, so common clients can parse it."""
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass
class _Queued:
    fault: _Fault
    left: int


@dataclass(frozen=True)
class _Settings:
    client_id: str
    client_secret: str
    writes_per_second: float
    read_cache_seconds: float
    token_lifetime: float


class _Store:
    """All mutable state, behind one lock; every public method takes the lock itself."""

    def __init__(self, settings: _Settings, state_file: Path | None) -> None:
        self.settings = settings
        self.state_file = state_file
        self.lock = threading.Lock()
        self.targets, self.next_id = _load(state_file) if state_file else ({}, 1)
        self.tokens: dict[str, float] = {}
        self.issued: list[str] = []  # every token ever issued, for tests that look for leaks
        self.faults: list[_Queued] = []
        self.log: list[Json] = []
        self.last_write: float | None = None
        self.snapshots: dict[int, tuple[float, Any]] = {}

    # --- tokens ---

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self.lock:
            self.tokens = {t: exp for t, exp in self.tokens.items() if exp > now}
            self.tokens[token] = now + self.settings.token_lifetime
            self.issued.append(token)
        return token

    def token_valid(self, token: str | None) -> bool:
        with self.lock:
            expiry = self.tokens.get(token or "")
        return expiry is not None and time.monotonic() < expiry

    def expire_token(self, token: str | None) -> None:
        with self.lock:
            if token in self.tokens:
                self.tokens[token] = -math.inf

    # --- faults and the request log ---

    def add_fault(self, fault: _Fault) -> None:
        with self.lock:
            self.faults.append(_Queued(fault, fault.times))

    def take_fault(self, method: str, path: str) -> _Fault | None:
        with self.lock:
            for queued in self.faults:
                if queued.fault.matches(method, path):
                    queued.left -= 1
                    if queued.left == 0:
                        self.faults.remove(queued)
                    return queued.fault
        return None

    def record(self, method: str, path: str, status: int | None, started: float) -> None:
        with self.lock:
            self.log.append({"method": method, "path": path, "status": status, "time": started})

    def requests(self) -> list[Json]:
        with self.lock:
            return [dict(entry) for entry in self.log]

    def reset(self) -> None:
        with self.lock:
            self.faults.clear()
            self.log.clear()

    # --- call targets ---

    def all_targets(self) -> list[Json]:
        with self.lock:
            return self._copy_all()

    def _copy_all(self) -> list[Json]:
        return [copy.deepcopy(self.targets[i]) for i in sorted(self.targets)]

    def read(self, target_id: int) -> Any:
        """The target (or ``_LIST``: all targets) as a snapshot up to ``read_cache_seconds``
        old, the way Mindful's read cache may answer right after a write."""
        now = time.monotonic()
        with self.lock:
            taken = self.snapshots.get(target_id)
            if taken is not None and now - taken[0] < self.settings.read_cache_seconds:
                return taken[1]
            if target_id == _LIST:
                fresh: Any = self._copy_all()
            else:
                fresh = copy.deepcopy(self.targets.get(target_id))
            self.snapshots[target_id] = (now, fresh)
            return fresh

    def create(self, fields: _Fields) -> Json:
        with self.lock:
            self._admit_write()
            target = {"id": self.next_id, **_stored(fields)}
            self.targets[self.next_id] = target
            self.next_id += 1
            return self._accepted(target)

    def replace(self, target_id: int, fields: _Fields) -> Json:
        with self.lock:
            self._admit_write()
            if target_id not in self.targets:
                raise _Refusal(404, "not found")
            target = {"id": target_id, **_stored(fields)}
            self.targets[target_id] = target
            return self._accepted(target)

    def edit(self, target_id: int, changes: Json) -> Json:
        """A change made in the Mindful UI: immediate, not rate limited, not cached."""
        with self.lock:
            target = self.targets[target_id]
            target["configuration"].update(copy.deepcopy(changes))
            self.snapshots.pop(target_id, None)
            self.snapshots.pop(_LIST, None)
            self._save()
            return copy.deepcopy(target)

    def _admit_write(self) -> None:
        """Refuse a write that comes sooner than ``1 / writes_per_second`` after the last
        accepted one; a refused write does not count."""
        if self.last_write is None:
            return
        wait = 1.0 / self.settings.writes_per_second - (time.monotonic() - self.last_write)
        if wait > 0:
            retry = (("Retry-After", str(max(1, math.ceil(wait)))),)
            raise _Refusal(429, "rate limited", headers=retry)

    def _accepted(self, target: Json) -> Json:
        self.last_write = time.monotonic()
        self._save()
        return copy.deepcopy(target)

    def _save(self) -> None:
        """Write the whole state to a temporary file beside the state file, then rename it
        over, so a crash never leaves half a file."""
        if self.state_file is None:
            return
        state = {"next_id": self.next_id, "targets": self._copy_all()}
        folder = self.state_file.parent
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{self.state_file.name}.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(state, out, indent=2)
                out.write("\n")
            os.replace(temporary, self.state_file)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _stored(fields: _Fields) -> Json:
    return {
        "name": fields.name,
        "configuration": copy.deepcopy(fields.configuration),
        "phoneNumbers": dict(fields.phone_numbers),
    }


def _load(path: Path) -> tuple[dict[int, Json], int]:
    """Targets and the next id from a state file; a missing file is an empty sandbox."""
    if not path.exists():
        return {}, 1
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        targets: dict[int, Json] = {}
        for item in state["targets"]:
            target_id = int(item["id"])
            if target_id < 1:
                raise ValueError(f"id {target_id} is not a positive integer")
            targets[target_id] = {
                "id": target_id,
                "name": str(item["name"]),
                "configuration": dict(item.get("configuration") or {}),
                "phoneNumbers": dict(item.get("phoneNumbers") or {}),
            }
        next_id = max([int(state.get("next_id", 1)), *(i + 1 for i in targets)])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path} is not a sandbox state file: {exc}") from None
    return targets, next_id


def _fields(body: Any, target_id: int | None) -> _Fields:
    """Validate a create (``target_id`` None) or replace body; refuse with the field named."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise _Refusal(400, "data is required: an object", field="data")
    if "id" in data and target_id is None:
        raise _Refusal(400, "data.id must not be sent on create", field="data.id")
    if "id" in data and (type(data["id"]) is not int or data["id"] != target_id):
        raise _Refusal(400, f"data.id must equal the id in the path ({target_id})", field="data.id")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise _Refusal(400, "data.name is required: a non-empty string", field="data.name")
    configuration = data.get("configuration")
    if not isinstance(configuration, dict):
        raise _Refusal(400, "data.configuration is required: an object", field="data.configuration")
    numbers = data.get("phoneNumbers", {})
    if not isinstance(numbers, dict) or not all(isinstance(v, str) for v in numbers.values()):
        message = "data.phoneNumbers must be an object of string to string"
        raise _Refusal(400, message, field="data.phoneNumbers")
    return _Fields(name, configuration, numbers)


class _Server(ThreadingHTTPServer):
    """Knows its store, and its open connections so that stop() can end idle keep-alives."""

    daemon_threads = True
    request_queue_size = 128  # the default 5 resets clients that connect all at once

    def __init__(self, port: int, store: _Store) -> None:
        self.store = store
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        try:
            super().finish_request(request, client_address)
        finally:
            with self.connections_lock:
                self.connections.discard(request)

    def close_connections(self) -> None:
        with self.connections_lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):  # the client may have hung up already
                    connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up is normal traffic here, not an error worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """One request: faults first, then the API or the control endpoints."""

    protocol_version = "HTTP/1.1"
    server_version = "calltmpl-sandbox"
    sys_version = ""

    @property
    def store(self) -> _Store:
        server = self.server
        assert isinstance(server, _Server)
        return server.store

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and rehearsals read the request log, not stderr."""

    def _dispatch(self) -> None:
        started = time.time()
        path = urlsplit(self.path).path
        try:
            body = self._read_body()
        except _Refusal as refusal:
            self.close_connection = True
            self._send(refusal.reply)
            return
        if path.startswith("/_sandbox/"):
            self._send(self._answer(lambda: self._control(path, body)))
            return
        reply = self._with_fault(self.store.take_fault(self.command, path), path, body)
        self.store.record(self.command, path, reply.status if reply else None, started)
        if reply is None:
            self.close_connection = True
        else:
            self._send(reply)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise _Refusal(411, "send Content-Length, not a chunked body")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            raise _Refusal(400, "Content-Length is not a non-negative integer")
        return self.rfile.read(length) if length else b""

    def _with_fault(self, fault: _Fault | None, path: str, body: bytes) -> _Reply | None:
        """The answer to send, or None to close the connection without one."""
        kind = fault.kind if fault else ""
        if fault and kind in _STATUS_TEXT:
            return _status_fault(fault)
        if kind == "drop":
            return None
        if kind == "expire-token":
            self.store.expire_token(self._bearer())
            return _invalid_token()
        if fault and kind == "slow":
            time.sleep(fault.delay)
        reply = self._answer(lambda: self._api(path, body))
        return None if kind == "drop-after-commit" else reply

    def _answer(self, handle: Callable[[], _Reply]) -> _Reply:
        try:
            return handle()
        except _Refusal as refusal:
            return refusal.reply
        except Exception as exc:  # a sandbox bug: answer it, so the test shows it
            return _Reply(500, {"error": "sandbox failure", "detail": repr(exc)})

    def _api(self, path: str, body: bytes) -> _Reply:
        if path == "/oauth2/token":
            _allow(self.command, "POST")
            return self._token(body)
        if not path.startswith("/v2/"):
            raise _Refusal(404, "not found")
        if not self.store.token_valid(self._bearer()):
            return _invalid_token()
        found = _TARGET_PATH.fullmatch(path)
        if found is None:
            raise _Refusal(404, "not found")
        if found.group(1) is None:
            return self._collection(body)
        return self._item(int(found.group(1)), body)

    def _collection(self, body: bytes) -> _Reply:
        _allow(self.command, "GET", "POST")
        if self.command == "GET":
            return _Reply(200, {"data": self.store.read(_LIST)})
        fields = _fields(self._json(body), None)
        return _Reply(201, {"data": self.store.create(fields)})

    def _item(self, target_id: int, body: bytes) -> _Reply:
        _allow(self.command, "GET", "PUT")
        if self.command == "GET":
            target = self.store.read(target_id)
            if target is None:
                raise _Refusal(404, "not found")
            return _Reply(200, {"data": {"callTarget": target}})
        fields = _fields(self._json(body), target_id)
        return _Reply(200, {"data": self.store.replace(target_id, fields)})

    def _token(self, body: bytes) -> _Reply:
        """OAuth 2.0 client credentials (RFC 6749 4.4): the client is checked first."""
        client = self._basic_auth()
        expected = (self.store.settings.client_id, self.store.settings.client_secret)
        if client is None or not _same(client, expected):
            basic = (("WWW-Authenticate", 'Basic realm="sandbox"'),)
            return _Reply(401, {"error": "invalid_client"}, basic)
        form = parse_qs(body.decode("utf-8", "replace"))
        if form.get("grant_type") != ["client_credentials"]:
            return _Reply(400, {"error": "unsupported_grant_type"})
        lifetime = self.store.settings.token_lifetime
        answer = {
            "access_token": self.store.issue_token(),
            "token_type": "Bearer",
            "expires_in": int(lifetime) if lifetime.is_integer() else lifetime,
        }
        return _Reply(200, answer, (("Cache-Control", "no-store"),))

    def _basic_auth(self) -> tuple[str, str] | None:
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except ValueError:
            return None
        client_id, colon, client_secret = decoded.partition(":")
        return (client_id, client_secret) if colon else None

    def _bearer(self) -> str | None:
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None

    def _json(self, body: bytes) -> Any:
        media = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if body and media != "application/json":
            raise _Refusal(415, "Content-Type must be application/json")
        return _parse(body)

    def _control(self, path: str, body: bytes) -> _Reply:
        """The test-only endpoints: no auth, never logged, never faulted."""
        if path == "/_sandbox/faults":
            _allow(self.command, "POST")
            fault = _fault_from(_parse(body))
            self.store.add_fault(fault)
            return _Reply(201, {"fault": asdict(fault)})
        if path == "/_sandbox/state":
            _allow(self.command, "GET")
            state = {"targets": self.store.all_targets(), "requests": self.store.requests()}
            return _Reply(200, state)
        if path == "/_sandbox/reset":
            _allow(self.command, "POST")
            self.store.reset()
            return _Reply(200, {"reset": True})
        found = _EDIT_PATH.fullmatch(path)
        if found is None:
            raise _Refusal(404, "not found")
        _allow(self.command, "PATCH")
        return _Reply(200, {"data": _edit(self.store, int(found.group(1)), _parse(body))})

    def _send(self, reply: _Reply) -> None:
        data = json.dumps(reply.body).encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise _Refusal(
            405, f"method {method} not allowed", headers=(("Allow", ", ".join(allowed)),)
        )


def _status_fault(fault: _Fault) -> _Reply:
    """An injected error answer; Retry-After only when the fault names one, since Mindful
    does not promise it."""
    if fault.retry_after is None:
        return _Reply(int(fault.kind), {"error": _STATUS_TEXT[fault.kind]})
    wait = (("Retry-After", _seconds(fault.retry_after)),)
    return _Reply(int(fault.kind), {"error": _STATUS_TEXT[fault.kind]}, wait)


def _invalid_token() -> _Reply:
    return _Reply(401, {"error": "invalid_token"}, (("WWW-Authenticate", "Bearer"),))


def _same(given: tuple[str, str], expected: tuple[str, str]) -> bool:
    """Both parts compared in constant time, without stopping at the first mismatch."""
    same_id = secrets.compare_digest(given[0].encode(), expected[0].encode())
    same_secret = secrets.compare_digest(given[1].encode(), expected[1].encode())
    return same_id and same_secret


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError as exc:
        raise _Refusal(400, f"malformed JSON: {exc}") from None


def _fault_from(body: Any) -> _Fault:
    if not isinstance(body, dict):
        raise _Refusal(400, "a fault is a JSON object")
    unknown = set(body) - {"method", "path", "kind", "times", "retry_after", "delay"}
    if unknown:
        raise _Refusal(400, f"unknown fault fields: {', '.join(sorted(unknown))}")
    try:
        return _fault(
            str(body.get("method", "*")),
            str(body.get("kind")),
            body.get("times", 1),
            body.get("retry_after"),
            body.get("delay", 0.0),
            body.get("path", TARGETS),
        )
    except ValueError as exc:
        raise _Refusal(400, str(exc)) from None


def _edit(store: _Store, target_id: int, changes: Any) -> Json:
    if not isinstance(changes, dict):
        raise _Refusal(400, "an edit is a JSON object merged into the configuration")
    try:
        return store.edit(target_id, changes)
    except KeyError:
        raise _Refusal(404, "not found") from None


class Sandbox:
    """A Mindful stand-in serving on 127.0.0.1 from a daemon thread; a context manager.

    The defaults are Mindful's documented limits. ``writes_per_second=math.inf`` and
    ``read_cache_seconds=0`` switch the rate limit and the stale reads off, for tests that are
    not about them.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        client_id: str = "sandbox",
        client_secret: str = "sandbox-secret",
        state_file: Path | None = None,
        writes_per_second: float = 1.0,
        read_cache_seconds: float = 1.0,
        token_lifetime: float = 3600.0,
    ) -> None:
        if not writes_per_second > 0:
            raise ValueError(f"writes_per_second {writes_per_second!r} is not above 0")
        if not _non_negative(read_cache_seconds) or not _non_negative(token_lifetime):
            raise ValueError("read_cache_seconds and token_lifetime must be numbers >= 0")
        settings = _Settings(
            client_id,
            client_secret,
            float(writes_per_second),
            float(read_cache_seconds),
            float(token_lifetime),
        )
        self._port = port
        self._store = _Store(settings, state_file)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the sandbox is already serving")
        self._server = _Server(self._port, self._store)
        # A short poll keeps stop() quick: shutdown() waits for the loop's next poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="calltmpl-sandbox", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and end open connections; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not serving; call start() first")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def token_url(self) -> str:
        return self.url + "/oauth2/token"

    def targets(self) -> list[Json]:
        return self._store.all_targets()

    def requests(self) -> list[Json]:
        return self._store.requests()

    def add_fault(
        self,
        method: str,
        kind: str,
        *,
        times: int = 1,
        retry_after: float | None = None,
        delay: float = 0.0,
        path: str = TARGETS,
    ) -> None:
        """Queue a fault for the next ``times`` requests whose method and path prefix match."""
        self._store.add_fault(_fault(method, kind, times, retry_after, delay, path))

    def reset(self) -> None:
        """Forget queued faults and the request log; the call targets stay."""
        self._store.reset()

    def issued_tokens(self) -> list[str]:
        """Every token the server has issued, so a test can check none leaked."""
        with self._store.lock:
            return list(self._store.issued)

    def edit(self, target_id: int, changes: dict[str, Any]) -> None:
        """Merge ``changes`` into a target's configuration as the Mindful UI would: at once,
        bypassing the rate limit and the read cache. KeyError for an unknown id."""
        self._store.edit(target_id, changes)

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    port: int,
    state_file: Path | None,
    client_id: str,
    client_secret: str,
    *,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C), for ``calltmpl sandbox``. ``ready`` receives the URL
    once the port is bound, so the CLI can show it (port 0 picks a free one)."""
    sandbox = Sandbox(
        port=port, client_id=client_id, client_secret=client_secret, state_file=state_file
    )
    sandbox.start()
    try:
        if ready is not None:
            ready(sandbox.url)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
