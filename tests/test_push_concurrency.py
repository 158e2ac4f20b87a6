"""One push at a time: the repository's push lock (``.calltmpl/push.lock``).

Two pushes of one repository at once used to plan the same creates, send both, and each
write its own idea of calltmpl.lock over the other's. The lock makes the second wait for the
first (a bounded time, then a clear error), and it never leads out of the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from calltmpl.errors import UsageError
from calltmpl.lockfile import PUSH_LOCK, STATE_FOLDER, repository_lock
from calltmpl.repository import lock_wait
from calltmpl.sandbox import Sandbox
from tests.sandboxed import NO_WAITING, lock, names, queue, repo, run, server, writes

__all__ = ["repo", "server"]  # fixtures


class FakeTime:
    """A clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def test_a_second_holder_waits_a_bounded_time_then_names_the_lock(tmp_path: Path) -> None:
    fake = FakeTime()
    with repository_lock(tmp_path) as held:
        assert held
        with (
            pytest.raises(UsageError, match=r"\.calltmpl/push\.lock \(waited 2 s\)"),
            repository_lock(tmp_path, wait=2.0, sleep=fake.sleep, clock=fake.clock),
        ):
            pass
    assert 2.0 <= fake.now < 2.2 and all(0 < s <= 0.1 for s in fake.slept)
    with repository_lock(tmp_path, wait=0.0) as held:  # released: taken at once
        assert held


def test_plan_shares_the_lock_and_creates_nothing(tmp_path: Path) -> None:
    with repository_lock(tmp_path, shared=True) as held:
        assert not held  # no push ever ran: nothing to wait for
    assert not (tmp_path / STATE_FOLDER).exists()
    with repository_lock(tmp_path):
        pass
    with (
        repository_lock(tmp_path, shared=True) as one,
        repository_lock(tmp_path, shared=True) as two,
    ):
        assert one and two  # plans do not wait for each other
    with (
        repository_lock(tmp_path, shared=True),
        pytest.raises(UsageError, match="holds"),
        repository_lock(tmp_path, wait=0.0),
    ):
        pass  # a push waits for a running plan


def test_the_lock_never_leads_out_of_the_repository(tmp_path: Path) -> None:
    root, outside = tmp_path / "repo", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / STATE_FOLDER).symlink_to(outside)
    with pytest.raises(UsageError, match="links outside the repository"), repository_lock(root):
        pass
    assert list(outside.iterdir()) == []
    (root / STATE_FOLDER).unlink()
    (root / STATE_FOLDER).mkdir()
    (root / STATE_FOLDER / PUSH_LOCK).symlink_to(outside / "elsewhere")
    with pytest.raises(UsageError, match="it is a link"), repository_lock(root):
        pass
    assert list(outside.iterdir()) == []
    (root / STATE_FOLDER / PUSH_LOCK).unlink()
    os.mkfifo(root / STATE_FOLDER / PUSH_LOCK)
    for shared in (False, True):  # refused at once, never waited on
        with (
            pytest.raises(UsageError, match="not a regular file"),
            repository_lock(root, shared=shared),
        ):
            pass


@pytest.mark.parametrize(("value", "seconds"), [("", 30.0), ("0", 0.0), ("2.5", 2.5), (" 7 ", 7.0)])
def test_the_wait_can_be_set(value: str, seconds: float) -> None:
    assert lock_wait({"CALLTMPL_LOCK_WAIT": value}) == seconds


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf", "1e9"])
def test_a_wrong_wait_is_a_usage_error(value: str) -> None:
    with pytest.raises(UsageError, match="CALLTMPL_LOCK_WAIT"):
        lock_wait({"CALLTMPL_LOCK_WAIT": value})


def test_push_and_plan_wait_for_a_running_push_then_exit_2(
    repo: Path, server: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLTMPL_LOCK_WAIT", "0.1")
    with repository_lock(repo):  # another push, as far as these commands can tell
        for command in (["push", "--yes"], ["plan"]):
            result = run(*command)
            assert result.exit_code == 2, result.output
            assert ".calltmpl/push.lock" in result.stderr
            assert "CALLTMPL_LOCK_WAIT" in result.stderr
    assert writes(server) == []
    assert not (repo / "calltmpl.lock").exists()
    assert run("push", "--yes").exit_code == 0


def test_push_refuses_a_state_folder_linked_out_of_the_repository(
    repo: Path, server: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (repo / STATE_FOLDER).symlink_to(outside)
    result = run("push", "--yes")
    assert result.exit_code == 2
    assert "links outside the repository" in result.stderr
    assert writes(server) == []
    assert list(outside.iterdir()) == []


def test_two_pushes_at_once_create_each_target_once_and_keep_every_entry(
    repo: Path, server: Sandbox
) -> None:
    for index, name in enumerate(("Claims", "Support"), start=3):
        (repo / f"queues/{name.lower()}.yaml").write_text(queue(name, index), encoding="utf-8")
    # The first reads are slow, so that two pushes without the lock would both plan every
    # create before either sent one.
    server.add_fault("GET", "slow", delay=0.3, times=2)
    pushes = [
        subprocess.Popen(
            [sys.executable, "-c", NO_WAITING, "push", "--yes"],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=60) for process in pushes]
    for process, (stdout, stderr) in zip(pushes, outputs, strict=True):
        assert process.returncode == 0, stdout + stderr
    assert names(server) == ["Billing", "Claims", "Sales", "Support"]
    assert [method for method, _ in writes(server)] == ["POST"] * 4
    entries = lock(repo)["targets"]
    assert set(entries) == {f"queues/{n}" for n in ("billing", "claims", "sales", "support")}
    assert sorted(e["id"] for e in entries.values()) == sorted(t["id"] for t in server.targets())
    assert run("plan").exit_code == 0
