"""The budgets every template render keeps: time, the size of values and output, memory.

Templates come from many contributors and CI renders them with credentials at hand, so no
template may hang a run or exhaust the machine. A loop of 10^10 steps, a gigabyte string
(``"x" * 10**9``, ``~`` doubling in a loop, ``| join`` of a huge list, ``"%s" | format``
tricks) or ``10**(10**10)`` ends in :class:`BudgetExceeded`, reported as CT109, within seconds:

* **time**: :data:`SECONDS` a render (an interval timer in the main thread, forked workers
  included; in other threads a deadline that the hooks check);
* **size**: no string, list or output over :data:`MAX_SIZE` characters or items. Operations
  that multiply sizes (``*``, ``+``, ``%``, ``~``, joins, formats, widths) are checked
  *before* they run, so the value is never built;
* **numbers**: no integer over :data:`MAX_INT_BITS` bits (``**`` and ``*`` checked first:
  Python cannot interrupt a huge power);
* **memory**: on Linux, a render may grow the address space by :data:`MEMORY` bytes at most,
  a backstop for whatever the checks above miss (Python then raises MemoryError).

The sandboxed environment (:mod:`calltmpl.environment`) keeps these from its hooks; the checks
of operators, calls and filters are in :mod:`calltmpl.guards`.
"""

from __future__ import annotations

import itertools
import signal
import sys
import threading
import time
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from typing import Any

from jinja2.utils import Namespace

try:
    import resource
except ImportError:  # pragma: no cover - not on Windows
    resource = None  # type: ignore[assignment]

SECONDS = 5.0
"""Wall-clock seconds one render may take."""
MAX_SIZE = 4 * 1024 * 1024
"""Characters of a string or of the output, items of a list, that a render may build."""
MAX_INT_BITS = 100_000
"""Bits of an integer a template may compute (Python prints at most 4,300 digits anyway)."""
MAX_RANGE = 100_000
"""Items of a ``range()`` (the figure of Jinja's own sandbox)."""
MEMORY = 256 << 20
"""Bytes of address space a render may add to the process (Linux)."""


class BudgetExceeded(Exception):
    """A render went over one of its budgets; the message says which."""


class TooSlow(BudgetExceeded):
    """A render went over its time budget."""


def describe(exc: BaseException) -> str:
    """The message of a budget breach (MemoryError and RecursionError are ones too)."""
    if isinstance(exc, MemoryError):
        return f"the render needed more than its {MEMORY >> 20} MB of memory"
    if isinstance(exc, RecursionError):
        return "the render nested macro calls or includes too deeply"
    return str(exc)


# --- time and memory -------------------------------------------------------------------------

_local = threading.local()


def tick() -> None:
    """Raise when the running render is past its deadline (for renders outside the main
    thread, which have no timer)."""
    deadline = getattr(_local, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise TooSlow(_late())


def _late() -> str:
    return f"the render took more than {SECONDS:g} seconds"


class limits:  # used as a function: ``with limits(): ...``
    """Run a render within its time and memory budgets (nested renders share the outer one).

    A class rather than a generator: it runs for every render, so it is kept cheap."""

    def __enter__(self) -> None:
        self.outer = not getattr(_local, "active", False)
        if not self.outer:
            return
        _local.active = True
        _PRINTED[0] = 0
        main = threading.current_thread() is threading.main_thread()
        self.alarm = _start_alarm() if main else None
        _local.deadline = None if self.alarm is not None else time.monotonic() + SECONDS
        self.memory = _cap_memory() if main else None

    def __exit__(self, *exc_info: object) -> None:
        if not self.outer:
            return
        try:
            _local.active = False  # from here on the alarm no longer raises
            _local.deadline = None
        finally:
            _stop_alarm(self.alarm)
            _uncap_memory(self.memory)


def _on_alarm(signum: int, frame: Any) -> None:
    if getattr(_local, "active", False):
        raise TooSlow(_late())


_Alarm = tuple[Any, tuple[float, float], float]


def _start_alarm() -> _Alarm | None:
    """An interval timer raising :class:`BudgetExceeded` after :data:`SECONDS`, and again
    every quarter second should a template swallow the first; None when signals are not ours
    to use (not the main thread, or no ``setitimer``)."""
    if not hasattr(signal, "setitimer"):
        return None
    try:
        previous = signal.signal(signal.SIGALRM, _on_alarm)
    except ValueError:
        return None
    old = signal.setitimer(signal.ITIMER_REAL, SECONDS, 0.25)
    return previous, old, time.monotonic()


def _stop_alarm(alarm: _Alarm | None) -> None:
    """Stop the timer and give back the handler and timer that were there before."""
    if alarm is None:
        return
    previous, (remaining, interval), started = alarm
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
    if remaining > 0:
        left = max(remaining - (time.monotonic() - started), 0.001)
        signal.setitimer(signal.ITIMER_REAL, left, interval)


_used: list[float] = [0.0, 0.0]  # bytes of address space in use, when read (monotonic)


def _cap_memory() -> tuple[int, int] | None:
    """Lower the address-space limit to what the process uses plus :data:`MEMORY`; the
    limits before, or None when not capped (not Linux, or other threads that the cap would
    hit too). What the process uses is read again when the last reading is a second old."""
    if resource is None or not sys.platform.startswith("linux"):
        return None
    if threading.active_count() > 1:
        return None
    try:
        now = time.monotonic()
        if now - _used[1] > 1.0:
            with open("/proc/self/statm", "rb") as statm:
                _used[:] = [int(statm.read().split()[0]) * resource.getpagesize(), now]
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = int(_used[0]) + MEMORY
        if (soft != resource.RLIM_INFINITY and soft <= cap) or (
            hard != resource.RLIM_INFINITY and hard <= cap
        ):
            return None
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (OSError, ValueError):
        return None
    return soft, hard


def _uncap_memory(before: tuple[int, int] | None) -> None:
    if before is not None and resource is not None:
        resource.setrlimit(resource.RLIMIT_AS, before)


# --- sizes -----------------------------------------------------------------------------------

_END = object()


def size(value: Any, limit: int = MAX_SIZE) -> int:
    """About how many characters ``str(value)`` has, counted up to just past ``limit``.

    Containers are walked, not printed: a list holding one string a thousand times, held a
    thousand times by another list, prints a billion characters from a few kilobytes. Each
    container is walked once (its size is remembered), so sharing costs nothing to count.
    """
    if isinstance(value, str):
        return len(value)
    known: dict[int, int] = {}
    grand = 0
    iterators: list[Iterator[Any]] = [iter((value,))]
    owners: list[int] = [0]
    subtotals: list[int] = [0]
    while grand <= limit:
        item = next(iterators[-1], _END)
        if item is _END:
            iterators.pop()
            owner, subtotal = owners.pop(), subtotals.pop()
            if not iterators:
                return subtotal
            known[owner] = subtotal
            subtotals[-1] += subtotal
            continue
        if isinstance(item, str | bytes):
            found = len(item) + 4
        elif isinstance(item, int):
            found = item.bit_length() // 3 + 3
        elif id(item) in known:
            found = known[id(item)]
        elif id(item) in owners:  # a namespace holding itself prints as "..."
            found = 3
        else:
            inside = _contents(item)
            if inside is not None:
                iterators.append(inside)
                owners.append(id(item))
                subtotals.append(2)
                grand += 2
                continue
            found = 16
        subtotals[-1] += found
        grand += found
    return grand


def _contents(item: Any) -> Iterator[Any] | None:
    """What a container prints, one item after another; None for anything else."""
    if isinstance(item, Namespace):
        item = item._Namespace__attrs
    if isinstance(item, list | tuple):
        return iter(item)
    if isinstance(item, Mapping):
        return itertools.chain.from_iterable(item.items())
    if isinstance(item, set | frozenset | KeysView | ValuesView | ItemsView):
        return iter(item)
    return None


def check_size(value: Any, what: str) -> None:
    """Raise when ``value`` would print more than :data:`MAX_SIZE` characters."""
    found = size(value)
    if found > MAX_SIZE:
        raise BudgetExceeded(f"{what} would be over {MAX_SIZE:,} characters")


def check_result(value: Any) -> Any:
    """``value``, unless it is a string or container over :data:`MAX_SIZE` long."""
    if isinstance(value, str | bytes | list | tuple | dict) and len(value) > MAX_SIZE:
        raise BudgetExceeded(f"a value of {len(value):,} characters or items is over {MAX_SIZE:,}")
    return value


def finalize(value: Any) -> Any:
    """Every ``{{ expression }}``'s value, checked before it is printed; what one render prints
    in all is counted too (so a loop printing a little many times ends early)."""
    if isinstance(value, str):
        printed = len(value)
    else:
        printed = size(value)
        if printed > MAX_SIZE:
            raise BudgetExceeded(f"the printed value would be over {MAX_SIZE:,} characters")
    _PRINTED[0] += printed
    if _PRINTED[0] > MAX_SIZE:
        raise BudgetExceeded(f"the render printed over {MAX_SIZE:,} characters")
    return value


_PRINTED = [0]
"""Characters printed since the last render began (one count for the process: a module cell
is several times cheaper than a thread-local, and calltmpl renders in one thread)."""


class TextBuffer(list[str]):
    """The text of a block, macro or ``{% set %}`` block as it is written, refused as soon as
    it is over :data:`MAX_SIZE` characters (not once a loop has filled memory with pieces of
    literal text, which :func:`finalize` does not see)."""

    __slots__ = ("total",)

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def append(self, piece: str) -> None:
        self.total += len(piece)
        if self.total > MAX_SIZE:
            raise BudgetExceeded(f"the text of a block would be over {MAX_SIZE:,} characters")
        super().append(piece)

    def extend(self, pieces: Iterable[str]) -> None:
        for piece in pieces:
            self.append(piece)
