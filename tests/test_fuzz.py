"""Fuzzing calltmpl with generated hostile repositories: no input may crash, hang or blow up.

The repositories come from tests/fuzz_strategies.py: queue files, templates, payload ``.json``
files and ``calltmpl.yaml``, each grown from valid material and then mutated. Each example runs
as a separate guarded process (tests/guarded.py): ``lint`` (mostly with ``--format json``; text
and github too), and ``render --out`` or ``render --check`` for some. A run fails on a hang
(10 s), a signal, a traceback, memory beyond the bound, an exit code other than 0, 1 or 2, a
piece of the client secret or a raw ESC in the output, a JSON report that is not JSON, a line
that a CI log would take for a workflow command, or a rendered payload that is not strict JSON.

The run is reproducible (derandomized, no example database) and bounded:
``CALLTMPL_FUZZ_EXAMPLES`` examples per kind (default 30); ``CALLTMPL_FUZZ_SHRINK=1`` shrinks a
failing example to a minimal one (slow when it hangs). ``benchmarks/fuzz.py`` runs the same
strategies for longer and prints the figures.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.fuzz_strategies import (
    Repo,
    config_repositories,
    payload_repositories,
    queue_repositories,
    template_repositories,
)
from tests.guarded import Outcome, guarded_environment, run_calltmpl

EXAMPLES = int(os.environ.get("CALLTMPL_FUZZ_EXAMPLES", "30"))
SHRINK = os.environ.get("CALLTMPL_FUZZ_SHRINK", "") not in ("", "0")
TIMEOUT = 10.0
EXITS = (0, 1, 2)
# A GitHub annotation as calltmpl writes it; any other line starting with "::" is injected.
_ANNOTATION = re.compile(r"::(error|warning|notice) file=[^,:\r\n]*,line=\d+,col=\d+,title=[^:]*::")


def check(root: Path, command: tuple[str, ...], outcome: Outcome) -> list[str]:
    """Every promise the run broke: the guards', then the command's own output's."""
    found = outcome.problems(EXITS)
    if outcome.hung or outcome.signalled:
        return found
    if command[0] == "lint" and command[-1] == "json" and outcome.returncode in (0, 1):
        try:
            document = json.loads(outcome.stdout)
            assert isinstance(document["diagnostics"], list)
        except (ValueError, KeyError, TypeError, AssertionError):
            found.append("output: lint --format json printed no JSON report")
    for line in re.split(r"\r\n|\r|\n", outcome.output):
        if line.startswith("::") and not (command[-1] == "github" and _ANNOTATION.match(line)):
            found.append(f"output: a line a CI log takes for a workflow command: {line[:100]!r}")
            break
    if command[:2] == ("render", "--out"):
        for written in sorted((root / command[2]).rglob("*.json")):
            try:
                json.loads(written.read_bytes(), parse_constant=_no_constant)
            except ValueError as exc:
                found.append(f"output: {written.relative_to(root)} is not strict JSON: {exc}")
    return found


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def run_repo(repo: Repo, cache: Path) -> list[tuple[tuple[str, ...], Outcome, list[str]]]:
    """Write ``repo`` to a fresh folder and run its commands; each with its problems."""
    results = []
    with tempfile.TemporaryDirectory(prefix="calltmpl-fuzz-") as folder:
        root = Path(folder)
        repo.write(root)
        env = guarded_environment(cache)
        for command in repo.commands:
            outcome = run_calltmpl(command, root, env, timeout=TIMEOUT)
            results.append((command, outcome, check(root, command, outcome)))
    return results


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    phases=[Phase.explicit, Phase.generate, *([Phase.shrink] if SHRINK else [])],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-cache")


def _assert_kept(repo: Repo, cache: Path) -> None:
    for _command, outcome, problems in run_repo(repo, cache):
        assert not problems, (
            "; ".join(problems) + f"\n{outcome.describe()}\n--- repository\n{repo.show()}"
        )


@FUZZ_SETTINGS
@given(repo=queue_repositories())
def test_fuzz_queue_files(repo: Repo, cache: Path) -> None:
    _assert_kept(repo, cache)


@FUZZ_SETTINGS
@given(repo=template_repositories())
def test_fuzz_templates(repo: Repo, cache: Path) -> None:
    _assert_kept(repo, cache)


@FUZZ_SETTINGS
@given(repo=payload_repositories())
def test_fuzz_payload_files(repo: Repo, cache: Path) -> None:
    _assert_kept(repo, cache)


@FUZZ_SETTINGS
@given(repo=config_repositories())
def test_fuzz_config(repo: Repo, cache: Path) -> None:
    _assert_kept(repo, cache)
