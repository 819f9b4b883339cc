"""How long grading takes: correct, untouched, hanging and crashing submissions, and a class batch.

    python benchmarks/grading.py                 # each kind of submission, 3 runs of the quick ones
    python benchmarks/grading.py --batch 100     # also `batch` over 100 mixed submissions
    python benchmarks/grading.py --alone         # only each exercise graded alone, and again in watch

The kinds: the reference (every point), the untouched stubs, one early function that never
returns (softmax), every function of the course never returning, and every function ending the
process (``os._exit``). ``--alone`` times ``python grader.py exNN`` on the reference, a fresh process
per run as a learner's, in interleaved rounds (the goal: 2 s or less each), and the same grading
again in a warm process, which is what ``grader.py watch`` does after each save, with the time its tests
take one after the other: divided by the cores, the least a grading can take however little else it
does. The batch mixes correct
submissions, catalogued mistakes, hanging and crashing ones, each a different function, so no two
submissions are the same.

Prints the figures and writes benchmarks/results/grading.json (grading-alone.json with ``--alone``).
Not a test: this machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalogue.entries import mistakes
from course.info import ROOT, Exercise, load_course
from grading.batch import batch
from grading.engine import Options, grade

HANG = "    while True:\n        pass\n"
CRASH = "    np.lib._datasource.os._exit(0)\n"  # reaches os without importing it, as a hostile learner would


def replaced(dest: Path, functions: dict[str, list[str]], body: str) -> Path:
    """A copy of the reference in ``dest`` whose ``functions`` (module -> names) all run ``body``."""
    shutil.copytree(ROOT / "solutions", dest)
    for module, names in functions.items():
        with (dest / f"{module}.py").open("a") as f:
            for name in names:
                f.write(f"\n\ndef {name}(*args, **kwargs):\n{body}")
    return dest


def every_function() -> dict[str, list[str]]:
    return {e.module: list(e.functions) for e in load_course()}


KINDS: dict[str, Callable[[Path], Path]] = {
    "correct": lambda d: Path(shutil.copytree(ROOT / "solutions", d)),
    "untouched stubs": lambda d: Path(shutil.copytree(ROOT / "exercises", d)),
    "softmax never returns": lambda d: replaced(d, {"ex02_softmax": ["softmax"]}, HANG),
    "nothing returns": lambda d: replaced(d, every_function(), HANG),
    "everything crashes": lambda d: replaced(d, every_function(), CRASH),
}
REPEATED = ("correct", "untouched stubs")  # quick enough to take the median of several runs


def mixed(folder: Path, count: int) -> None:
    """``count`` submissions, in turn correct, a catalogued mistake, hanging and crashing, each in
    another function; the changed module carries the student's number, so no two are alike."""
    functions = [(e.module, f) for e in load_course() for f in e.functions]
    wrong = mistakes()
    for i in range(count):
        dest = folder / f"student{i:03d}"
        module, function = functions[i % len(functions)]
        kind = i % 4
        if kind == 1:
            entry = wrong[(i * 7) % len(wrong)]
            entry.materialise(dest)
            module = entry.module
        else:
            replaced(dest, {module: [function]} if kind else {}, HANG if kind == 2 else CRASH)
        with (dest / f"{module}.py").open("a") as f:
            f.write(f"\n# student {i}\n")


def timed(target: Path, jobs: int) -> tuple[float, float]:
    start = time.perf_counter()
    report = grade(Options(target=target, jobs=jobs))
    return time.perf_counter() - start, report.points


ALONE_GOAL_S = 2.0  # issue 16: a learner's `python grader.py exNN` on a correct submission


def _spread(secs: list[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(secs), 2), "min_s": round(min(secs), 2),
            "max_s": round(max(secs), 2)}


def alone(repeats: int, jobs: int) -> dict[str, dict[str, dict[str, float]]]:
    """Seconds per exercise on the reference, median, min and max of ``repeats`` rounds, each round
    grading every exercise once: ``python grader.py exNN`` in a fresh process ("alone"), the same
    exercise graded again in a warm process, as ``grader.py watch`` does after a save ("watch"), and
    the sum of its tests' durations in that grading ("tests")."""
    course = load_course()
    alone_s: dict[str, list[float]] = {e.id: [] for e in course}
    watch_s: dict[str, list[float]] = {e.id: [] for e in course}
    tests_s: dict[str, list[float]] = {e.id: [] for e in course}

    def regrade(e: Exercise) -> float:
        """What `grader.py watch` does after a save; the seconds its tests took, one after the other."""
        report = grade(Options(target=ROOT / "solutions", exercises=[e], integrated=False, jobs=jobs))
        return sum(t.duration for t in report.exercises[0].tests)

    for e in course:  # watch's first grading imports the tests: a save never waits for that
        regrade(e)
    for _ in range(repeats):
        for e in course:
            start = time.perf_counter()
            subprocess.run([sys.executable, str(ROOT / "grader.py"), e.id, "--target", "solutions", "-q"],
                           cwd=ROOT, capture_output=True, check=False)
            alone_s[e.id].append(time.perf_counter() - start)
            start = time.perf_counter()
            tests_s[e.id].append(regrade(e))
            watch_s[e.id].append(time.perf_counter() - start)
    figures = {"alone": {i: _spread(s) for i, s in alone_s.items()},
               "watch": {i: _spread(s) for i, s in watch_s.items()},
               "tests": {i: _spread(s) for i, s in tests_s.items()}}
    for i in alone_s:
        a, w, t = figures["alone"][i], figures["watch"][i], figures["tests"][i]
        print(f"{i} alone: {a['median_s']:4.2f} s  (min {a['min_s']:.2f}, max {a['max_s']:.2f});  "
              f"in watch: {w['median_s']:4.2f} s  (min {w['min_s']:.2f}, max {w['max_s']:.2f});  "
              f"its tests: {t['median_s']:4.2f} s, {t['median_s'] / jobs:4.2f} s on {jobs} cores")
    for kind, what in (("alone", "graded alone"), ("watch", "graded again after a save in watch")):
        within = sum(f["median_s"] <= ALONE_GOAL_S for f in figures[kind].values())
        print(f"{within}/{len(course)} exercises {what} in {ALONE_GOAL_S:g} s or less (median of {repeats})")
    return figures


def written(figures: dict[str, object], name: str) -> int:
    """Write ``figures`` to benchmarks/results/``name`` and say so."""
    out = ROOT / "benchmarks" / "results" / name
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch", type=int, default=0, help="also grade this many mixed submissions with `batch`")
    p.add_argument("--alone", action="store_true",
                   help="only each exercise graded alone (a fresh process), and again warm (as watch does)")
    args = p.parse_args()
    figures: dict[str, object] = {"cpus": os.cpu_count(), "jobs": args.jobs,
                                  "load_average": round(os.getloadavg()[0], 2)}
    if args.alone:
        return written(figures | alone(args.repeats, args.jobs), "grading-alone.json")
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, make) in enumerate(KINDS.items()):
            target = make(Path(tmp) / f"kind{i}")
            runs = [timed(target, args.jobs) for _ in range(args.repeats if name in REPEATED else 1)]
            secs = [r[0] for r in runs]
            figures[name] = {"median_s": round(statistics.median(secs), 2),
                             "runs_s": [round(s, 2) for s in secs], "points": runs[0][1]}
            print(f"{name:22}: {statistics.median(secs):5.1f} s  ({', '.join(f'{s:.1f}' for s in secs)}), "
                  f"{runs[0][1]:g} points, {args.jobs} jobs")
        if args.batch:
            subs = Path(tmp) / "submissions"
            mixed(subs, args.batch)
            start = time.perf_counter()
            rows = batch(subs, Path(tmp) / "results", jobs=args.jobs)
            secs = time.perf_counter() - start
            figures["batch"] = {"submissions": args.batch, "seconds": round(secs, 1),
                                "per_submission_s": round(secs / args.batch, 2)}
            print(f"batch of {args.batch} mixed submissions: {secs:.0f} s ({secs / args.batch:.1f} s each), "
                  f"totals from {min(r.total for r in rows):g} to {max(r.total for r in rows):g}")
    return written(figures, "grading.json")


if __name__ == "__main__":
    sys.exit(main())
