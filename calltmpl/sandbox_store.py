"""The sandbox's state: call targets, tokens, queued faults and the request log, behind one lock.

It validates create and replace bodies, applies the write rate limit and the stale read cache,
and persists the call targets to the ``--state`` JSON file. It does not import the HTTP layer
(:mod:`calltmpl.sandbox_http`): a refused request leaves here as a :class:`Refusal` carrying
the status and body to answer, and the HTTP layer sends it.
"""

from __future__ import annotations

import copy
import json
import math
import os
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "FAULT_KINDS",
    "LIST",
    "Fault",
    "Fields",
    "Json",
    "Refusal",
    "Reply",
    "Settings",
    "Store",
    "make_fault",
    "non_negative",
    "seeded",
    "target_fields",
]

FAULT_KINDS = ("429", "500", "502", "503", "slow", "drop", "drop-after-commit", "expire-token")
FAULT_METHODS = ("GET", "POST", "PUT", "*")
LIST = -1
"""Read-cache key of the list of call targets (target ids are positive)."""

Json = dict[str, Any]


class Reply(NamedTuple):
    status: int
    body: Any
    headers: tuple[tuple[str, str], ...] = ()


class Refusal(Exception):
    """Carries an error answer out of deep inside request handling."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        headers = extra.pop("headers", ())
        self.reply = Reply(status, {"error": message, **extra}, headers)


class Fields(NamedTuple):
    """What a create or replace may set; everything else in ``data`` is ignored."""

    name: str
    configuration: Json
    phone_numbers: dict[str, str]


@dataclass(frozen=True)
class Fault:
    method: str
    path: str
    kind: str
    times: int
    retry_after: float | None
    delay: float

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and path.startswith(self.path)


def make_fault(
    method: str, kind: str, times: int, retry_after: float | None, delay: float, path: str
) -> Fault:
    """Check a fault before it is queued, so a typo fails the test that made it, at once."""
    if kind not in FAULT_KINDS:
        raise ValueError(f"fault kind {kind!r} is not one of {', '.join(FAULT_KINDS)}")
    if method.upper() not in FAULT_METHODS:
        raise ValueError(f"fault method {method!r} is not one of {', '.join(FAULT_METHODS)}")
    if type(times) is not int or times < 1:
        raise ValueError(f"fault times {times!r} is not a positive integer")
    if retry_after is not None and not non_negative(retry_after):
        raise ValueError(f"fault retry_after {retry_after!r} is not null or a number >= 0")
    if not non_negative(delay):
        raise ValueError(f"fault delay {delay!r} is not a number >= 0")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"fault path {path!r} is not a path starting with /")
    return Fault(method.upper(), path, kind, times, retry_after, float(delay))


def non_negative(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < math.inf


@dataclass
class _Queued:
    fault: Fault
    left: int


@dataclass(frozen=True)
class Settings:
    client_id: str
    client_secret: str
    writes_per_second: float
    read_cache_seconds: float
    token_lifetime: float


class Store:
    """All mutable state, behind one lock; every public method takes the lock itself."""

    def __init__(self, settings: Settings, state_file: Path | None) -> None:
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
        self.answers: dict[tuple[str, str], Reply] = {}  # canned answers, for tests

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

    def add_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(_Queued(fault, fault.times))

    def take_fault(self, method: str, path: str) -> Fault | None:
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
            self.answers.clear()

    # --- canned answers ---

    def set_answer(self, method: str, path: str, reply: Reply) -> None:
        with self.lock:
            self.answers[(method.upper(), path)] = reply

    def answer_for(self, method: str, path: str) -> Reply | None:
        with self.lock:
            return self.answers.get((method, path))

    # --- call targets ---

    def all_targets(self) -> list[Json]:
        with self.lock:
            return self._copy_all()

    def _copy_all(self) -> list[Json]:
        return [copy.deepcopy(self.targets[i]) for i in sorted(self.targets)]

    def read(self, target_id: int) -> Any:
        """The target (or ``LIST``: all targets) as a snapshot up to ``read_cache_seconds``
        old, the way Mindful's read cache may answer right after a write."""
        now = time.monotonic()
        with self.lock:
            taken = self.snapshots.get(target_id)
            if taken is not None and now - taken[0] < self.settings.read_cache_seconds:
                return taken[1]
            if target_id == LIST:
                fresh: Any = self._copy_all()
            else:
                fresh = copy.deepcopy(self.targets.get(target_id))
            self.snapshots[target_id] = (now, fresh)
            return fresh

    def create(self, fields: Fields) -> Json:
        with self.lock:
            self._admit_write()
            target = {"id": self.next_id, **_stored(fields)}
            self.targets[self.next_id] = target
            self.next_id += 1
            return self._accepted(target)

    def replace(self, target_id: int, fields: Fields) -> Json:
        with self.lock:
            self._admit_write()
            if target_id not in self.targets:
                raise Refusal(404, "not found")
            target = {"id": target_id, **_stored(fields)}
            self.targets[target_id] = target
            return self._accepted(target)

    def seed(self, items: list[Any]) -> list[int]:
        """Add call targets as if made in the Mindful UI: at once, not rate limited, not
        cached. Each item is ``{name, configuration, phoneNumbers?, id?}``; an item whose
        name the sandbox already holds is skipped. ValueError names the first bad item, and
        then nothing is added. The ids of the added targets, in order."""
        with self.lock:
            taken = {t["name"] for t in self.targets.values()}
            added: dict[int, Json] = {}
            next_id = self.next_id
            for index, item in enumerate(items):
                target = seeded(item, index)
                wanted = target.pop("id", None)
                if target["name"] in taken:
                    continue
                if wanted is None:
                    while next_id in self.targets or next_id in added:
                        next_id += 1
                    wanted = next_id
                if wanted in self.targets or wanted in added:
                    raise ValueError(f"item {index + 1}: id {wanted} is taken")
                added[wanted] = {"id": wanted, **target}
                taken.add(target["name"])
                next_id = max(next_id, wanted + 1)
            self.targets.update(added)
            self.next_id = max(self.next_id, next_id)
            self.snapshots.clear()
            self._save()
            return list(added)

    def edit(self, target_id: int, changes: Json) -> Json:
        """A change made in the Mindful UI: immediate, not rate limited, not cached."""
        with self.lock:
            target = self.targets[target_id]
            target["configuration"].update(copy.deepcopy(changes))
            self.snapshots.pop(target_id, None)
            self.snapshots.pop(LIST, None)
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
            raise Refusal(429, "rate limited", headers=retry)

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


def _stored(fields: Fields) -> Json:
    return {
        "name": fields.name,
        "configuration": copy.deepcopy(fields.configuration),
        "phoneNumbers": dict(fields.phone_numbers),
    }


def seeded(item: Any, index: int) -> Json:
    """A seeded call target, checked as a create would be (an id may be given)."""
    where = f"item {index + 1}"
    if not isinstance(item, dict):
        raise ValueError(f"{where} is not an object")
    wanted = item.get("id")
    if wanted is not None and (type(wanted) is not int or wanted < 1):
        raise ValueError(f"{where}: id must be a positive integer")
    body = {k: v for k, v in item.items() if k != "id"}
    try:
        fields = target_fields({"data": body}, None)
    except Refusal as refusal:
        raise ValueError(f"{where}: {refusal}") from None
    target = _stored(fields)
    return target if wanted is None else {**target, "id": wanted}


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


def target_fields(body: Any, target_id: int | None) -> Fields:
    """Validate a create (``target_id`` None) or replace body; refuse with the field named."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise Refusal(400, "data is required: an object", field="data")
    if "id" in data and target_id is None:
        raise Refusal(400, "data.id must not be sent on create", field="data.id")
    if "id" in data and (type(data["id"]) is not int or data["id"] != target_id):
        raise Refusal(400, f"data.id must equal the id in the path ({target_id})", field="data.id")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise Refusal(400, "data.name is required: a non-empty string", field="data.name")
    configuration = data.get("configuration")
    if not isinstance(configuration, dict):
        raise Refusal(400, "data.configuration is required: an object", field="data.configuration")
    numbers = data.get("phoneNumbers", {})
    if not isinstance(numbers, dict) or not all(isinstance(v, str) for v in numbers.values()):
        message = "data.phoneNumbers must be an object of string to string"
        raise Refusal(400, message, field="data.phoneNumbers")
    return Fields(name, configuration, numbers)
