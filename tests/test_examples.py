"""The example repository renders and lints with no finding at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from calltmpl.cli import main
from tests.conftest import PROJECT

EXAMPLES = PROJECT / "examples"
QUEUES = sorted((EXAMPLES / "queues").rglob("*.yaml"))


def test_examples_lint_without_any_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES)
    result = CliRunner().invoke(main, ["lint", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout) == {"diagnostics": [], "suppressed": []}


def test_examples_cover_what_the_readme_promises() -> None:
    assert len(QUEUES) >= 6
    texts = [q.read_text(encoding="utf-8") for q in QUEUES]
    assert any("calltmpl/sip.yaml.j2" in t or "sip-site" in t for t in texts)
    assert any("handle:" in t for t in texts)
    assert any("dynamicDnisMappingEnabled: true" in t for t in texts)


@pytest.mark.parametrize("queue", QUEUES, ids=lambda q: q.stem)
def test_each_example_renders_a_post_body(queue: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES)
    result = CliRunner().invoke(main, ["render", str(queue.relative_to(EXAMPLES))])
    assert result.exit_code == 0, result.stdout
    body = json.loads(result.stdout)
    assert set(body) == {"data"}
    assert {"name", "configuration"} <= set(body["data"])


def test_example_inheritance_is_three_levels_deep_below_the_built_ins() -> None:
    folder = EXAMPLES / "templates"

    def chain(name: str) -> list[str]:
        """The organisation templates from ``name`` up to the first built-in."""
        if name.startswith("calltmpl/"):
            return []
        text = (folder / name).read_text(encoding="utf-8")
        parents = [line.split('"')[1] for line in text.splitlines() if "extends" in line]
        return [name, *chain(parents[0])] if parents else [name]

    longest = max((chain(t.relative_to(folder).as_posix()) for t in folder.rglob("*.j2")), key=len)
    assert len(longest) >= 3, longest
