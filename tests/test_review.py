"""``calltmpl diff`` over a real git history of the example repository, its Markdown, ``plan
--format markdown`` and the GitHub Action that posts the diff."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from ruamel.yaml import YAML

from calltmpl import markdown
from calltmpl.cli import main
from calltmpl.explain import Place
from calltmpl.review import Member, QueueChange, Review
from calltmpl.sandbox import Sandbox
from tests.conftest import PROJECT, write_tree

EXAMPLES = PROJECT / "examples"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}
IDENTITY = (
    "-c",
    "user.name=Test",
    "-c",
    "user.email=test@example.com",
    "-c",
    "commit.gpgsign=false",
)
HOSTILE = "New `q` ``x`` </details><script>alert(1)</script> & @everyone #1"


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *IDENTITY, "-C", str(root), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    return done.stdout


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The examples committed (the base), then a commit with a template edit, a queue edit, a
    queue variable removed, a queue added and a queue removed; the current folder is it."""
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("build"))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    edit(
        root / "templates/acme/billing.yaml.j2",
        "customerDialTimeout | default(45)",
        "customerDialTimeout | default(60)",
    )
    edit(root / "queues/billing/disputes.yaml", '"ww2#"', '"ww3#"')
    edit(root / "queues/support/tier1.yaml", "dynamicDnisMappingEnabled: true\n", "")
    (root / "queues/support/overflow.yaml").unlink()
    write_tree(
        root,
        {
            "queues/new.yaml": "template: calltmpl/pstn.yaml.j2\n"
            f"name: {json.dumps(HOSTILE)}\n"
            'timezone: "America/Chicago"\ncallbackAgentDestination: "+13125550199"\n'
        },
    )
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "head")
    monkeypatch.chdir(root)
    yield root


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


# --- an independent oracle: render both sides with `render --out`, flatten, compare ---------


def flatten(value: Any, base: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        found: dict[str, Any] = {}
        for key, item in value.items():
            found.update(flatten(item, f"{base}/{key.replace('~', '~0').replace('/', '~1')}"))
        return found
    return {base: value}


def payloads(root: Path, out: Path) -> dict[str, dict[str, Any]]:
    result = CliRunner().invoke(
        main, ["render", "--out", str(out), "--config", str(root / "calltmpl.yaml")]
    )
    assert result.exit_code == 0, result.output
    return {
        "queues/" + p.relative_to(out).with_suffix(".yaml").as_posix(): json.loads(p.read_text())[
            "data"
        ]
        for p in out.rglob("*.json")
    }


def truth(base: Path, head: Path, scratch: Path) -> set[tuple[str, str, str, str, str]]:
    before, after = payloads(base, scratch / "before"), payloads(head, scratch / "after")
    found = set()
    for queue in set(before) | set(after):
        old = flatten(before[queue]) if queue in before else {}
        new = flatten(after[queue]) if queue in after else {}
        status = (
            "changed"
            if queue in before and queue in after
            else ("added" if queue in after else "removed")
        )
        for pointer in set(old) | set(new):
            if (
                pointer in old
                and pointer in new
                and json.dumps(old[pointer]) == json.dumps(new[pointer])
            ):
                continue
            found.add(
                (
                    queue,
                    status,
                    pointer,
                    json.dumps(old.get(pointer, "-")),
                    json.dumps(new.get(pointer, "-")),
                )
            )
    return found


def reported(document: dict[str, Any]) -> set[tuple[str, str, str, str, str]]:
    return {
        (
            q["queue"],
            q["status"],
            m["pointer"],
            json.dumps(m.get("before", "-")),
            json.dumps(m.get("after", "-")),
        )
        for q in document["queues"]
        for m in q["members"]
    }


def test_json_lists_exactly_the_members_that_truly_changed(history: Path, tmp_path: Path) -> None:
    result = run("diff", "--base", "HEAD~1", "--format", "json")
    assert result.exit_code == 4, result.output
    document = json.loads(result.stdout)
    assert document["base"] == "HEAD~1"
    assert reported(document) == truth(EXAMPLES, history, tmp_path)
    statuses = {q["queue"]: q["status"] for q in document["queues"]}
    assert statuses == {
        "queues/billing/disputes.yaml": "changed",
        "queues/billing/general.yaml": "changed",
        "queues/support/tier1.yaml": "changed",
        "queues/new.yaml": "added",
        "queues/support/overflow.yaml": "removed",
    }
    disputes = next(q for q in document["queues"] if q["queue"] == "queues/billing/disputes.yaml")
    assert disputes["name"] == "Acme Billing - Disputes"
    assert {"pointer": "/configuration/customerDialTimeout", "before": 45, "after": 60} in disputes[
        "members"
    ]
    added = next(q for q in document["queues"] if q["status"] == "added")
    assert added["name"] == HOSTILE
    assert all("before" not in m and "after" in m for m in added["members"])
    removed = next(q for q in document["queues"] if q["status"] == "removed")
    assert all("after" not in m and "before" in m for m in removed["members"])


def test_a_shared_change_is_one_group_attributed_to_the_line_that_caused_it(history: Path) -> None:
    result = run("diff", "--base", "HEAD~1")
    assert result.exit_code == 4
    lines = result.stdout.splitlines()
    # The template edit: one entry for both billing queues, at the template line edited.
    template_line = 1 + (history / "templates/acme/billing.yaml.j2").read_text().splitlines().index(
        "  customerDialTimeout: {{ customerDialTimeout | default(60) | tojson }}"
    )
    assert (
        f"/configuration/customerDialTimeout: 45 -> 60  in 2 queues  "
        f"← templates/acme/billing.yaml.j2:{template_line}"
    ) in lines
    assert sum("/configuration/customerDialTimeout" in line for line in lines) == 1
    # The queue edit: at the queue line.
    assert (
        '/configuration/postDialDtmf: "ww2#" -> "ww3#"  in queues/billing/disputes.yaml  '
        "← queues/billing/disputes.yaml:7"
    ) in lines
    # A queue variable removed: at its line in the revision, named as git names it.
    assert (
        "/configuration/dynamicDnisMappingEnabled: true -> false  in queues/support/tier1.yaml  "
        "← HEAD~1:queues/support/tier1.yaml:9"
    ) in lines
    assert "added    queues/new.yaml" in result.stdout
    assert 'removed  queues/support/overflow.yaml  "Acme Support - Overflow"' in lines
    assert lines[-1] == "Against HEAD~1: 3 changed, 1 added, 1 removed."


def test_a_change_caused_by_different_lines_is_not_attributed() -> None:
    shared = dict(pointer="/a", before=1, after=2)
    review = Review(
        "HEAD",
        (
            QueueChange("q1.yaml", "1", "changed", (Member(**shared, cause=Place("q1.yaml", 3)),)),
            QueueChange("q2.yaml", "2", "changed", (Member(**shared, cause=Place("q2.yaml", 3)),)),
            QueueChange("q3.yaml", "3", "changed", (Member("/a", 1, 3, Place("t.j2", 1)),)),
        ),
    )
    groups = review.groups()
    assert [(g.queues, g.cause) for g in groups] == [
        (("q1.yaml", "q2.yaml"), None),
        (("q3.yaml",), Place("t.j2", 1)),
    ]


def test_markdown_is_safe_for_github(history: Path) -> None:
    edit(
        history / "queues/billing/general.yaml",
        '"Acme Billing - General"',
        json.dumps(HOSTILE + "2"),
    )
    result = run("diff", "--base", "HEAD~1", "--format", "markdown")
    assert result.exit_code == 4, result.output
    text = result.stdout
    assert text.startswith(
        "### calltmpl diff against <code>HEAD&#126;1</code>\n\n**5 call targets** differ: 3 changed"
    )
    # Nothing of a value is markup: no tag, no backtick, no mention or reference left as is.
    assert (
        "<script" not in text and "`" not in text and "@everyone" not in text and " #1" not in text
    )
    assert (
        text.count("<details>")
        == text.count("</details>")
        == len(re.findall(r"^</details>$", text, re.M))
    )
    tags = set(re.findall(r"</?([a-z]+)", text))
    assert tags == {"details", "summary", "code"}
    assert markdown.code(HOSTILE) in text  # the added queue's name, whole
    assert "&#60;/details&#62;&#60;script&#62;alert(1)&#60;/script&#62;" in text
    caused = 1 + (history / "templates/acme/billing.yaml.j2").read_text().splitlines().index(
        "  customerDialTimeout: {{ customerDialTimeout | default(60) | tojson }}"
    )
    assert f"Caused by <code>templates/acme/billing.yaml.j2&#58;{caused}</code>." in text
    summary = next(line for line in text.splitlines() if "customerDialTimeout" in line)
    assert summary == (
        "<details><summary><code>/configuration/customerDialTimeout</code>: <code>45</code> → "
        "<code>60</code> in 2 queues</summary>"
    )


def test_markdown_of_thousands_of_queues_stays_under_githubs_limit() -> None:
    changes = tuple(
        QueueChange(
            f"queues/q{i}.yaml",
            f"Q{i}",
            "changed",
            (Member("/configuration/a", 1, 2, Place("t.j2", 4)), Member(f"/x{i % 900}", i, i + 1)),
        )
        for i in range(3000)
    )
    text = markdown.review(Review("main", changes))
    assert len(text) < 65_536
    assert "in 3,000 queues" in text
    assert "- … and 2,950 more" in text
    assert "more sections not shown" in text and "<code>calltmpl diff --base main</code>" in text


def test_diff_touches_neither_the_work_tree_nor_the_index_nor_head(history: Path) -> None:
    edit(history / "queues/sales/inbound.yaml", '"Text"', '"Voice"')
    git(history, "add", "queues/sales/inbound.yaml")  # staged
    edit(history / "queues/emea/london.yaml", '"acme-en-GB"', '"acme-en-IE"')  # not staged
    (history / "notes.txt").write_text("untracked\n")

    def state() -> tuple[str, str, str, str, list[str]]:
        index = hashlib.sha256((history / ".git/index").read_bytes()).hexdigest()
        files = sorted(str(p) for p in history.rglob("*") if ".git" not in p.parts)
        return (
            git(history, "status", "--porcelain"),
            git(history, "rev-parse", "HEAD"),
            index,
            git(history, "stash", "list"),
            files,
        )

    before = state()
    result = run("diff", "--base", "HEAD~1", "--format", "json")
    assert result.exit_code == 4
    assert state() == before
    changed = {q["queue"] for q in json.loads(result.stdout)["queues"]}
    assert {"queues/sales/inbound.yaml", "queues/emea/london.yaml"} <= changed


def test_detached_head_and_a_clean_tree_differ_in_nothing(history: Path) -> None:
    git(history, "checkout", "-q", "--detach", "HEAD")
    assert run("diff").exit_code == 0
    result = run("diff", "--base", "HEAD")
    assert (result.exit_code, result.stdout) == (0, "No call target differs from HEAD.\n")
    assert run("diff", "--base", "HEAD~1", "--format", "json").exit_code == 4
    markdown_text = run("diff", "--format", "markdown").stdout
    assert "No call target changes." in markdown_text


def test_paths_select_queues_on_both_sides(history: Path) -> None:
    result = run("diff", "--base", "HEAD~1", "queues/billing", "--format", "json")
    assert [q["queue"] for q in json.loads(result.stdout)["queues"]] == [
        "queues/billing/disputes.yaml",
        "queues/billing/general.yaml",
    ]
    gone = run("diff", "--base", "HEAD~1", "queues/support/overflow.yaml", "--format", "json")
    assert [(q["queue"], q["status"]) for q in json.loads(gone.stdout)["queues"]] == [
        ("queues/support/overflow.yaml", "removed")
    ]
    via_template = run(
        "diff", "--base", "HEAD~1", "templates/acme/billing.yaml.j2", "--format", "json"
    )
    assert len(json.loads(via_template.stdout)["queues"]) == 2
    missing = run("diff", "--base", "HEAD~1", "queues/nowhere.yaml")
    assert missing.exit_code == 2
    assert (
        "queues/nowhere.yaml: no such file or folder, in the work tree or at HEAD~1"
        in missing.stderr
    )


@pytest.mark.parametrize("revision", ["no-such-branch", "HEAD~9", "-rf", "HEAD:calltmpl.yaml"])
def test_a_revision_that_is_no_commit_is_a_usage_error(history: Path, revision: str) -> None:
    result = run("diff", "--base", revision)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"calltmpl: error: --base {revision!r}: ")


def test_outside_git_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, {"calltmpl.yaml": "{}\n"})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    result = run("diff")
    assert result.exit_code == 2
    assert "cannot read its git repository" in result.stderr


def test_a_side_that_fails_to_render_lists_its_failures(history: Path) -> None:
    edit(history / "templates/acme/billing.yaml.j2", "{%- endblock %}", "{%- endblock %}{{ broken")
    git(history, "commit", "-q", "-am", "broken")
    edit(history / "templates/acme/billing.yaml.j2", "{{ broken", "")
    result = run("diff", "--format", "json")
    assert result.exit_code == 1, result.output
    found = json.loads(result.stdout)["diagnostics"]
    assert {(d["code"], d["file"]) for d in found} == {
        ("CT102", "HEAD:templates/acme/billing.yaml.j2")
    }
    assert "HEAD:queues/billing/general.yaml" in " ".join(d["message"] for d in found)
    # The work tree's own failures are its usual diagnostics.
    git(history, "commit", "-q", "-am", "fixed")
    edit(
        history / "queues/billing/general.yaml",
        "template: acme/billing.yaml.j2",
        "template: nowhere.j2",
    )
    text = run("diff")
    assert text.exit_code == 1
    assert "queues/billing/general.yaml:3:11: CT101" in text.stdout
    failed = run("diff", "--format", "markdown")
    assert failed.exit_code == 1
    assert failed.stdout.startswith("### calltmpl diff against <code>HEAD</code>\n\n**1 problem**")
    assert "<code>queues/billing/general.yaml&#58;3&#58;11</code> CT101" in failed.stdout


# --- plan --format markdown -----------------------------------------------------------------


def test_plan_markdown_lists_each_pending_call_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = (
        "template: calltmpl/pstn.yaml.j2\nname: {name}\ntimezone: America/Chicago\n"
        'callbackAgentDestination: "+13125550142"\n'
    )
    write_tree(
        tmp_path,
        {
            "calltmpl.yaml": "{}\n",
            "queues/a.yaml": queue.format(name="A"),
            "queues/b.yaml": queue.format(name=json.dumps("B </details><script>`")),
        },
    )
    monkeypatch.chdir(tmp_path)
    with Sandbox(read_cache_seconds=0) as server:
        server.seed([{"name": "A", "configuration": {"maxCallbackRetries": 7}}])
        monkeypatch.setenv("MINDFUL_API_URL", server.url)
        monkeypatch.setenv("MINDFUL_TOKEN_URL", server.token_url)
        monkeypatch.setenv("MINDFUL_CLIENT_ID", "sandbox")
        monkeypatch.setenv("MINDFUL_CLIENT_SECRET", "sandbox-secret")
        result = run("plan", "--format", "markdown")
    assert result.exit_code == 4, result.output
    text = result.stdout
    assert text.startswith("### calltmpl plan\n\n**Plan:** 1 create, 1 drifted.")
    b_name = markdown.code("B </details><script>`")
    assert f"<summary>create {markdown.code('queues/b.yaml')} {b_name}</summary>" in text
    assert (
        "- <code>/configuration/maxCallbackRetries</code>: <code>7</code> → <code>2</code>" in text
    )
    assert "<script" not in text and "`" not in text


# --- the GitHub Action ------------------------------------------------------------------------


def _action() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((PROJECT / "action.yml").read_text("utf-8"))
    return data


def test_action_installs_lints_and_comments_the_diff() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    assert '"$GITHUB_ACTION_PATH"' in steps[1]["run"] and "pip install" in steps[1]["run"]
    assert steps[2]["run"] == "calltmpl lint --format github"
    comment = steps[3]
    assert comment["env"]["CALLTMPL_BASE"] == "${{ github.event.pull_request.base.sha }}"
    assert 'calltmpl diff --base "$CALLTMPL_BASE" --format markdown' in comment["run"]
    assert "${{" not in comment["run"]  # values reach the script as variables, never as code
    assert set(action["inputs"]) == {
        "python-version",
        "working-directory",
        "lint",
        "diff",
        "github-token",
    }
    assert all(i.get("description") for i in action["inputs"].values())


@pytest.mark.parametrize("existing", ["", "4242"])
def test_action_posts_one_comment_and_updates_it(
    history: Path, tmp_path: Path, existing: str
) -> None:
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    log = tmp_path / "gh.log"
    fake = bin_folder / "gh"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> "{log}"\n'
        'case "$*" in *--jq*) [ -n "$EXISTING" ] && echo "$EXISTING";; esac\n'
        'for a in "$@"; do case "$a" in body=@*) cat "${a#body=@}" > "$BODY_COPY";; esac; done\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    calltmpl = Path(shutil.which("calltmpl") or PROJECT / ".venv/bin/calltmpl")
    environ = {
        **os.environ,
        "PATH": f"{bin_folder}{os.pathsep}{calltmpl.parent}{os.pathsep}{os.environ['PATH']}",
        "RUNNER_TEMP": str(tmp_path),
        "CALLTMPL_BASE": git(history, "rev-parse", "HEAD~1").strip(),
        "CALLTMPL_PR": "7",
        "CALLTMPL_REPO": "acme/config",
        "GH_TOKEN": "x",
        "EXISTING": existing,
        "BODY_COPY": str(tmp_path / "body.md"),
    }
    script = _action()["runs"]["steps"][3]["run"]
    done = subprocess.run(
        ["bash", "-c", script], cwd=history, env=environ, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert calls[0].startswith("api --paginate repos/acme/config/issues/7/comments --jq")
    if existing:
        assert calls[1].startswith(
            "api --method PATCH repos/acme/config/issues/comments/4242 -F body=@"
        )
    else:
        assert calls[1].startswith(
            "api --method POST repos/acme/config/issues/7/comments -F body=@"
        )
    body = (tmp_path / "body.md").read_text()
    assert body.startswith("<!-- calltmpl-diff -->\n### calltmpl diff against <code>")
    assert "/configuration/customerDialTimeout" in body


def test_a_link_out_of_the_repository_at_the_revision_is_refused(history: Path) -> None:
    secret = history.parent / "outside-secret.yaml"
    secret.write_text('template: calltmpl/pstn.yaml.j2\nname: "hunter2"\n')
    (history / "queues/leak.yaml").symlink_to(secret)  # absolute: the same file from anywhere
    git(history, "add", "queues/leak.yaml")
    git(history, "commit", "-q", "-m", "a link out")
    (history / "queues/leak.yaml").unlink()
    result = run("diff", "--format", "json")
    assert result.exit_code == 1, result.output
    found = json.loads(result.stdout)["diagnostics"]
    assert [(d["code"], d["file"]) for d in found] == [("CT008", "HEAD:queues/leak.yaml")]
    assert "hunter2" not in result.output


def test_many_queues_are_compared_and_attributed_in_parallel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from calltmpl.parallel import PARALLEL_FROM

    files = {
        "calltmpl.yaml": "{}\n",
        "templates/t.yaml.j2": '{% extends "calltmpl/pstn.yaml.j2" %}\n{%- block retries %}\n'
        "  maxCallbackRetries: {{ maxCallbackRetries | default(2) | tojson }}\n{%- endblock %}\n",
    }
    count = PARALLEL_FROM + 2
    for index in range(count):
        files[f"queues/q{index:03}.yaml"] = (
            f'template: t.yaml.j2\nname: "Q{index}"\ntimezone: America/Chicago\n'
            f'callbackAgentDestination: "+1312555{index:04}"\n'
        )
    root = write_tree(tmp_path / "repo", files)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    edit(root / "templates/t.yaml.j2", "default(2)", "default(3)")
    edit(root / "queues/q007.yaml", 'name: "Q7"', 'name: "Q7"\nmaxCallbackRetries: 2')
    monkeypatch.chdir(root)
    result = run("diff", "--format", "json")
    assert result.exit_code == 4, result.output
    queues = json.loads(result.stdout)["queues"]
    assert len(queues) == count - 1  # q007 keeps 2 by its own line
    assert all(
        q["members"] == [{"pointer": "/configuration/maxCallbackRetries", "before": 2, "after": 3}]
        for q in queues
    )
    text = run("diff").stdout
    assert f"in {count - 1} queues  ← templates/t.yaml.j2:3" in text


def test_plan_markdown_of_a_repository_with_errors_lists_them(in_tmp: Path) -> None:
    write_tree(
        in_tmp,
        {
            "calltmpl.yaml": "{}\n",
            "queues/a.yaml": "template: calltmpl/pstn.yaml.j2\nname: A\n",
        },
    )
    result = run("plan", "--format", "markdown")
    assert result.exit_code == 1
    assert result.stdout.startswith("### calltmpl plan\n\n**1 problem** (nothing can be sent):\n")
    assert "<code>queues/a.yaml&#58;" in result.stdout
