"""Every file in tests/cases is one behaviour of the command line, run in a fresh repository.

A case file holds:

* ``files``: the repository (path -> text), written to a temporary folder that becomes the
  current folder; ``links`` (path -> target) adds symbolic links;
* ``run``: the command's arguments (``--format json`` is added to ``lint`` runs unless the
  case has ``stdout``);
* ``exit``: the expected exit code;
* ``diagnostics``: the expected ``[code, file, line, column, pointer]`` of every diagnostic
  (order-insensitive); message wording is not compared here;
* ``suppressed``: the expected ``[code, file, line, column, pointer, reason]`` of every
  finding a comment silenced;
* ``stdout``: the exact standard output (a golden text that pins wording);
  ``stdout_contains`` (a list) and ``stderr_contains``: pieces of the output;
  ``stdout_excludes`` (a list): pieces that must appear in neither output;
* ``written``: files (path -> exact text, or null for "must not exist") after the run.

The word ``SEED`` in ``run`` and ``diagnostics`` stands for the API documentation's example
body, then copied to the temporary folder as ``seed.json``.

Adding a case needs no code.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from calltmpl.cli import main
from tests.conftest import write_tree

SEED = Path(__file__).parent / "fixtures" / "seed-example-payload.json"
CASES = sorted((Path(__file__).parent / "cases").rglob("*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("case_file", CASES, ids=lambda p: p.stem)
def test_cli_case(case_file: Path, in_tmp: Path) -> None:
    case = _load(case_file)
    write_tree(in_tmp, case.get("files") or {})
    if "SEED" in case["run"]:
        shutil.copy(SEED, in_tmp / "seed.json")
    for link, target in case.get("links", {}).items():
        (in_tmp / link).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, in_tmp / link)
    args = ["seed.json" if a == "SEED" else str(a) for a in case["run"]]
    wants_json = "stdout" not in case and "stdout_contains" not in case
    if args[0] == "lint" and wants_json and "--format" not in args:
        args += ["--format", "json"]
    result = CliRunner().invoke(main, args)
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed, repr(result.exception)
    context = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.exit_code == case["exit"], context
    if "diagnostics" in case:
        found = json.loads(result.stdout)["diagnostics"]
        actual = sorted([d["code"], d["file"], d["line"], d["column"], d["pointer"]] for d in found)
        expected = [["seed.json" if v == "SEED" else v for v in d] for d in case["diagnostics"]]
        assert actual == sorted(expected), context
    if "suppressed" in case:
        found = json.loads(result.stdout)["suppressed"]
        actual = sorted(
            [d["code"], d["file"], d["line"], d["column"], d["pointer"], d["reason"]] for d in found
        )
        assert actual == sorted(case["suppressed"]), context
    for piece in case.get("stdout_contains", []):
        assert piece in result.stdout, context
    for piece in case.get("stdout_excludes", []):
        assert piece not in result.stdout + result.stderr, context
    if "stdout" in case:
        assert result.stdout == case["stdout"], context
    if "stderr_contains" in case:
        assert case["stderr_contains"] in result.stderr, context
    for name, text in case.get("written", {}).items():
        path = in_tmp / name
        if text is None:
            assert not path.exists(), name
        else:
            assert path.read_text(encoding="utf-8") == text, name


def test_every_case_states_its_exit_code() -> None:
    assert CASES, "no case files found"
    for case_file in CASES:
        case = _load(case_file)
        assert "run" in case and "exit" in case, case_file
