"""The Gradescope bundle builds and grades on an image whose own python3 is older than the course's.

A Debian bullseye chroot (its python3 is 3.9) made with debootstrap stands in for Gradescope's
base images, without Docker. Building it takes minutes, so these tests run only when asked, as
root, with debootstrap installed (the base image is cached in COURSE_CHROOT_CACHE):

    COURSE_SLOW=1 python -m pytest -q selftest/test_gradescope_image.py
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from course.info import ROOT, load_course
from grading.bundle import gradescope_bundle, oldest_python

RELEASE = "bullseye"  # Debian 11: python3 is 3.9
CACHE = Path(os.environ.get("COURSE_CHROOT_CACHE", "/var/cache/course-chroot"))
BASE = CACHE / RELEASE
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# This machine's certificates (they may include a proxy's own), given to pip and uv in the image.
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
IMAGE_CA = "/etc/ssl/host-ca.crt"
BROKEN = "ex05"

pytestmark = [
    pytest.mark.skipif(os.environ.get("COURSE_SLOW") != "1",
                       reason="builds a Debian chroot for minutes: set COURSE_SLOW=1 to run it"),
    pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0,
                       reason="needs root on Linux (chroot and mount)"),
    pytest.mark.skipif(not BASE.is_dir() and shutil.which("debootstrap") is None,
                       reason="needs debootstrap (apt-get install debootstrap) to build the image"),
]


def _base_image() -> Path:
    """The cached bullseye image with its own python3 (built once, a few minutes)."""
    if not BASE.is_dir():
        partial = BASE.with_name(RELEASE + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,ca-certificates",
                        RELEASE, str(partial)], check=True, capture_output=True, timeout=1800)
        partial.rename(BASE)
    return BASE


MOUNTS = ((["-t", "proc", "proc"], "proc"), (["--bind", "/dev"], "dev"), (["--bind", "/dev/pts"], "dev/pts"))


@contextlib.contextmanager
def mounted(root: Path) -> Iterator[Path]:
    """``root`` with /proc, /dev and /dev/pts mounted; unmounted whatever happens."""
    done: list[Path] = []
    try:
        for args, where in MOUNTS:
            subprocess.run(["mount", *args, str(root / where)], check=True, capture_output=True)
            done.append(root / where)
        yield root
    finally:
        for point in reversed(done):  # lazily: a process left inside cannot keep the host's /dev in
            subprocess.run(["umount", "--lazy", str(point)], check=True)


def python_version(root: Path, python: str) -> tuple[int, int]:
    probe = in_image(root, python, "-c", "import sys; print(*sys.version_info[:2])")
    assert probe.returncode == 0, probe.stderr
    major, minor = probe.stdout.split()
    return int(major), int(minor)


def in_image(root: Path, *command: str, env: dict[str, str] | None = None,
             timeout: float = 1200) -> subprocess.CompletedProcess:
    """Run ``command`` inside the image with a clean environment, as Gradescope would."""
    trust = {"PIP_CERT": IMAGE_CA, "SSL_CERT_FILE": IMAGE_CA} if (root / IMAGE_CA[1:]).is_file() else {}
    variables = [f"{k}={v}" for k, v in {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8",
                                         **trust, **(env or {})}.items()]
    return subprocess.run(["chroot", str(root), "/usr/bin/env", "-i", *variables, *command],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return gradescope_bundle(tmp_path_factory.mktemp("bundle") / "autograder.zip")


@pytest.fixture
def image(tmp_path, bundle) -> Iterator[Path]:
    """A fresh copy of the base image with the bundle unpacked as Gradescope does."""
    root = tmp_path / "image"
    subprocess.run(["cp", "-a", str(_base_image()), str(root)], check=True)
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    if HOST_CA.is_file():
        shutil.copy(HOST_CA, root / IMAGE_CA[1:])
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root / "autograder" / "source")
    for script in ("setup.sh", "run_autograder"):
        (root / "autograder" / "source" / script).chmod(0o755)
    shutil.copy(root / "autograder" / "source" / "run_autograder", root / "autograder")
    with mounted(root):
        assert python_version(root, "python3") < oldest_python()  # the image's own python3 is too old
        yield root
    assert not any(os.path.ismount(root / where) for _, where in MOUNTS)
    shutil.rmtree(root)


def built(root: Path, setup: subprocess.CompletedProcess) -> bool:
    """setup.sh either built a venv of a new enough Python or failed loudly, leaving no venv."""
    venv = root / "autograder" / "venv" / "bin" / "python"
    if setup.returncode == 0:
        assert python_version(root, "/autograder/venv/bin/python") >= oldest_python()
        return True
    last = setup.stderr.strip().splitlines()[-1]
    assert setup.returncode == 1 and last.startswith("setup.sh: FAILED: "), setup.stderr[-2000:]
    assert not venv.exists()
    return False


def test_setup_provides_a_python_or_stops_the_build_loudly(image):
    """Without the Debian route, uv is the last: here its download of Python is refused."""
    setup = in_image(image, "/autograder/source/setup.sh",
                     env={"AUTOGRADER_PYTHON_ROUTES": "found apt deadsnakes uv"})
    if not built(image, setup):
        assert "tried: found, apt, deadsnakes, uv" in setup.stderr


def test_bundle_builds_and_grades_on_an_older_image(image):
    setup = in_image(image, "/autograder/source/setup.sh")
    assert built(image, setup), setup.stderr[-3000:]
    submission = image / "autograder" / "submission"
    shutil.copytree(ROOT / "solutions", submission, ignore=shutil.ignore_patterns("__pycache__"))
    course = load_course()
    broken = next(e for e in course if e.id == BROKEN)
    (submission / broken.file_name).write_text("raise RuntimeError('not done')\n")
    run = in_image(image, "/autograder/run_autograder", timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads((image / "autograder" / "results" / "results.json").read_text())
    assert results["score"] == sum(e.points for e in course if e.id != BROKEN), results["output"]
    graded_by = re.search(r"Python (\d+)\.(\d+)", results["output"])  # run_autograder used the venv
    assert graded_by and (int(graded_by[1]), int(graded_by[2])) >= oldest_python(), results["output"]
