"""A longer fuzz run than CI's: generated hostile repositories, every outcome counted.

    python benchmarks/fuzz.py [--examples 500] [--kinds queues,templates,payloads,config]
                              [--seed N] [--keep DIR]

Runs the strategies of tests/fuzz_strategies.py (queue files, templates, payload files,
``calltmpl.yaml``), ``--examples`` repositories of each kind, every command of each as a
separate guarded process (tests/guarded.py), with the checks of tests/test_fuzz.py. Unlike the
test, a broken promise does not stop the run: it is counted, and with ``--keep`` the
repository that broke it is saved (``DIR/<kind>-<n>/``, with ``command.txt`` and
``problems.txt``) to be replayed by hand. Prints the figures: inputs (repositories), runs
(processes), how many exited 0, 1, 2 and otherwise, tracebacks, internal errors (exit 70, a
bug calltmpl caught and reported in one line), hangs, signals, memory errors,
other broken promises, the longest run and the largest peak memory of any run. Exits 1 when
any promise was broken.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fuzz_strategies import STRATEGIES, Repo  # noqa: E402
from tests.test_fuzz import run_repo  # noqa: E402


class Tally:
    """The figures of a run, and the broken repositories kept for replay."""

    def __init__(self, keep: Path | None) -> None:
        self.counts: Counter[str] = Counter()
        self.exits: Counter[str] = Counter()
        self.slowest = 0.0
        self.max_rss_mb = 0.0
        self.keep = keep

    def record(self, repo: Repo, cache: Path) -> None:
        self.counts["inputs"] += 1
        self.counts[f"inputs:{repo.kind}"] += 1
        for command, outcome, problems in run_repo(repo, cache):
            self.counts["runs"] += 1
            code = "hang" if outcome.hung else str(outcome.returncode)
            self.exits[code] += 1
            self.exits[f"{repo.kind}:{code}"] += 1
            self.slowest = max(self.slowest, outcome.seconds)
            self.max_rss_mb = max(self.max_rss_mb, outcome.max_rss_mb)
            self.counts["tracebacks"] += outcome.traceback
            self.counts["internal errors"] += outcome.internal_error
            self.counts["hangs"] += outcome.hung
            self.counts["signals"] += outcome.signalled
            self.counts["memory errors"] += outcome.memory_error
            if problems:
                self.counts["broken runs"] += 1
                self._save(repo, command, problems, outcome.describe())

    def _save(self, repo: Repo, command: tuple[str, ...], problems: list[str], seen: str) -> None:
        print(f"BROKEN [{repo.kind}] {'; '.join(problems)[:300]}", flush=True)
        if self.keep is None:
            return
        folder = self.keep / f"{repo.kind}-{self.counts['broken runs']:04d}"
        shutil.rmtree(folder, ignore_errors=True)
        repo.write(folder)
        (folder / "command.txt").write_text("calltmpl " + " ".join(command) + "\n")
        (folder / "problems.txt").write_text("\n".join(problems) + "\n\n" + seen + "\n")

    def report(self, seconds: float) -> str:
        kinds = ", ".join(
            f"{k.split(':', 1)[1]} {v}" for k, v in sorted(self.counts.items()) if ":" in k
        )
        exits = ", ".join(f"{k}: {v}" for k, v in sorted(self.exits.items()) if ":" not in k)
        by_kind = "; ".join(
            kind
            + " "
            + ", ".join(
                f"{k.split(':')[1]}: {v}"
                for k, v in sorted(self.exits.items())
                if k.startswith(kind + ":")
            )
            for kind in sorted({k.split(":")[0] for k in self.exits if ":" in k})
        )
        lines = [
            f"inputs: {self.counts['inputs']} ({kinds})",
            f"runs: {self.counts['runs']} (exit {exits})",
            f"exits by kind: {by_kind}",
            f"tracebacks: {self.counts['tracebacks']}",
            f"internal errors (exit 70): {self.counts['internal errors']}",
            f"hangs: {self.counts['hangs']}",
            f"signals: {self.counts['signals']}",
            f"memory errors: {self.counts['memory errors']}",
            f"broken runs (any promise): {self.counts['broken runs']}",
            f"slowest run: {self.slowest:.2f} s",
            f"max RSS: {self.max_rss_mb:.0f} MB",
            f"wall time: {seconds:.0f} s",
        ]
        return "\n".join(lines)


def explore(kind: str, examples: int, fixed_seed: int | None, tally: Tally, cache: Path) -> None:
    """Run ``examples`` generated repositories of one kind, recording every outcome."""

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(repo=STRATEGIES[kind]())
    def one(repo: Repo) -> None:
        tally.record(repo, cache)

    if fixed_seed is not None:
        one = seed(fixed_seed)(one)
    one()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=500, help="repositories of each kind")
    parser.add_argument("--kinds", default=",".join(STRATEGIES), help="comma-separated kinds")
    parser.add_argument("--seed", type=int, default=None, help="a fixed seed, to repeat a run")
    parser.add_argument("--keep", type=Path, default=None, help="save broken repositories here")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    options = parser.parse_args()
    kinds = [k for k in options.kinds.split(",") if k]
    unknown = sorted(set(kinds) - set(STRATEGIES))
    if unknown:
        parser.error(f"unknown kinds {unknown}; choose from {sorted(STRATEGIES)}")
    tally = Tally(options.keep)
    started = time.monotonic()
    cache = Path(tempfile.mkdtemp(prefix="calltmpl-fuzz-cache-"))
    try:
        for kind in kinds:
            explore(kind, options.examples, options.seed, tally, cache)
            print(f"... {kind} done: {tally.counts['runs']} runs so far", flush=True)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print(tally.report(time.monotonic() - started))
    if options.json:
        figures = {**tally.counts, "exits": dict(tally.exits), "max_rss_mb": tally.max_rss_mb}
        print(json.dumps(figures, sort_keys=True))
    return 1 if tally.counts["broken runs"] else 0


if __name__ == "__main__":
    sys.exit(main())
