"""Judge the catalogue: every mistake must fail its exercise's tests, every alternative pass.

    python -m catalogue              # all entries
    python -m catalogue ex05 ex07    # the entries of these exercises
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from catalogue.entries import Entry, alternatives, mistakes
from course.info import ROOT, find_exercise, load_course


def run(entry: Entry) -> tuple[Entry, bool, str]:
    """``(entry, judged right, last lines of pytest)``."""
    with tempfile.TemporaryDirectory() as tmp:
        target = entry.materialise(Path(tmp) / "target")
        env = dict(os.environ, HYPOTHESIS_PROFILE="grading", PYTHONDONTWRITEBYTECODE="1")
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "--no-header", "-p", "no:cacheprovider",
             f"tests/test_{entry.module}.py", "--target", str(target)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
        )
    passed = proc.returncode == 0
    right = passed if entry.kind == "alternative" else not passed
    return entry, right, "\n".join(proc.stdout.strip().splitlines()[-3:])


def main(argv: list[str]) -> int:
    course = load_course()
    wanted = {find_exercise(course, a).module for a in argv}
    entries = [e for e in mistakes() + alternatives() if not wanted or e.module in wanted]
    wrong = 0
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for entry, right, tail in pool.map(run, entries):
            verdict = "ok  " if right else "FAIL"
            what = "caught" if entry.kind == "mistake" else "accepted"
            if not right:
                wrong += 1
                what = "SURVIVED" if entry.kind == "mistake" else "REJECTED"
            print(f"{verdict} {entry.kind:11} {entry.name:60} {what}")
            if not right:
                print("     " + tail.replace("\n", "\n     "))
    n_m = sum(e.kind == "mistake" for e in entries)
    n_a = len(entries) - n_m
    print(f"{len(entries)} entries ({n_m} mistakes, {n_a} alternatives), {wrong} judged wrongly")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
