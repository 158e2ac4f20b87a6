"""Hypothesis strategies for hostile calltmpl repositories (tests/test_fuzz.py runs them).

Each strategy grows mostly valid material, so that a run gets past the parser to rendering,
linting and reporting, salts it with odd values, and now and then mutates it (random bytes,
runs of brackets or spaces, cut and repeated pieces). It returns a :class:`Repo`: the files and
the commands to run there.

* queue files: YAML mappings with odd keys and values (tags, anchors, aliases and merge keys,
  huge and non-finite numbers, dates, escapes of surrogates and control characters, injected
  workflow commands, suppression comments, deep nesting);
* templates: Jinja mixing ``{{ }}``, ``{% %}``, filters, bounded loops, macros, inheritance,
  includes and sandbox probes with YAML lines;
* payload ``.json`` files: JSON values in and out of the API's envelopes;
* ``calltmpl.yaml``: every setting, with values of the right and the wrong kind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import strategies as st

T = TypeVar("T")
_ESCAPED = re.compile("[\ud800-\udfff\x7f-\x9f]")
_SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "call-target.schema.json"
MEMBERS = sorted(json.loads(_SCHEMA.read_text("utf-8"))["$defs"]["configuration"]["properties"])


@dataclass(frozen=True)
class Repo:
    """A generated repository: files (path -> bytes) and the commands to run in it."""

    files: dict[str, bytes]
    commands: tuple[tuple[str, ...], ...]
    kind: str = ""

    def write(self, root: Path) -> None:
        for name, data in self.files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def show(self, limit: int = 1500) -> str:
        """The repository as a reader can rebuild it."""
        parts = []
        for name, data in self.files.items():
            more = f" ... ({len(data)} bytes)" if len(data) > limit else ""
            parts.append(f"{name}: {data[:limit]!r}{more}")
        return "\n".join(parts)


def weighted(*options: tuple[int, st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """One of ``options``, each drawn ``weight`` times as often as a weight of 1. (``one_of``
    would flatten a nested ``one_of`` into its branches, and so skew the weights.)"""
    table = [strategy for weight, strategy in options for _ in range(weight)]
    return st.sampled_from(range(len(table))).flatmap(table.__getitem__)


# --- shared pieces ---------------------------------------------------------------------------

TEMPLATE = (
    b"name: {{ name | tojson }}\n"
    b"configuration:\n"
    b"  maxCallbackRetries: {{ retries | default(2) | tojson }}\n"
    b"  mediaSetId: {{ message | default('hello') | tojson }}\n"
)
QUEUE = (
    b'template: t.yaml.j2\nname: Fuzzed\nretries: 3\nmessage: "hi"\n'
    b'timezone: America/Chicago\ncallbackAgentDestination: "+13125550142"\n'
)
PSTN_QUEUE = (
    b"template: calltmpl/pstn.yaml.j2\nname: Built-in\ntimezone: America/Chicago\n"
    b'callbackAgentDestination: "+13125550142"\n'
)

# fmt: off
INJECTIONS = [
    "\n::error file=x::pwned", "\r::warning file=x::pwned", "\x1b]0;pwned\x07\x1b[2J", "\x9b31m",
    "\u2028::notice::pwned", "\x00", "\ud800", "%0A::error::x",
]
PLAIN = [
    "A", "Billing - East", "America/Chicago", '"+13125550142"', "3", "0", "-1", "true", "false",
    '""', "hello world", "'single'", "[]", "{}", "[1, 2]", "{a: 1}",
]
# Valid YAML whose meaning is odd: what a loader turns into something no JSON holds, or fails on.
ODD = [
    ".nan", ".NaN", ".inf", "-.inf", "+.inf", "~", "null", "yes", "no", "on", "off", "y", "0x1F",
    "0o17", "017", "1_000", "1e3", "-0", "1.", ".5", "2024-01-01", "2024-01-01 10:30:00",
    "2001-12-14t21:59:43.10-05:00", "12:30:45", "190:20:30", "!!binary aGVsbG8=", "!!int abc",
    "!!float abc", "!!str 1", "!!bool maybe", "!!null x", "!!timestamp nope", "!!set {a, b}",
    "!!omap [a: 1]", "!!pairs [a: 1]", "!!python/name:os.system", "!custom x", "!!map x",
    '"\\ud800"', '"x\\udfff"', '"\\x00"', '"\\e[31m"', '"\\N\\_\\L\\P"', "'it''s'", "!!int 1e3",
    "!!float 0x10", '"\\U0010FFFF"', "&lone value", "!!seq {a: 1}",
]
# Not valid YAML in a value's place: a file with one of these stops at the parser.
BREAKERS = [
    "[unclosed", "{unclosed", "'unterminated", '"unterminated', "*undefined", "a: b: c", "@", "`",
    "%", "- item", "? complex", "--- x", '"\\q"', "!<!> x", "&a &b x", "\t",
]
# fmt: on

SUPPRESSION = st.builds(
    lambda kind, codes, spaces, tail: f"# calltmpl: {kind}={codes}{' ' * spaces}{tail}",
    st.sampled_from(["disable", "disable-file", "disable ", "Disable"]),
    st.sampled_from(["", "CT006", "CT006,CT305", "ALL", "CT9", "nonsense", "CT006, ", "-", ","]),
    st.sampled_from([0, 1, 5, 40, 150, 300]),
    st.sampled_from(["", "!", "-- reason", "--", " #}", "x"]),
)


def characters() -> st.SearchStrategy[str]:
    """Short texts of any characters, or a known injection."""
    text = st.text(st.characters(codec="utf-8"), max_size=12)
    return weighted((4, text), (1, st.sampled_from(INJECTIONS)))


def quoted(text: str) -> str:
    """A YAML double-quoted scalar: JSON's escapes are YAML's, but YAML knows no surrogate
    pairs, so only control characters and lone surrogates are escaped."""
    return _ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(text, ensure_ascii=False))


def integer_texts() -> st.SearchStrategy[str]:
    huge = st.sampled_from([4299, 4301, 6000]).map(lambda n: "9" * n)
    return weighted((5, st.integers(-(2**70), 2**70).map(str)), (1, huge))


def scalars() -> st.SearchStrategy[str]:
    """A YAML scalar as written in a file: mostly plain, often odd, rarely broken."""
    return weighted(
        (8, st.sampled_from(PLAIN)),
        (6, st.sampled_from(ODD)),
        (3, integer_texts()),
        (2, st.floats().map(repr)),
        (4, characters().map(quoted)),
        (1, st.sampled_from(BREAKERS)),
    )


def keys() -> st.SearchStrategy[str]:
    names = st.sampled_from(["retries", "message", "timezone", "extra", *MEMBERS[:12]])
    return weighted((4, names), (1, characters().map(quoted)))


def flows() -> st.SearchStrategy[str]:
    """YAML flow collections of scalars, nested a few levels."""
    return st.recursive(
        scalars(),
        lambda inner: (
            st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]")
            | st.lists(st.tuples(keys(), inner), max_size=3).map(
                lambda kvs: "{" + ", ".join(f"{k}: {v}" for k, v in kvs) + "}"
            )
        ),
        max_leaves=6,
    )


@st.composite
def mutated(draw: st.DrawFn, data: bytes, chance: int = 2) -> bytes:
    """``data``, or (``chance`` times in ten) ``data`` after one to three random edits."""
    if draw(st.integers(0, 9)) >= chance:
        return data
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        end = draw(st.integers(at, min(len(data), at + 40)))
        edit = draw(st.sampled_from(["bytes", "run", "run", "cut", "repeat", "char", "char"]))
        if edit == "bytes":
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        elif edit == "run":
            piece = draw(st.sampled_from([b"[", b"{", b"{a: ", b"- ", b" ", b"&a ", b"*a ", b"\t"]))
            data = data[:at] + piece * draw(st.sampled_from([2, 300, 5000, 30000])) + data[at:]
        elif edit == "cut":
            data = data[:at] + data[end:]
        elif edit == "repeat":
            data = data[:end] + data[at:end] * draw(st.integers(1, 50)) + data[end:]
        else:
            char = draw(st.sampled_from(list("[]{}:&*!|>'\"%@`#-?,\r\x85\u2028\ufeff")))
            data = data[:at] + char.encode("utf-8") + data[at:]
    return data


def encoded(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogatepass")


def lint_command(draw: st.DrawFn, *paths: str) -> tuple[str, ...]:
    output = draw(st.sampled_from(["json", "json", "json", "text", "github"]))
    return ("lint", *paths, "--format", output)


def with_render(draw: st.DrawFn, lint: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return (lint, ("render", "--out", "build")) if draw(st.booleans()) else (lint,)


# --- (a) queue files -------------------------------------------------------------------------


@st.composite
def queue_texts(draw: st.DrawFn) -> bytes:
    """A queue file: a valid mapping whose variables take odd values, odd lines, and edits."""
    lines = ["template: t.yaml.j2", f"name: {draw(weighted((3, st.just('Q')), (1, scalars())))}"]
    anchors: list[str] = []
    for key in draw(st.lists(keys(), max_size=6, unique=True)):
        shape = draw(st.sampled_from(["scalar", "scalar", "flow", "anchor", "alias", "merge", "#"]))
        if shape == "scalar":
            lines.append(f"{key}: {draw(scalars())}")
        elif shape == "flow":
            lines.append(f"{key}: {draw(flows())}")
        elif shape == "anchor":
            anchors.append(f"a{len(anchors)}")
            members = ", ".join(
                f"{k}: {draw(scalars())}" for k in draw(st.sets(keys(), max_size=3))
            )
            lines.append(f"{key}: &{anchors[-1]} {{{members}}}")
        elif shape == "alias" and anchors:
            refs = ", ".join(f"*{draw(st.sampled_from(anchors))}" for _ in range(10))
            lines.append(f"{key}: [{refs}]")
        elif shape == "merge" and anchors:
            target = draw(st.sampled_from(anchors))
            lines.append(f"<<: *{target}" if draw(st.booleans()) else f"<<: [*{target}]")
        else:
            lines.append(f"{key}: 1  {draw(SUPPRESSION)}")
    return draw(mutated(encoded("\n".join(lines) + "\n")))


@st.composite
def queue_repositories(draw: st.DrawFn) -> Repo:
    queues = draw(st.lists(queue_texts(), min_size=1, max_size=3))
    files = {"calltmpl.yaml": b"{}\n", "templates/t.yaml.j2": TEMPLATE, "queues/good.yaml": QUEUE}
    files |= {f"queues/q{i}.yaml": text for i, text in enumerate(queues)}
    return Repo(files, with_render(draw, lint_command(draw)), "queues")


# --- (b) templates ---------------------------------------------------------------------------

# fmt: off
ATOMS = [
    "name", "retries", "message", "range(3)", "none", "true", "1", "-1", "0", "2.5", "1e308 * 10",
    "'x'", '"\\n::error::x"', "[1, 2]", "{'a': 1}", "namespace(a=1).a", "lipsum(1, false, 1, 2)",
]
PROBES = [
    "missing", "loop", "self", "cycler", "joiner", "''.__class__", "().__class__.__base__",
    "name.__dict__", "retries.real", "message.format", "message.mro", "range.__globals__",
    "self._TemplateReference__context", "name.__class__.__mro__[1].__subclasses__()",
]
FILTERS = [
    "tojson", "default(1)", "upper", "length", "string", "int", "float", "list", "first", "last",
    "join(',')", "replace('a', 'b')", "trim", "title", "abs", "round", "sort", "unique", "e",
    "safe", "indent(2)", "attr('__class__')", "map('upper')", "sum", "dictsort", "items",
    "format(1)", "center(80)", "batch(2)", "reverse", "min", "max", "urlencode", "xmlattr",
]
OPERATORS = [" + ", " - ", " * ", " / ", " // ", " % ", " ~ ", " ** ", " and ", " or ", " == "]
BROKEN = ["{{", "{%", "}}", "%}", "{% endfor %}", "{% for %}", "{#", "{{ }}", "{% block %}"]
HEADS = [
    "name: {{ name | tojson }}\nconfiguration:", "name: {{ name | tojson }}\nconfiguration:",
    '{% extends "calltmpl/pstn.yaml.j2" %}{% block misc %}', '{% include "u.yaml.j2" %}',
    '{% import "u.yaml.j2" as u %}name: {{ name | tojson }}\nconfiguration:',
    '{% extends "t.yaml.j2" %}', '{% extends "u.yaml.j2" %}{% block x %}',
]
# fmt: on


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    """A Jinja expression: atoms, filters, operators, bounded in size; now and then a probe
    of what the sandbox must refuse."""
    if depth > 2 or draw(st.integers(0, 2)) == 0:
        small = integer_texts().filter(lambda s: len(s) < 5)
        atoms = weighted((6, st.sampled_from(ATOMS)), (2, small), (1, st.sampled_from(PROBES)))
        text = draw(atoms)
    else:
        operator = draw(st.sampled_from(OPERATORS))
        text = f"({draw(expressions(depth + 1))}{operator}{draw(expressions(depth + 1))})"
    for _ in range(draw(st.integers(0, 2))):
        text = f"{text} | {draw(st.sampled_from(FILTERS))}"
    return text


@st.composite
def template_lines(draw: st.DrawFn) -> str:
    shapes = ["member"] * 4 + ["expr", "for", "if", "set", "macro", "raw", "#", "yaml", "broken"]
    shape = draw(st.sampled_from(shapes))
    expr = draw(expressions())
    if shape == "member":
        return f"  {draw(st.sampled_from(MEMBERS))}: {{{{ {expr} | tojson }}}}"
    if shape == "expr":
        return f"  x{draw(st.integers(0, 9))}: {{{{ {expr} }}}}"
    if shape == "for":
        count = draw(st.sampled_from([0, 1, 3, 50, 1000]))
        return f"{{% for i in range({count}) %}}{{{{ {expr} }}}}{{% endfor %}}"
    if shape == "if":
        return f"{{% if {expr} %}}  a: 1{{% else %}}  b: 2{{% endif %}}"
    if shape == "set":
        return f"{{% set v = {expr} %}}  v: {{{{ v | tojson }}}}"
    if shape == "macro":
        body = draw(st.sampled_from(["{{ x }}", "{{ m(x) }}", "{{ caller() }}"]))
        return f"{{% macro m(x) %}}{body}{{% endmacro %}}  m: {{{{ m({expr}) | tojson }}}}"
    if shape == "raw":
        return "{% raw %}  r: {{ not jinja }}{% endraw %}"
    if shape == "#":
        return "{# " + draw(SUPPRESSION).lstrip("# ") + " #}"
    if shape == "yaml":
        return f"  {draw(keys())}: {draw(scalars())}"
    return draw(st.sampled_from(BROKEN))


@st.composite
def template_texts(draw: st.DrawFn) -> bytes:
    head = draw(st.sampled_from(HEADS))
    body = draw(st.lists(template_lines(), max_size=6))
    tail = "{% endblock %}" if "{% block" in head else ""
    return draw(mutated(encoded("\n".join([head, *body, tail]) + "\n"), chance=2))


@st.composite
def template_repositories(draw: st.DrawFn) -> Repo:
    files = {
        "calltmpl.yaml": b"{}\n",
        "templates/t.yaml.j2": draw(template_texts()),
        "templates/u.yaml.j2": draw(template_texts()) if draw(st.booleans()) else TEMPLATE,
        "queues/a.yaml": QUEUE,
        "queues/b.yaml": QUEUE.replace(b"t.yaml.j2", b"u.yaml.j2").replace(b"Fuzzed", b"Other"),
    }
    return Repo(files, with_render(draw, lint_command(draw)), "templates")


# --- (c) payload files -----------------------------------------------------------------------

JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    characters(),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(characters(), inner, max_size=4),
    max_leaves=10,
)


@st.composite
def call_targets(draw: st.DrawFn) -> Any:
    """A call target in one of the API's envelopes, or any JSON value."""
    member_names = weighted((4, st.sampled_from(MEMBERS)), (1, characters()))
    configuration = draw(st.dictionaries(member_names, JSON_VALUES, max_size=6))
    name = draw(weighted((3, st.just("P")), (1, characters()), (1, JSON_VALUES)))
    target: dict[str, Any] = {"name": name, "configuration": configuration}
    if draw(st.booleans()):
        target["phoneNumbers"] = draw(st.dictionaries(characters(), JSON_VALUES, max_size=3))
    if draw(st.booleans()):
        target["id"] = draw(JSON_VALUES)
    envelope = draw(st.sampled_from(["post", "post", "get", "bare", "other"]))
    if envelope == "post":
        return {"data": target}
    if envelope == "get":
        return {"data": {"callTarget": target}}
    return target if envelope == "bare" else draw(JSON_VALUES)


@st.composite
def payload_texts(draw: st.DrawFn) -> bytes:
    text = json.dumps(draw(call_targets()), ensure_ascii=draw(st.booleans()), allow_nan=True)
    if draw(st.integers(0, 9)) == 0:  # a number too long for int()
        text = text.replace("{", '{"big": ' + "9" * 5000 + ", ", 1)
    return draw(mutated(encoded(text)))


@st.composite
def payload_repositories(draw: st.DrawFn) -> Repo:
    payloads = draw(st.lists(payload_texts(), min_size=1, max_size=4))
    files = {"calltmpl.yaml": b"{}\n"}
    files |= {f"payloads/p{i}.json": text for i, text in enumerate(payloads)}
    return Repo(files, (lint_command(draw, "payloads"),), "payloads")


# --- (d) calltmpl.yaml -----------------------------------------------------------------------


class Raw(str):
    """A YAML scalar written as is (a tag, a special float, a broken quote)."""


def emit(value: Any) -> str:
    """``value`` in YAML flow style: mappings, lists, quoted strings, ``Raw`` text as is."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{emit(k)}: {emit(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(emit(v) for v in value) + "]"
    if isinstance(value, str):
        return quoted(value)
    return json.dumps(value)


def setting(good: list[Any], odd: list[Any], clean: bool) -> st.SearchStrategy[Any]:
    """A setting's value: a good one when ``clean``, else mostly good and sometimes one of
    the wrong kind or form."""
    if clean:
        return st.sampled_from(good)
    strange = st.sampled_from(ODD + BREAKERS).map(Raw) | JSON_LEAVES
    return weighted((8, st.sampled_from(good)), (2, st.sampled_from(odd)), (1, strange))


# fmt: off
SELECTORS = ["ALL", "CT0", "CT006", "CT3", "unused-variable", "CT305", "CT202"]
ODD_SELECTORS = ["CT999", "", "C", "ct006", "*", "CT", "ALL,CT006", "unused_variable"]
GLOBS = ["queues/**/*.yaml", "queues/*.yaml", "**/*.yaml", "queues/q*.yaml"]
ODD_GLOBS = [
    "**", "/abs/*.yaml", "../**/*.yaml", "queues/[", "queues/{a,b}.yaml", "", ".",
    "queues/" + "a" * 300 + "/*.yaml", "queues/**/**/**", "queues\\*.yaml", "~/*.yaml",
]
FOLDERS = ["build", "out/payloads", "templates"]
ODD_FOLDERS = [
    "", ".", "..", "../outside", "/proc/self", "/", "templates/" + "t" * 300, "queues",
    "queues/a.yaml", "calltmpl.yaml", "templates/t.yaml.j2", "build/../..", "\x00",
]
URLS = ["https://api.example.com", "http://127.0.0.1:9", "https://[::1]:8443/x"]
ODD_URLS = [
    "http://127.0.0.1:8080:x", "https://[::1", "ftp://x", "", "http://", "https://user:pw@host",
    "http://127.0.0.1:99999/x", "https://\u00e9.com", "https://a b", "http://api.example.com",
]
LINT_KEYS = ["select", "ignore", "severity", "per-file-ignores", "unknown-members", "extra"]
# fmt: on


@st.composite
def lint_settings(draw: st.DrawFn, clean: bool) -> dict[str, Any]:
    lint: dict[str, Any] = {}
    selectors = setting(SELECTORS, ODD_SELECTORS, clean)
    for key in draw(st.sets(st.sampled_from(LINT_KEYS[: -1 if clean else None]))):
        if key in ("select", "ignore"):
            lint[key] = draw(st.lists(selectors, max_size=3))
        elif key == "severity":
            levels = setting(["error", "warning", "info"], ["off", "ERROR", "fatal"], clean)
            lint[key] = draw(st.dictionaries(selectors, levels, max_size=3))
        elif key == "per-file-ignores":
            globs = setting(GLOBS, ODD_GLOBS, clean)
            lint[key] = draw(st.dictionaries(globs, st.lists(selectors, max_size=2), max_size=2))
        else:
            lint[key] = draw(setting(["warning", "error"], ["info", "off"], clean))
    return lint


@st.composite
def config_texts(draw: st.DrawFn) -> bytes:
    """A ``calltmpl.yaml``: half of them clean (every value good, the file intact), so that
    runs get past the settings to what they steer."""
    clean = draw(st.booleans())
    api = {
        "base_url": setting(URLS, ODD_URLS, clean),
        "token_url": setting(URLS, ODD_URLS, clean),
        "timeout": setting([10, 1, 0.5], [0, -1, 1e309, "x", True], clean),
    }
    choices: dict[str, st.SearchStrategy[Any]] = {
        "templates": st.lists(setting(["templates"], ODD_FOLDERS, clean), min_size=1, max_size=2),
        "queues": st.lists(setting(GLOBS, ODD_GLOBS, clean), min_size=1, max_size=3),
        "output": setting(FOLDERS, ODD_FOLDERS, clean),
        "lint": lint_settings(clean),
        "api": st.fixed_dictionaries({}, optional=api),
    }
    values: dict[Any, Any] = {k: draw(v) for k, v in choices.items() if draw(st.booleans())}
    if not clean and draw(st.integers(0, 4)) == 0:
        values[draw(characters())] = draw(JSON_VALUES)
    if draw(st.booleans()):  # block style, as people write it
        text = "".join(f"{emit(k)}: {emit(v)}\n" for k, v in values.items()) or "{}\n"
    else:
        text = emit(values) + "\n"
    return encoded(text) if clean else draw(mutated(encoded(text), chance=3))


@st.composite
def config_repositories(draw: st.DrawFn) -> Repo:
    files = {
        "calltmpl.yaml": draw(config_texts()),
        "templates/t.yaml.j2": TEMPLATE,
        "queues/a.yaml": QUEUE,
        "queues/b.yaml": PSTN_QUEUE,
    }
    commands = [lint_command(draw)]
    if draw(st.booleans()):
        commands.append(
            draw(st.sampled_from([("render", "--check"), ("render", "--out", "build")]))
        )
    return Repo(files, tuple(commands), "config")


STRATEGIES: dict[str, Callable[[], st.SearchStrategy[Repo]]] = {
    "queues": queue_repositories,
    "templates": template_repositories,
    "payloads": payload_repositories,
    "config": config_repositories,
}
