"""``batch --dask``: a class graded on a Dask ``LocalCluster`` of two worker processes equals a local
batch, also when a worker is killed half way or the client stops; and the Slurm/PBS
recipe's job script (``dask-jobqueue``, no Slurm needed). Without the ``dask`` extra they skip."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from catalogue.entries import copy_solutions
from course.info import ROOT
from grading.batch import DASHBOARD, FEEDBACK, STATE, batch
from grading.cluster import jobqueue_cluster, on_dask
from grading.runner import Limits
from selftest.test_dashboard import QUICK, make_class

WORKERS = 2


def run_batch(subs: Path, out: Path, **options) -> list:
    return batch(subs, out, jobs=1, limits=Limits(exercise_seconds=60), exercises=QUICK, **options)


def results(out: Path) -> dict[str, object]:
    """Every file a batch writes for the instructor, by name (not the resume cache); of the JSON
    feedback, all but how long each test took."""
    files = [out / "grades.csv", out / DASHBOARD, *sorted((out / FEEDBACK).iterdir())]
    return {f.relative_to(out).as_posix(): untimed(json.loads(f.read_text())) if f.suffix == ".json"
            else f.read_text() for f in files}


def untimed(value: object) -> object:
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items() if k not in ("seconds", "duration")}
    return [untimed(v) for v in value] if isinstance(value, list) else value


def test_without_dask_the_command_says_what_to_install(tmp_path):
    code = ("import runpy, sys; sys.modules['distributed'] = None; "
            "sys.argv = ['grader.py', 'batch', sys.argv[1], '--out', sys.argv[2], '--dask', 'local']; "
            "runpy.run_path('grader.py', run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path), str(tmp_path / "out")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert 'pip install -e ".[dask]"' in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2


def test_a_submission_whose_workers_all_died_is_not_recorded_and_a_rerun_grades_it(tmp_path, monkeypatch):
    import grading.batch as gb

    subs, out = tmp_path / "submissions", tmp_path / "results"
    for student in ("ann", "ben"):
        (subs / student).mkdir(parents=True)
    monkeypatch.setattr(gb, "grade_one", lambda entry, **_: (gb.Row(entry.name, total=1.0), {".txt": "ok\n"}))

    def ben_lost(grade, entries):  # what on_dask yields when Dask gives up on a task (KilledWorker)
        for entry in entries:
            yield entry, None if entry.name == "ben" else grade(entry)

    ann, ben = batch(subs, out, exercises=QUICK, runner=ben_lost)
    assert ann.total == 1 and "did not finish" in ben.reason and "run the batch again" in ben.reason
    regraded: list[str] = []

    def watching(grade, entries):
        regraded.extend(e.name for e in entries)
        return gb.in_process(grade, entries)

    assert [r.total for r in batch(subs, out, exercises=QUICK, runner=watching)] == [1, 1]
    assert regraded == ["ben"]


@pytest.fixture(scope="module")
def distributed():
    return pytest.importorskip("distributed", reason="no Dask: python -m pip install -e '.[dask]'")


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> tuple[Path, Path]:
    """The dashboard's class and a softmax that never returns, and their local batch."""
    subs = tmp_path_factory.mktemp("class") / "submissions"
    subs.mkdir()
    make_class(subs)
    with (copy_solutions(subs / "hal") / "ex02_softmax.py").open("a") as f:  # stopped by its CPU budget
        f.write("\n\ndef softmax(x, axis=-1):\n    while True:\n        pass\n")
    out = tmp_path_factory.mktemp("local")
    run_batch(subs, out)
    return subs, out


@pytest.fixture(scope="module")
def cluster(distributed):
    with distributed.LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c, distributed.Client(c) as client:
        yield c, client


@pytest.mark.ci_only  # two Dask workers start and grade the class (about 30 s)
def test_a_dask_batch_equals_a_local_one_even_when_a_worker_is_killed(local, cluster, tmp_path):
    subs, expected = local
    c, client = cluster
    killed: list[int] = []

    def kill_a_busy_worker(done: int, total: int, student: str) -> None:
        busy = [w for w, keys in client.processing().items() if keys]
        if not killed and busy:
            pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    rows = run_batch(subs, tmp_path, runner=on_dask(c.scheduler_address), progress=kill_a_busy_worker)
    assert killed, "no worker was busy when the first result came in"
    assert not any("did not finish" in r.reason for r in rows)
    assert results(tmp_path) == results(expected)
    assert killed[0] not in client.run(os.getpid).values()


@pytest.mark.ci_only
def test_a_dask_batch_whose_client_stops_resumes_with_a_rerun(local, cluster, tmp_path, monkeypatch):
    subs, expected = local
    address = cluster[0].scheduler_address

    def stop(done: int, total: int, student: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(subs, tmp_path, runner=on_dask(address), progress=stop)
    recorded = (tmp_path / STATE).read_text()
    assert recorded.count('"hash"') == 1  # the first result was recorded as soon as it came in
    with (tmp_path / STATE).open("a") as f:
        f.write('{"student": "bob", "ha')  # a line cut short when the client was killed writing it
    graded: list[str] = []
    run_batch(subs, tmp_path, runner=on_dask(address), progress=lambda d, t, s: graded.append(s))
    assert len(graded) == 6 and results(tmp_path) == results(expected)


def test_the_slurm_and_pbs_recipes_run_one_worker_per_core(distributed, tmp_path):
    pytest.importorskip("dask_jobqueue", reason="no dask-jobqueue: python -m pip install -e '.[dask]'")

    for kind, resources in [("slurm", ["#SBATCH --cpus-per-task=4", "#SBATCH --mem=8G", "#SBATCH -p short"]),
                            ("pbs", ["#PBS -l select=1:ncpus=4:mem=", "#PBS -q short"])]:
        with jobqueue_cluster(kind, cores=4, memory="8GB", queue="short", walltime="01:00:00",
                              scheduler_options={"dashboard_address": ":0"}) as c:
            script = c.job_script()
        for line in resources:
            assert line in script, (kind, script)
        worker = next(line for line in script.splitlines() if "dask_worker" in line).split()
        assert worker[0] == sys.executable and worker[3] == c.scheduler_address
        assert worker[worker.index("--nworkers") + 1] == "4" and worker[worker.index("--nthreads") + 1] == "1"
        assert f"cd {ROOT}" in script
