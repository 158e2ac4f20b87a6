"""Spreading independent work (one queue each) over the machine's CPUs."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

PARALLEL_FROM = 48
"""Below this many queues, starting worker processes costs more than it saves."""

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")
_STATE: Any = None


def parallel_map(function: Callable[[S, T], R], state: S, items: list[T]) -> list[R]:
    """``[function(state, item) for item in items]``, spread over the CPUs when worth it.

    Workers are forked, so they inherit ``state`` (a loaded project, compiled templates)
    instead of rebuilding it; where forking is unavailable or unsafe, the work runs here.
    """
    workers = _worker_count(len(items))
    if workers < 2:
        return [function(state, item) for item in items]
    global _STATE
    _STATE = (function, state)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            chunk = max(1, len(items) // (workers * 8))
            return pool.map(_run, items, chunksize=chunk)
    finally:
        _STATE = None


def _run(item: Any) -> Any:
    function, state = _STATE
    return function(state, item)


def _worker_count(items: int) -> int:
    if items < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if threading.active_count() > 1:  # forking a threaded process can deadlock
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cpus or 1, 8)
