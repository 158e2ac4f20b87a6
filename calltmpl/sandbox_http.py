"""The sandbox's HTTP layer: the server, and the handler that answers one request.

The handler applies a queued fault first, then answers the call-target API (bearer tokens, the
envelopes, 201 on create), the OAuth2 client-credentials token endpoint, or the test-only
``/_sandbox/`` control endpoints. All state, including the write rate limit, lives in the
:class:`~calltmpl.sandbox_store.Store`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from calltmpl.sandbox_store import (
    LIST,
    Fault,
    Json,
    Refusal,
    Reply,
    Store,
    make_fault,
    target_fields,
)

__all__ = ["TARGETS", "Server"]

TARGETS = "/v2/callback/callTargets"
_STATUS_TEXT = {
    "429": "rate limited",
    "500": "internal server error",
    "502": "bad gateway",
    "503": "service unavailable",
}
_TARGET_PATH = re.compile(rf"{TARGETS}(?:/([0-9]+))?")
_EDIT_PATH = re.compile(r"/_sandbox/targets/([0-9]+)")


def _seconds(value: float) -> str:
    """A header value in whole seconds when it is whole, so common clients can parse it."""
    return str(int(value)) if float(value).is_integer() else str(value)


class Server(ThreadingHTTPServer):
    """Knows its store, and its open connections so that stop() can end idle keep-alives."""

    daemon_threads = True
    request_queue_size = 128  # the default 5 resets clients that connect all at once

    def __init__(self, port: int, store: Store) -> None:
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
    def store(self) -> Store:
        server = self.server
        assert isinstance(server, Server)
        return server.store

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and rehearsals read the request log, not stderr."""

    def _dispatch(self) -> None:
        started = time.time()
        path = urlsplit(self.path).path
        try:
            body = self._read_body()
        except Refusal as refusal:
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
            raise Refusal(411, "send Content-Length, not a chunked body")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            raise Refusal(400, "Content-Length is not a non-negative integer")
        return self.rfile.read(length) if length else b""

    def _with_fault(self, fault: Fault | None, path: str, body: bytes) -> Reply | None:
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

    def _answer(self, handle: Callable[[], Reply]) -> Reply:
        try:
            return handle()
        except Refusal as refusal:
            return refusal.reply
        except Exception as exc:  # a sandbox bug: answer it, so the test shows it
            return Reply(500, {"error": "sandbox failure", "detail": repr(exc)})

    def _api(self, path: str, body: bytes) -> Reply:
        if path == "/oauth2/token":
            _allow(self.command, "POST")
            return self._token(body)
        if not path.startswith("/v2/"):
            raise Refusal(404, "not found")
        if not self.store.token_valid(self._bearer()):
            return _invalid_token()
        canned = self.store.answer_for(self.command, path)
        if canned is not None:
            return canned
        found = _TARGET_PATH.fullmatch(path)
        if found is None:
            raise Refusal(404, "not found")
        if found.group(1) is None:
            return self._collection(body)
        return self._item(int(found.group(1)), body)

    def _collection(self, body: bytes) -> Reply:
        _allow(self.command, "GET", "POST")
        if self.command == "GET":
            return Reply(200, {"data": self.store.read(LIST)})
        fields = target_fields(self._json(body), None)
        return Reply(201, {"data": self.store.create(fields)})

    def _item(self, target_id: int, body: bytes) -> Reply:
        _allow(self.command, "GET", "PUT")
        if self.command == "GET":
            target = self.store.read(target_id)
            if target is None:
                raise Refusal(404, "not found")
            return Reply(200, {"data": {"callTarget": target}})
        fields = target_fields(self._json(body), target_id)
        return Reply(200, {"data": self.store.replace(target_id, fields)})

    def _token(self, body: bytes) -> Reply:
        """OAuth 2.0 client credentials (RFC 6749 4.4): the client is checked first."""
        client = self._basic_auth()
        expected = (self.store.settings.client_id, self.store.settings.client_secret)
        if client is None or not _same(client, expected):
            basic = (("WWW-Authenticate", 'Basic realm="sandbox"'),)
            return Reply(401, {"error": "invalid_client"}, basic)
        form = parse_qs(body.decode("utf-8", "replace"))
        if form.get("grant_type") != ["client_credentials"]:
            return Reply(400, {"error": "unsupported_grant_type"})
        lifetime = self.store.settings.token_lifetime
        answer = {
            "access_token": self.store.issue_token(),
            "token_type": "Bearer",
            "expires_in": int(lifetime) if lifetime.is_integer() else lifetime,
        }
        return Reply(200, answer, (("Cache-Control", "no-store"),))

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
            raise Refusal(415, "Content-Type must be application/json")
        return _parse(body)

    def _control(self, path: str, body: bytes) -> Reply:
        """The test-only endpoints: no auth, never logged, never faulted."""
        if path == "/_sandbox/faults":
            _allow(self.command, "POST")
            fault = _fault_from(_parse(body))
            self.store.add_fault(fault)
            return Reply(201, {"fault": asdict(fault)})
        if path == "/_sandbox/state":
            _allow(self.command, "GET")
            state = {"targets": self.store.all_targets(), "requests": self.store.requests()}
            return Reply(200, state)
        if path == "/_sandbox/reset":
            _allow(self.command, "POST")
            self.store.reset()
            return Reply(200, {"reset": True})
        found = _EDIT_PATH.fullmatch(path)
        if found is None:
            raise Refusal(404, "not found")
        _allow(self.command, "PATCH")
        return Reply(200, {"data": _edit(self.store, int(found.group(1)), _parse(body))})

    def _send(self, reply: Reply) -> None:
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
        raise Refusal(405, f"method {method} not allowed", headers=(("Allow", ", ".join(allowed)),))


def _status_fault(fault: Fault) -> Reply:
    """An injected error answer; Retry-After only when the fault names one, since Mindful
    does not promise it."""
    if fault.retry_after is None:
        return Reply(int(fault.kind), {"error": _STATUS_TEXT[fault.kind]})
    wait = (("Retry-After", _seconds(fault.retry_after)),)
    return Reply(int(fault.kind), {"error": _STATUS_TEXT[fault.kind]}, wait)


def _invalid_token() -> Reply:
    return Reply(401, {"error": "invalid_token"}, (("WWW-Authenticate", "Bearer"),))


def _same(given: tuple[str, str], expected: tuple[str, str]) -> bool:
    """Both parts compared in constant time, without stopping at the first mismatch."""
    same_id = secrets.compare_digest(given[0].encode(), expected[0].encode())
    same_secret = secrets.compare_digest(given[1].encode(), expected[1].encode())
    return same_id and same_secret


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError as exc:
        raise Refusal(400, f"malformed JSON: {exc}") from None


def _fault_from(body: Any) -> Fault:
    if not isinstance(body, dict):
        raise Refusal(400, "a fault is a JSON object")
    unknown = set(body) - {"method", "path", "kind", "times", "retry_after", "delay"}
    if unknown:
        raise Refusal(400, f"unknown fault fields: {', '.join(sorted(unknown))}")
    try:
        return make_fault(
            str(body.get("method", "*")),
            str(body.get("kind")),
            body.get("times", 1),
            body.get("retry_after"),
            body.get("delay", 0.0),
            body.get("path", TARGETS),
        )
    except ValueError as exc:
        raise Refusal(400, str(exc)) from None


def _edit(store: Store, target_id: int, changes: Any) -> Json:
    if not isinstance(changes, dict):
        raise Refusal(400, "an edit is a JSON object merged into the configuration")
    try:
        return store.edit(target_id, changes)
    except KeyError:
        raise Refusal(404, "not found") from None
