"""The course metadata, read from ``exercises/info.toml``: the one ordered list of exercises."""

from __future__ import annotations

import functools
import os
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The packages the tests load the code under test and the reference as (tests/support/target.py); the
# sandbox refuses learner code that names them.
TARGET_PACKAGE = "_target"
REFERENCE_PACKAGE = "_reference"
# One BLAS thread per process: the course's matrices are small, and the grader runs several
# processes at once. Set by :func:`one_blas_thread` before numpy is imported.
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
INFO_FILE = ROOT / "exercises" / "info.toml"
VALIDATION = "bad arguments"  # the requirement of argument checks: at most MAX_VALIDATION of the points
MAX_VALIDATION = 0.10


def one_blas_thread() -> None:
    """Ask numpy's BLAS for one thread, unless the environment already says otherwise (call it
    before numpy is imported)."""
    for var in BLAS_THREAD_VARS:
        os.environ.setdefault(var, "1")


@dataclass(frozen=True)
class Requirement:
    """One idea an exercise teaches: its points, and the test functions that check it."""

    name: str
    points: float
    tests: tuple[str, ...]


@dataclass(frozen=True)
class Exercise:
    """One exercise of the course, as ``info.toml`` describes it."""

    id: str
    module: str
    title: str
    points: float
    functions: tuple[str, ...]
    requires: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    requirements: tuple[Requirement, ...] = ()

    @property
    def file_name(self) -> str:
        return f"{self.module}.py"

    @property
    def test_file(self) -> str:
        return f"test_{self.module}.py"

    def max_points(self, tests: list[str]) -> list[float]:
        """The points each of ``tests`` (names with parameters) can earn.

        A requirement's points are split evenly over its test functions, and a function's over its
        parametrised cases. A test that no requirement lists (an instructor's hidden test) weighs as
        much as an average listed function; then everything is scaled to the exercise's points.
        """
        owner = {name: r for r in self.requirements for name in r.tests}
        functions = [t.split("[", 1)[0] for t in tests]
        cases = Counter(functions)
        average = self.points / max(1, sum(len(r.tests) for r in self.requirements))
        raw = [(owner[f].points / len(owner[f].tests) if f in owner else average) / cases[f]
               for f in functions]
        total = sum(raw) or 1.0
        return [self.points * w / total for w in raw]


def load_course(path: Path = INFO_FILE) -> list[Exercise]:
    """The exercises in curriculum order (the file is read again only when it changed)."""
    stat = path.stat()
    return list(_parsed(path, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _parsed(path: Path, mtime_ns: int, size: int) -> tuple[Exercise, ...]:
    with path.open("rb") as f:
        data = tomllib.load(f)
    course = [
        Exercise(
            id=e["id"],
            module=e["module"],
            title=e["title"],
            points=float(e["points"]),
            functions=tuple(e["functions"]),
            requires=tuple(e.get("requires", ())),
            hints=tuple(e.get("hints", ())),
            requirements=tuple(Requirement(name, float(r["points"]), tuple(r["tests"]))
                               for name, r in e.get("requirements", {}).items()),
        )
        for e in data["exercise"]
    ]
    ids = [e.id for e in course]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: exercise ids must be unique, got {ids}")
    return tuple(course)


def find_exercise(course: list[Exercise], key: str) -> Exercise:
    """The exercise named by ``key``: an id (``ex05``), a number (``05``, ``5``) or a module name."""
    k = key.strip().lower().removesuffix(".py")
    for e in course:
        number = e.id.removeprefix("ex")
        if k in (e.id, e.module, number) or (k.isdigit() and int(k) == int(number)):
            return e
    matches = [e for e in course if e.module.startswith(k) or e.id.startswith(k)]
    if len(matches) == 1:
        return matches[0]
    from course.i18n import message  # course.i18n reads ROOT from this module

    raise KeyError(message("no exercise matches {key}; choose one of {names}", key=repr(key),
                           names=", ".join(e.id for e in course)))
