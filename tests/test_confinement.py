"""Confinement and discovery: nothing is read from outside the repository, and no file the
globs match is passed over in silence (unreadable folders, link loops, named pipes).

The cases that data can express are in tests/cases/confinement and tests/cases/discovery;
these need a file system the case format cannot build, or a look inside."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from calltmpl import files
from calltmpl.cli import main
from calltmpl.environment import ConfinedLoader
from calltmpl.paths import glob_match
from tests.conftest import write_tree

QUEUE = (
    "template: calltmpl/pstn.yaml.j2\nname: {name}\ntimezone: America/Chicago\n"
    'callbackAgentDestination: "+13125550142"\n'
)


def _repo(root: Path, names: list[str]) -> None:
    write_tree(root, {"calltmpl.yaml": "{}\n"})
    write_tree(root, {f"queues/{n}.yaml": QUEUE.format(name=n.replace("/", "-")) for n in names})


def _lint(*args: str) -> Result:
    result = CliRunner().invoke(main, ["lint", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def _refuse_listing(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make ``folder`` unreadable as ``chmod 000`` would, even for root (who reads anything)."""
    real_scandir: Callable[..., Any] = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(os.path.abspath(path)) == folder:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_an_unreadable_queue_folder_stops_the_run_naming_it(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _repo(in_tmp, ["a", "b", "private/c", "private/d"])
    _refuse_listing(monkeypatch, in_tmp / "queues" / "private")
    result = _lint()
    assert result.exit_code == 2, result.output
    assert "queues/private: cannot read: permission denied" in result.stderr
    assert "files checked" not in result.stdout


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any folder")
def test_a_folder_without_permissions_stops_the_run(in_tmp: Path) -> None:
    _repo(in_tmp, ["a", "private/c"])
    (in_tmp / "queues" / "private").chmod(0)
    try:
        result = _lint()
    finally:
        (in_tmp / "queues" / "private").chmod(0o755)
    assert result.exit_code == 2 and "queues/private: cannot read" in result.stderr


def test_an_unreadable_folder_given_as_a_path_is_named(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _repo(in_tmp, ["a"])
    write_tree(in_tmp, {"payloads/ok.json": '{"data": {"name": "x"}}', "payloads/sub/x.json": "{}"})
    _refuse_listing(monkeypatch, in_tmp / "payloads" / "sub")
    result = _lint("payloads")
    assert result.exit_code == 2 and "payloads/sub: cannot read" in result.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_among_the_queues_is_refused_without_blocking(in_tmp: Path) -> None:
    _repo(in_tmp, ["a"])
    os.mkfifo(in_tmp / "queues" / "pipe.yaml")
    result = _lint()
    assert result.exit_code == 2
    assert "queues/pipe.yaml: not a regular file" in result.stderr


def test_a_link_to_nothing_names_no_file(in_tmp: Path) -> None:
    _repo(in_tmp, ["a"])
    os.symlink("gone.yaml", in_tmp / "queues" / ".#a.yaml")  # an editor's lock file
    result = _lint()
    assert result.exit_code == 0 and "1 file checked" in result.stdout


def test_a_link_loop_as_the_output_folder_on_the_command_line(in_tmp: Path) -> None:
    _repo(in_tmp, ["a"])
    os.symlink("out", in_tmp / "out")
    result = CliRunner().invoke(main, ["render", "--out", "out"])
    assert result.exit_code == 2 and "out: cannot write into it: a link loop" in result.stderr


def test_a_template_that_is_a_link_loop_is_a_located_finding(in_tmp: Path) -> None:
    write_tree(in_tmp, {"calltmpl.yaml": "{}\n", "queues/a.yaml": "template: t.yaml.j2\nname: A\n"})
    (in_tmp / "templates").mkdir()
    os.symlink("t.yaml.j2", in_tmp / "templates" / "t.yaml.j2")
    for args in (["queues/a.yaml"], []):
        result = _lint(*args, "--format", "json")
        assert result.exit_code == 1, (args, result.output)  # not found, not a traceback
        assert '"CT101"' in result.stdout and '"queues/a.yaml"' in result.stdout
    for folder in ("templates", "."):  # a folder's files are all looked at, for payloads too
        result = _lint(folder)
        assert result.exit_code == 2
        assert "templates/t.yaml.j2: cannot read: a link loop" in result.stderr


def test_the_loader_survives_a_search_path_that_loops(tmp_path: Path) -> None:
    os.symlink("loop", tmp_path / "loop")
    loader = ConfinedLoader([tmp_path / "loop"])
    with pytest.raises(Exception, match=r"t\.j2"):
        loader.find("t.j2")


def test_walks_find_every_file_once_real_paths_first(tmp_path: Path) -> None:
    write_tree(tmp_path, {"queues/a/x.yaml": "", "queues/a/.h/y.yaml": "", "queues/z.txt": ""})
    os.symlink("a", tmp_path / "queues" / "b")  # the same folder under a second name
    found = files.glob(tmp_path, "queues/**/*.yaml")
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "queues/a/.h/y.yaml",
        "queues/a/x.yaml",
    ]
    visible = files.walk(tmp_path / "queues", tmp_path, (".yaml",), hidden=False)
    assert [p.relative_to(tmp_path).as_posix() for p in visible] == ["queues/a/x.yaml"]


def test_glob_matching_takes_linear_time() -> None:
    pattern = files.pattern_parts("queues/" + "**/" * 150 + "x/" * 20 + "*.yaml")
    parts = ("queues", *["x"] * 19, "a.yaml")
    started = time.monotonic()
    assert not glob_match(pattern, parts)
    assert glob_match(pattern, ("queues", *["x"] * 25, "a.yaml"))
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("queues/**/*.yaml", "queues/a.yaml", True),
        ("queues/**/*.yaml", "queues/x/y/a.yaml", True),
        ("queues/**", "queues/x/a.yaml", True),
        ("queues/*.yaml", "queues/x/a.yaml", False),
        ("queues/*/a.yaml", "queues/x/a.yaml", True),
        ("*.yaml", "a.yaml", True),
        ("q/**/b/*.yaml", "q/b/c.yaml", True),
        ("q/**/b/*.yaml", "q/b/x/c.yaml", False),
    ],
)
def test_globs_match_as_before(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(files.pattern_parts(pattern), tuple(path.split("/"))) is expected
