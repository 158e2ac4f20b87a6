"""Properties of the project as a whole: the library stays quiet, codes are unique, the
hook definition lints what a commit touches."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from click.testing import CliRunner
from ruamel.yaml import YAML

from calltmpl import codes
from calltmpl.cli import main
from calltmpl.rules import REGISTRY
from tests.conftest import PROJECT, write_tree

LIBRARY = [
    p
    for p in (PROJECT / "calltmpl").rglob("*.py")
    if p.parent.name != "cli" and p.name != "__main__.py"
]


def test_only_the_cli_imports_click_prints_or_exits() -> None:
    for path in LIBRARY:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n == "click" or n.startswith("click.") for n in names), path
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                assert name not in {"print", "exit", "_exit"}, f"{path}:{node.lineno}"
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                stream = f"{node.value.id}.{node.attr}"
                assert stream not in {"sys.stdout", "sys.stderr"}, f"{path}:{node.lineno}"


def test_codes_and_names_are_unique_across_pipeline_and_rules() -> None:
    entries = [(c.code, c.name) for c in codes.ALL] + [(r.code, r.name) for r in REGISTRY]
    assert len({code for code, _ in entries}) == len(entries)
    assert len({name for _, name in entries}) == len(entries)
    assert all(re.fullmatch(r"CT[0-9]{3}", code) for code, _ in entries)


def test_pre_commit_hook_lints_whole_sets_of_what_a_commit_touches() -> None:
    hooks = YAML(typ="safe").load((PROJECT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    hook = next(h for h in hooks if h["id"] == "calltmpl-lint")
    assert hook["entry"].split()[:2] == ["calltmpl", "lint"]
    assert hook["require_serial"] is True
    files = re.compile(hook["files"])
    for touched in [
        "calltmpl.yaml",
        "queues/billing/main.yaml",
        "queues/a.yml",
        "templates/acme/base.yaml.j2",
        "templates/part.jinja",
        "build/a.json",
    ]:
        assert files.search(touched), touched
    for untouched in ["README.md", "calltmpl/cli.py"]:
        assert not files.search(untouched), untouched


def test_pre_commit_render_hook_writes_the_configured_output_folder(in_tmp: Path) -> None:
    """calltmpl-render runs once per commit over the whole repository and writes the output
    folder of calltmpl.yaml (pre-commit fails it when that changes a file)."""
    hooks = YAML(typ="safe").load((PROJECT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    lint = next(h for h in hooks if h["id"] == "calltmpl-lint")
    hook = next(h for h in hooks if h["id"] == "calltmpl-render")
    assert hook["pass_filenames"] is False
    assert hook["require_serial"] is True
    assert hook["files"] == lint["files"]
    entry = hook["entry"].split()
    assert entry[:2] == ["calltmpl", "render"]
    write_tree(
        in_tmp,
        {
            "calltmpl.yaml": "output: committed\n",
            "templates/t.yaml.j2": "name: {{ name | tojson }}\nconfiguration: {}\n",
            "queues/a.yaml": "template: t.yaml.j2\nname: A\n",
        },
    )
    first = CliRunner().invoke(main, entry[1:])
    assert first.exit_code == 0, first.output
    assert (in_tmp / "committed" / "a.json").is_file()
    assert CliRunner().invoke(main, ["render", "--check"]).exit_code == 0


def test_readme_lists_every_code_with_its_name_and_severity() -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    rows = [(c.code, c.name, str(c.severity)) for c in codes.ALL]
    rows += [(r.code, r.name, str(r.severity)) for r in REGISTRY]
    for code, name, severity in rows:
        assert f"| {code} | {name} | {severity} |" in readme, code
