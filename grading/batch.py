"""Grade a whole class: every submission in a folder, each a directory or a ``.zip``.

Writes ``grades.csv`` (one row per student: total, points per exercise, cheating signals, and the
reason when a submission could not be graded), each student's feedback in the learner's format and
``index.html``, the class dashboard (:mod:`grading.dashboard`). Re-running skips the submissions
already graded unless their content changed, so an interrupted batch resumes where it stopped.
A :class:`grading.shards.Shard` grades a slice of the class; :func:`grading.shards.merge` joins them.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import shutil
import stat
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from course.i18n import ENGLISH, message
from course.info import ROOT, Exercise, load_course
from grading import dashboard
from grading import report as rp
from grading.engine import Options, grade
from grading.model import ExerciseResult, Flag, Outcome, Report, Status
from grading.runner import Limits

if TYPE_CHECKING:
    from grading.shards import Shard

MAX_UNZIPPED = 200 << 20
STATE = ".batch-state.jsonl"  # a line per submission graded, appended as each is in (the last line wins)
FEEDBACK = "feedback"  # the folder of the students' feedback, under the results
DASHBOARD = "index.html"


class SubmissionError(Exception):
    """A submission that cannot be graded, with the reason in words."""


@dataclass
class Row:
    """One student's line of ``grades.csv``."""

    student: str
    total: float = 0.0
    points: dict[str, float] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    reason: str = ""
    code: dict[str, str] = field(default_factory=dict)  # exercise id -> normalised code hash
    failed: dict[str, list[str]] = field(default_factory=dict)  # exercise id -> properties failed
    not_started: list[str] = field(default_factory=list)  # exercises whose stubs are untouched
    diagnoses: list[list[str]] = field(default_factory=list)  # [exercise id, function, mistake id, says]


def locate(folder: Path, course: list[Exercise]) -> Path:
    """The folder under ``folder`` that holds the most exercise files (submissions nest them)."""
    names = {e.file_name for e in course}
    best, best_count = None, 0
    for d in [folder, *sorted(p for p in folder.rglob("*") if p.is_dir() and not p.is_symlink())]:
        if len(d.relative_to(folder).parts) > 4:
            continue
        count = sum((d / n).is_file() for n in names)
        if count > best_count:
            best, best_count = d, count
    if best is None:
        raise SubmissionError(message("no exercise files found (expected files such as "
                                      "ex01_autoregressive.py)"))
    return best


def unzip(archive: Path, dest: Path) -> Path:
    """Extract ``archive`` into ``dest``, refusing anything that would write outside it."""
    if not zipfile.is_zipfile(archive):
        raise SubmissionError(message("not a valid zip file"))
    with zipfile.ZipFile(archive) as z:
        members = [m for m in z.infolist() if not m.is_dir()]
        if not members:
            raise SubmissionError(message("the zip is empty"))
        if sum(m.file_size for m in members) > MAX_UNZIPPED:
            raise SubmissionError(message("the zip unpacks to more than 200 MB"))
        for m in members:
            path = PurePosixPath(m.filename.replace("\\", "/"))
            if path.is_absolute() or ".." in path.parts or stat.S_ISLNK(m.external_attr >> 16):
                raise SubmissionError(message("the zip would write outside its folder ({name})",
                                              name=m.filename))
        for m in members:
            target = dest / PurePosixPath(m.filename.replace("\\", "/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            with z.open(m) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out)
    return dest


def normalised_hash(path: Path) -> str:
    """Hash of the code's syntax tree without docstrings or comments: equal for copied code."""
    text = path.read_bytes()
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return hashlib.sha256(text).hexdigest()[:16]
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()[:16]


def _content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        digest.update(str(f.relative_to(path) if path.is_dir() else f.name).encode() + f.read_bytes())
    return digest.hexdigest()[:16]


def _student(entry: Path) -> str:
    return entry.name.removesuffix(".zip")


Graded = tuple[Row, dict[str, str]]  # a row, and its feedback files' texts by suffix (".txt", ".json")
GradeOne = Callable[[Path], Graded]
# Grades the entries and yields each with what it gave as soon as it is graded, in any order;
# None when it could not be graded this time (a rerun of the batch tries it again).
Runner = Callable[[GradeOne, list[Path]], Iterator[tuple[Path, Graded | None]]]


def in_process(grade_one: GradeOne, entries: list[Path]) -> Iterator[tuple[Path, Graded]]:
    """The default :data:`Runner`: one submission after another, in this process."""
    for entry in entries:
        yield entry, grade_one(entry)


def not_graded(student: str, reason: str, lang: str) -> Graded:
    """The row and feedback of a submission that could not be graded, for ``reason``."""
    return Row(student=student, reason=reason), {
        ".txt": message("Not graded: {reason}", lang, reason=reason) + "\n"}


def grade_one(entry: Path, course: list[Exercise], jobs: int, limits: Limits, lang: str,
              exercises: list[Exercise] | None, cache: dict[str, ExerciseResult] | None) -> Graded:
    """Grade one submission (a folder or a ``.zip``): its row of ``grades.csv`` and its feedback.

    Never raises for a bad submission: its row says why it was not graded. ``cache``: verdicts by
    content, shared by the submissions graded in one process."""
    student = _student(entry)
    with tempfile.TemporaryDirectory(prefix="batch-") as tmp:
        try:
            folder = unzip(entry, Path(tmp)) if entry.is_file() else entry
            folder = locate(folder, course)
        except (SubmissionError, OSError, zipfile.BadZipFile) as e:
            return not_graded(student, e.args[0] if isinstance(e, SubmissionError) else str(e), lang)
        row = Row(student=student, code=own_code(folder, course))
        try:
            report = grade(Options(target=folder, exercises=exercises, jobs=jobs, limits=limits,
                                   cache=cache))
        except Exception as e:
            return not_graded(student, message("the grader failed on this submission: {error}: {detail}",
                                               error=type(e).__name__, detail=str(e)), lang)
        if entry.is_file():  # the zip's own path, not the temporary folder's: the same on every run
            report.target = str(entry / folder.relative_to(tmp))
    _fill(row, report)
    return row, {".txt": rp.render_text(report, lang=lang) + "\n", ".json": rp.to_json(report, lang)}


def _fill(row: Row, report: Report) -> None:
    row.total = report.points
    row.points = {e.id: e.points for e in report.exercises}
    for e in report.exercises:
        if e.status == Status.NOT_STARTED:
            row.not_started.append(e.id)
        elif failed := [t.prop or t.name for t in e.tests if t.outcome != Outcome.PASSED]:
            row.failed[e.id] = failed
        row.diagnoses += [[e.id, d.function, d.mistake, d.says] for d in e.diagnoses]
        if Flag.REACHES_GRADER in e.flags:
            row.flags.append(f"{e.id}: uses the reference or the tests")
        elif Flag.TAMPERED in e.flags:
            row.flags.append(f"{e.id}: changed code the grader relies on")


def own_code(folder: Path, course: list[Exercise]) -> dict[str, str]:
    """The normalised hash of each of the student's modules that is their own: neither the released
    stub nor the reference (a copy of either is shared by design, not identical code)."""
    given = {(e.id, normalised_hash(f)) for e in course for f in
             (ROOT / "exercises" / e.file_name, ROOT / "solutions" / e.file_name) if f.is_file()}
    hashes = {e.id: normalised_hash(folder / e.file_name) for e in course if (folder / e.file_name).is_file()}
    return {ex: h for ex, h in hashes.items() if (ex, h) not in given}


def batch(submissions: Path, out: Path, jobs: int = 2, limits: Limits | None = None,
          progress: Callable[[int, int, str], None] | None = None,
          exercises: list[Exercise] | None = None, lang: str = ENGLISH,
          shard: Shard | None = None, runner: Runner = in_process) -> list[Row]:
    """Grade every submission in ``submissions``; write ``grades.csv``, feedback and the dashboard
    into ``out``.

    ``exercises``: only these (default: the whole course); ``lang``: the language of the feedback;
    ``shard``: only that slice of the class, and its rows for :func:`grading.shards.merge`;
    ``runner``: where the submissions are graded (:func:`grading.cluster.on_dask`: on a Dask cluster).
    Each result is recorded as soon as it is in, so a batch stopped half way resumes there.
    """
    course = exercises or load_course()
    everyone = sorted(p for p in submissions.absolute().iterdir() if p.is_dir() or p.suffix.lower() == ".zip")
    entries = shard.take(everyone) if shard else everyone
    (out / FEEDBACK).mkdir(parents=True, exist_ok=True)
    state_file = out / STATE
    digests, rows = _recorded(state_file, entries)
    todo = [e for e in entries if _student(e) not in rows]
    one = partial(grade_one, course=course, jobs=jobs, limits=limits or Limits(), lang=lang,
                  exercises=exercises, cache={})  # a module two students hand in alike is graded once
    for done, (entry, graded) in enumerate(runner(one, todo), start=len(entries) - len(todo) + 1):
        key = _student(entry)
        row, files = graded or not_graded(key, message("grading did not finish (a worker died): "
                                                       "run the batch again"), lang)
        for suffix, text in files.items():
            (out / FEEDBACK / f"{key}{suffix}").write_text(text)
        rows[key] = row
        if graded:  # one line, so that recording stays as quick for the 5,000th result as the first
            with state_file.open("a") as f:
                f.write(json.dumps({"student": key, "hash": digests[key], "row": row.__dict__}) + "\n")
        if progress:
            progress(done, len(entries), key)
    ordered = [rows[_student(e)] for e in entries]
    if shard:
        shard.save(out, [r.__dict__ for r in ordered], len(everyone))
    finish(out, ordered, course, lang)
    return ordered


def _recorded(state_file: Path, entries: list[Path]) -> tuple[dict[str, str], dict[str, Row]]:
    """Each entry's content hash, and the rows a batch run before recorded that still hold: same
    content, and a row of today's fields (a line cut short by a stopped run is skipped)."""
    state = {}
    for line in state_file.read_text().splitlines() if state_file.is_file() else []:
        with suppress(ValueError, KeyError, TypeError):
            saved = json.loads(line)
            state[saved["student"]] = saved
    digests = {_student(e): _content_hash(e) for e in entries}
    fields = Row.__dataclass_fields__.keys()
    rows = {key: Row(**saved["row"]) for key, saved in state.items()
            if saved.get("hash") == digests.get(key) and saved["row"].keys() == fields}
    return digests, rows


def finish(out: Path, rows: list[Row], course: list[Exercise], lang: str) -> None:
    """Write what a whole class's ``rows`` give: ``grades.csv`` and the dashboard (identical code
    flagged across every row)."""
    _flag_identical(rows)
    _write_csv(out / "grades.csv", rows, course)
    rp.write_atomically(out / DASHBOARD, dashboard.render(rows, course, lang, FEEDBACK))


def _flag_identical(rows: list[Row]) -> None:
    owners: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in rows:
        for ex, h in r.code.items():
            owners[(ex, h)].append(r.student)
    for r in rows:
        shared = defaultdict(list)
        for ex, h in r.code.items():
            for other in owners[(ex, h)]:
                if other != r.student:
                    shared[other].append(ex)
        r.flags = [f for f in r.flags if not f.startswith("identical")]
        r.flags += [f"identical code to {o} in {', '.join(exs)}" for o, exs in sorted(shared.items())]


def _write_csv(path: Path, rows: list[Row], course: list[Exercise]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "total", *(e.id for e in course), "flags", "not graded because"])
        for r in rows:
            w.writerow([r.student, f"{r.total:g}", *(f"{r.points.get(e.id, 0):g}" for e in course),
                        "; ".join(r.flags), r.reason])
