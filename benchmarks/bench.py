"""Time calltmpl as users run it: whole processes over a generated repository.

    python benchmarks/bench.py [--queues 1000] [--runs 5]

Generates N queues (copies of the example queues with unique names and inbound numbers, over
the example templates) in a temporary folder, then times, as separate processes:

* ``calltmpl lint`` of every queue (render + schema + rules),
* ``calltmpl render --out build`` of every queue,
* ``calltmpl lint`` of one queue file (the pre-commit case),

each ``--runs`` times after one warm-up run (which fills the compiled-template cache and
Python's own bytecode cache, as the first commit of the day would), and prints the best and
the median wall time. ``PYTHONDONTWRITEBYTECODE`` is dropped from the timed processes'
environment: with it, Python recompiles calltmpl's modules on every start, which no
installed copy does.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ruamel.yaml import YAML

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def generate(root: Path, count: int) -> list[Path]:
    """A repository with ``count`` queues cycling through the examples."""
    shutil.copytree(EXAMPLES / "templates", root / "templates")
    shutil.copy(EXAMPLES / "calltmpl.yaml", root / "calltmpl.yaml")
    yaml = YAML()
    sources = sorted((EXAMPLES / "queues").rglob("*.yaml"))
    written = []
    for index in range(count):
        source = sources[index % len(sources)]
        data = yaml.load(source.read_text(encoding="utf-8"))
        data["name"] = f"{data['name']} {index:04d}"
        if "phoneNumbers" in data:
            area, line = 201 + index // 50, 100 + 2 * (index % 50)
            data["phoneNumbers"] = {
                f"+1{area}555{line + k:04d}": label
                for k, label in enumerate(list(data["phoneNumbers"].values())[:2])
            }
        target = root / "queues" / f"q{index // 100:02d}" / f"{source.stem}-{index:04d}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", encoding="utf-8") as handle:
            yaml.dump(data, handle)
        written.append(target)
    return written


def timed(command: list[str], cwd: Path, runs: int) -> tuple[float, float, int]:
    """(best, median) wall seconds over ``runs`` runs after a warm-up, and the exit code."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    warm = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, capture_output=True, check=False, env=env)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), warm.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--queues", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    calltmpl = [sys.executable, "-m", "calltmpl"]
    with tempfile.TemporaryDirectory(prefix="calltmpl-bench-") as folder:
        root = Path(folder)
        queues = generate(root, args.queues)
        cases = [
            (f"lint {args.queues} queues", [*calltmpl, "lint"], 0),
            (f"render {args.queues} queues", [*calltmpl, "render", "--out", "build"], 0),
            ("lint 1 queue file", [*calltmpl, "lint", str(queues[0].relative_to(root))], 0),
        ]
        print(f"{'case':<24} {'best':>8} {'median':>8}")
        failed = False
        for label, command, expected in cases:
            best, median, code = timed(command, root, args.runs)
            failed |= code != expected
            note = "" if code == expected else f"  (exit {code}, expected {expected})"
            print(f"{label:<24} {best:>7.3f}s {median:>7.3f}s{note}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
