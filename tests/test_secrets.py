"""No credential leaves a command in any form, however hard a server tries to echo it.

A tiny server on 127.0.0.1 leaks on purpose: its error bodies (token endpoint and API) echo the
``Authorization`` header and the client secret plain, JSON-escaped, percent-encoded, as a
Python repr, base64-encoded and cut short; its status lines carry the secret so that the HTTP
library's exception text does. Real commands run against it, and no 8-character piece of any
form of the secret or of the access token may appear in what they print.
"""

from __future__ import annotations

import ast
import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

import pytest
from click.testing import CliRunner

from calltmpl import answers
from calltmpl.cli import main
from calltmpl.redact import MARK, WINDOW, Redactor, active, current
from tests.conftest import PROJECT, write_tree

SECRET = 'Xy"9\\/+&=%ab#Q1zLm'
"""Printable ASCII (a header can carry it) that JSON, repr and percent-encoding all escape."""
CLIENT_ID = "leaky-client"
TOKEN = "tok.Zq8W-r4Nd_K2vLp~Hs7/eT"
TARGETS = "/v2/callback/callTargets"

QUEUE = """template: calltmpl/pstn.yaml.j2
name: Billing
timezone: America/Chicago
callbackAgentDestination: "+13125550141"
phoneNumbers: {"+13125550121": "main"}
maxCallbackRetries: 2
"""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _forms(secret: str) -> list[str]:
    """The forms a leak takes (computed here, independently of calltmpl.redact)."""
    return [
        secret,
        json.dumps(secret)[1:-1],
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        repr(secret)[1:-1],
        _b64(secret),
    ]


def _pieces(*forms: str) -> list[str]:
    return sorted({f[i : i + WINDOW] for f in forms for i in range(len(f) - WINDOW + 1)})


TOKEN_PIECES = _pieces(*_forms(TOKEN))
FORBIDDEN = _pieces(*_forms(SECRET), *_forms(TOKEN), _b64(f"{CLIENT_ID}:{SECRET}"))
"""Every 8-character piece of every form of the secret, the token and the Basic header."""


def leaked(*texts: str, pieces: list[str] = FORBIDDEN) -> list[str]:
    return [piece for piece in pieces for text in texts if piece in text]


# --- the leaking server ----------------------------------------------------------------------


def _leak(authorization: str) -> str:
    """Everything a careless server could echo."""
    return " ".join(
        [
            f"Authorization: {authorization}",
            SECRET,
            json.dumps(SECRET),
            quote(SECRET, safe=""),
            quote_plus(SECRET),
            quote(SECRET),
            repr(SECRET),
            _b64(SECRET),
            f"cut short: {SECRET[:11]} and {SECRET[6:]}",
        ]
    )


class _Leaky(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urlsplit(self.path).path
        modes: dict[str, str] = self.server.modes  # type: ignore[attr-defined]
        if path == "/oauth2/token":
            self._answer(modes.get("token", "ok"), {"access_token": TOKEN, "expires_in": 3600})
        elif path == TARGETS and self.command == "GET":
            self._answer(modes.get("list", "ok"), {"data": []})
        elif path == TARGETS:
            body = {"data": {"id": 1, "name": "Billing"}}
            self._answer(modes.get("create", "ok"), body, 201)
        else:
            self._answer(modes.get("read", "ok"), {"data": {"callTarget": {"id": 1}}})

    def _answer(self, mode: str, good: Any, good_status: int = 200) -> None:
        leak = _leak(self.headers.get("Authorization", ""))
        body: Any = {"error": leak, "message": leak, "error_description": leak, "echo": leak}
        if mode == "status-line":  # the HTTP library quotes an illegal status line
            self.wfile.write(f"HTTP/1.1 2x0 {SECRET} {leak}\r\n\r\n".encode())
            self.close_connection = True
            return
        status, text = {
            "ok": (good_status, json.dumps(good)),
            "refuse": (400, json.dumps(body)),
            "unauthorized": (401, json.dumps(body)),
            "forbidden": (403, json.dumps(body)),
            "unprocessable": (422, json.dumps(body)),
            "error": (500, json.dumps(body)),
            "text": (400, leak),
            "not-json": (200, leak),
            "bad-token": (200, json.dumps({"access_token": leak + "\x00", "expires_in": 60})),
        }[mode]
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if mode in ("text", "not-json") else "json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def leaky() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Leaky)
    server.daemon_threads = True
    server.modes = {}  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _environment(server: ThreadingHTTPServer, bearer: bool = False) -> dict[str, str]:
    url = f"http://127.0.0.1:{server.server_address[1]}"
    environ = {
        "MINDFUL_API_URL": url,
        # The token URL carries the secret percent-encoded, so --verbose would print it.
        "MINDFUL_TOKEN_URL": f"{url}/oauth2/token?audience={quote(SECRET, safe='')}",
    }
    if bearer:
        return {**environ, "MINDFUL_TOKEN": TOKEN}
    return {**environ, "MINDFUL_CLIENT_ID": CLIENT_ID, "MINDFUL_CLIENT_SECRET": SECRET}


@pytest.fixture
def repo(
    in_tmp: Path, leaky: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    for name in ("MINDFUL_TOKEN", "MINDFUL_CLIENT_ID", "MINDFUL_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in _environment(leaky).items():
        monkeypatch.setenv(name, value)
    # Retries back off for milliseconds, not seconds.
    monkeypatch.setattr("calltmpl.api.BACKOFF_BASE", 0.001)
    monkeypatch.setattr("calltmpl.api.BACKOFF_CAP", 0.001)
    yield write_tree(in_tmp, {"calltmpl.yaml": "{}\n", "queues/billing.yaml": QUEUE})


SCENARIOS = {
    "token-refused": {"token": "unauthorized"},
    "token-refused-as-text": {"token": "text"},
    "token-answer-not-json": {"token": "not-json"},
    "token-unusable": {"token": "bad-token"},
    "token-status-line": {"token": "status-line"},
    "list-refused": {"list": "refuse"},
    "list-unauthorized": {"list": "unauthorized"},
    "list-forbidden": {"list": "forbidden"},
    "list-failing": {"list": "error"},
    "list-not-json": {"list": "not-json"},
    "list-status-line": {"list": "status-line"},
    "create-refused": {"create": "unprocessable"},
    "create-refused-as-text": {"create": "text"},
}
COMMANDS = [
    ["plan"],
    ["plan", "-v"],
    ["plan", "--format", "json"],
    ["push", "--yes"],
    ["push", "--yes", "-v", "--format", "json"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_form_of_a_credential_is_printed(
    repo: Path, leaky: ThreadingHTTPServer, scenario: str, command: list[str]
) -> None:
    leaky.modes.update(SCENARIOS[scenario])  # type: ignore[attr-defined]
    result = CliRunner().invoke(main, command)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    only_create = scenario.startswith("create")
    assert result.exit_code == (4 if only_create and command[0] == "plan" else 3), result.output
    assert leaked(result.stdout, result.stderr) == [], result.output
    assert "Traceback" not in result.output


def test_a_bearer_token_from_the_environment_is_never_printed(
    repo: Path, leaky: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MINDFUL_CLIENT_SECRET")
    monkeypatch.setenv("MINDFUL_TOKEN", TOKEN)
    leaky.modes["list"] = "refuse"  # type: ignore[attr-defined]
    result = CliRunner().invoke(main, ["plan", "-v"])
    assert result.exit_code == 3, result.output
    assert "400 Bad Request" in result.stderr
    assert leaked(result.stdout, result.stderr, pieces=TOKEN_PIECES) == [], result.output


def test_errors_keep_status_and_the_apis_own_short_text(
    repo: Path, leaky: ThreadingHTTPServer
) -> None:
    leaky.modes["create"] = "unprocessable"  # type: ignore[attr-defined]
    result = CliRunner().invoke(main, ["push", "--yes"])
    assert result.exit_code == 3
    # The API's own error text, redacted, then cut short: the status line stays readable.
    assert f"422 Unprocessable Entity: Authorization: Bearer {MARK} {MARK}" in result.output
    leaky.modes["token"] = "unauthorized"  # type: ignore[attr-defined]
    refused = CliRunner().invoke(main, ["plan"])
    assert refused.exit_code == 3
    assert "answered 401 Unauthorized: check MINDFUL_CLIENT_ID" in refused.stderr
    assert "Authorization" not in refused.stderr  # a token endpoint's body is never shown


def test_an_error_that_quotes_a_setting_is_redacted_too(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Output that never met the API client (a settings error quoting a URL) is redacted by
    the command line's one printing point, from the credentials of the environment."""
    monkeypatch.setenv("MINDFUL_TOKEN_URL", f"http://127.0.0.1:1:x/?s={quote(SECRET)}")
    result = CliRunner().invoke(main, ["plan"])
    assert result.exit_code == 2, result.output
    assert "is not a valid URL" in result.stderr
    assert leaked(result.stdout, result.stderr) == [], result.output


@pytest.mark.parametrize("scenario", ["token-refused", "list-refused"])
def test_the_installed_command_redacts_too(
    tmp_path: Path, leaky: ThreadingHTTPServer, scenario: str
) -> None:
    leaky.modes.update(SCENARIOS[scenario])  # type: ignore[attr-defined]
    write_tree(tmp_path, {"calltmpl.yaml": "{}\n", "queues/billing.yaml": QUEUE})
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MINDFUL_")}
    result = subprocess.run(
        [sys.executable, "-m", "calltmpl", "plan", "-v"],
        cwd=tmp_path,
        env={**environ, **_environment(leaky), "PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3, result.stderr
    assert leaked(result.stdout, result.stderr) == [], result.stderr


# --- the redactor ----------------------------------------------------------------------------


def test_every_form_and_every_piece_of_a_secret_is_redacted() -> None:
    redactor = Redactor()
    redactor.add_basic(CLIENT_ID, SECRET)
    redactor.add(TOKEN)
    for piece in FORBIDDEN:
        assert redactor.redact(f"<<{piece}>>") == f"<<{MARK}>>", piece
    text = f"a {SECRET} b {json.dumps(SECRET)} c {_b64(CLIENT_ID + ':' + SECRET)} d"
    assert redactor.redact(text) == f'a {MARK} b "{MARK}" c {MARK} d'
    # Inside a longer base64 text, at any alignment (all but the bytes around it).
    for prefix in ("", "x", "xy", "xyz"):
        encoded = _b64(f"{prefix}{SECRET}suffix")
        assert leaked(redactor.redact(encoded)) == [], prefix
    # The client id alone names the client: it stays readable.
    assert redactor.redact(f"client {CLIENT_ID}") == f"client {CLIENT_ID}"


def test_a_token_written_as_hex_digits_is_redacted() -> None:
    redactor = Redactor()
    redactor.add(TOKEN)
    for hexed in (f"Bearer {TOKEN}".encode().hex(), TOKEN.encode().hex().upper()):
        shown = redactor.redact(f"in hex {hexed} end")
        assert TOKEN.encode().hex() not in shown.lower(), shown
        assert MARK in shown


def test_an_exceptions_text_is_redacted_whatever_it_quotes() -> None:
    redactor = Redactor()
    redactor.add(SECRET)
    for exc in (
        ValueError({"secret": SECRET}),
        OSError(f"illegal status line: {bytearray(SECRET.encode())!r}"),
        RuntimeError([SECRET[:10], SECRET[5:]]),
    ):
        assert leaked(answers.problem(exc, redactor)) == [], repr(exc)


def test_redaction_is_linear_and_bounded() -> None:
    redactor = Redactor()
    redactor.add("a" * 5000 + "b")
    redactor.add("x" * 100_000)  # cut to MAX_SECRET characters before its forms are built
    text = "a" * 1_000_000
    started = time.perf_counter()
    assert redactor.redact(text) == MARK
    assert redactor.redact("ab" * 200_000).count(MARK) == 0
    assert time.perf_counter() - started < 10


def test_the_client_registers_the_tokens_it_obtains_with_the_commands_redactor() -> None:
    from calltmpl.api import ApiSettings, Client

    with active(Redactor()) as redactor:
        client = Client(ApiSettings("https://a.example", "https://t.example", "id", SECRET))
        assert client.redactor is current() is redactor
        assert redactor.redact(SECRET) == MARK
        client.close()


# --- one printing point ----------------------------------------------------------------------

PRINTERS = {("click", "echo"), ("click", "secho"), ("click", "confirm"), ("click", "prompt")}


def _printing_calls(path: Path) -> list[str]:
    """Calls in ``path`` that print other than through cli.common.echo/confirm."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed: set[int] = set()
    if path.name == "common.py":
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in ("echo", "confirm"):
                allowed |= {id(n) for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in allowed:
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "print":
            found.append(f"{path.name}:{node.lineno}: print")
        named = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
        if named and (func.value.id, func.attr) in PRINTERS:  # type: ignore[union-attr]
            found.append(f"{path.name}:{node.lineno}: {func.value.id}.{func.attr}")
        if isinstance(func, ast.Attribute) and func.attr in ("write", "writelines"):
            target = ast.unparse(func.value)
            if target.startswith(("sys.stdout", "sys.stderr")):
                found.append(f"{path.name}:{node.lineno}: {target}.{func.attr}")
    return found


def test_the_command_line_prints_only_through_the_redacting_echo() -> None:
    found = [
        c for p in sorted((PROJECT / "calltmpl" / "cli").glob("*.py")) for c in _printing_calls(p)
    ]
    assert found == []
