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

from calltmpl.sandbox_http import TARGETS, Server
from calltmpl.sandbox_store import FAULT_KINDS, Json, Settings, Store, make_fault, non_negative

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
