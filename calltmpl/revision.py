"""A git revision of the repository, read from git's objects without touching the work tree.

``git ls-tree`` lists the files below the repository root at the revision and ``git cat-file
--batch`` reads them, into a folder of the caller's: no checkout, no stash, nothing written to
the index or HEAD (so ``calltmpl diff`` is safe in a pre-commit hook and on a detached HEAD).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from calltmpl.errors import UsageError
from calltmpl.paths import shown_path

LARGEST_BLOB = 16 * 1024 * 1024
"""Files of the revision larger than this are not read (no queue file or template is)."""


def _git(root: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a read-only git command in ``root`` (never prompting, taking no optional lock)."""
    environ = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args],
            input=stdin,
            capture_output=True,
            check=False,
            env=environ,
        )
    except OSError as exc:
        raise UsageError(f"cannot run git, which diff reads the revision with: {exc}") from None


def _said(done: subprocess.CompletedProcess[bytes]) -> str:
    lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[0].removeprefix("fatal: ") if lines else f"git exited with {done.returncode}"


def resolve(root: Path, base: str) -> tuple[str, str]:
    """The commit ``base`` names and the repository root's folder in it (``sub/`` or "")."""
    where = _git(root, "rev-parse", "--show-prefix")
    if where.returncode != 0:
        raise UsageError(
            f"{shown_path(root)}: cannot read its git repository ({_said(where)}); diff "
            "compares the work tree with a git revision"
        )
    if not base or base.startswith("-") or "\0" in base:
        raise UsageError(f"--base {base!r}: not a revision")
    found = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", base + "^{commit}")
    if found.returncode != 0:
        raise UsageError(
            f"--base {base!r}: unknown revision (no commit of this repository has that name)"
        )
    return found.stdout.decode().strip(), where.stdout.decode().strip()


def materialise(root: Path, commit: str, folder: Path) -> None:
    """Write the files below the repository root at ``commit`` into ``folder``."""
    listing = _git(root, "ls-tree", "-r", "-z", "-l", "--end-of-options", commit, "--", ".")
    if listing.returncode != 0:
        raise UsageError(f"cannot list the files of {commit[:12]}: {_said(listing)}")
    entries = []
    for record in listing.stdout.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, kind, oid, size = meta.split()
        if kind == b"blob" and int(size) <= LARGEST_BLOB:
            entries.append((mode, oid, os.fsdecode(path)))
    folder.mkdir(parents=True, exist_ok=True)
    if not entries:
        return
    batch = _git(root, "cat-file", "--batch", stdin=b"".join(oid + b"\n" for _, oid, _ in entries))
    if batch.returncode != 0:
        raise UsageError(f"cannot read the files of {commit[:12]}: {_said(batch)}")
    data, offset = batch.stdout, 0
    for mode, _, name in entries:  # "<oid> <type> <size>\n<content>\n" each
        end = data.index(b"\n", offset)
        header = data[offset:end].split()
        if len(header) != 3:  # "<oid> missing": not in this clone (a partial one)
            offset = end + 1
            continue
        length = int(header[2])
        _write(folder, name, mode, data[end + 1 : end + 1 + length])
        offset = end + 1 + length + 1


def _write(folder: Path, name: str, mode: bytes, content: bytes) -> None:
    """One file of the revision (a link as a link: reading it is confined like any other);
    never through a link, never outside ``folder``."""
    path = folder / name
    if ".." in Path(name).parts or Path(name).is_absolute():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.parent.resolve().is_relative_to(folder.resolve()) or os.path.lexists(path):
        return
    if mode == b"120000":
        try:
            os.symlink(os.fsdecode(content), path)
            return
        except OSError:
            pass
    path.write_bytes(content)
