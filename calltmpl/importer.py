"""``calltmpl import``: adopt a Mindful account's call targets into the repository.

Each remote call target that ``calltmpl.lock`` does not hold becomes a queue file under the
root of the first ``queues`` glob, against the templates :mod:`calltmpl.factor` makes (under
the first template folder, in ``imported/``), and is recorded in the lock as pushed, so a plan
right after says ``unchanged``. Nothing is written until every queue file has been proved: the
files are written to a temporary copy of the repository first, each queue file is rendered
there as ``calltmpl render`` would, and must give back exactly what the API holds (types
included). Then they are written into the repository, none over a file that exists, and
nothing is ever sent to the API. The repository's push lock is held throughout.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from calltmpl import redact, yamlsafe
from calltmpl.diagnostics import Diagnostic
from calltmpl.errors import ApiError, CalltmplError, UsageError
from calltmpl.factor import Factoring, factor
from calltmpl.factor_fit import Fit, Target, Workbench, differences
from calltmpl.factor_text import BASE, FOLDER, file_stem, layout, queue_text, template_text
from calltmpl.lockfile import Entry, Lock, body_hash
from calltmpl.paths import escapes, glob_root, shown_path
from calltmpl.project import LintReport
from calltmpl.queues import matches_queue_glob, queue_id
from calltmpl.repository import Repository

if TYPE_CHECKING:
    from calltmpl.api import Client

LIST = "/v2/callback/callTargets"


@dataclass(frozen=True)
class File:
    """A file import writes: where (in the repository) and what."""

    path: Path
    text: str
    kind: str  # "queue" or "template"

    @property
    def shown(self) -> str:
        return shown_path(self.path)


@dataclass(frozen=True)
class Outcome:
    """What an import did (or, with ``dry_run``, would do)."""

    imported: tuple[Fit, ...]
    files: tuple[File, ...]
    notes: tuple[str, ...]
    lint: LintReport | None
    held: int  # remote call targets calltmpl.lock already holds
    dry_run: bool
    seconds: float

    @property
    def templates(self) -> tuple[File, ...]:
        return tuple(f for f in self.files if f.kind == "template")


def adopt(
    repo: Repository,
    names: Sequence[str] = (),
    *,
    dry_run: bool = False,
    log: Callable[[str], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Outcome:
    """Import the remote call targets the lock does not hold (only those named, if any)."""
    started = time.monotonic()
    if repo.settings.config_file is None:
        raise UsageError(
            "no calltmpl.yaml in this folder or above it: import writes into a repository, so "
            "create one where it should be (`echo '{}' > calltmpl.yaml`), or give --config"
        )
    with repo.locked(shared=dry_run, environ=environ):
        lock = repo.lock()
        with repo.client(log, environ) as client:
            remote = read_remote(client)
        chosen, held, notes = _select(repo, lock, remote, names)
        if not chosen:
            return Outcome((), (), tuple(notes), None, held, dry_run, time.monotonic() - started)
        with tempfile.TemporaryDirectory(prefix="calltmpl-import-") as folder:
            workshop = Path(folder).resolve()
            paths, path_notes = queue_paths(repo, lock, chosen)
            factoring = _factor(repo, workshop, chosen, paths)
            files = _files(repo, factoring, paths)
            _no_secrets(files, factoring)
            shadow = prove(repo, workshop, factoring, files, paths)
            notes += path_notes
            report = _lint(repo, shadow, [paths[f.target.id] for f in factoring.fits])
            if not dry_run:
                write(files)
                record(lock, factoring, paths, repo.root)
    seconds = time.monotonic() - started
    return Outcome(factoring.fits, tuple(files), tuple(notes), report, held, dry_run, seconds)


# --- reading the remote ---------------------------------------------------------------------


def read_remote(client: Client) -> list[Target]:
    """Every remote call target, each checked: an answer of another shape is an
    :class:`ApiError` naming what was found (and nothing is written)."""
    from calltmpl import answers

    try:
        listed = client.list_targets()
        found = []
        for index, item in enumerate(listed):
            if "configuration" not in item:  # a summary: read the call target whole
                item = client.get_target(int(item["id"])) or item
            found.append(_target(item, index, answers.shape))
    except ApiError as exc:
        raise ApiError(f"reading the remote call targets: {exc}", exc.status) from None
    return found


def _target(item: dict[str, Any], index: int, shape: Callable[[Any], str]) -> Target:
    where = f"GET {LIST} answered call target {item['id']} (item {index + 1})"
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        got = "an empty name" if isinstance(name, str) else f"a name that is {shape(name)}"
        raise ApiError(f"{where} with {got}" if "name" in item else f"{where} without a name")
    configuration = item.get("configuration")
    if not isinstance(configuration, dict):
        raise ApiError(f"{where} with a configuration that is {shape(configuration)}")
    numbers = item.get("phoneNumbers")
    if "phoneNumbers" in item and not isinstance(numbers, dict):
        raise ApiError(f"{where} with phoneNumbers that is {shape(numbers)}")
    problem = yamlsafe.json_problem({"configuration": configuration, "phoneNumbers": numbers})
    if problem is not None:
        raise ApiError(f"{where} with a value JSON cannot hold at {problem.pointer}")
    return Target(int(item["id"]), name, configuration, numbers)


def _select(
    repo: Repository, lock: Lock, remote: Sequence[Target], names: Sequence[str]
) -> tuple[list[Target], int, list[str]]:
    """The call targets to import: not held by the lock, named (when names are given), and
    not already the name of a queue of the repository."""
    known = {t.name for t in remote}
    missing = [n for n in dict.fromkeys(names) if n not in known]
    if missing:
        listed = ", ".join(repr(n) for n in missing)
        raise UsageError(f"no remote call target is named {listed}; nothing was written")
    wanted = [t for t in remote if not names or t.name in names]
    held = [t for t in wanted if lock.holder(t.id) is not None]
    notes = [
        f"{t.name!r} (id {t.id}) is already {lock.holder(t.id)} in calltmpl.lock"
        for t in held
        if names
    ]
    new = [t for t in wanted if lock.holder(t.id) is None]
    queues = _queue_names(repo) if new else {}
    chosen = []
    for target in new:
        if target.name in queues:
            notes.append(
                f"{target.name!r} (id {target.id}) not imported: {queues[target.name]} already "
                "has that name (calltmpl.lock has no entry for it); `calltmpl plan` shows "
                "how they differ"
            )
            continue
        chosen.append(target)
    counts = defaultdict(list)
    for target in chosen:
        counts[target.name].append(str(target.id))
    notes += [
        f"{len(ids)} remote call targets are named {name!r} (ids {', '.join(ids)}): each is "
        "imported, and plan shows them as conflicts until one is renamed in Mindful"
        for name, ids in counts.items()
        if len(ids) > 1
    ]
    return chosen, len(held), notes


def _queue_names(repo: Repository) -> dict[str, str]:
    """The name of every queue of the repository that renders, with its file."""
    found: dict[str, str] = {}
    for desired in repo.project.desired(repo.select([], ignore_unmatched=True)):
        if not isinstance(desired, Diagnostic):
            found.setdefault(desired.name, desired.file)
    return found


# --- where the files go ---------------------------------------------------------------------


def queue_paths(
    repo: Repository, lock: Lock, targets: Sequence[Target]
) -> tuple[dict[int, Path], list[str]]:
    """Each call target's queue file: its name in lower case, words joined by ``-``, under
    the root of the first queues glob; names that make the same file name (or one that
    exists) get their id added, and a note says so."""
    if not repo.settings.queues:
        raise UsageError("calltmpl.yaml lists no queues glob; import writes below the first one")
    pattern = repo.settings.queues[0]
    folder = repo.root / glob_root(pattern)
    suffix = ".yml" if PurePosixPath(pattern).name.endswith(".yml") else ".yaml"
    _writable(folder, repo.root)
    existing = {p.name.lower() for p in folder.iterdir()} if folder.is_dir() else set()
    keys = {k.lower() for k in lock.entries}  # a queue file deleted but still in the lock
    existing |= {
        f"{k.rsplit('/', 1)[-1]}{suffix}"
        for k in keys
        if k.rpartition("/")[0] == queue_id(folder / "x", repo.root).lower().rpartition("/")[0]
    }
    stems = {t.id: file_stem(t.name, f"call-target-{t.id}") for t in targets}
    sharing: dict[str, list[Target]] = defaultdict(list)
    for target in targets:
        sharing[stems[target.id]].append(target)
    paths: dict[int, Path] = {}
    notes: list[str] = []
    for stem, group in sharing.items():
        clash = len(group) > 1 or f"{stem}{suffix}" in existing
        for target in group:
            name = f"{stem}-{target.id}" if clash else stem
            number = 2
            while f"{name}{suffix}" in existing:
                name, number = f"{stem}-{target.id}-{number}", number + 1
            existing.add(f"{name}{suffix}")
            paths[target.id] = folder / f"{name}{suffix}"
        if clash:
            shown = ", ".join(f"{t.name!r} as {paths[t.id].name}" for t in group)
            why = "make" if len(group) > 1 else "makes"
            notes.append(f"{shown}: {why} the file name {stem}{suffix}, told apart by id")
    for target in targets:
        if matches_queue_glob(paths[target.id], repo.root, (pattern,)) is None:
            raise UsageError(
                f"the first queues glob {pattern!r} cannot hold a queue file such as "
                f"{shown_path(paths[target.id])}; put a glob like 'queues/**/*.yaml' first"
            )
    return paths, notes


def _writable(folder: Path, root: Path) -> None:
    """Refuse a folder inside the repository that a link leads out of it."""
    if escapes(folder, root):
        raise UsageError(
            f"{shown_path(folder)} links outside the repository; not importing into it"
        )


def _template_folder(repo: Repository) -> Path:
    if not repo.settings.templates:
        raise UsageError("calltmpl.yaml lists no template folder; import writes to the first one")
    folder = repo.settings.templates[0]
    _writable(folder / FOLDER, repo.root)
    return folder


# --- making and proving ---------------------------------------------------------------------


def _factor(
    repo: Repository, workshop: Path, targets: Sequence[Target], paths: Mapping[int, Path]
) -> Factoring:
    bench = Workbench(repo.settings.templates, workshop)
    source, _, _ = bench.renderer.loader.get_source(bench.renderer.env, BASE)
    folder = _template_folder(repo) / FOLDER
    existing = (
        sorted(f"{FOLDER}/{p.name}" for p in folder.glob("*.yaml.j2") if p.is_file())
        if folder.is_dir()
        else []
    )
    taken = {f"{FOLDER}/{p.name}".lower() for p in folder.iterdir()} if folder.is_dir() else set()
    labels = {t.id: paths[t.id].stem for t in targets}
    return factor(bench, targets, layout(source), existing, labels, taken)


def _files(repo: Repository, factoring: Factoring, paths: Mapping[int, Path]) -> list[File]:
    folder = _template_folder(repo)
    found = [File(folder / t.name, template_text(t), "template") for t in factoring.templates]
    found += [
        File(paths[f.target.id], queue_text(f.template, f.variables), "queue")
        for f in factoring.fits
    ]
    return found


def _no_secrets(files: Sequence[File], factoring: Factoring) -> None:
    """Refuse to write a credential a remote value carries (the redactor knows them all)."""
    redactor = redact.current()
    for file in files:
        if redactor.redact(file.text) != file.text:
            holder = next(
                (
                    f.target
                    for f in factoring.fits
                    if redactor.redact(repr(f.target.body)) != repr(f.target.body)
                ),
                None,
            )
            which = f"call target {holder.name!r} (id {holder.id})" if holder else file.shown
            raise UsageError(f"{which} holds one of the credentials in use; nothing was written")


def prove(
    repo: Repository,
    workshop: Path,
    factoring: Factoring,
    files: Sequence[File],
    paths: Mapping[int, Path],
) -> Repository:
    """Write the files to a temporary copy of the repository, render every queue file there
    and compare it with what the API holds; the copy, when every one is identical."""
    root = workshop / "copy"
    templates = root / "_templates"
    folder = _template_folder(repo)
    for file in files:
        if file.kind == "template":
            place = templates / file.path.relative_to(folder)
        else:
            place = root / file.path.relative_to(repo.root)
        place.parent.mkdir(parents=True, exist_ok=True)
        place.write_text(file.text, encoding="utf-8")
    settings = dataclasses.replace(
        repo.settings, root=root, templates=(templates, *repo.settings.templates)
    )
    shadow = Repository(settings)
    for found in factoring.fits:
        target = found.target
        rendered = shadow.project.render(root / paths[target.id].relative_to(repo.root))
        if isinstance(rendered, Diagnostic):
            why = f"{rendered.code} {rendered.message}"
        else:
            wrong = next(differences(target.body, rendered.target), None)
            why = "" if wrong is None else "/" + "/".join(wrong)
        if why:
            raise CalltmplError(
                f"calltmpl import would not give back call target {target.name!r} (id "
                f"{target.id}) exactly ({why[:200]}); nothing was written"
            )
    return shadow


# --- writing --------------------------------------------------------------------------------


def write(files: Sequence[File]) -> None:
    """Create each file whole (a temporary file linked into place), never over one that
    exists: a file that appeared meanwhile stops the import."""
    for file in files:
        if os.path.lexists(file.path):
            raise UsageError(f"{file.shown} exists; calltmpl import never overwrites a file")
    for file in files:
        file.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = file.path.with_name(f".{file.path.name}.{os.urandom(4).hex()}.tmp")
        try:
            temporary.write_text(file.text, encoding="utf-8")
            os.link(temporary, file.path)
        except FileExistsError:
            raise UsageError(
                f"{file.shown} appeared while importing; it was left as it is"
            ) from None
        finally:
            with contextlib.suppress(OSError):
                temporary.unlink()


def record(lock: Lock, factoring: Factoring, paths: Mapping[int, Path], root: Path) -> None:
    """Each imported call target in calltmpl.lock, as pushed: its queue renders it exactly."""
    for found in factoring.fits:
        target = found.target
        digest = body_hash(target.body)
        lock.entries[queue_id(paths[target.id], root)] = Entry(
            target.id, target.name, digest, digest
        )
    lock.save()


def _lint(repo: Repository, shadow: Repository, queues: Sequence[Path]) -> LintReport:
    """The repository's lint of the new queue files, run in the proved copy (its templates
    are compiled already), with every file named where it is written."""
    report = shadow.lint([shadow.root / q.relative_to(repo.root) for q in queues], repo.options())
    templates = shadow.settings.templates[0]
    places = ((templates, _template_folder(repo)), (shadow.root, repo.root))

    def real(shown: str) -> str:
        path = Path(os.path.abspath(shown))
        for copy, original in places:
            if path.is_relative_to(copy):
                return shown_path(original / path.relative_to(copy))
        return shown

    diagnostics = tuple(
        dataclasses.replace(d, file=real(d.file), queue=real(d.queue) if d.queue else "")
        for d in report.diagnostics
    )
    suppressed = tuple(
        (dataclasses.replace(d, file=real(d.file)), why) for d, why in report.suppressed
    )
    return LintReport(diagnostics, suppressed, tuple(real(c) for c in report.checked))
