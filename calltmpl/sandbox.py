"""A stand-in Mindful server on 127.0.0.1, for tests and for rehearsing a push.

It speaks the call-target API as ``call-targets.md`` section 1 describes it (OAuth client
credentials, the envelopes, 201 on create) and models the behaviours a careful client must
survive: the write rate limit (429), reads served stale from a cache, expiring tokens, and
faults injected on demand through ``/_sandbox/`` (5xx, dropped connections, a write that is
applied but never answered). Only the standard library is used, so the sandbox runs wherever
calltmpl does. It binds only the loopback address: the control endpoints have no auth.

This module is the public entry: :class:`Sandbox` and :func:`serve`. The state lives in
:mod:`calltmpl.sandbox_store`, the request handling in :mod:`calltmpl.sandbox_http`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from calltmpl.errors import UsageError
from calltmpl.sandbox_http import TARGETS, Server
from calltmpl.sandbox_store import (
    FAULT_KINDS,
    Json,
    Reply,
    Settings,
    Store,
    make_fault,
    non_negative,
    seeded,
)

__all__ = ["FAULT_KINDS", "Sandbox", "serve"]


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
        if not non_negative(read_cache_seconds) or not non_negative(token_lifetime):
            raise ValueError("read_cache_seconds and token_lifetime must be numbers >= 0")
        settings = Settings(
            client_id,
            client_secret,
            float(writes_per_second),
            float(read_cache_seconds),
            float(token_lifetime),
        )
        self._port = port
        self._store = Store(settings, state_file)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the sandbox is already serving")
        self._server = Server(self._port, self._store)
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
        self._store.add_fault(make_fault(method, kind, times, retry_after, delay, path))

    def reset(self) -> None:
        """Forget queued faults and the request log; the call targets stay."""
        self._store.reset()

    def issued_tokens(self) -> list[str]:
        """Every token the server has issued, so a test can check none leaked."""
        with self._store.lock:
            return list(self._store.issued)

    def seed(self, targets: list[Any]) -> list[int]:
        """Add call targets (``{name, configuration, phoneNumbers?, id?}`` each) as if made
        in the Mindful UI: at once, bypassing the rate limit and the read cache. A name the
        sandbox already holds is skipped; ValueError names a bad item, and then nothing is
        added. Returns the ids of the targets added."""
        return self._store.seed(targets)

    def answer(self, method: str, path: str, body: Any, *, status: int = 200) -> None:
        """From now on (until :meth:`reset`), answer ``method path`` of the API with ``body``,
        to rehearse a remote that answers something unexpected (a bearer token is still
        required)."""
        self._store.set_answer(method, path, Reply(status, body))

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


def read_seed(path: Path) -> list[Any]:
    """The call targets of a seed file: a JSON list of them, the API's list answer
    ``{"data": [...]}`` (items possibly wrapped as ``{"callTarget": {...}}``), or a sandbox
    state file ``{"targets": [...]}``. :class:`UsageError` names the file and what is wrong."""
    from calltmpl import parsing
    from calltmpl.paths import read_text

    shown = str(path)
    try:
        document = parsing.load_json(read_text(path))
    except parsing.ParseError as exc:
        raise UsageError(f"{shown}:{exc.line}:{exc.column}: {exc.message}") from None
    items = document
    if isinstance(document, dict):
        items = document.get("data", document.get("targets"))
    if not isinstance(items, list):
        raise UsageError(
            f'{shown}: expected a list of call targets, {{"data": [...]}} or {{"targets": [...]}}'
        )
    targets = [
        item["callTarget"] if isinstance(item, dict) and "callTarget" in item else item
        for item in items
    ]
    for index, item in enumerate(targets):
        try:
            seeded(item, index)
        except ValueError as exc:
            raise UsageError(f"{shown}: {exc}") from None
    return targets


def serve(
    port: int,
    state_file: Path | None,
    client_id: str,
    client_secret: str,
    *,
    ready: Callable[[str], None] | None = None,
    seed: list[Any] | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C), for ``calltmpl sandbox``. ``ready`` receives the URL
    once the port is bound, so the CLI can show it (port 0 picks a free one); ``seed`` call
    targets are added first (see :meth:`Sandbox.seed`)."""
    sandbox = Sandbox(
        port=port, client_id=client_id, client_secret=client_secret, state_file=state_file
    )
    if seed:
        try:
            sandbox.seed(seed)
        except ValueError as exc:
            raise UsageError(f"cannot seed the sandbox: {exc}") from None
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
