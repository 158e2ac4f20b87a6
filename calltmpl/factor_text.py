"""The texts ``calltmpl import`` writes: queue files, imported templates, their file names.

Values are written so that reading them back gives the very JSON value, type included: queue
files hold ``key: <JSON>`` lines (YAML 1.2 reads JSON as JSON), and templates hold Jinja
literals (``none`` for null) inserted with ``| tojson``. Characters YAML would take for line
breaks or refuse are written as ``\\u`` escapes, which both JSON and Jinja strings read back.

Templates extend a built-in one by overriding its blocks (see ``calltmpl/base.yaml.j2``); the
blocks and the members each one writes are read from the built-in's own source
(:func:`layout`), so this module follows the built-in when it changes.
"""

from __future__ import annotations

import json
import re
import textwrap
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

BASE = "calltmpl/base.yaml.j2"
PSTN = "calltmpl/pstn.yaml.j2"
SIP = "calltmpl/sip.yaml.j2"
FOLDER = "imported"
"""The folder of the first template folder that imported templates are written to."""
MESSAGING = "messaging"
MISC = "misc"
"""The block that also writes the members the built-in does not know."""


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""A template member without a default: every queue sets it."""


# --- the built-in's blocks ------------------------------------------------------------------

_BLOCK = re.compile(r"\{%-? *block +([A-Za-z_][A-Za-z0-9_]*) *-?%\}")
_MEMBER = re.compile(r"  ([A-Za-z_][A-Za-z0-9_]*):")


@dataclass(frozen=True)
class Layout:
    """The built-in base's configuration blocks in order, each with the members it writes."""

    blocks: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def members(self) -> frozenset[str]:
        return frozenset(m for _, members in self.blocks for m in members)

    def block_of(self, member: str) -> str:
        """The block that writes ``member``; :data:`MISC` for members the built-in lacks."""
        return next((b for b, members in self.blocks if member in members), MISC)


def layout(source: str) -> Layout:
    """The blocks of ``calltmpl/base.yaml.j2`` that write configuration members (lines
    ``  member: ...`` at two spaces), read from its source."""
    blocks: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    for line in source.split("\n"):
        found = _BLOCK.search(line)
        if found:
            current = []
            blocks.append((found.group(1), current))
            continue
        if "endblock" in line:
            current = None
            continue
        member = _MEMBER.match(line)
        if current is not None and member and member.group(1) not in current:
            current.append(member.group(1))
    return Layout(tuple((name, tuple(members)) for name, members in blocks if members))


# --- values ---------------------------------------------------------------------------------

# What YAML refuses or reads as a line break (YAML 1.2, 5.1), plus surrogates: escaped.
_UNSAFE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def _escaped(text: str) -> str:
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_text(value: Any) -> str:
    """``value`` as one line of JSON that YAML reads back as the same value (readable
    letters kept, unsafe characters escaped)."""
    return _escaped(json.dumps(value, ensure_ascii=False))


def jinja_literal(value: Any) -> str:
    """``value`` as a Jinja literal that evaluates to the same JSON value."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        items = (f"{jinja_literal(str(k))}: {jinja_literal(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(jinja_literal(v) for v in value) + "]"
    return json_text(value)


def canonical(value: Any) -> str:
    """One text per JSON value, telling types apart (1, 1.0 and true differ)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _yaml_key(key: str) -> str:
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key)
    if plain and key.lower() not in {"true", "false", "null", "yes", "no", "on", "off", "y", "n"}:
        return key
    return json_text(key)


# --- queue files ----------------------------------------------------------------------------

WIDTH = 100
"""A mapping whose one-line form is longer than this is written one member a line."""


def queue_text(template: str, variables: Mapping[str, Any]) -> str:
    """A queue file: ``template:`` then one ``variable: <JSON>`` line per variable (a long
    mapping one member a line below its name)."""
    plain = re.fullmatch(r"[A-Za-z][A-Za-z0-9_./()+-]*", template)
    lines = [f"template: {template if plain else json_text(template)}"]
    for name, value in variables.items():
        lines.extend(_assignment(_yaml_key(name), value, ""))
    return "\n".join(lines) + "\n"


def _assignment(key: str, value: Any, indent: str) -> list[str]:
    line = f"{indent}{key}: {json_text(value)}"
    if not isinstance(value, dict) or not value or len(line) <= WIDTH:
        return [line]
    lines = [f"{indent}{key}:"]
    for name, item in value.items():
        lines.extend(_assignment(json_text(str(name)), item, indent + "  "))
    return lines


# --- file names -----------------------------------------------------------------------------

_RESERVED_STEMS = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
)
MAX_STEM = 60


def file_stem(name: str, fallback: str) -> str:
    """A file name (without extension) from a call target's name: lower case, words joined
    by ``-``. Accented Latin letters lose their accents, other letters are kept; quotes are
    dropped; slashes and every other character separate words. ``fallback`` when nothing is
    left."""
    letters: list[str] = []
    for char in name.replace("\u00df", "ss"):
        if char in "'\u2019\u2018\"`\u00b4":
            continue
        base = unicodedata.normalize("NFKD", char)
        ascii_base = "".join(c for c in base if c.isascii())
        if ascii_base and all(c.isascii() or unicodedata.combining(c) for c in base):
            letters.append(ascii_base)
        else:
            letters.append(char)
    words = re.split(r"[^\w]+|_", "".join(letters).casefold())
    stem = "-".join(w for w in words if w)
    while len(stem) > MAX_STEM:
        stem = stem.rsplit("-", 1)[0] if "-" in stem[:MAX_STEM] else stem[:MAX_STEM]
    if not stem:
        return fallback
    return f"{stem}-queue" if stem in _RESERVED_STEMS else stem


# --- templates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """One line of a template block: ``key: {{ variable | default(...) | tojson }}``; a
    messaging part (``part``) reads ``messaging[key]`` instead."""

    key: str
    variable: str
    default: Any = REQUIRED
    part: bool = False


@dataclass(frozen=True)
class TemplateSpec:
    """An imported template: the built-in it extends (None: it stands alone), the blocks it
    writes (in the built-in's order), members the built-in lacks (appended to ``misc``), and
    the queues it was made for."""

    name: str
    parent: str | None
    blocks: tuple[tuple[str, tuple[Member, ...]], ...]
    extra: tuple[Member, ...] = ()
    queues: tuple[str, ...] = field(default=())


def template_text(spec: TemplateSpec) -> str:
    """The Jinja source of an imported template: a comment naming its queues, then its
    blocks."""
    lines = [*_comment(spec), *([f'{{%- extends "{spec.parent}" %}}'] if spec.parent else [])]
    if spec.parent is None:
        lines += [
            "name: {{ name | tojson }}",
            "{%- if phoneNumbers is defined %}",
            "phoneNumbers: {{ phoneNumbers | tojson }}",
            "{%- endif %}",
            "configuration:" if spec.blocks or spec.extra else "configuration: {}",
        ]
    written = {name for name, _ in spec.blocks}
    for name, members in spec.blocks:
        extra = spec.extra if name == MISC else ()
        lines += _block(name, (*members, *extra), extend=False)
    if spec.extra and MISC not in written:
        lines += _block(MISC, spec.extra, extend=spec.parent is not None)
    return "\n".join(lines) + "\n"


def _comment(spec: TemplateSpec) -> list[str]:
    what = f"extends {spec.parent}" if spec.parent else "stands alone"
    count = len(spec.queues)
    head = (
        f"{spec.name}: made by `calltmpl import`; {what} and holds what "
        + ("these call targets have in common" if count > 1 else "this call target needs")
        + ". Used by (at import): "
        + ", ".join(spec.queues)
        + "."
    )
    return ["{#-", *textwrap.wrap(head, WIDTH, break_on_hyphens=False), "-#}"]


def _block(name: str, members: Sequence[Member], *, extend: bool) -> list[str]:
    lines = [f"{{%- block {name} %}}" + ("{{ super() }}" if extend else "")]
    parts = [m for m in members if m.part]
    for member in members:
        if member.part and member is parts[0]:
            lines += ["{%- set m = messaging | default({}) %}", f"  {_template_key(MESSAGING)}:"]
        if member.part:
            lines.append(f"    {_template_key(member.key)}: {_value(member)}")
        else:
            lines.append(f"  {_template_key(member.key)}: {_value(member)}")
    return [*lines, "{%- endblock %}"]


def _template_key(key: str) -> str:
    """A YAML key as template text: Jinja's delimiters inside it are written by Jinja."""
    text = _yaml_key(key)
    return f"{{{{ {jinja_literal(key)} | tojson }}}}" if "{" in text else text


def _value(member: Member) -> str:
    read = f"m[{jinja_literal(member.key)}]" if member.part else member.variable
    if member.default is REQUIRED:
        return f"{{{{ {read} | tojson }}}}"
    return f"{{{{ {read} | default({jinja_literal(member.default)}) | tojson }}}}"


def template_name(labels: Sequence[str], taken: set[str], parent: str | None) -> str:
    """``imported/<name>.yaml.j2``, not yet taken: the words the queue file names begin
    with, else the first word most of them share, else what the template extends."""
    words = [label.split("-") for label in labels]
    common: list[str] = []
    for column in zip(*words, strict=False):
        if len(set(column)) != 1:
            break
        common.append(column[0])
    shared = Counter(w for ws in words for w in set(ws)).most_common(1)
    if common:
        stem = "-".join(common)
    elif shared and 2 * shared[0][1] > len(labels):
        stem = shared[0][0]
    else:
        stem = (parent or "calltmpl/own").split("/")[1].split(".")[0] + "-family"
    name, number = f"{FOLDER}/{stem}.yaml.j2", 2
    while name.lower() in taken:
        name, number = f"{FOLDER}/{stem}-{number}.yaml.j2", number + 1
    taken.add(name.lower())
    return name


# --- variable names -------------------------------------------------------------------------

_NOT_VARIABLES = frozenset(
    {
        *("true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is"),
        *("if", "else", "loop", "self", "super", "varargs", "kwargs", "caller", "range"),
        *("dict", "lipsum", "cycler", "joiner", "namespace", "queue", "template", "name"),
        *("id", "phoneNumbers", "m"),
    }
)


def variable_names(members: Iterable[str]) -> dict[str, str]:
    """The template variable of each member: its own name when Jinja and a queue file can
    use it as one, else a name made from it that no other member has."""
    members = list(members)
    taken = set(members)
    found: dict[str, str] = {}
    for member in members:
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", member) and member not in _NOT_VARIABLES:
            found[member] = member
            continue
        stem = re.sub(r"[^A-Za-z0-9_]+", "_", member).strip("_") or "member"
        stem = stem if re.match(r"[A-Za-z_]", stem) else f"member_{stem}"
        candidate, number = f"{stem}Member", 2
        while candidate in taken or candidate in _NOT_VARIABLES:
            candidate, number = f"{stem}Member{number}", number + 1
        taken.add(candidate)
        found[member] = candidate
    return found
