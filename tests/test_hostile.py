"""Every file in tests/hostile is one hostile input; calltmpl must meet it with a clear answer.

Each case runs ``python -m calltmpl`` in a separate process (see tests/guarded.py) in a fresh
repository, and fails on a hang (past ``timeout`` seconds), a signal, a traceback, a
``MemoryError``, peak memory over ``max_rss_mb``, an exit code outside ``exit``, any
8-character piece of the run's client secret (plain or Basic-encoded) in the output, or an
ESC character in the output (the runs are not on a terminal and have ``NO_COLOR`` set, so
calltmpl itself writes none). A case file holds:

* ``issue``: the item of the issue (the adversarial review) that the case holds calltmpl to;
* ``files``: the repository, path -> content. Content is a text, or a list of pieces joined
  in order: a text, ``{repeat: TEXT, times: N}`` (so ``[`` 30,000 times stays one line of the
  case) or ``{hex: "ff fe"}`` (bytes that are no UTF-8);
* ``links``: path -> target, symbolic links (a target may be absolute, or a loop);
* ``fifos``: paths of named pipes to create;
* ``unreadable``: paths made unreadable (mode 000); when the tests run as root, the command
  runs without root's power to read any file, so they really are unreadable to it;
* ``sandbox: true``: a :class:`calltmpl.sandbox.Sandbox` serves on 127.0.0.1 and
  ``MINDFUL_API_URL``/``MINDFUL_TOKEN_URL`` point at it (no write limit, no read cache);
* ``stub_api``: instead, a stub server answering ``"METHOD /path"`` with ``{status, body,
  content_type}`` and 404 to anything else. ``body`` is content as above, in which
  ``$AUTHORIZATION`` becomes the request's Authorization header (as an echoing server would
  send it back), ``$SECRET_PLAIN``, ``_JSON``, ``_URL``, ``_FORM`` and ``_BASIC`` the client
  secret in that form, and ``$SECRET_HEAD`` its first 12 characters;
* ``env``: environment variables to set (``$API`` is replaced by the server's URL), or to
  remove (null); every run has ``MINDFUL_CLIENT_ID`` and ``MINDFUL_CLIENT_SECRET`` set;
* ``run``: the command's arguments; ``exit``: the exit code, or a list of acceptable ones;
* ``stdout_contains``, ``stderr_contains``, ``output_contains`` (either stream),
  ``output_excludes`` (neither stream), ``stdout_excludes``: lists of pieces;
* ``no_line_starts_with``: prefixes no line of either stream may start with (after a line
  break, ``\\n`` or ``\\r``), e.g. ``"::"`` for GitHub workflow commands;
* ``located``: ``true``, or a file name: the output names a ``file:line:column`` (in that
  file), or, for ``--format json``, a diagnostic with a line and a column;
* ``stdout_json``: the standard output, parsed as JSON, equals this;
* ``written``: path -> exact text, or null for "must not exist", after the run;
* ``timeout`` (seconds, default 20), ``max_rss_mb`` (default 512) and ``max_output_kb`` (the
  most both streams may hold together; no bound by default);
* ``steps``: instead of ``run``/``exit`` and the checks, a list of them, run in order in the
  same repository (e.g. ``push --yes`` then ``plan``).

Case files use YAML double-quoted escapes (``"\\e"``, ``"\\ud800"``) for characters that
cannot be written plainly. Adding a case needs no code.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from calltmpl.sandbox import Sandbox
from tests.guarded import (
    CLIENT_ID,
    CLIENT_SECRET,
    MAX_RSS_MB,
    TIMEOUT,
    Outcome,
    guarded_environment,
    run_calltmpl,
    run_guarded,
    secret_forms,
)

CASES = sorted((Path(__file__).parent / "hostile").glob("*.yaml"))
STEP_KEYS = frozenset(
    {
        "run",
        "exit",
        "stdout_contains",
        "stderr_contains",
        "output_contains",
        "output_excludes",
        "stdout_excludes",
        "no_line_starts_with",
        "located",
        "stdout_json",
        "written",
        "timeout",
        "max_rss_mb",
        "max_output_kb",
    }
)
SETUP_KEYS = frozenset(
    {"issue", "files", "links", "fifos", "unreadable", "sandbox", "stub_api", "env", "steps"}
)
# A file name has a letter in it: a time of day (10:30:00) is no location.
_NAME = r"[^\s:'\"(),]"
_LOCATION = re.compile(rf"(?P<file>{_NAME}*[A-Za-z]{_NAME}*):(?P<line>[0-9]+):(?P<column>[0-9]+)")


def load_case(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return data


def content(value: Any) -> bytes:
    """A file's bytes from a case: a text, or a list of texts, repeats and hex pieces."""
    if isinstance(value, str):
        return value.encode("utf-8", errors="surrogatepass")
    pieces = []
    for piece in value:
        if isinstance(piece, str):
            pieces.append(content(piece))
        elif "repeat" in piece:
            pieces.append(content(piece["repeat"]) * int(piece["times"]))
        else:
            pieces.append(bytes.fromhex(piece["hex"]))
    return b"".join(pieces)


def build(root: Path, case: Mapping[str, Any]) -> None:
    """Write the case's repository under ``root``."""
    for name, value in (case.get("files") or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content(value))
    for name, target in (case.get("links") or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, root / name)
    for name in case.get("fifos") or []:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(root / name)


def _lines(text: str) -> list[str]:
    return re.split(r"\r\n|\r|\n", text)


def _located(outcome: Outcome, where: Any) -> bool:
    wanted = None if where is True else str(where)
    for match in _LOCATION.finditer(outcome.output):
        if wanted is None or match["file"].endswith(wanted):
            return True
    try:
        found = json.loads(outcome.stdout).get("diagnostics", [])
    except (ValueError, AttributeError):
        return False
    return any(
        isinstance(d, dict)
        and d.get("line")
        and d.get("column")
        and (wanted is None or str(d.get("file", "")).endswith(wanted))
        for d in found
    )


def check_step(root: Path, step: Mapping[str, Any], outcome: Outcome) -> list[str]:
    """Every way the run missed what the step expects, the guards' findings first."""
    exits = step["exit"] if isinstance(step["exit"], list) else [step["exit"]]
    found = outcome.problems(exits, float(step.get("max_rss_mb", MAX_RSS_MB)))
    for key, stream in (
        ("stdout_contains", outcome.stdout),
        ("stderr_contains", outcome.stderr),
        ("output_contains", outcome.output),
    ):
        found += [f"{key}: {p!r} missing" for p in step.get(key, []) if p not in stream]
    found += [
        f"output: {p!r} printed" for p in step.get("output_excludes", []) if p in outcome.output
    ]
    found += [
        f"stdout: {p!r} printed" for p in step.get("stdout_excludes", []) if p in outcome.stdout
    ]
    if "max_output_kb" in step and outcome.output_bytes > step["max_output_kb"] * 1024:
        found.append(f"output: {outcome.output_bytes:,} bytes, over {step['max_output_kb']} KB")
    for prefix in step.get("no_line_starts_with", []):
        bad = [line for line in _lines(outcome.output) if line.startswith(prefix)]
        if bad:
            found.append(f"output: a line starts with {prefix!r}: {bad[0][:120]!r}")
    if step.get("located") and not _located(outcome, step["located"]):
        found.append(f"location: no file:line:column ({step['located']}) in the output")
    if "stdout_json" in step:
        try:
            if json.loads(outcome.stdout) != step["stdout_json"]:
                found.append("stdout_json: the output differs from the expected JSON")
        except ValueError:
            found.append("stdout_json: the output is not JSON")
    for name, text in (step.get("written") or {}).items():
        path = root / name
        if text is None and os.path.lexists(path):
            found.append(f"written: {name} exists")
        elif text is not None and (not path.is_file() or path.read_text("utf-8") != text):
            found.append(f"written: {name} does not hold the expected text")
    return found


class _Stub(BaseHTTPRequestHandler):
    """Answers from ``server.answers``: "METHOD /path" -> (status, body, content type)."""

    answers: Mapping[str, tuple[int, bytes, str]] = {}

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        path = self.path.split("?", 1)[0]
        status, body, kind = self.answers.get(
            f"{self.command} {path}", (404, b'{"error": "not found"}', "application/json")
        )
        echoes = {
            "$AUTHORIZATION": self.headers.get("Authorization", ""),
            **{f"$SECRET_{k.upper()}": v for k, v in secret_forms().items()},
            "$SECRET_HEAD": CLIENT_SECRET[:12],
        }
        for placeholder, value in echoes.items():
            body = body.replace(placeholder.encode(), value.encode())
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer


@contextlib.contextmanager
def api_server(case: Mapping[str, Any]) -> Iterator[dict[str, str]]:
    """The sandbox or the stub the case asks for, as the environment that points at it."""
    if case.get("sandbox"):
        sandbox = Sandbox(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            writes_per_second=math.inf,
            read_cache_seconds=0,
        )
        with sandbox:
            yield {"MINDFUL_API_URL": sandbox.url, "MINDFUL_TOKEN_URL": sandbox.token_url}
        return
    if "stub_api" not in case:
        yield {}
        return
    answers = {
        key: (
            int(spec.get("status", 200)),
            content(spec.get("body", "")),
            spec.get("content_type", "application/json"),
        )
        for key, spec in case["stub_api"].items()
    }
    handler = type("Stub", (_Stub,), {"answers": answers})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        yield {"MINDFUL_API_URL": url, "MINDFUL_TOKEN_URL": url + "/oauth2/token"}
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def repository(root: Path, case: Mapping[str, Any]) -> Iterator[Path]:
    """The case's repository under ``root``, its ``unreadable`` paths made so until the end."""
    unreadable = [root / name for name in case.get("unreadable") or []]
    root.mkdir()
    build(root, case)
    (root / ".cache").mkdir()
    for path in unreadable:
        path.chmod(0)
    try:
        yield root
    finally:
        for path in unreadable:
            with contextlib.suppress(OSError):
                path.chmod(0o700)


def _steps(case: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "steps" in case:
        return list(case["steps"])
    return [{k: v for k, v in case.items() if k in STEP_KEYS}]


@pytest.mark.parametrize("case_file", CASES, ids=lambda p: p.stem)
def test_hostile_case(case_file: Path, tmp_path: Path) -> None:
    case = load_case(case_file)
    blind_root = bool(case.get("unreadable")) and os.geteuid() == 0
    with repository(tmp_path / "repo", case) as root, api_server(case) as api:
        url = api.get("MINDFUL_API_URL", "")
        env = guarded_environment(root / ".cache", api)
        for name, value in (case.get("env") or {}).items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = str(value).replace("$API", url)
        for number, step in enumerate(_steps(case), 1):
            try:
                outcome = run_calltmpl(
                    [str(a) for a in step["run"]],
                    root,
                    env,
                    timeout=float(step.get("timeout", TIMEOUT)),
                    blind_root=blind_root,
                )
            except subprocess.SubprocessError as exc:  # the capabilities could not be dropped
                pytest.skip(f"cannot make a file unreadable to root here: {exc}")
            problems = check_step(root, step, outcome)
            assert not problems, (
                f"step {number}: " + "; ".join(problems) + "\n" + outcome.describe()
            )


GUARD_PROBES = {
    "hang": ("import time; time.sleep(30)", "hang: still running"),
    "signal": (
        "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)",
        "signal: killed by SIGSEGV",
    ),
    "traceback": ("raise ValueError('boom')", "traceback: ValueError: boom"),
    "internal error": (
        "import sys; print('calltmpl: internal error: x'); sys.exit(70)",
        "internal",
    ),
    "memory cap": ("b = bytearray(4 * 2**30)", "memory: MemoryError"),
    "peak memory": ("b = bytearray(160 * 2**20); b[::4096] = bytes(len(b[::4096]))", "peak RSS"),
    "secret": ("import os; print(os.environ['MINDFUL_CLIENT_SECRET'][2:11])", "secret:"),
    "escape": ("print('\\x1b[2J')", "output: a raw ESC"),
    "exit code": ("import sys; sys.exit(3)", "exit 3, expected one of [0, 1, 2]"),
}


@pytest.mark.parametrize("probe", GUARD_PROBES, ids=str)
def test_the_guards_catch_what_they_promise(probe: str, tmp_path: Path) -> None:
    """Each guard, shown a plain Python program that breaks its promise, reports it."""
    code, report = GUARD_PROBES[probe]
    env = guarded_environment(tmp_path)
    outcome = run_guarded([sys.executable, "-c", code], tmp_path, env, timeout=1.0)
    problems = outcome.problems([0, 1, 2], max_rss_mb=120)
    assert any(report in p for p in problems), (problems, outcome.describe())
    assert outcome.seconds < 5
    assert not run_guarded([sys.executable, "-c", "pass"], tmp_path, env).problems([0])


def test_every_case_is_well_formed() -> None:
    assert len(CASES) >= 30, "the hostile corpus is missing"
    for case_file in CASES:
        case = load_case(case_file)
        assert isinstance(case.get("issue"), str), f"{case_file.name}: no issue item"
        unknown = set(case) - SETUP_KEYS - STEP_KEYS
        assert not unknown, f"{case_file.name}: unknown keys {sorted(unknown)}"
        for step in _steps(case):
            assert "run" in step and "exit" in step, f"{case_file.name}: a step without run/exit"
            assert not set(step) - STEP_KEYS, f"{case_file.name}: unknown step keys"
