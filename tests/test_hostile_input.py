"""Hostile input ends in seconds with a located error, never a hang, a crash or a traceback.

Inputs too large or too binary for a case file (tests/cases) are built here: deep nesting,
long runs of spaces, FIFOs, link loops, unreadable and oversized files. Every test runs under
a deadline, so a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from calltmpl import parsing, suppress, yamlsafe
from calltmpl.cli import main
from calltmpl.config import read_config
from calltmpl.errors import ConfigError, LockError
from calltmpl.lockfile import Lock
from calltmpl.paths import UnreadableFile, read_text
from tests.conftest import write_tree

QUEUE = (
    "template: calltmpl/pstn.yaml.j2\nname: Billing\ntimezone: America/Chicago\n"
    'callbackAgentDestination: "+13125550142"\n'
)
DEEP = 30_000  # about this many nested brackets crashed the C loader


@pytest.fixture(autouse=True)
def deadline() -> Iterator[None]:
    """Fail (rather than hang) any test that runs past ten seconds."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError("hostile input took more than ten seconds")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, 10)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _lint(root: Path, files: dict[str, str], *args: str) -> Result:
    write_tree(root, files)
    result = CliRunner().invoke(main, ["lint", "--format", "json", *args])
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed, repr(result.exception)
    return result


def _found(result: Result) -> list[tuple[str, str, int, int]]:
    found = json.loads(result.stdout)["diagnostics"]
    return [(d["code"], d["file"], d["line"], d["column"]) for d in found]


def _quick(action: Callable[[], object], seconds: float = 2.0) -> None:
    start = time.perf_counter()
    action()
    assert time.perf_counter() - start < seconds


# --- linear-time matching -----------------------------------------------------------------

OLD_COMMENT = re.compile(
    r"#[-+]?\s*calltmpl:\s*(?P<kind>disable-file|disable)\s*=\s*(?P<codes>[A-Za-z0-9_,\- ]*?)"
    r"\s*(?:--\s*(?P<reason>.*?))?\s*(?:[-+]?#\})?\s*$"
)
"""The suppression pattern before it was made linear: right, but cubic on runs of spaces."""


def _old_scan(line: str) -> tuple[int, str, tuple[str, ...], str] | None:
    match = OLD_COMMENT.search(line)
    if match is None:
        return None
    codes = tuple(s.strip() for s in match.group("codes").split(",") if s.strip())
    return match.start() + 1, match.group("kind"), codes, (match.group("reason") or "").strip()


PIECES = st.sampled_from(
    ["#", "# calltmpl: disable=", "#calltmpl:disable-file=", "{#- calltmpl: disable = ",
     "CT1", "CT2", ",", " ", "   ", "\t", "-", "--", "#}", "-#}", "+#}", "+", "x", "!",
     "calltmpl:", "=", "disable"]
)  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(parts=st.lists(PIECES, max_size=12))
def test_suppression_comments_read_as_the_old_pattern_read_them(parts: list[str]) -> None:
    line = "".join(parts)
    found = suppress.scan("f", line)
    new = None
    if found:
        kind = "disable-file" if found[0].whole_file else "disable"
        new = (found[0].column, kind, found[0].selectors, found[0].reason)
    assert new == _old_scan(line), line


@pytest.mark.parametrize(
    "line",
    [
        "x: 1 # calltmpl: disable=CT006" + " " * 100_000 + "!",
        "#" + " " * 50_000 + "calltmpl:" + " " * 50_000 + "disable=" + " " * 50_000 + "!",
        "# calltmpl: disable=X ! " * 20_000,
        "# calltmpl: disable=X --" + " " * 100_000 + "x" + " " * 100_000 + "-#}",
    ],
    ids=["codes", "head", "many-heads", "reason"],
)
def test_suppression_scan_is_linear(line: str) -> None:
    _quick(lambda: suppress.scan("f", line))


@pytest.mark.parametrize("quote", ['"', "'"])
def test_a_value_of_100000_spaces_reads_in_linear_time(quote: str) -> None:
    text = f"template: t\nx: {quote}{' ' * 100_000}{quote}\ny: 1{' ' * 100_000}\n"
    _quick(lambda: parsing.load_yaml(text))
    _quick(lambda: parsing.yaml_positions(text))
    assert parsing.load_yaml(text)["x"] == " " * 100_000


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "ab " * 100_000 + "!\n",
        "a: x" + " " * 100_000 + "y" + " " * 100_000 + "!\n",
        "a: '" + "''" * 100_000 + "x\n",
        'a: "' + '\\"' * 100_000 + "\n",
        '"' + '\\"' * 100_000 + ": 1\n",
        "a: [" + '"x", ' * 100_000 + "\n",
    ],
    ids=["plain", "plain-spaces", "single-quoted", "double-quoted", "quoted-key", "flow"],
)
def test_fast_path_patterns_are_linear(text: str) -> None:
    def read() -> None:
        with contextlib.suppress(parsing.ParseError):
            parsing.load_yaml(text)
        parsing.yaml_positions(text)

    _quick(read)


# --- nesting, aliases and size ------------------------------------------------------------


@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_deep_queue_file_is_a_located_syntax_error(in_tmp: Path, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    deep = f"x: {opening * DEEP}{closing * DEEP}\n"
    result = _lint(in_tmp, {"calltmpl.yaml": "{}\n", "queues/a.yaml": QUEUE + deep})
    assert result.exit_code == 1
    column = 4 + len(opening) * (yamlsafe.MAX_DEPTH - 1)  # the document is a level too
    assert _found(result) == [("CT001", "queues/a.yaml", 5, column)]


def test_deep_block_nesting_is_refused_before_it_is_built() -> None:
    text = "".join(" " * depth + "a:\n" for depth in range(150)) + " " * 150 + "b: 1\n"
    with pytest.raises(parsing.ParseError, match="nested deeper than 100") as caught:
        parsing.load_yaml(text)
    assert caught.value.line == 101


def test_deep_configuration_is_a_located_error(in_tmp: Path) -> None:
    write_tree(in_tmp, {"calltmpl.yaml": f"lint: {'[' * DEEP}{']' * DEEP}\n"})
    with pytest.raises(ConfigError) as caught:
        read_config(in_tmp / "calltmpl.yaml")
    assert (caught.value.line, caught.value.column) == (1, 6 + yamlsafe.MAX_DEPTH)


def test_deep_payload_and_deep_output_are_located(in_tmp: Path) -> None:
    deep = "[" * DEEP + "]" * DEEP
    files = {
        "calltmpl.yaml": "{}\n",
        "p.json": f'{{"data": {{"name": "A", "configuration": {{"x": {deep}}}}}}}',
        "templates/t.yaml.j2": f"name: A\nconfiguration:\n  x: {deep}\n",
        "queues/a.yaml": "template: t.yaml.j2\n",
    }
    result = _lint(in_tmp, files, "p.json", "queues/a.yaml")
    assert result.exit_code == 1
    assert sorted(_found(result)) == [
        ("CT004", "p.json", 1, 47 + yamlsafe.MAX_DEPTH - 3),
        ("CT106", "templates/t.yaml.j2", 3, 1),
    ]


def test_an_alias_cannot_carry_nesting_past_the_limit() -> None:
    text = f"a: &a {'[' * 99}{']' * 99}\nb: [[*a]]\n"
    with pytest.raises(parsing.ParseError, match="nests deeper") as caught:
        parsing.load_yaml(text)
    assert (caught.value.line, caught.value.column) == (2, 6)


def test_unused_anchors_that_expand_to_gigabytes_are_refused_quickly() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for name, previous in zip("bcdefghij", "abcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]")
    text = "\n".join(lines) + "\n"  # 10**10 values for anything that walks them
    assert len(text) < 1024
    for read in (parsing.load_yaml, parsing.load_payload_text):
        with pytest.raises(parsing.ParseError, match="aliases expand"):
            _quick(lambda read=read: read(text))
    _quick(lambda: parsing.yaml_positions(text))
    assert parsing.yaml_positions(text) == {}


def test_too_many_values_are_refused(in_tmp: Path) -> None:
    many = "x: [" + ",".join(["1"] * (yamlsafe.MAX_VALUES + 1)) + "]\n"
    with pytest.raises(parsing.ParseError, match="more than 50,000 values"):
        parsing.load_yaml(many)
    payload = '{"data": {"name": "A", "configuration": {"x": [' + many[4:-2] + "]}}}"
    with pytest.raises(parsing.ParseError, match="more than 50,000 values"):
        parsing.load_json(payload)


def test_files_past_the_size_cap_are_refused_unread(in_tmp: Path) -> None:
    huge = QUEUE + "# " + "x" * (1024 * 1024) + "\n"
    files = {"calltmpl.yaml": "{}\n", "queues/a.yaml": huge}
    write_tree(in_tmp, files)
    with (in_tmp / "p.json").open("wb") as stream:  # sparse: nothing to read, only refuse
        stream.truncate(64 * 1024 * 1024)
    result = _lint(in_tmp, {}, "queues/a.yaml", "p.json")
    assert result.exit_code == 1
    assert sorted(_found(result)) == [("CT001", "queues/a.yaml", 1, 1), ("CT004", "p.json", 1, 1)]
    assert "larger than 1 MB" in result.stdout and "larger than 8 MB" in result.stdout


# --- scalars that cannot be built, and values JSON has not ---------------------------------


def test_integers_beyond_4300_digits_are_located(in_tmp: Path) -> None:
    digits = "9" * 5000
    files = {
        "calltmpl.yaml": "{}\n",
        "queues/a.yaml": QUEUE + f"x: {digits}\n",
        "p.json": f'{{"data": {{"name": "A", "configuration": {{"x": {digits}}}}}}}',
        "templates/t.yaml.j2": f"name: A\nconfiguration:\n  x: {digits}\n",
        "queues/b.yaml": "template: t.yaml.j2\n",
    }
    result = _lint(in_tmp, files, "queues/a.yaml", "queues/b.yaml", "p.json")
    assert result.exit_code == 1
    assert sorted(_found(result)) == [
        ("CT001", "queues/a.yaml", 5, 4),
        ("CT004", "p.json", 1, 47),
        ("CT106", "templates/t.yaml.j2", 3, 1),
    ]


def test_a_raw_lone_surrogate_in_output_is_located(in_tmp: Path) -> None:
    files = {
        "calltmpl.yaml": "{}\n",
        "templates/t.yaml.j2": "name: A\nconfiguration:\n  x: {{ value }}\n",
        "queues/a.yaml": 'template: t.yaml.j2\nvalue: "\\ud800"\n',
    }
    result = _lint(in_tmp, files)
    assert result.exit_code == 1
    assert _found(result) == [("CT106", "templates/t.yaml.j2", 3, 1)]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (float("nan"), "NaN is not a JSON number"),
        ({"a": [1, {"b": float("-inf")}]}, "-Infinity is not a JSON number"),
        ({1: "x"}, "the key 1 is not a string"),
        ({"a": b"x"}, "binary data"),
        ({"a": {1, 2}}, "a set"),
        (("a", 1), "a list of pairs"),
        ("\udfff", "lone surrogate"),
    ],
)
def test_json_problem_names_what_is_not_json(value: Any, problem: str) -> None:
    found = yamlsafe.json_problem({"v": value})
    assert found is not None and problem in found.message
    assert yamlsafe.json_problem({"v": value}, strict=False) is None


# --- reading files safely -----------------------------------------------------------------


def test_read_text_refuses_what_is_not_a_readable_regular_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "folder").mkdir()
    (tmp_path / "latin1").write_bytes(b"caf\xe9")
    (tmp_path / "big").write_text("x" * 101)
    (tmp_path / "secret").write_text("x")
    reasons = {
        "fifo": "named pipe",
        "loop": "link loop",
        "folder": "is a folder",
        "latin1": "latin1:1:4: not UTF-8 text (bytes e9)",
        "missing": "no such file",
        "a" * 300: "name is too long",
    }
    for name, reason in reasons.items():
        with pytest.raises(UnreadableFile, match=re.escape(reason)):
            read_text(tmp_path / name)
    with pytest.raises(UnreadableFile, match="larger than"):
        read_text(tmp_path / "big", limit=100)
    real_open = os.open

    def refuse(path: Any, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith("secret"):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(UnreadableFile, match="permission denied"):
        read_text(tmp_path / "secret")


def test_read_text_reads_line_ends_as_text_mode_does(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a: 1\r\nb: 2\rc: 3\n")
    assert read_text(tmp_path / "a") == (tmp_path / "a").read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", ["queue", "payload", "payload-in-folder"])
def test_a_fifo_given_as_a_path_is_refused_without_blocking(in_tmp: Path, kind: str) -> None:
    name = {"queue": "queues/a.yaml", "payload": "p.json", "payload-in-folder": "d/p.json"}[kind]
    (in_tmp / name).parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(in_tmp / name)
    result = _lint(in_tmp, {"calltmpl.yaml": "{}\n"}, "d" if kind.endswith("folder") else name)
    assert result.exit_code == 2
    assert f"{name}: " in result.stderr and "named pipe" in result.stderr


def test_a_payload_in_a_folder_that_cannot_be_read_is_not_skipped(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(in_tmp, {"calltmpl.yaml": "{}\n", "d/good.json": '{"data": {"name": "A"}}'})
    (in_tmp / "d" / "latin1.json").write_bytes(b'{"data": {"name": "caf\xe9"}}')
    result = _lint(in_tmp, {}, "d")
    assert result.exit_code == 1
    assert ("CT004", "d/latin1.json", 1, 23) in _found(result)
    real_open = os.open

    def refuse(path: Any, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith("good.json"):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    result = _lint(in_tmp, {}, "d")
    assert result.exit_code == 2
    assert "d/good.json: cannot read: permission denied" in result.stderr


def test_a_queue_file_that_is_not_utf8_is_located(in_tmp: Path) -> None:
    write_tree(in_tmp, {"calltmpl.yaml": "{}\n"})
    (in_tmp / "queues").mkdir()
    (in_tmp / "queues" / "a.yaml").write_bytes(QUEUE.encode() + b"x: caf\xe9\n")
    result = _lint(in_tmp, {})
    assert result.exit_code == 1
    assert _found(result) == [("CT001", "queues/a.yaml", 5, 7)]


def test_a_fifo_or_a_link_loop_as_configuration_is_a_located_error(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.yaml")
    (tmp_path / "loop.yaml").symlink_to("loop.yaml")
    for name, reason in [("fifo.yaml", "named pipe"), ("loop.yaml", "link loop")]:
        with pytest.raises(ConfigError, match=reason) as caught:
            read_config(tmp_path / name)
        assert (caught.value.line, caught.value.column) == (1, 1)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: os.mkfifo(path), "named pipe"),
        (lambda path: path.symlink_to(path.name), "link loop"),
        (lambda path: path.write_text("[" * DEEP), "1:101: nested deeper than 100 levels"),
        (lambda path: path.write_text('{"version": NaN}'), "1:13: NaN is not JSON"),
    ],
    ids=["fifo", "link-loop", "deep", "nan"],
)
def test_an_unreadable_lock_is_a_lock_error(
    tmp_path: Path, make: Callable[[Path], None], message: str
) -> None:
    make(tmp_path / "calltmpl.lock")
    with pytest.raises(LockError, match=re.escape(message)):
        Lock.load(tmp_path / "calltmpl.lock")


def test_unreadable_file_survives_a_worker_process() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(UnreadableFile("a.yaml", "permission denied")))
    assert str(error) == "a.yaml: cannot read: permission denied"
