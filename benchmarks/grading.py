"""How long grading takes: the reference, the untouched stubs, and a batch of copies.

    python benchmarks/grading.py                 # solutions/ and exercises/, 3 runs each
    python benchmarks/grading.py --batch 100     # also 100 copies of solutions/ with `batch`

Prints the figures and writes benchmarks/results/grading.json. Not a test: this machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from course.info import ROOT
from grading.batch import batch
from grading.engine import Options, grade


def timed(target: Path, jobs: int) -> tuple[float, float]:
    start = time.perf_counter()
    report = grade(Options(target=target, jobs=jobs))
    return time.perf_counter() - start, report.points


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch", type=int, default=0, help="also grade this many copies with `batch`")
    args = p.parse_args()
    figures: dict[str, object] = {"cpus": os.cpu_count(), "jobs": args.jobs,
                                  "load_average": os.getloadavg()[0]}
    for name in ("solutions", "exercises"):
        runs = [timed(ROOT / name, args.jobs) for _ in range(args.repeats)]
        secs = [r[0] for r in runs]
        figures[name] = {"median_s": round(statistics.median(secs), 2), "runs_s": [round(s, 2) for s in secs],
                         "points": runs[0][1]}
        print(f"grading {name:10}: median {statistics.median(secs):5.1f} s over {args.repeats} runs "
              f"({', '.join(f'{s:.1f}' for s in secs)}), {runs[0][1]:g} points, {args.jobs} jobs")
    if args.batch:
        with tempfile.TemporaryDirectory() as tmp:
            subs = Path(tmp) / "submissions"
            for i in range(args.batch):
                shutil.copytree(ROOT / "solutions", subs / f"student{i:03d}")
            start = time.perf_counter()
            rows = batch(subs, Path(tmp) / "results", jobs=args.jobs)
            secs = time.perf_counter() - start
        figures["batch"] = {"copies": args.batch, "seconds": round(secs, 1),
                            "per_submission_s": round(secs / args.batch, 2)}
        totals = sorted({r.total for r in rows})
        print(f"batch of {args.batch} copies: {secs:.0f} s ({secs / args.batch:.1f} s each), "
              f"totals seen: {totals}")
    out = ROOT / "benchmarks" / "results" / "grading.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
