"""A command that checks nothing is a usage error (issue 9), but a side of ``calltmpl diff``
may hold no queue at all: a revision from before the first queue, or a work tree whose queues
were all deleted. Those compare as added or removed, never as "nothing to check"."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from calltmpl.cli import main
from tests.conftest import write_tree
from tests.test_review import git

QUEUE = """template: calltmpl/pstn.yaml.j2
name: A
timezone: America/Chicago
callbackAgentDestination: "+13125550142"
"""


def test_diff_against_a_revision_without_queues_shows_them_added(in_tmp: Path) -> None:
    write_tree(in_tmp, {"calltmpl.yaml": "{}\n"})
    git(in_tmp, "init", "-q")
    git(in_tmp, "add", ".")
    git(in_tmp, "commit", "-qm", "configuration only")
    write_tree(in_tmp, {"queues/a.yaml": QUEUE})
    result = CliRunner().invoke(main, ["diff"])
    assert result.exit_code == 4, result.output
    assert "queues/a.yaml" in result.stdout and "1 added" in result.stdout


def test_diff_of_a_work_tree_whose_queues_were_deleted_shows_them_removed(in_tmp: Path) -> None:
    write_tree(in_tmp, {"calltmpl.yaml": "{}\n", "queues/a.yaml": QUEUE})
    git(in_tmp, "init", "-q")
    git(in_tmp, "add", ".")
    git(in_tmp, "commit", "-qm", "one queue")
    (in_tmp / "queues/a.yaml").unlink()
    result = CliRunner().invoke(main, ["diff"])
    assert result.exit_code == 4, result.output
    assert "1 removed" in result.stdout


def test_lint_of_that_work_tree_checks_nothing_and_says_so(in_tmp: Path) -> None:
    write_tree(in_tmp, {"calltmpl.yaml": "{}\n", "queues/notes.txt": "none yet\n"})
    result = CliRunner().invoke(main, ["lint"])
    assert result.exit_code == 2
    assert "nothing to check: no queue file matches queues/**/*.yaml" in result.stderr
