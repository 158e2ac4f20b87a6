"""Every file calltmpl writes is written whole or not at all, and never through a link out.

``render --out`` payloads, calltmpl.lock and the backups go to a temporary file in the same
folder, flushed, then renamed over the old one: a process killed half-way (here: by the file
size limit, SIGXFSZ, mid-write) leaves the old file, never an empty or partial one.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from calltmpl.config import defaults
from calltmpl.errors import UsageError
from calltmpl.lockfile import Entry, Lock
from calltmpl.outputs import Outputs, write
from calltmpl.paths import atomic_write
from calltmpl.push import backup
from calltmpl.repository import Repository

OLD = '{"old": true}\n'

WRITERS = {  # the file that is there before, and the program that writes over or beside it
    "render --out": (
        "out/billing.json",
        "from calltmpl.outputs import Outputs, write\n"
        "write(Outputs(path.parent, {path: big}, False))\n",
    ),
    "calltmpl.lock": (
        "calltmpl.lock",
        "from calltmpl.lockfile import Entry, Lock\n"
        "lock = Lock(path)\n"
        "lock.entries = {f'queues/{i}': Entry(i, 'x' * 100, 'sha256:x', 'sha256:y') "
        "for i in range(1, 2000)}\n"
        "lock.save()\n",
    ),
    "backup": (
        "backups/7/20260101T000000.000000Z.json",
        "from calltmpl.push import backup\n"
        "backup(path.parent.parent, 7, {'configuration': {'x': big}})\n",
    ),
}

KILLED_MID_WRITE = """
import resource, signal, sys
from pathlib import Path
path = Path(sys.argv[1])
big = "x" * 200_000
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # over the size limit: killed, not an error
resource.setrlimit(resource.RLIMIT_FSIZE, (65_536, 65_536))
"""


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_write_killed_half_way_leaves_the_old_file(tmp_path: Path, writer: str) -> None:
    name, program = WRITERS[writer]
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(OLD, encoding="utf-8")
    before = set(path.parent.iterdir())
    done = subprocess.run(
        [sys.executable, "-c", KILLED_MID_WRITE + program, str(path)],
        capture_output=True,
        timeout=30,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert done.returncode == -signal.SIGXFSZ, done.stderr.decode()
    assert path.read_text(encoding="utf-8") == OLD
    for other in set(path.parent.iterdir()) - before:  # no part of a file, but a temporary
        assert other.name.startswith(".") and other.name.endswith(".tmp"), other.name


def test_a_failed_rename_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    lock_path, payload = tmp_path / "repo" / "calltmpl.lock", tmp_path / "out" / "billing.json"
    lock_path.parent.mkdir()
    payload.parent.mkdir()
    for path in (lock_path, payload):
        path.write_text(OLD, encoding="utf-8")
    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        Lock(lock_path).set("queues/a", Entry(1, "A", "sha256:1", "sha256:2"))
    with pytest.raises(UsageError, match="cannot write"):
        write(Outputs(payload.parent, {payload: "{}\n"}, False))
    for path in (lock_path, payload):
        assert path.read_text(encoding="utf-8") == OLD
        assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_the_lock_keeps_its_mode_and_a_new_file_gets_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "calltmpl.lock"
    path.write_text('{"version": 1, "targets": {}}\n', encoding="utf-8")
    path.chmod(0o664)
    Lock.load(path).set("queues/a", Entry(1, "A", "sha256:1", "sha256:2"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o664
    previous = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.lock"
        Lock(fresh).set("queues/a", Entry(1, "A", "sha256:1", "sha256:2"))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
    assert json.loads(fresh.read_text(encoding="utf-8"))["targets"]["queues/a"] == {
        "id": 1,
        "name": "A",
        "pushed": "sha256:1",
        "remote": "sha256:2",
    }


def test_a_link_in_place_of_the_file_is_replaced_not_written_through(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text(OLD, encoding="utf-8")
    link = tmp_path / "calltmpl.lock"
    link.symlink_to(elsewhere)
    atomic_write(link, "new\n")
    assert not link.is_symlink() and link.read_text(encoding="utf-8") == "new\n"
    assert elsewhere.read_text(encoding="utf-8") == OLD


def test_backups_never_go_through_a_link_out_of_the_repository(tmp_path: Path) -> None:
    root, outside = tmp_path / "repo", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / ".calltmpl").mkdir()
    (root / ".calltmpl" / "backups").symlink_to(outside)
    repository = Repository(defaults(root))
    with pytest.raises(UsageError, match="links outside the repository"):
        repository.backups()
    (root / ".calltmpl" / "backups").unlink()
    folder = repository.backups()
    (folder / "7").symlink_to(outside)
    with pytest.raises(OSError, match="links out of the backups folder"):
        backup(folder, 7, {"name": "A"})
    assert list(outside.iterdir()) == []
    saved = backup(folder, 8, {"name": "A"})
    assert json.loads(saved.read_text(encoding="utf-8")) == {"data": {"callTarget": {"name": "A"}}}
