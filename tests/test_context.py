"""The repository's other call targets, kept between runs for the rules that compare them.

A one-file lint compares the file with every queue of the repository (CT703, CT704); the
others' call targets are kept in the cache folder so the next run renders only what changed.
What is kept must never hide a clash: a changed queue file or template is rendered again.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from calltmpl import context, environment
from calltmpl.render import Renderer
from calltmpl.repository import Repository
from tests.conftest import write_tree

QUEUE = """template: {template}
name: {name}
timezone: America/Chicago
callbackAgentDestination: "+1312555014{index}"
"""


@pytest.fixture(autouse=True)
def _fresh_cache_folder() -> Iterator[None]:
    """cache_folder() is computed once a process; each test names its own."""
    environment.cache_folder.cache_clear()
    yield
    environment.cache_folder.cache_clear()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("CALLTMPL_CACHE_DIR", str(folder))
    monkeypatch.setattr(context, "SETTLED_NS", 0)  # files just written count as settled
    return folder


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The queue files rendered, in order."""
    seen: list[str] = []
    original = Renderer.render

    def counting(self: Renderer, queue: object) -> object:
        seen.append(getattr(queue, "shown", "?"))
        return original(self, queue)  # type: ignore[arg-type]

    monkeypatch.setattr(Renderer, "render", counting)
    yield seen


def _repo(root: Path) -> Path:
    files = {"calltmpl.yaml": "{}\n", "templates/team.yaml.j2": TEAM}
    for index in range(4):
        files[f"queues/q{index}.yaml"] = QUEUE.format(
            template="calltmpl/pstn.yaml.j2", name=f"Queue {index}", index=index
        )
    return write_tree(root, files)


TEAM = '{% extends "calltmpl/pstn.yaml.j2" %}{% set name = name ~ " Team" %}\n'


def _lint(root: Path) -> list[tuple[str, str]]:
    os.chdir(root)
    repo = Repository.open(None, [])
    report = repo.lint([Path("queues/q0.yaml")], repo.options())
    return [(d.code, d.message) for d in report.diagnostics]


def _bump(path: Path, text: str) -> None:
    """Rewrite a file with other content and other times (as any edit a second later)."""
    path.write_text(text, encoding="utf-8")
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def test_second_run_renders_only_the_checked_file(
    tmp_path: Path, cache: Path, renders: list[str]
) -> None:
    root = _repo(tmp_path / "repo")
    assert _lint(root) == []
    assert sorted(renders) == [f"queues/q{i}.yaml" for i in range(4)]
    renders.clear()
    assert _lint(root) == []
    assert renders == ["queues/q0.yaml"]


def test_a_changed_queue_file_is_rendered_again_and_its_clash_found(
    tmp_path: Path, cache: Path, renders: list[str]
) -> None:
    root = _repo(tmp_path / "repo")
    assert _lint(root) == []
    _bump(
        root / "queues/q2.yaml",
        QUEUE.format(template="calltmpl/pstn.yaml.j2", name="Queue 0", index=2),
    )
    renders.clear()
    found = _lint(root)
    assert set(renders) == {"queues/q0.yaml", "queues/q2.yaml"}  # q0 twice: once to locate
    assert found == [
        ("CT703", "name 'Queue 0' is also the name of the call target in queues/q2.yaml")
    ]


def test_a_changed_template_renders_every_queue_again(
    tmp_path: Path, cache: Path, renders: list[str]
) -> None:
    root = _repo(tmp_path / "repo")
    _bump(root / "queues/q3.yaml", QUEUE.format(template="team.yaml.j2", name="Queue", index=3))
    (root / "queues/q0.yaml").write_text(
        QUEUE.format(template="calltmpl/pstn.yaml.j2", name="Queue Crew", index=0), "utf-8"
    )
    assert _lint(root) == []
    (root / "templates/team.yaml.j2").write_text(TEAM.replace(" Team", " Crew"), "utf-8")
    renders.clear()
    found = _lint(root)
    assert set(renders) == {f"queues/q{i}.yaml" for i in range(4)}
    assert [code for code, _ in found] == ["CT703"]


def test_a_file_changed_just_now_is_not_kept(
    tmp_path: Path, cache: Path, renders: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context, "SETTLED_NS", 3_600 * 10**9)  # everything changed "just now"
    root = _repo(tmp_path / "repo")
    _lint(root)
    renders.clear()
    _lint(root)
    assert len(renders) == 4


def test_without_a_cache_folder_every_queue_is_rendered(
    tmp_path: Path, renders: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "open-cache"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)  # writable by others: never used
    monkeypatch.setenv("CALLTMPL_CACHE_DIR", str(folder))
    monkeypatch.setattr(context, "SETTLED_NS", 0)
    root = _repo(tmp_path / "repo")
    _lint(root)
    renders.clear()
    _lint(root)
    assert len(renders) == 4


def test_a_queue_that_fails_to_render_is_left_out(
    tmp_path: Path, cache: Path, renders: list[str]
) -> None:
    root = _repo(tmp_path / "repo")
    (root / "queues/q1.yaml").write_text("template: calltmpl/pstn.yaml.j2\nname: Queue 0\n")
    assert _lint(root) == []  # q1 lacks timezone: not rendered, not compared, not reported
    renders.clear()
    assert _lint(root) == []
    assert renders == ["queues/q0.yaml"]  # its failure is kept too


def test_a_lint_of_the_whole_repository_fills_the_cache(
    tmp_path: Path, cache: Path, renders: list[str]
) -> None:
    root = _repo(tmp_path / "repo")
    os.chdir(root)
    repo = Repository.open(None, [])
    assert repo.lint([], repo.options()).diagnostics == ()
    renders.clear()
    assert _lint(root) == []
    assert renders == ["queues/q0.yaml"]
