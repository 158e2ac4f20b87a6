"""The machine formats: SARIF validates against the official schema, GitHub annotations keep
within GitHub's limits, JUnit has one case per call target; colour only on terminals."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft4Validator

from calltmpl.cli import common as cli
from calltmpl.cli import main
from calltmpl.diagnostics import Diagnostic, Severity
from calltmpl.reporters import ANNOTATIONS_PER_KIND, Context, github
from tests.conftest import write_tree

SARIF_SCHEMA = Path(__file__).parent / "fixtures" / "sarif" / "sarif-2.1.0-rtm.5.json"

QUEUE = """template: calltmpl/pstn.yaml.j2
name: {name}
timezone: America/Chicago
callbackAgentDestination: "+13125550142"
maxEcbtPlayback: 30  # calltmpl: disable=CT305 -- agreed
minEcbtPlayback: 10
minCallbackNumberLength: 12
maxCallbackNumberLength: 11
"""


@pytest.fixture
def repo(in_tmp: Path) -> Path:
    return write_tree(
        in_tmp,
        {
            "calltmpl.yaml": "{}\n",
            "queues/a.yaml": QUEUE.format(name="A"),
            "queues/b.yaml": QUEUE.format(name="B"),
            "queues/c.yaml": QUEUE.format(name="C").replace("minCallbackNumberLength: 12", ""),
        },
    )


def _lint(*args: str) -> str:
    result = CliRunner().invoke(main, ["lint", *args], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def test_sarif_output_validates_against_the_sarif_2_1_0_schema(repo: Path) -> None:
    log = json.loads(_lint("--format", "sarif"))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(Draft4Validator(schema).iter_errors(log), key=str)
    assert errors == []
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} >= {"CT301", "CT305", "CT001"}
    assert all(r["help"]["text"] and r["shortDescription"]["text"] for r in rules)
    found = {(r["ruleId"], "suppressions" in r) for r in run["results"]}
    assert ("CT301", False) in found
    assert ("CT305", True) in found
    result = next(r for r in run["results"] if r["ruleId"] == "CT301")
    assert rules[result["ruleIndex"]]["id"] == "CT301"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (7, 26)


def test_junit_has_one_case_per_call_target_and_fails_those_with_errors(repo: Path) -> None:
    root = ET.fromstring(_lint("--format", "junit"))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"queues/a.yaml", "queues/b.yaml", "queues/c.yaml"}
    assert cases["queues/a.yaml"].find("failure") is not None
    assert cases["queues/c.yaml"].find("failure") is None
    assert root.get("failures") == "2"


def _diagnostic(index: int, severity: Severity) -> Diagnostic:
    return Diagnostic(
        "CT301",
        f"finding {index}, with: punctuation",
        severity,
        f"queues/q{index:02d}.yaml",
        index + 1,
        3,
    )


def test_github_annotates_the_most_severe_first_and_counts_the_rest() -> None:
    found = [_diagnostic(i, Severity.WARNING) for i in range(12)]
    found += [_diagnostic(20 + i, Severity.ERROR) for i in range(13)]
    out = github(Context(found, (), ["x"], lambda f, n: "", lambda d: True)).splitlines()
    annotations = [line for line in out if line.startswith("::")]
    assert len([a for a in annotations if a.startswith("::error ")]) == ANNOTATIONS_PER_KIND
    assert len([a for a in annotations if a.startswith("::warning ")]) == ANNOTATIONS_PER_KIND
    assert annotations[0].startswith("::error ")
    assert out[: len(annotations)] == annotations
    assert "title=CT301 callback-number-length-order::" in annotations[0]
    assert "file=queues/q20.yaml,line=21,col=3" in annotations[0]
    assert out[-1].startswith("calltmpl: 13 errors, 12 warnings")
    assert "5 more only in this log" in out[-1]


def test_github_escapes_workflow_command_data() -> None:
    found = [Diagnostic("CT301", "50% done\nnext", Severity.ERROR, "a,b:c.yaml", 1, 1)]
    out = github(Context(found, (), ["x"], lambda f, n: "", lambda d: True))
    assert "file=a%2Cb%3Ac.yaml" in out
    assert "::50%25 done%0Anext" in out


@pytest.mark.parametrize(
    ("tty", "no_color", "expected"), [(True, "", True), (True, "1", False), (False, "", False)]
)
def test_colour_only_on_a_terminal_without_no_color(
    monkeypatch: pytest.MonkeyPatch, tty: bool, no_color: str, expected: bool
) -> None:
    monkeypatch.setenv("NO_COLOR", no_color)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr("sys.stdout.isatty", lambda: tty)
    assert cli._colour() is expected


def test_text_output_has_no_escape_codes_when_piped(repo: Path) -> None:
    assert "\x1b[" not in _lint()
