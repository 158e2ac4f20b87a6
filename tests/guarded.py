"""Running ``python -m calltmpl`` as a separate, guarded process, for the hostile-input tests.

A hostile input may hang calltmpl, crash the interpreter or eat the machine's memory, none of
which a test may survive in-process. :func:`run_calltmpl` runs one command in its own process
group with a wall-clock timeout (the whole group is killed on expiry), an address-space cap, a
file-size cap and no core dumps, and returns an :class:`Outcome`: the exit status, the output,
the time taken and the process's peak resident memory. :meth:`Outcome.problems` names what no
input may ever cause: a hang, a signal, a traceback or an internal error (exit 70, calltmpl's
one-line report of a bug of its own), a ``MemoryError``, memory beyond a bound,
an exit code outside the expected set, a piece of the client secret or a raw ESC in the output.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import dataclasses
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

TIMEOUT = 20.0
"""Seconds a command may run before it counts as a hang."""
ADDRESS_SPACE = 1536 * 2**20
"""The hard cap on a process's virtual memory: past it allocations fail (MemoryError)."""
FILE_SIZE = 256 * 2**20
"""The largest file a process may write; past it the kernel sends SIGXFSZ."""
MAX_RSS_MB = 512
"""Peak resident memory (MB) above which a run counts as unbounded."""
OUTPUT_KEPT = 2 * 2**20
"""Characters of each output stream kept for the checks and the report."""

CLIENT_ID = "hostile-client"
CLIENT_SECRET = 'S3cr3t/8f2c+9d1e"7b4a%x'
"""Credentials every run gets in its environment, so a leak of them can be looked for. The
secret has characters that JSON and URLs escape, so that each of its forms differs."""


def secret_forms() -> dict[str, str]:
    """The client secret as output could carry it: plain, JSON-escaped, URL-encoded (as a
    path or query, and as a form), and inside the Basic header."""
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    return {
        "plain": CLIENT_SECRET,
        "json": json.dumps(CLIENT_SECRET)[1:-1],
        "url": quote(CLIENT_SECRET, safe=""),
        "form": quote_plus(CLIENT_SECRET),
        "basic": basic[(len(CLIENT_ID) + 1) // 3 * 4 :],  # less what encodes the id alone
    }


def secret_pieces() -> frozenset[str]:
    """Every 8-character piece of every form of the client secret."""
    return frozenset(
        form[i : i + 8] for form in secret_forms().values() for i in range(len(form) - 7)
    )


SECRET_PIECES = secret_pieces()
_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE = 1
_CAP_DAC_READ_SEARCH = 2
INTERNAL_ERROR = 70
"""calltmpl's exit code for a bug of its own, reported in one line instead of a traceback."""
_CRASH_MARKERS = ("Traceback (most recent call last)", "Fatal Python error")


@dataclass(frozen=True)
class Outcome:
    """What one guarded run did. ``returncode`` is None when it was killed for hanging."""

    args: tuple[str, ...]
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float
    output_bytes: int = 0
    """Bytes written to both streams (only the first ``OUTPUT_KEPT`` of each are kept)."""

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def hung(self) -> bool:
        return self.returncode is None

    @property
    def signalled(self) -> bool:
        return self.returncode is not None and self.returncode < 0

    @property
    def traceback(self) -> bool:
        return any(marker in self.output for marker in _CRASH_MARKERS)

    @property
    def internal_error(self) -> bool:
        """calltmpl caught a bug of its own and said so in one line (exit 70)."""
        return self.returncode == INTERNAL_ERROR

    @property
    def memory_error(self) -> bool:
        return "MemoryError" in self.output

    def problems(self, exits: Collection[int], max_rss_mb: float = MAX_RSS_MB) -> list[str]:
        """Every way this run broke a promise that holds for any input; empty when it kept
        them all. Besides the crashes and the exit code: no piece of the client secret and no
        raw ESC in the output (runs are not on a terminal and have NO_COLOR set, so calltmpl
        itself writes none)."""
        found = []
        if self.hung:
            found.append(f"hang: still running after {self.seconds:.1f} s")
        elif self.signalled:
            assert self.returncode is not None
            found.append(f"signal: killed by {_signal_name(-self.returncode)}")
        elif self.internal_error:
            said = self.stderr.strip().splitlines()[-1:] or [""]
            found.append(f"internal error (exit 70): {said[0][:300]}")
        elif self.returncode not in exits:
            found.append(f"exit {self.returncode}, expected one of {sorted(exits)}")
        if self.traceback:
            found.append("traceback: " + _crash_excerpt(self.output))
        if self.memory_error:
            found.append("memory: MemoryError")
        if self.max_rss_mb > max_rss_mb:
            found.append(f"memory: peak RSS {self.max_rss_mb:.0f} MB > {max_rss_mb:.0f} MB")
        leaked = sorted(piece for piece in SECRET_PIECES if piece in self.output)
        if leaked:
            found.append(f"secret: pieces of the client secret in the output: {leaked[:3]}")
        if "\x1b" in self.output:
            found.append("output: a raw ESC character (a terminal control sequence)")
        return found

    def describe(self, limit: int = 3000) -> str:
        """The command, its status and the ends of its output, for an assertion message."""
        status = "hung" if self.hung else f"exit {self.returncode}"
        return (
            f"$ {' '.join(self.args)}\n{status} in {self.seconds:.2f} s, "
            f"peak RSS {self.max_rss_mb:.0f} MB\n"
            f"--- stdout\n{_clip(self.stdout, limit)}\n--- stderr\n{_clip(self.stderr, limit)}"
        )


def guarded_environment(cache: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any Mindful setting, plus the known credentials,
    a private template cache, no colour and a fault handler; ``extra`` wins."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINDFUL_", "CALLTMPL_"))}
    env.update(
        CALLTMPL_CACHE_DIR=str(cache),
        MINDFUL_CLIENT_ID=CLIENT_ID,
        MINDFUL_CLIENT_SECRET=CLIENT_SECRET,
        NO_COLOR="1",
        PYTHONFAULTHANDLER="1",
        PYTHONHASHSEED="0",
    )
    env.update(extra or {})
    return env


def run_calltmpl(
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    *,
    timeout: float = TIMEOUT,
    blind_root: bool = False,
) -> Outcome:
    """Run ``python -m calltmpl ARGS`` in ``cwd`` under the guards. ``blind_root`` takes from
    a root process the capabilities that let it read any file, so that a test run as root can
    still meet an unreadable one (:class:`PermissionError` where that cannot be done)."""
    command = [sys.executable, "-m", "calltmpl", *args]
    outcome = run_guarded(command, cwd, env, timeout=timeout, blind_root=blind_root)
    return dataclasses.replace(outcome, args=("calltmpl", *args))


def run_guarded(
    command: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    *,
    timeout: float = TIMEOUT,
    blind_root: bool = False,
) -> Outcome:
    """Run any command under the guards (the guards' own tests run plain Python)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=_limits(blind_root),
        )
        status, rss_kb = _wait(process, timeout)
        seconds = time.monotonic() - started
        return Outcome(
            tuple(command),
            status,
            _read(out),
            _read(err),
            seconds,
            max_rss_mb=rss_kb / 1024,
            output_bytes=out.seek(0, os.SEEK_END) + err.seek(0, os.SEEK_END),
        )


def _limits(blind_root: bool) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE, FILE_SIZE))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if blind_root:
            _drop_file_capabilities()

    return apply


def _drop_file_capabilities() -> None:
    """Drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set, so the program
    this process becomes has root's identity without its power to read every file."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise PermissionError(ctypes.get_errno(), "cannot drop a capability")


def _wait(process: subprocess.Popen[bytes], timeout: float) -> tuple[int | None, int]:
    """(exit code, or None after a kill for hanging; peak RSS in KB). The process group is
    always killed at the end, so no worker of a killed or finished run outlives it."""
    result: list[tuple[int, int]] = []

    def reap() -> None:
        _, status, usage = os.wait4(process.pid, 0)
        result.append((os.waitstatus_to_exitcode(status), usage.ru_maxrss))

    waiter = threading.Thread(target=reap, daemon=True)
    waiter.start()
    waiter.join(timeout)
    hung = waiter.is_alive()
    _kill_group(process.pid)
    waiter.join()
    code, rss = result[0]
    process.returncode = code  # reaped here; keeps Popen from waiting on it again
    return (None if hung else code), rss


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _read(handle: object) -> str:
    assert hasattr(handle, "seek") and hasattr(handle, "read")
    handle.seek(0)
    data: bytes = handle.read(OUTPUT_KEPT)
    return data.decode("utf-8", errors="backslashreplace")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _crash_excerpt(output: str) -> str:
    """The first crash's gist: a traceback's exception line, or a fatal error's first line."""
    start = min(i for i in (output.find(m) for m in _CRASH_MARKERS) if i >= 0)
    lines = output[start:].splitlines()
    if lines[0].startswith("Traceback"):
        gist = next((line for line in lines[1:] if line and not line[0].isspace()), lines[-1])
        frames = [line.strip() for line in lines[1:] if line.strip().startswith("File ")]
        where = frames[-1] if frames else ""
        return f"{gist.strip()[:300]} (at {where[:200]})"
    return lines[0].strip()[:300]


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} characters ...]\n{text[-half:]}"
