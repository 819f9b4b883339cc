"""A student release: the course without any reference code, its tests still whole.

The release holds the stubs, the tests, the grader, the course metadata with its hints, the README
and the mistakes' fingerprints. Tests that compare with the reference read outputs recorded at
release time (``tests/reference_data.pkl.gz``): the suite is run once against ``solutions/`` with
the derandomised ``grading`` profile, recording every reference call; in the release the same
examples are drawn, so every comparison still runs. No ``solutions/``, no catalogue, no author
tools, no bytecode.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from course.i18n import message
from course.info import ROOT

SHIPPED = ("exercises", "tests", "grading", "course", "docs", "grader.py", "train.py", "README.md",
           "README.ko.md", "locale", "pyproject.toml", ".gitignore", "classroom", "notebooks")
NEVER = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".hypothesis", "reference_data*",
                               "*.egg-info")


class ReleaseError(Exception):
    """The release could not be written."""


def record_reference(dest: Path, root: Path = ROOT) -> None:
    """Run the suite against the reference and store every reference output at ``dest``."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    env["COURSE_RECORD_REFERENCE"] = str(dest)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(root / "tests"), "-q", "-p", "no:cacheprovider", "-p",
         "hypothesis.extra.pytestplugin", "--target", "solutions", "--hypothesis-profile", "grading",
         "--override-ini=addopts="],
        cwd=root, env=env, capture_output=True, text=True,
    )
    if proc.returncode != 0 or not dest.is_file():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
        raise ReleaseError(message("the reference does not pass its own tests, so nothing was recorded:\n"
                                   "{tail}", tail=tail))


def release(out: Path, root: Path = ROOT, hidden: Path | None = None) -> Path:
    """Write a student release to ``out`` (which must not exist or be empty)."""
    if out.exists() and any(out.iterdir()):
        raise ReleaseError(message("{out} is not empty: choose a new folder for the release", out=str(out)))
    out.mkdir(parents=True, exist_ok=True)
    for name in SHIPPED:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, out / name, ignore=NEVER)
        elif src.is_file():
            shutil.copy2(src, out / name)
    if hidden is not None:
        raise ReleaseError(message("hidden tests are never released: pass them to the grader with --hidden"))
    record_reference(out / "tests" / "reference_data.pkl.gz", root)
    leaks = [p for p in out.rglob("*") if p.name in ("solutions", "catalogue", "dev.py", "selftest")
             or p.suffix == ".pyc"]
    if leaks:
        raise ReleaseError(message("the release would leak reference material: {paths}",
                                   paths=str(leaks[:3])))
    return out
