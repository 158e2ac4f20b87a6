"""``calltmpl graph``: the templates, what extends, includes or imports them, and the queues on
each, as Mermaid and DOT."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from calltmpl.cli import main
from tests.conftest import PROJECT, write_tree

EXAMPLES = PROJECT / "examples"
QUEUE = 'template: {template}\nname: "{name}"\ntimezone: America/Chicago\n'


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_mermaid_of_the_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES)
    result = run("graph")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "flowchart LR"
    nodes = [line for line in lines if line.startswith("  t") and '["' in line]
    ids = {line.split('["')[1][:-2]: line.split("[")[0].strip() for line in nodes}
    assert set(ids) == {
        "acme/_callback-number.yaml.j2",
        "acme/_scheduling.yaml.j2",
        "acme/billing-escalation.yaml.j2",
        "acme/billing.yaml.j2",
        "acme/contact-center.yaml.j2",
        "acme/sip-site.yaml.j2",
        "calltmpl/base.yaml.j2",
        "calltmpl/pstn.yaml.j2",
        "calltmpl/sip.yaml.j2",
    }

    def edge(source: str, kind: str, target: str) -> str:
        return f"  {ids[source]} -->|{kind}| {ids[target]}"

    for source, kind, target in [
        ("acme/billing-escalation.yaml.j2", "extends", "acme/billing.yaml.j2"),
        ("acme/billing.yaml.j2", "extends", "acme/contact-center.yaml.j2"),
        ("acme/contact-center.yaml.j2", "extends", "calltmpl/pstn.yaml.j2"),
        ("acme/contact-center.yaml.j2", "includes", "acme/_callback-number.yaml.j2"),
        ("acme/sip-site.yaml.j2", "includes", "acme/_scheduling.yaml.j2"),
        ("calltmpl/sip.yaml.j2", "extends", "calltmpl/base.yaml.j2"),
    ]:
        assert edge(source, kind, target) in lines
    assert sum("-->|" in line for line in lines) == 10
    queues = [line for line in lines if line.startswith("  q")]
    assert len(queues) == 8
    assert f'(["queues/billing/disputes.yaml"]) --> {ids["acme/billing-escalation.yaml.j2"]}' in (
        result.stdout
    )
    assert f'(["queues/sales/partners.yaml"]) --> {ids["calltmpl/sip.yaml.j2"]}' in result.stdout


def test_dot_of_the_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES)
    result = run("graph", "--format", "dot")
    assert result.exit_code == 0
    text = result.stdout
    assert text.startswith("digraph templates {\n") and text.endswith("}\n")
    assert (
        '  "acme/billing-escalation.yaml.j2" -> "acme/billing.yaml.j2" [label="extends"];' in text
    )
    assert '  "queues/emea/london.yaml" -> "acme/sip-site.yaml.j2";' in text
    assert '  "queues/emea/london.yaml" [label="queues/emea/london.yaml", shape=note];' in text


def test_missing_computed_odd_names_and_many_queues(in_tmp: Path) -> None:
    files = {
        "calltmpl.yaml": "{}\n",
        'templates/we"ird<b>.yaml.j2': '{% extends "calltmpl/pstn.yaml.j2" %}'
        '{% block misc %}{% include "gone.j2" %}{% endblock %}',
        "templates/dynamic.yaml.j2": "{% include name ~ '.j2' %}{% import 'm.j2' as m %}",
        "templates/m.j2": "{% macro x() %}{% endmacro %}",
        "queues/odd.yaml": QUEUE.format(template='"we\\"ird<b>.yaml.j2"', name="odd"),
    }
    for index in range(23):
        files[f"queues/many/q{index:02}.yaml"] = QUEUE.format(
            template="dynamic.yaml.j2", name=f"q{index}"
        )
    write_tree(in_tmp, files)
    mermaid = run("graph").stdout
    assert '["we#quot;ird#lt;b#gt;.yaml.j2"]' in mermaid
    assert '["gone.j2 (not found)"]' in mermaid
    assert '["dynamic.yaml.j2 (computed reference)"]' in mermaid
    assert '(["and 3 more queues"])' in mermaid
    assert "queues/many/q19.yaml" in mermaid and "queues/many/q20.yaml" not in mermaid
    assert "-->|imports|" in mermaid
    dot = run("graph", "--format", "dot").stdout
    assert '"we\\"ird<b>.yaml.j2" -> "calltmpl/pstn.yaml.j2" [label="extends"];' in dot
    assert '"gone.j2" [label="gone.j2", style=dashed];' in dot
