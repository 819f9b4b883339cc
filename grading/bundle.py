"""Course-tool bundles: Gradescope's autograder zip and a GitHub Classroom workflow."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import tomllib
import zipfile
from pathlib import Path

from course.info import ROOT, Exercise, load_course
from grading.release import release

_SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image: it puts the course into a virtual
# environment, $ROOT/venv, of a Python new enough for it. The base image's own python3 may be older
# (Ubuntu 20.04 has 3.8, 22.04 has 3.10), so the first of these routes that works provides one:
#   found       a python3.N (N >= MINOR) already installed, with venv and ensurepip
#   apt         the distribution's python3.N and python3.N-venv (Ubuntu 22.04: 3.11, 24.04: 3.12)
#   deadsnakes  on Ubuntu, the deadsnakes PPA's python3.MINOR
#   debian      on Debian before bookworm, bookworm's python3.MINOR from the image's own mirror
#               (this upgrades libc6 and python3 to bookworm's)
#   uv          uv from PyPI (with the old python3's pip), then `uv python install 3.MINOR`
# AUTOGRADER_PYTHON_ROUTES chooses and orders the routes; AUTOGRADER_ROOT moves /autograder (tests).
# If none works, the build stops with one line naming what was tried, and no venv is left.
set -uo pipefail
MINOR=@MINOR@  # from requires-python in pyproject.toml
ROOT="${AUTOGRADER_ROOT:-/autograder}"
VENV="$ROOT/venv"
UV_HOME="$ROOT/uv"
ROUTES="${AUTOGRADER_PYTHON_ROUTES:-found apt deadsnakes debian uv}"
NEWEST=14
export DEBIAN_FRONTEND=noninteractive
PYTHON=""

say() { printf 'setup.sh: %s\n' "$*" >&2; }
quietly() { "$@" > /dev/null; }
usable() { "$1" -c "import ensurepip, sys, venv; sys.exit(sys.version_info < (3, $MINOR))" 2> /dev/null; }

route_found() {  # sets PYTHON to the newest usable python3.N on PATH
  local n py
  for ((n = NEWEST; n >= MINOR; n--)); do
    py=$(command -v "python3.$n") && usable "$py" && PYTHON=$py && return 0
  done
  py=$(command -v python3) && usable "$py" && PYTHON=$py
}

apt_updated=""
apt_install() {
  command -v apt-get > /dev/null || return 1
  [ -n "$apt_updated" ] || { quietly apt-get update -qq && apt_updated=1; } || return 1
  quietly apt-get install -y -qq "$@"
}

candidate() { apt-cache policy "$1" 2> /dev/null | grep -q 'Candidate: [0-9]'; }

os_id() { (. /etc/os-release 2> /dev/null && echo "${ID:-}"); }

route_apt() {
  local n
  for ((n = NEWEST; n >= MINOR; n--)); do
    candidate "python3.$n-venv" && apt_install "python3.$n" "python3.$n-venv" && route_found && return 0
  done
  return 1
}

route_deadsnakes() {
  [ "$(os_id)" = ubuntu ] || return 1
  apt_install software-properties-common && quietly add-apt-repository -y ppa:deadsnakes/ppa \
    && quietly apt-get update -qq && apt_install "python3.$MINOR" "python3.$MINOR-venv" && route_found
}

route_debian() {
  [ "$(os_id)" = debian ] || return 1
  local mirror
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2> /dev/null \
    | awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }')
  [ -n "$mirror" ] || return 1
  echo "deb $mirror bookworm main" > /etc/apt/sources.list.d/autograder-bookworm.list
  printf 'Package: *\nPin: release n=bookworm\nPin-Priority: 100\n' \
    > /etc/apt/preferences.d/autograder-bookworm
  quietly apt-get update -qq && apt_install -t bookworm "python3.$MINOR" "python3.$MINOR-venv" && route_found
}

route_uv() {
  command -v python3 > /dev/null || apt_install python3 || return 1
  python3 -m pip --version > /dev/null 2>&1 || apt_install python3-pip || return 1
  quietly python3 -m pip install --quiet --target "$UV_HOME" uv || return 1
  export UV_PYTHON_INSTALL_DIR="$UV_HOME/python"
  quietly "$UV_HOME/bin/uv" python install "3.$MINOR" || return 1
  PYTHON=$("$UV_HOME/bin/uv" python find "3.$MINOR") && usable "$PYTHON"
}

tried=""
for route in $ROUTES; do
  tried="$tried${tried:+, }$route"
  say "looking for Python >= 3.$MINOR: $route"
  "route_$route" && break
  PYTHON=""
done
if [ -z "$PYTHON" ]; then
  say "FAILED: no Python >= 3.$MINOR (tried: $tried); use a base image that has one, or see above."
  exit 1
fi
say "using $PYTHON ($("$PYTHON" --version 2>&1))"
if ! { "$PYTHON" -m venv "$VENV" && quietly "$VENV/bin/pip" install --quiet -e "$ROOT/source"; }; then
  rm -rf "$VENV"
  say "FAILED: could not install the course into $VENV with $PYTHON (see above)."
  exit 1
fi
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission into results.json.
# AUTOGRADER_ROOT and AUTOGRADER_PYTHON let a test run it against a fake /autograder tree.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
mkdir -p "$ROOT/results"
if [ ! -x "$PY" ]; then
  why="setup.sh did not build $PY"
else
  cd "$ROOT/source" || exit 3
  "$PY" grader.py --target "$ROOT/submission" --gradescope "$ROOT/results/results.json" \\
      --jobs 1 --exercise-timeout 40 --quiet > /dev/null
  why="exit $?"
fi
if [ ! -s "$ROOT/results/results.json" ]; then
  printf '{"score": 0, "output": "The grader could not run (%s): tell your instructor."}\\n' \\
      "$why" > "$ROOT/results/results.json"
fi
exit 0
"""


def oldest_python(root: Path = ROOT) -> tuple[int, int]:
    """The oldest Python the course supports: ``requires-python`` of ``pyproject.toml``."""
    spec = tomllib.loads((root / "pyproject.toml").read_text())["project"]["requires-python"]
    found = re.fullmatch(r">=\s*(3)\.(\d+)", spec.strip())
    if not found:
        raise ValueError(f"pyproject.toml: requires-python = {spec!r}; the bundle expects '>=3.N'")
    return int(found[1]), int(found[2])


def setup_sh(root: Path = ROOT) -> str:
    """Gradescope's ``setup.sh``: a Python new enough for the course, whatever the base image."""
    return _SETUP_SH.replace("@MINOR@", str(oldest_python(root)[1]))


def gradescope_bundle(out_zip: Path, root: Path = ROOT) -> Path:
    """Gradescope's autograder zip: setup.sh, run_autograder, a release and the reference.

    Students never see the bundle. It carries ``solutions/`` so that each exercise is graded with
    the reference's other modules (one bug costs points once); the sandbox refuses any read of it
    from learner code.
    """
    with tempfile.TemporaryDirectory(prefix="bundle-") as tmp:
        source = release(Path(tmp) / "source", root)
        shutil.copytree(root / "solutions", source / "solutions",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        out_zip.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out_zip, "w", zipfile.ZIP_DEFLATED) as z:
            for name, text in (("setup.sh", setup_sh(root)), ("run_autograder", RUN_AUTOGRADER)):
                info = zipfile.ZipInfo(name)
                info.external_attr = 0o755 << 16
                z.writestr(info, text)
            for f in sorted(source.rglob("*")):
                if f.is_file():
                    z.write(f, f.relative_to(source).as_posix())
    return out_zip


def _step_id(e: Exercise) -> str:
    return e.id.replace("ex", "exercise-")


def _classroom_step(e: Exercise) -> str:
    """The workflow's step that grades one exercise."""
    name = json.dumps(f"{e.id} {e.title}")
    return f"""      - name: {name}
        id: {_step_id(e)}
        uses: classroom-resources/autograding-command-grader@v1
        with:
          test-name: {name}
          setup-command: python -m pip install --quiet -e .
          command: python grader.py {e.id} --strict --quiet --jobs 2
          timeout: 5
          max-score: {e.points:g}"""


def classroom_workflow() -> str:
    """A GitHub Classroom workflow: one graded step per exercise, worth that exercise's points."""
    course = load_course()
    ids = [_step_id(e) for e in course]
    steps = [_classroom_step(e) for e in course]
    results = "\n".join(f"          {i.upper().replace('-', '_')}_RESULTS: "
                        f"\"${{{{steps.{i}.outputs.result}}}}\"" for i in ids)
    return f"""# GitHub Classroom autograding: copy to .github/workflows/classroom.yml in the template repo.
# Generated by `python grader.py classroom-workflow` from exercises/info.toml.
name: Autograding Tests
on: [push, workflow_dispatch, repository_dispatch]
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    steps:
      - name: Checkout code
        uses: actions/checkout@v4
      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: "3.11"
{chr(10).join(steps)}
      - name: Autograding Reporter
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
{results}
        with:
          runners: {",".join(ids)}
"""
