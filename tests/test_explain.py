"""``calltmpl explain`` on the example repository's deepest chain (acme/billing-escalation <-
acme/billing <- acme/contact-center <- calltmpl/pstn <- calltmpl/base, with includes), and its
agreement with where diagnostics are shown."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from calltmpl import explain
from calltmpl.cli import main
from calltmpl.environment import BUILTIN_DIR
from calltmpl.explain import Explainer
from calltmpl.render import Rendered
from calltmpl.repository import Repository
from tests.conftest import PROJECT

EXAMPLES = PROJECT / "examples"
DISPUTES = "queues/billing/disputes.yaml"
CHAIN = [
    "acme/billing-escalation.yaml.j2",
    "acme/billing.yaml.j2",
    "acme/contact-center.yaml.j2",
    "calltmpl/pstn.yaml.j2",
    "calltmpl/base.yaml.j2",
]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, start: str) -> int:
    """The first line of a file that starts with ``start`` (after its indentation)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, text in enumerate(lines, 1) if text.strip().startswith(start))


def base_line(member: str) -> int:
    return line_of(BUILTIN_DIR / "base.yaml.j2", f"{member}:")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The examples, with a literal and a computed line in the child template of the chain,
    and a queue value that a built-in default computes from."""
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("build"))
    child = root / "templates/acme/billing-escalation.yaml.j2"
    edit(
        child,
        "  enableChooseHoldFailover: {{ enableChooseHoldFailover | default(true) | tojson }}",
        "  enableChooseHoldFailover: true",
    )
    edit(
        child,
        '{{ chooseHoldFailoverAgentDestination | default("+13125550151") | tojson }}',
        '{{ ((chooseHoldAgentDestination | default("+13125550150"))[:-1] ~ "1") | tojson }}',
    )
    with (root / DISPUTES).open("a", encoding="utf-8") as queue:
        queue.write(
            'chooseHoldAgentDestination: "+13125550160"\nenableCallbackDoubleCheck: false\n'
        )
    monkeypatch.chdir(root)
    return root


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def members(*pointers: str) -> dict[str, dict[str, Any]]:
    result = run("explain", DISPUTES, *pointers, "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["queue"] == DISPUTES
    assert document["templates"] == CHAIN
    return {m["pointer"]: m for m in document["members"]}


def test_each_kind_on_the_three_level_chain(repo: Path) -> None:
    found = members(
        "/name",
        "/configuration/postDialDtmf",
        "/configuration/chooseHoldAgentDestination",
        "/configuration/customerDialTimeout",
        "/configuration/maxCallbackNumberLength",
        "/configuration/enableChooseHoldFailover",
        "/configuration/chooseHoldFailoverAgentDestination",
        "/configuration/callbackDoubleCheckScope",
    )
    queue_lines = (repo / DISPUTES).read_text().splitlines()
    at = {text.split(":")[0]: n for n, text in enumerate(queue_lines, 1) if ":" in text}
    child = "templates/acme/billing-escalation.yaml.j2"

    def member(kind: str, file: str, line: int, value: Any, **extra: Any) -> dict[str, Any]:
        return {"value": value, "kind": kind, "file": file, "line": line, "variables": [],
                "overrides": [], **extra}  # fmt: skip

    expected = {
        "/name": member("queue", DISPUTES, at["name"], "Acme Billing - Disputes"),
        "/configuration/postDialDtmf": member("queue", DISPUTES, 7, "ww2#"),
        "/configuration/chooseHoldAgentDestination": member(
            "queue", DISPUTES, at["chooseHoldAgentDestination"], "+13125550160"
        ),
        # A default of the middle template, overriding the base's block.
        "/configuration/customerDialTimeout": member(
            "default",
            "templates/acme/billing.yaml.j2",
            line_of(repo / "templates/acme/billing.yaml.j2", "customerDialTimeout:"),
            45,
            overrides=[{"file": "calltmpl/base.yaml.j2", "line": base_line("customerDialTimeout")}],
        ),
        # A default of a file the top template includes in its block.
        "/configuration/maxCallbackNumberLength": member(
            "default",
            "templates/acme/_callback-number.yaml.j2",
            6,
            11,
            overrides=[
                {"file": "calltmpl/base.yaml.j2", "line": base_line("maxCallbackNumberLength")}
            ],
        ),
        # Written literally by the child template.
        "/configuration/enableChooseHoldFailover": member(
            "template",
            child,
            line_of(repo / child, "enableChooseHoldFailover:"),
            True,
            overrides=[
                {"file": "calltmpl/base.yaml.j2", "line": base_line("enableChooseHoldFailover")}
            ],
        ),
        # Computed by the child template from a queue variable.
        "/configuration/chooseHoldFailoverAgentDestination": member(
            "template",
            child,
            line_of(repo / child, "chooseHoldFailoverAgentDestination:"),
            "+13125550161",
            variables=[
                {
                    "name": "chooseHoldAgentDestination",
                    "file": DISPUTES,
                    "line": at["chooseHoldAgentDestination"],
                }
            ],
            overrides=[
                {
                    "file": "calltmpl/base.yaml.j2",
                    "line": base_line("chooseHoldFailoverAgentDestination"),
                }
            ],
        ),
        # A built-in default, computed from a queue variable.
        "/configuration/callbackDoubleCheckScope": member(
            "default",
            "calltmpl/base.yaml.j2",
            base_line("callbackDoubleCheckScope"),
            "",
            variables=[
                {
                    "name": "enableCallbackDoubleCheck",
                    "file": DISPUTES,
                    "line": at["enableCallbackDoubleCheck"],
                }
            ],
        ),
    }
    assert {p: {k: v for k, v in m.items() if k != "pointer"} for p, m in found.items()} == expected


def test_every_member_is_explained_and_kinds_are_known(repo: Path) -> None:
    found = members()
    assert len(found) > 80
    assert {m["kind"] for m in found.values()} == {"queue", "template", "default"}
    assert all(not m["file"].startswith("/") and m["line"] >= 1 for m in found.values())


def test_text_is_one_compiler_style_line_per_member(repo: Path) -> None:
    result = run(
        "explain", DISPUTES, "configuration/postDialDtmf", "/configuration/customerDialTimeout"
    )
    assert result.exit_code == 0
    line = line_of(repo / "templates/acme/billing.yaml.j2", "customerDialTimeout:")
    assert result.stdout == (
        f'/configuration/postDialDtmf = "ww2#"  ← {DISPUTES}:7 (queue)\n'
        "/configuration/customerDialTimeout = 45  "
        f"← templates/acme/billing.yaml.j2:{line} (default)\n"
    )
    repository = Repository.open(None, [])
    rendered = repository.project.render(Path(DISPUTES))
    assert isinstance(rendered, Rendered)
    painted = explain.text(Explainer(repository.project).explain(rendered, ["/name"]), color=True)
    assert "\x1b[32m(queue)\x1b[0m" in painted


def test_a_pointer_that_does_not_exist_suggests_the_closest(repo: Path) -> None:
    result = run("explain", DISPUTES, "/configuration/customerDialTimout")
    assert result.exit_code == 2
    assert result.stderr == (
        f"calltmpl: error: {DISPUTES}: the call target has no member "
        "'/configuration/customerDialTimout'; did you mean /configuration/customerDialTimeout?\n"
    )
    by_name = run("explain", DISPUTES, "postDialDtmf")
    assert "did you mean /configuration/postDialDtmf?" in by_name.stderr


def test_a_queue_that_fails_to_render_shows_its_diagnostic(repo: Path) -> None:
    edit(repo / DISPUTES, "template: acme/billing-escalation.yaml.j2", "template: acme/nowhere.j2")
    result = run("explain", DISPUTES, "--format", "json")
    assert result.exit_code == 1
    assert [
        (d["code"], d["file"], d["line"]) for d in json.loads(result.stdout)["diagnostics"]
    ] == [("CT101", DISPUTES, 3)]
    assert run("explain", "queues/billing").exit_code == 2
    assert run("explain", "queues/none.yaml").exit_code == 2


def test_explain_agrees_with_lint_for_the_same_member(repo: Path) -> None:
    edit(repo / "templates/acme/contact-center.yaml.j2", "default(5400)", "default(45)")  # CT305
    edit(repo / "templates/acme/_callback-number.yaml.j2", "default(10)", "default(12)")  # CT301
    edit(repo / "queues/support/tier2.yaml", "maxNextDayCallbacks: 40", "maxNextDayCallbacks: -1")
    result = run("lint", "--format", "json")
    findings = [d for d in json.loads(result.stdout)["diagnostics"] if d["pointer"]]
    assert {d["code"] for d in findings} >= {"CT305", "CT301"}
    assert any(not d["file"].startswith("templates/") for d in findings)
    for d in findings:
        rendering = re.search(r"\(rendering (\S+?)(?: and \d+ others?)?\)$", d["message"])
        queue = d["file"] if rendering is None else rendering.group(1)
        answer = run("explain", queue, d["pointer"], "--format", "json")
        (member,) = json.loads(answer.stdout)["members"]
        assert (member["file"], member["line"]) == (d["file"], d["line"]), (d, member)


def test_explain_and_the_diagnostics_locator_agree_on_every_example_member(repo: Path) -> None:
    """One implementation: for every member of every example queue, the place explain gives
    is where a diagnostic about the member is shown (a built-in default: the default the
    diagnostic names; a value computed from a queue variable: among its variables)."""
    repository = Repository.open(None, [])
    explainer = Explainer(repository.project)
    for path, _ in repository.project.all_queues():
        rendered = repository.project.render(path)
        assert isinstance(rendered, Rendered)
        locate = repository.project.renderer.locator(rendered)
        for member in explainer.explain(rendered).members:
            where = locate(member.pointer)
            if member.file.startswith("calltmpl/") and not member.variables:
                assert where.note == f"default of {member.file}:{member.line}", member
            elif member.kind == "queue" or not member.variables:
                assert (where.file, where.line) == (member.file, member.line), member
            else:  # computed: at the one variable read, else where the line is shown
                places = {(v.file, v.line) for v in member.variables}
                places.add((member.file, member.line))
                default = f"default of {member.file}:{member.line}"
                assert (where.file, where.line) in places or where.note == default, member
