"""A repository pointed at a fast stand-in Mindful server, for push tests that must not wait.

The server keeps no write limit and no read cache, and the client is told not to wait for
them (:func:`no_waiting`), so a push takes milliseconds; what is tested is what is sent and
recorded, not the pacing (tests/test_push.py covers that against the real limits).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from calltmpl import api, push
from calltmpl.cli import main
from calltmpl.sandbox import Sandbox
from tests.conftest import write_tree

CLIENT_ID = "calltmpl-tests"
SECRET = "s3cr3t-Client-Secret-7f9a2c"

QUEUE = """template: calltmpl/pstn.yaml.j2
name: {name}
timezone: America/Chicago
callbackAgentDestination: "+1312555014{index}"
phoneNumbers: {{"+1312555012{index}": "main"}}
maxCallbackRetries: {retries}
"""

NO_WAITING = (
    "import calltmpl.api as a, calltmpl.push as p; "
    "a.Client._pace = lambda self: None; a.READ_CACHE = 0.0; p.READ_CACHE = -1.0; "
    "from calltmpl.cli import main; main()"
)
"""A ``python -c`` program: the command line, told not to wait for the server's limits."""


def queue(name: str, index: int, retries: int = 2) -> str:
    return QUEUE.format(name=name, index=index, retries=retries)


def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run in this process do not pace writes or wait for a read cache."""
    monkeypatch.setattr(api.Client, "_pace", lambda self: None)
    monkeypatch.setattr(api, "READ_CACHE", 0.0)
    monkeypatch.setattr(push, "READ_CACHE", -1.0)


@pytest.fixture
def server() -> Iterator[Sandbox]:
    with Sandbox(
        client_id=CLIENT_ID, client_secret=SECRET, writes_per_second=math.inf, read_cache_seconds=0
    ) as sandbox:
        yield sandbox


def point_at(server: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run in this process speak to ``server`` with its credentials, unpaced."""
    monkeypatch.setenv("MINDFUL_API_URL", server.url)
    monkeypatch.setenv("MINDFUL_TOKEN_URL", server.token_url)
    monkeypatch.setenv("MINDFUL_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("MINDFUL_CLIENT_SECRET", SECRET)
    monkeypatch.delenv("MINDFUL_TOKEN", raising=False)
    monkeypatch.delenv("CALLTMPL_LOCK_WAIT", raising=False)
    no_waiting(monkeypatch)


@pytest.fixture
def repo(in_tmp: Path, server: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    point_at(server, monkeypatch)
    return write_tree(
        in_tmp,
        {
            "calltmpl.yaml": "{}\n",
            "queues/billing.yaml": queue("Billing", 1),
            "queues/sales.yaml": queue("Sales", 2),
        },
    )


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    for text in (result.stdout, result.stderr):
        assert SECRET not in text
        assert "Traceback" not in text
    return result


def writes(server: Sandbox) -> list[tuple[str, str]]:
    return [
        (r["method"], r["path"])
        for r in server.requests()
        if r["method"] in ("POST", "PUT") and r["path"].startswith("/v2/")
    ]


def names(server: Sandbox) -> list[str]:
    return sorted(t["name"] for t in server.targets())


def lock(repo: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((repo / "calltmpl.lock").read_text(encoding="utf-8"))
    return data


def steps(result: Result) -> dict[str, dict[str, Any]]:
    """A ``plan --format json`` run's steps by queue."""
    return {s["queue"]: s for s in json.loads(result.stdout)["plan"]}


def body(queue_file: str) -> dict[str, Any]:
    """The call target ``render`` makes of a queue file."""
    rendered = run("render", queue_file)
    assert rendered.exit_code == 0, rendered.output
    data: dict[str, Any] = json.loads(rendered.stdout)["data"]
    return data


def create(server: Sandbox, data: dict[str, Any]) -> int:
    """Create a call target as someone else would (the Mindful UI, another clone)."""
    token = httpx.post(
        server.token_url, auth=(CLIENT_ID, SECRET), data={"grant_type": "client_credentials"}
    ).json()["access_token"]
    answer = httpx.post(
        server.url + api.TARGETS,
        json={"data": data},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["data"]["id"])
