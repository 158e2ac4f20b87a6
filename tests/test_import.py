"""``calltmpl import`` against a seeded sandbox: fidelity, a quiet plan, idempotence, later
imports, dry runs, hard names, unexpected answers, no overwrites, selection, secrets, and the
factoring goals on the generated account (benchmarks/import_account.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.import_account import account, built, measure
from calltmpl import api, factor_fit, importer
from calltmpl.diagnostics import Diagnostic
from calltmpl.factor_fit import differences
from calltmpl.factor_text import file_stem, json_text
from calltmpl.lockfile import repository_lock
from calltmpl.parsing import load_yaml
from calltmpl.sandbox import Sandbox, read_seed
from tests.conftest import PROJECT, write_tree
from tests.sandboxed import SECRET, body, lock, point_at, run, server, steps

__all__ = ["server"]  # the fixture, used by name

SMALL = {
    "Support - East",
    "Support - West",
    "Support - Central",
    "Billing - General",
    "Billing - Disputes",
    "Billing - Refunds",
    "Night Desk",
}


@pytest.fixture
def empty(in_tmp: Path, server: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty repository pointed at the sandbox."""
    point_at(server, monkeypatch)
    return write_tree(in_tmp, {"calltmpl.yaml": "{}\n"})


def small() -> list[dict[str, Any]]:
    return [t for t in account() if t["name"] in SMALL]


def tree(root: Path, *, state: bool = True) -> dict[str, tuple[int, bytes]]:
    """Every file below ``root`` with its modification time and content (without
    ``state``, not the push lock, which a command that may write creates)."""
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file() and (state or ".calltmpl" not in p.parts)
    }


def queue_of(repo: Path) -> dict[int, str]:
    """Each imported call target's queue file, by id, from calltmpl.lock."""
    return {e["id"]: f"{key}.yaml" for key, e in lock(repo)["targets"].items()}


def assert_renders_remote(repo: Path, server: Sandbox) -> None:
    files = queue_of(repo)
    for target in server.targets():
        rendered = body(files[target["id"]])
        wanted = {k: target[k] for k in ("name", "configuration", "phoneNumbers")}
        assert list(differences(wanted, rendered)) == [], target["name"]


# --- the whole account ------------------------------------------------------------------------


def test_import_renders_every_call_target_exactly_plan_is_quiet_and_again_changes_nothing(
    empty: Path, server: Sandbox
) -> None:
    server.seed(account())
    result = run("import")
    assert result.exit_code == 0, result.output
    assert "Imported 41 call target(s)" in result.output
    assert "0 error(s)" in result.output  # the account's findings are reported, none an error
    assert_renders_remote(empty, server)
    planned = run("plan", "--format", "json")
    assert planned.exit_code == 0, planned.output
    assert {s["action"] for s in steps(planned).values()} == {"unchanged"}
    before = tree(empty)
    again = run("import")
    assert again.exit_code == 0, again.output
    assert "Nothing to import: calltmpl.lock already holds 41." in again.output
    assert tree(empty) == before


def test_types_survive_exactly(empty: Path, server: Sandbox) -> None:
    """1 vs 1.0, true vs 1, null, "" and [], big integers, nested unknown members."""
    target = built(
        "calltmpl/pstn.yaml.j2",
        {
            "name": "Typed",
            "timezone": "America/Chicago",
            "callbackAgentDestination": "+13125550100",
        },
    )
    unknown = {
        "one": 1,
        "oneFloat": 1.0,
        "minusZero": -0.0,
        "flag": True,
        "nothing": None,
        "empty": "",
        "none": [],
        "huge": 2**70,
        "tiny": 1e-7,
        "nested": {"a": [1, 1.0, True, None, {"b": ""}]},
    }
    target["configuration"].update(unknown)
    target["configuration"]["announceAni"] = None
    server.seed([target])
    assert run("import").exit_code == 0
    rendered = body("queues/typed.yaml")["configuration"]
    for member, value in unknown.items():
        assert json.dumps(rendered[member]) == json.dumps(value), member
    assert rendered["announceAni"] is None
    assert_renders_remote(empty, server)


def test_factoring_goals_on_the_generated_account(tmp_path: Path) -> None:
    figures = measure(tmp_path)
    assert figures["call_targets"] == figures["queue_files"] == 41
    assert figures["median_queue_lines"] <= 12
    assert figures["ratio"] <= 0.20
    templates = {p.name: p.read_text("utf-8") for p in (tmp_path / "templates").rglob("*.j2")}
    support = templates["support.yaml.j2"]
    assert support.startswith("{#-\nimported/support.yaml.j2: made by `calltmpl import`")
    assert '{%- extends "calltmpl/pstn.yaml.j2" %}' in support
    assert "maxCallbackRetries: {{ maxCallbackRetries | default(4) | tojson }}" in support
    assert '{%- extends "calltmpl/sip.yaml.j2" %}' in templates["partner.yaml.j2"]
    assert "extends" not in templates["legacy-overflow.yaml.j2"]  # few members: stands alone
    east = (tmp_path / "queues" / "support-east.yaml").read_text("utf-8")
    assert east.splitlines() == [
        "template: imported/support.yaml.j2",
        'name: "Support - East"',
        'timezone: "America/New_York"',
        'callbackAgentDestination: "+13125550110"',
        'phoneNumbers: {"+13125550130": "Support East main line"}',
    ]
    night = (tmp_path / "queues" / "night-desk.yaml").read_text("utf-8")
    assert night.startswith("template: calltmpl/pstn.yaml.j2\n")  # like no other: built-in
    assert_plain_jinja(tmp_path)


def assert_plain_jinja(repo: Path) -> None:
    """Every imported queue renders the same through plain Jinja (no calltmpl filter,
    global or sandbox) as through calltmpl."""
    import jinja2
    from ruamel.yaml import YAML

    from calltmpl.repository import Repository

    builtins = jinja2.FileSystemLoader(str(PROJECT / "calltmpl" / "templates"))
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader(str(repo / "templates")),
            jinja2.PrefixLoader({"calltmpl": builtins}),
        ]
    )
    plain = jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined)
    ours = Repository.open(repo / "calltmpl.yaml", [])
    for queue in sorted((repo / "queues").glob("*.yaml")):
        variables = load_yaml(queue.read_text("utf-8"))
        template = variables.pop("template")
        text = plain.get_template(template).render(variables)
        rendered = ours.project.render(queue)
        assert not isinstance(rendered, Diagnostic), rendered
        assert YAML(typ="safe").load(text) == rendered.target, queue.name


# --- later imports ----------------------------------------------------------------------------


def test_a_later_import_adds_only_the_new_call_targets(empty: Path, server: Sandbox) -> None:
    server.seed(small())
    assert run("import").exit_code == 0
    before = tree(empty)
    near_copy = next(t for t in account() if t["name"] == "Support - Mountain")
    lone = built(
        "calltmpl/sip.yaml.j2",
        {
            "name": "Lone SIP",
            "timezone": "America/Chicago",
            "callbackAgentDestination": "sip:lone@sbc.example.com",
            "sipTerminationUri": "sip:trunk.example.com",
        },
    )
    server.seed([near_copy, lone])
    result = run("import")
    assert result.exit_code == 0, result.output
    after = tree(empty)
    changed = {k for k in after if before.get(k) != after[k]}
    assert changed == {"queues/support-mountain.yaml", "queues/lone-sip.yaml", "calltmpl.lock"}
    assert (
        (empty / "queues/support-mountain.yaml")
        .read_text("utf-8")
        .startswith("template: imported/support.yaml.j2\n")
    )
    assert (
        (empty / "queues/lone-sip.yaml")
        .read_text("utf-8")
        .startswith("template: calltmpl/sip.yaml.j2\n")
    )
    assert_renders_remote(empty, server)
    assert run("plan").exit_code == 0


def test_dry_run_prints_what_it_would_write_and_writes_nothing(
    empty: Path, server: Sandbox
) -> None:
    server.seed(small())
    before = tree(empty)
    result = run("import", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "# would write queues/support-east.yaml" in result.output
    assert "template: imported/support.yaml.j2" in result.output
    assert "Would import 7 call target(s)" in result.output
    assert tree(empty) == before
    assert sorted(p.name for p in empty.iterdir()) == ["calltmpl.yaml"]


def test_dry_run_prints_no_control_character_of_a_remote_name(empty: Path, server: Sandbox) -> None:
    target = dict(small()[0])
    target["name"] = "Line\x1b]0;title\x07 \u202eBreak"
    server.seed([target])
    result = run("import", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert "# would write queues/" in result.output


def test_names_select_what_is_imported(empty: Path, server: Sandbox) -> None:
    server.seed(small())
    result = run("import", "Night Desk", "Billing - General")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (empty / "queues").iterdir()) == [
        "billing-general.yaml",
        "night-desk.yaml",
    ]
    again = run("import", "Night Desk")
    assert "is already queues/night-desk in calltmpl.lock" in again.output
    unknown = run("import", "No Such Queue")
    assert unknown.exit_code == 2
    assert "no remote call target is named 'No Such Queue'" in unknown.stderr


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ('Sales/EMEA: Tier "1"', "sales-emea-tier-1"),
        ("Zürich Support", "zurich-support"),
        ("O'Hare Desk", "ohare-desk"),
        ("東京 サポート", "東京-サポート"),
        ("../../etc/passwd", "etc-passwd"),
        ("..", "call-target-7"),
        ("CON", "con-queue"),
        ("Straße", "strasse"),
    ],
)
def test_file_names_from_hard_names(name: str, stem: str) -> None:
    assert file_stem(name, "call-target-7") == stem


def test_hard_names_import_cleanly_and_clashes_are_told_apart(empty: Path, server: Sandbox) -> None:
    write_tree(empty, {"queues/night-desk.yaml": "# someone else's file\n"})
    names = ["Sales/EMEA", "Sales EMEA", 'Zürich "Süd"', "..", "Night Desk!", "東京\u2028"]
    targets = [
        built(
            "calltmpl/pstn.yaml.j2",
            {
                "name": n,
                "timezone": "Europe/Zurich",
                "callbackAgentDestination": f"+4144555{i:04d}",
            },
        )
        for i, n in enumerate(names)
    ]
    ids = server.seed(targets)
    result = run("import")
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (empty / "queues").iterdir())
    assert files == sorted(
        [
            f"sales-emea-{ids[0]}.yaml",
            f"sales-emea-{ids[1]}.yaml",
            "zurich-sud.yaml",
            f"call-target-{ids[3]}.yaml",
            f"night-desk-{ids[4]}.yaml",
            "night-desk.yaml",
            "東京.yaml",
        ]
    )
    assert "make the file name sales-emea.yaml, told apart by id" in result.output
    assert "makes the file name night-desk.yaml, told apart by id" in result.output
    assert (empty / "queues/night-desk.yaml").read_text("utf-8") == "# someone else's file\n"
    assert_renders_remote(empty, server)


# --- what is never done -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ({"data": {"callTargets": []}}, "answered an object, not a list under data"),
        ([1, 2], "answered a list, not a list under data"),
        ({"data": [{"name": "x", "configuration": {}}]}, "whose id is null, not an integer"),
        ({"data": [{"id": 3, "configuration": {}}]}, "call target 3 (item 1) without a name"),
        ({"data": [{"id": 3, "name": "", "configuration": {}}]}, "with an empty name"),
        ({"data": [{"id": 3, "name": "x", "configuration": []}]}, "configuration that is a list"),
        (
            {"data": [{"id": 3, "name": "x", "configuration": {}, "phoneNumbers": "+1"}]},
            "phoneNumbers that is a string",
        ),
        ({"data": ["x"]}, "answered a string where a call target belongs"),
        (
            {"data": [{"id": 3, "name": "x", "configuration": {"r": float("nan")}}]},
            "with a value JSON cannot hold at /configuration/r",
        ),
    ],
)
def test_unexpected_answers_are_remote_errors_and_nothing_is_written(
    empty: Path, server: Sandbox, answer: Any, said: str
) -> None:
    server.seed(small())
    server.answer("GET", api.TARGETS, answer)
    before = tree(empty)
    result = run("import")
    assert result.exit_code == 3, result.output
    assert "reading the remote call targets" in result.stderr
    assert said in result.stderr
    assert tree(empty, state=False) == before


def test_existing_files_are_never_overwritten_and_named_queues_are_left_alone(
    empty: Path, server: Sandbox
) -> None:
    mine = '{#- my own support template -#}\n{%- extends "calltmpl/pstn.yaml.j2" %}\n'
    billing = (
        "template: calltmpl/pstn.yaml.j2\nname: Billing - General\ntimezone: America/Chicago\n"
        'callbackAgentDestination: "+13125550999"\n'
    )
    gone = {"id": 999, "name": "Night Desk", "pushed": "sha256:0", "remote": "sha256:0"}
    write_tree(
        empty,
        {
            "templates/imported/support.yaml.j2": mine,
            "queues/billing/general.yaml": billing,
            # a queue file deleted since its push: its path stays taken
            "calltmpl.lock": json.dumps({"version": 1, "targets": {"queues/night-desk": gone}}),
        },
    )
    ids = server.seed(small())
    result = run("import")
    assert result.exit_code == 0, result.output
    assert (empty / f"queues/night-desk-{ids[-1]}.yaml").is_file()
    assert (empty / "templates/imported/support.yaml.j2").read_text("utf-8") == mine
    assert (empty / "queues/billing/general.yaml").read_text("utf-8") == billing
    assert (empty / "templates/imported/support-2.yaml.j2").is_file()
    assert "'Billing - General'" in result.output and "already has that name" in result.output
    assert not (empty / "queues/billing-general.yaml").exists()


def test_a_file_that_appears_while_writing_is_not_overwritten(
    empty: Path, server: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.seed(small())
    real = importer.prove

    def racing(*args: Any) -> Any:
        found = real(*args)
        write_tree(empty, {"queues/night-desk.yaml": "mine\n"})
        return found

    monkeypatch.setattr(importer, "prove", racing)
    result = run("import")
    assert result.exit_code == 2
    assert "never overwrites" in result.stderr
    assert (empty / "queues/night-desk.yaml").read_text("utf-8") == "mine\n"
    assert not (empty / "calltmpl.lock").exists()


def test_a_queue_that_would_not_render_the_remote_aborts_naming_it(
    empty: Path, server: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.seed(small())
    real = importer.queue_text

    def lossy(template: str, variables: dict[str, Any]) -> str:
        if variables.get("name") == "Night Desk":
            variables = {**variables, "maxCallbackRetries": 6.0}
        return real(template, variables)

    monkeypatch.setattr(importer, "queue_text", lossy)
    before = tree(empty)
    result = run("import")
    assert result.exit_code == 2
    assert "would not give back call target 'Night Desk'" in result.stderr
    assert "/configuration/maxCallbackRetries" in result.stderr
    assert tree(empty, state=False) == before


def test_a_call_target_no_template_reproduces_is_an_error_naming_it(
    empty: Path, server: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.seed(small())
    monkeypatch.setattr(factor_fit.Workbench, "render", lambda self, template, variables: "")
    before = tree(empty)
    result = run("import")
    assert result.exit_code == 2
    assert "cannot reproduce call target 'Support - East' (id 1) exactly" in result.stderr
    assert tree(empty, state=False) == before


def test_import_waits_for_a_running_push(
    empty: Path, server: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.seed(small())
    monkeypatch.setenv("CALLTMPL_LOCK_WAIT", "0.1")
    with repository_lock(empty):
        result = run("import")
    assert result.exit_code == 2
    assert "holds .calltmpl/push.lock" in result.stderr
    assert not (empty / "queues").exists()


def test_a_queues_glob_that_cannot_hold_imported_files_is_a_usage_error(
    empty: Path, server: Sandbox
) -> None:
    write_tree(empty, {"calltmpl.yaml": 'queues: ["queues/*/main.yaml"]\n'})
    server.seed(small())
    result = run("import")
    assert result.exit_code == 2
    assert "cannot hold a queue file" in result.stderr


def test_lint_findings_are_reported_not_fixed(empty: Path, server: Sandbox) -> None:
    target = built(
        "calltmpl/pstn.yaml.j2",
        {
            "name": "Broken",
            "timezone": "America/Chicago",
            "callbackAgentDestination": "+13125550100",
            "minCallbackNumberLength": 16,
        },
    )
    server.seed([target])
    result = run("import")
    assert result.exit_code == 0
    assert "CT301" in result.output and "1 error(s)" in result.output
    assert "minCallbackNumberLength: 16" in (empty / "queues/broken.yaml").read_text("utf-8")


# --- secrets ----------------------------------------------------------------------------------


def test_secrets_appear_in_no_file_and_no_output(empty: Path, server: Sandbox) -> None:
    server.seed(small())
    result = run("import", "--verbose")
    assert result.exit_code == 0
    texts = [result.stdout, result.stderr]
    texts += [p.read_text("utf-8") for p in empty.rglob("*") if p.is_file()]
    for secret in [SECRET, *server.issued_tokens()]:
        assert not any(secret in text for text in texts)


def test_a_remote_value_holding_a_credential_is_not_written(empty: Path, server: Sandbox) -> None:
    target = built(
        "calltmpl/pstn.yaml.j2",
        {
            "name": "Leaky",
            "timezone": "America/Chicago",
            "callbackAgentDestination": "+13125550100",
        },
    )
    target["configuration"]["postDialDtmf"] = f"secret={SECRET}"
    server.seed([target])
    before = tree(empty)
    result = run("import")
    assert result.exit_code == 2
    assert "call target 'Leaky'" in result.stderr and "credentials" in result.stderr
    assert SECRET not in result.output
    assert tree(empty, state=False) == before


# --- the values written -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [1, 1.0, -0.0, 1e300, 2**80, True, None, "", [], {}, "a\u2028b\x85c\x7f", "😀 é", "#: '"],
)
def test_queue_values_read_back_as_the_same_json(value: Any) -> None:
    read = load_yaml(f"key: {json_text(value)}\n")["key"]
    assert json.dumps(read) == json.dumps(value)


# --- the sandbox seeding ----------------------------------------------------------------------


def test_sandbox_seed_adds_targets_skips_known_names_and_refuses_bad_items() -> None:
    with Sandbox() as sandbox:
        ids = sandbox.seed(small())
        assert len(ids) == 7
        assert sandbox.seed([*small(), {"name": "New", "configuration": {}, "id": 40}]) == [40]
        with pytest.raises(ValueError, match=r"item 1: data\.name is required"):
            sandbox.seed([{"configuration": {}}])
        assert len(sandbox.targets()) == 8


def test_seed_files_in_every_shape(tmp_path: Path) -> None:
    item = {"name": "A", "configuration": {}}
    for document in ([item], {"data": [{"callTarget": item}]}, {"targets": [item]}):
        path = tmp_path / "seed.json"
        path.write_text(json.dumps(document), "utf-8")
        assert read_seed(path) == [item]


def _lines(stream: Any) -> Iterator[str]:
    for line in stream:
        yield line.decode("utf-8")


def test_sandbox_command_serves_the_seeded_targets(tmp_path: Path) -> None:
    import subprocess
    import sys

    import httpx

    seed = tmp_path / "account.json"
    seed.write_text(json.dumps(small()), "utf-8")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MINDFUL_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "calltmpl", "sandbox", "--port", "0", "--seed", str(seed)],
        stdout=subprocess.PIPE,
        env=environment,
    )
    try:
        assert process.stdout is not None
        first = next(_lines(process.stdout))
        url = first.split(" on ")[1].split(" ")[0]
        token = httpx.post(
            url + "/oauth2/token",
            auth=("sandbox", "sandbox-secret"),
            data={"grant_type": "client_credentials"},
        ).json()["access_token"]
        listed = httpx.get(url + api.TARGETS, headers={"Authorization": f"Bearer {token}"})
        assert sorted(t["name"] for t in listed.json()["data"]) == sorted(SMALL)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_members_whose_names_are_no_variable_names(empty: Path, server: Sandbox) -> None:
    target = built(
        "calltmpl/pstn.yaml.j2",
        {
            "name": "Odd names",
            "timezone": "America/Chicago",
            "callbackAgentDestination": "+13125550100",
        },
    )
    odd = {"queue": 1, "template": "t", "in": True, "weird-key": 2, "a{{b}}": 3, "m": "x", "yes": 4}
    target["configuration"].update(odd)
    server.seed([target])
    result = run("import")
    assert result.exit_code == 0, result.output
    assert_renders_remote(empty, server)
