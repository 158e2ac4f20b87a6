"""CT203 against a stand-in built-in whose block leaves a member out by its own ``{% if %}``:
the check compares with what the built-in renders for the same variables, so a member the
built-in itself would not write is never reported as dropped (the real built-ins write every
member unconditionally, so only a stand-in can show this)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from calltmpl import environment
from calltmpl.diagnostics import Diagnostic
from calltmpl.dropped import dropped_members
from calltmpl.queues import QueueFile
from calltmpl.render import Rendered, Renderer
from tests.conftest import write_tree

BASE = """name: {{ name | tojson }}
configuration:
{%- block sms %}
  smsEnabled: {{ sms | default(false) | tojson }}
{%- if sms | default(false) %}
  smsHandle: {{ handle | tojson }}
{%- endif %}
{%- endblock %}
{%- block misc %}
  timezone: {{ timezone | tojson }}
{%- endblock %}
"""

CHILD = """{% extends "calltmpl/base.yaml.j2" %}
{%- block sms %}
  smsEnabled: {{ sms | default(false) | tojson }}
{%- endblock %}
"""


@pytest.fixture
def renderer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Renderer:
    builtins = write_tree(tmp_path / "builtins", {"base.yaml.j2": BASE})
    monkeypatch.setattr(environment, "BUILTIN_DIR", builtins)
    templates = write_tree(tmp_path / "templates", {"child.yaml.j2": CHILD})
    return Renderer([templates])


def _dropped(renderer: Renderer, **variables: Any) -> list[Diagnostic]:
    values = {"name": "A", "timezone": "America/Chicago", "queue": "queues/a", **variables}
    queue = QueueFile(
        Path("queues/a.yaml"), "queues/a.yaml", "queues/a", "child.yaml.j2", values, ""
    )
    rendered = renderer.render(queue)
    assert isinstance(rendered, Rendered), rendered
    return list(dropped_members(renderer, rendered))


def test_member_the_built_in_leaves_out_by_its_own_if_is_not_reported(renderer: Renderer) -> None:
    assert _dropped(renderer) == []


def test_member_the_built_in_writes_for_these_variables_is_reported(renderer: Renderer) -> None:
    [found] = _dropped(renderer, sms=True, handle="+13125550100")
    assert (found.code, found.line, found.column, found.queue) == ("CT203", 2, 1, "queues/a.yaml")
    assert found.message.startswith("configuration lacks smsHandle: block sms of calltmpl/base")
    assert found.file.endswith("child.yaml.j2")


def test_when_the_built_in_cannot_render_only_unconditional_members_count(
    renderer: Renderer,
) -> None:
    # No handle: the built-in fails (strict undefined), so only smsEnabled, written outside
    # any if, could be reported; the child writes it.
    assert _dropped(renderer, sms=True) == []
