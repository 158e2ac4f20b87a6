"""Render budgets: a hostile template is a located CT109 within seconds and bounded memory,
in the main process, in forked workers and in threads; normal templates render as before."""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import jinja2
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from calltmpl import budget
from calltmpl.diagnostics import Diagnostic
from calltmpl.environment import ConfinedLoader, environment
from calltmpl.queues import load_queue
from calltmpl.render import Rendered, Renderer
from tests.conftest import write_tree

HEAD = "name: {{ name | tojson }}\nconfiguration: {}\n"
"""Every hostile template starts so; its hostile part is line 3."""

DOUBLE = '{% set ns = namespace(s="x") %}{% for i in range(100) %}'
HOSTILE = {
    "range": "{% for i in range(10**10) %}x{% endfor %}",
    "repeat": '{{ "x" * 10**9 }}',
    "list-repeat": "{{ ([0] * 10**9) | length }}",
    "power": "{{ 10**(10**10) }}",
    "squaring": "{% set ns = namespace(x=3) %}{% for i in range(100) %}"
    "{% set ns.x = ns.x * ns.x %}{% endfor %}",
    "tilde-doubling": DOUBLE + "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "plus-doubling": DOUBLE + "{% set ns.s = ns.s + ns.s %}{% endfor %}",
    "format-filter-doubling": DOUBLE + '{% set ns.s = "%s%s" | format(ns.s, ns.s) %}{% endfor %}',
    "percent-doubling": DOUBLE + '{% set ns.s = "%s%s" % (ns.s, ns.s) %}{% endfor %}',
    "str-format-doubling": DOUBLE + '{% set ns.s = "{}{}".format(ns.s, ns.s) %}{% endfor %}',
    "shared-list-printed": '{% set ns = namespace(s=["x"]) %}{% for i in range(100) %}'
    "{% set ns.s = [ns.s, ns.s] %}{% endfor %}{{ ns.s }}",
    "shared-list-tojson": '{% set a = ["x" * 1000] * 1000 %}{{ ([a] * 1000) | tojson }}',
    "join-huge": '{% set a = ["x" * 1000] * 1000 %}{{ ([a] * 1000) | join }}',
    "join-separator": '{{ ("x" * 100000) | join("y" * 100000) }}',
    "center": '{{ "x" | center(10**9) }}',
    "ljust": '{{ "x".ljust(10**9) }}',
    "indent": '{{ "x" | indent(10**9) }}',
    "format-width": '{{ "{:>1000000000}".format(1) }}',
    "printf-width": '{{ "%01000000000d" % 1 }}',
    "replace-growth": '{{ ("x" * 4000000).replace("", "yy") }}',
    "sum-of-lists": '{{ (["x" * 4000000] * 100) | sum(start="") }}',
    "expandtabs": '{{ ("\t" * 4000000).expandtabs(1000) }}',
    "lipsum": "{{ lipsum(n=10**6) }}",
    "printing-loop": "{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}"
    "{% endfor %}{% endfor %}",
    "block-buffer": '{% set x %}{% for i in range(100000) %}{{ "x" * 1000000 }}{% endfor %}'
    "{% endset %}{{ x | length }}",
    "literal-text-loop": "{% set x %}{% for i in range(100000) %}{% for j in range(100000) %}"
    "xxxxxxxxxx{% endfor %}{% endfor %}{% endset %}",
    "retained-values": "{% set ns = namespace(l=[]) %}{% for i in range(100000) %}"
    '{% set ns.l = ns.l + ["x" * 4000000 ~ i] %}{% endfor %}{{ ns.l | length }}',
    "recursion": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "empty-loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
    "{% endfor %}",
    "printed-total": '{% for i in range(100000) %}{{ "y" * 1000 }}{% endfor %}',
    "literal-output-loop": "{% for i in range(100000) %}{% for j in range(100000) %}"
    "xxxxxxxxxx{% endfor %}{% endfor %}",
}
SAYS = {
    "range": "range() of 10,000,000,000 items",
    "repeat": "* would make a value of 1,000,000,000 characters",
    "power": "** would make a number of about 40,000,000,000 bits",
    "squaring": "* would make a number",
    "tilde-doubling": "the text joined with ~ would be over 4,194,304 characters",
    "printed-total": "the render printed over 4,194,304 characters",
    "block-buffer": "the render printed over",
    "literal-text-loop": "the text of a block would be over",
    "recursion": "nested macro calls or includes too deeply",
    "empty-loops": "the render took more than 0.5 seconds",
}
"""What some of them are told (the others: that something would be over its budget)."""


def _run(
    args: list[str], cwd: Path, seconds: float, timeout: float
) -> subprocess.CompletedProcess[str]:
    """The command line in a process of its own, with a time budget of ``seconds``."""
    code = (
        "import sys, calltmpl.budget as b; b.SECONDS = float(sys.argv[1]); "
        "from calltmpl.cli import main; main(sys.argv[2:])"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(seconds), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_hostile_templates_are_located_findings_in_seconds_and_bounded_memory(
    tmp_path: Path,
) -> None:
    files = {"calltmpl.yaml": "{}\n"}
    for name, body in HOSTILE.items():
        files[f"templates/{name}.yaml.j2"] = HEAD + body + "\n"
        files[f"queues/{name}.yaml"] = f"template: {name}.yaml.j2\nname: {name}\n"
    write_tree(tmp_path, files)
    started = time.monotonic()
    result = _run(["lint", "--format", "json"], tmp_path, seconds=0.5, timeout=120)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    found = {d["file"]: d for d in json.loads(result.stdout)["diagnostics"]}
    for name in HOSTILE:
        diagnostic = found[f"templates/{name}.yaml.j2"]
        assert (diagnostic["code"], diagnostic["line"]) == ("CT109", 3), (name, diagnostic)
        assert SAYS.get(name, "") in diagnostic["message"], (name, diagnostic)
    assert len(found) == len(HOSTILE)
    assert elapsed < 60
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KB on Linux
    if sys.platform.startswith("linux"):
        assert peak < 600 * 1024, f"{peak // 1024} MB"


def test_time_budget_holds_in_forked_workers_and_each_slow_template_runs_out_once(
    tmp_path: Path,
) -> None:
    files = {"calltmpl.yaml": "{}\n", "templates/slow.yaml.j2": HEAD + HOSTILE["empty-loops"]}
    files.update(
        {f"queues/q{i:02}.yaml": f"template: slow.yaml.j2\nname: Q{i}\n" for i in range(60)}
    )
    write_tree(tmp_path, files)
    started = time.monotonic()
    result = _run(["lint", "--format", "json"], tmp_path, seconds=0.3, timeout=120)
    assert result.returncode == 1, result.stderr
    found = json.loads(result.stdout)["diagnostics"]
    assert {d["code"] for d in found} == {"CT109"}
    # the same finding at the same template line is reported once, naming its queues
    assert sum(_queues_named(d["message"]) for d in found) == 60
    assert any(d["message"].startswith("not rendered: the render took more than") for d in found)
    assert time.monotonic() - started < 30  # not 60 renders of 0.3 s each per worker


def _queues_named(message: str) -> int:
    """How many queues "(rendering a, b and c)" or "(rendering a and 41 others)" names."""
    named = message.rsplit("(rendering ", 1)[1].rstrip(")")
    others = re.fullmatch(r".* and ([0-9]+) others", named)
    if others:
        return 1 + int(others.group(1))
    return len(re.split(r", | and ", named))


def _renderer(tmp_path: Path, body: str) -> tuple[Renderer, Path]:
    write_tree(
        tmp_path, {"templates/t.yaml.j2": HEAD + body, "q.yaml": "template: t.yaml.j2\nname: Q\n"}
    )
    return Renderer([tmp_path / "templates"]), tmp_path / "q.yaml"


def _render(renderer: Renderer, queue: Path) -> Rendered | Diagnostic:
    loaded = load_queue(queue, queue.parent)
    assert not isinstance(loaded, Diagnostic)
    return renderer.render(loaded)


def test_time_budget_holds_outside_the_main_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budget, "SECONDS", 0.3)
    renderer, queue = _renderer(tmp_path, HOSTILE["empty-loops"])
    results: list[Rendered | Diagnostic] = []
    worker = threading.Thread(target=lambda: results.append(_render(renderer, queue)))
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive()
    (result,) = results
    assert isinstance(result, Diagnostic) and result.code == "CT109", result
    assert "took more than 0.3 seconds" in result.message


def test_a_render_gives_back_the_alarm_and_memory_limit_it_found(tmp_path: Path) -> None:
    renderer, queue = _renderer(tmp_path, "")
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    limits = resource.getrlimit(resource.RLIMIT_AS)
    try:
        signal.setitimer(signal.ITIMER_REAL, 100.0)
        assert isinstance(_render(renderer, queue), Rendered)
        assert signal.getsignal(signal.SIGALRM) is not budget._on_alarm
        assert 99 < signal.getitimer(signal.ITIMER_REAL)[0] <= 100
        assert resource.getrlimit(resource.RLIMIT_AS) == limits
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert not fired


NORMAL = [
    '{{ "%s-%s" % ("a", 1) }} {{ "%(x)s" % {"x": 2} }} {{ "{}/{}".format(1, 2) }}',
    '{{ [1, 2] + [3] }} {{ "ab" * 3 }} {{ 3 * [0] }} {{ 2 ** 10 }} {{ 10**10**10 }} {{ 7 * 6 }}',
    '{{ "a" ~ 1 ~ none }} {{ ["a", "b"] | join(", ") }} {{ "%s!" | format("hi") }}',
    "{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m(1) }}{% set b %}{{ m(2) }}{% endset %}{{ b }}",
    '{{ "x" | center(5) }}|{{ "a\nb" | indent(2) }}|{{ "a b c" | replace(" ", "-") }}',
    "{{ [[1], [2]] | sum(start=[]) }} {{ {'a': [1, {'b': none}]} | tojson }} {{ range(3) | list }}",
    "{% for i in range(3) %}{{ loop.index }}{% endfor %} {{ (1, 2) }} {{ {'k': 'v'} }}",
]


@pytest.mark.parametrize("source", NORMAL)
def test_budgets_change_nothing_a_normal_template_renders(source: str) -> None:
    plain = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    budgeted = environment(ConfinedLoader([]), "test-normal")
    assert budgeted.from_string(source).render() == plain.from_string(source).render()


def test_the_built_in_templates_render_as_in_plain_jinja(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "q.yaml": "template: calltmpl/pstn.yaml.j2\nname: A\ntimezone: America/Chicago\n"
            'callbackAgentDestination: "+13125550142"\n'
        },
    )
    loaded = load_queue(tmp_path / "q.yaml", tmp_path)
    assert not isinstance(loaded, Diagnostic)
    budgeted = environment(ConfinedLoader([]), "test-builtin")
    plain = ImmutableSandboxedEnvironment(
        loader=ConfinedLoader([]), undefined=jinja2.StrictUndefined
    )
    plain.policies["json.dumps_function"] = budgeted.policies["json.dumps_function"]
    expected = plain.get_template(loaded.template).render(loaded.variables)
    assert budgeted.get_template(loaded.template).render(loaded.variables) == expected


def test_templates_compiled_without_the_budget_hooks_are_not_loaded(tmp_path: Path) -> None:
    """A cache filled by a calltmpl without the hooks (the folder of Jinja's version alone)
    must not give a render its compiled code back: that code has no budget."""
    renderer, queue = _renderer(tmp_path, '{{ ("x" * 5000000) | length }}')  # fine unchecked
    cache = Path(os.environ["CALLTMPL_CACHE_DIR"]) / f"jinja-{jinja2.__version__}" / "plain"
    cache.mkdir(parents=True, exist_ok=True)
    old = ImmutableSandboxedEnvironment(
        loader=ConfinedLoader([tmp_path / "templates"]),
        undefined=jinja2.StrictUndefined,
        bytecode_cache=jinja2.FileSystemBytecodeCache(str(cache)),
    )
    old.get_template("t.yaml.j2")  # compiled and stored the old way
    result = _render(renderer, queue)
    assert isinstance(result, Diagnostic) and result.code == "CT109", result
