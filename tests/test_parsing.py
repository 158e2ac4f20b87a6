"""The fast YAML path must read every text exactly as ruamel.yaml does, or step aside."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from calltmpl import parsing

FULL = YAML(typ="safe")


def _fast(text: str) -> tuple[bool, Any]:
    try:
        return True, parsing.load_simple_yaml(text)
    except parsing._NotSimple:
        return False, None


@pytest.mark.parametrize(
    ("text", "takes_fast_path"),
    [
        ('name: "Billing"\nconfiguration:\n  a: 1\n  b: [1, {"x": null}]\n', True),
        ("template: calltmpl/pstn.yaml.j2\nname: Billing General\n", True),
        ("# comment\n\na:\n  b:\n    c: true\n  d: -3\n", True),
        ("a:\nb: 1\n", True),
        ('"quoted key": "v"\n', True),
        ("a: yes\n", False),
        ("a: True\n", False),
        ("a: +13125550142\n", False),
        ("a: 1.5\n", False),
        ("a: 0x1F\n", False),
        ("a: b # comment\n", False),
        ("a:\n- 1\n", False),
        ("a: 1\na: 2\n", False),
        ("a:\tb\n", False),
        ("---\na: 1\n", False),
        ("", False),
        ("# only a comment\n", False),
        ('a: "x", "b": "y"\n', False),
        ("a: [1], [2]\n", False),
        ("  a: 1\n", False),
        ("a: 1\n  b: 2\n", False),
        ("a: ~\n", False),
        ("a: 'single ''quoted'' # not a comment'\nb: '+13125550142'\n", True),
        ("a: 'unterminated\n", False),
        ("a: 'x' # comment\n", False),
    ],
)
def test_fast_path_reads_like_ruamel_or_steps_aside(text: str, takes_fast_path: bool) -> None:
    fast, value = _fast(text)
    assert fast is takes_fast_path
    if fast:
        assert value == FULL.load(text)


def test_fast_path_positions_point_at_values() -> None:
    text = 'name: "B"\nconfiguration:\n  min: 12\n  list: [1, {"k": 2}]\n'
    positions = parsing.yaml_positions(text)
    assert positions["/name"] == (1, 7)
    assert positions["/configuration/min"] == (3, 8)
    assert positions["/configuration/list/1/k"] == (4, 19)


def test_full_path_positions_point_at_values() -> None:
    text = "a:\n  - x\n  - {b: 3}\n"
    positions = parsing.yaml_positions(text)
    assert positions["/a/0"] == (2, 5)
    assert positions["/a/1/b"] == (3, 9)


def test_json_positions_point_at_values() -> None:
    text = '{\n  "data": {\n    "name": "x",\n    "list": [\n      1,\n      "a/b"\n    ]\n  }\n}'
    positions = parsing.json_positions(text)
    assert positions["/data/name"] == (3, 13)
    assert positions["/data/list/1"] == (6, 7)


def test_yaml_errors_carry_their_position() -> None:
    with pytest.raises(parsing.ParseError) as caught:
        parsing.load_yaml("a: 1\nb: [1, 2\nc: 3\n")
    assert (caught.value.line, caught.value.column) >= (2, 1)


KEYS = st.sampled_from(["name", "a", "b_c", "minCallbackNumberLength", "x-y", "queue"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.sampled_from(
        [
            "America/Chicago",
            "Billing General",
            "yes",
            "No",
            "on",
            "1e3",
            "a: b",
            "x # y",
            "sip:a@b.example",
            "- item",
            "+13125550142",
            "null",
            "~",
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=6,
)


def _render(value: dict[str, Any], indent: int, plain: bool) -> str:
    lines = []
    for key, item in value.items():
        pad = " " * indent
        if isinstance(item, dict) and item:
            lines.append(f"{pad}{key}:")
            lines.append(_render(item, indent + 2, plain))
        elif plain and isinstance(item, str):
            lines.append(f"{pad}{key}: {item}")
        elif isinstance(item, str) and len(item) % 2:
            lines.append(f"{pad}{key}: '{item.replace(chr(39), chr(39) * 2)}'")
        else:
            lines.append(f"{pad}{key}: {json.dumps(item)}")
    return "\n".join(line for line in lines if line)


@settings(max_examples=300, deadline=None)
@given(document=st.dictionaries(KEYS, VALUES, min_size=1, max_size=5), plain=st.booleans())
def test_fast_path_agrees_with_ruamel_on_generated_documents(
    document: dict[str, Any], plain: bool
) -> None:
    text = _render(document, 0, plain) + "\n"
    fast, value = _fast(text)
    try:
        expected = FULL.load(text)
    except Exception:
        # JSON's surrogate-pair escapes, which `tojson` writes for characters beyond U+FFFF,
        # are read as JSON reads them; ruamel.yaml rejects them.
        assert not fast or re.search(r"\\ud[89ab]", text, re.IGNORECASE), text
        return
    if fast:
        assert value == expected, text


@given(value=VALUES)
def test_tojson_writes_what_plain_jinja_writes(value: Any) -> None:
    import jinja2

    from calltmpl.render import Renderer

    template = "{{ value | tojson }} {{ value | tojson(2) }}"
    plain = jinja2.Environment().from_string(template).render(value=value)
    ours = Renderer([]).env.from_string(template).render(value=value)
    assert ours == plain
