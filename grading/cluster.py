"""A batch graded on a Dask cluster: each submission is one task, graded on a worker by the same
:func:`grading.batch.grade_one` (engine, sandbox, limits) as a local batch.

``batch(..., runner=on_dask("tcp://host:8786"))`` or ``on_dask("local")`` (a ``LocalCluster`` of one
worker process per core). The client records each result as soon as its task ends
(:func:`grading.batch.batch`), so a batch whose client dies resumes with a rerun; a task whose worker
dies is run again on another (grading is idempotent). On Slurm or PBS, :func:`jobqueue_cluster`
(``python -m grading.cluster slurm ...``) starts the workers as batch jobs through
``dask-jobqueue`` and prints the scheduler's address for ``grader.py batch --dask``.

Dask is the optional extra ``dask`` (``distributed``, ``dask-jobqueue``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from course.i18n import argparse_speaking, command_language, lang_option, localize, message
from course.info import ROOT
from grading.batch import Graded, GradeOne, Runner
from grading.model import ExerciseResult

LOCAL = "local"  # --dask local: a LocalCluster on this machine
RETRIES = 3  # a task that raised runs again this often (a dead worker: allowed-failures)
INSTALL = 'python -m pip install -e ".[dask]"'
_WORKER_CACHE: dict[str, ExerciseResult] = {}  # verdicts by content, shared by the tasks of one worker


class DaskMissingError(ImportError):
    """``distributed`` (or ``dask-jobqueue``) is not installed; the message says what to install."""


def _import(module: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as e:
        raise DaskMissingError(message("{module} is not installed; install the Dask extra: {command}",
                                  module=module.split(".")[0], command=INSTALL)) from e


def prepare_worker() -> None:
    """Run in a worker's main thread as it starts (:func:`_preparing`): the tests import from the
    course's folder, wherever the worker was started, and their support module installs its signal
    handler (the CPU budget of each call, on SIGPROF), which a task's thread cannot; without it, a
    function that never returns would end its test process instead of failing its test."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    importlib.import_module("tests.support.target")


def _preparing(distributed: Any) -> Any:
    """A worker plugin that runs :func:`prepare_worker` on every worker, also one started later."""

    class Prepare(distributed.WorkerPlugin):
        name = "learn-transformer-prepare"

        def setup(self, worker: Any) -> None:
            prepare_worker()

    return Prepare()


def grade_on_worker(grade_one: GradeOne, entry: Path) -> Graded:
    """One task: grade ``entry`` with the worker's own verdict cache (a module two students hand in
    alike is graded once per worker, as once per local batch)."""
    return grade_one(entry, cache=_WORKER_CACHE)


@contextmanager
def client_of(scheduler: str, workers: int | None = None) -> Iterator[Any]:
    """A Dask client of ``scheduler`` (an address), or of a new ``LocalCluster`` for ``local``:
    ``workers`` processes (default: one per core) of one thread each."""
    distributed = _import("distributed")
    if scheduler != LOCAL:
        with distributed.Client(scheduler) as client:
            yield client
        return
    with distributed.LocalCluster(n_workers=workers or os.cpu_count() or 2, threads_per_worker=1,
                                  processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def on_dask(scheduler: str, retries: int = RETRIES, workers: int | None = None) -> Runner:
    """A :data:`grading.batch.Runner` that grades each submission as one task on ``scheduler``."""
    distributed = _import("distributed")

    def run(grade_one: GradeOne, entries: list[Path]) -> Iterator[tuple[Path, Graded | None]]:
        if not entries:
            return
        with client_of(scheduler, workers) as client:
            client.register_plugin(_preparing(distributed))
            futures = {client.submit(grade_on_worker, grade_one, entry, retries=retries,
                                     pure=False): entry for entry in entries}
            for future in distributed.as_completed(futures):
                entry = futures.pop(future)  # released once read: the cluster keeps no finished result
                try:
                    yield entry, future.result()
                except distributed.KilledWorker:
                    yield entry, None
    return run


def jobqueue_cluster(kind: str, cores: int, memory: str, **options: Any) -> Any:
    """A ``SLURMCluster`` (``kind`` "slurm") or ``PBSCluster`` ("pbs") whose every job runs ``cores``
    worker processes of one thread (one submission each), sharing ``memory``. Not yet scaled:
    ``cluster.scale(jobs=N)`` submits the jobs; ``cluster.job_script()`` shows one."""
    jobqueue = _import("dask_jobqueue")
    cls = {"slurm": jobqueue.SLURMCluster, "pbs": jobqueue.PBSCluster}[kind]
    return cls(cores=cores, processes=cores, memory=memory, python=sys.executable,
               job_script_prologue=[f"cd {shlex.quote(str(ROOT))}"], **options)


def _parser(lang: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m grading.cluster", parents=[lang_option(lang)],
                                description=message("Start Dask workers as Slurm or PBS jobs for "
                                                    "grader.py batch --dask.", lang))
    p.add_argument("kind", choices=["slurm", "pbs"])
    p.add_argument("--jobs", type=int, default=1, help=message("batch jobs to submit", lang))
    p.add_argument("--cores", type=int, default=4, help=message("cores per job (one worker each)", lang))
    p.add_argument("--memory", default="8GB", help=message("memory per job, such as 8GB", lang))
    p.add_argument("--queue", help=message("the queue or partition", lang))
    p.add_argument("--walltime", default="02:00:00", help=message("time limit per job", lang))
    return p


def main(argv: list[str]) -> int:
    """``python -m grading.cluster slurm|pbs --jobs N --cores C --memory M``: start the workers,
    print the address to pass to ``grader.py batch --dask``, and keep them until interrupted."""
    lang, argv = command_language(argv, os.environ)
    with argparse_speaking(lang):  # argparse's own words too, from the parser's making on
        args = _parser(lang).parse_args(argv)
    try:
        cluster = jobqueue_cluster(args.kind, args.cores, args.memory, queue=args.queue,
                                   walltime=args.walltime)
    except DaskMissingError as e:
        print(f"python -m grading.cluster: {localize(e.args[0], lang)}", file=sys.stderr)
        return 2
    with cluster:
        cluster.scale(jobs=args.jobs)
        address = cluster.scheduler_address
        print(message("Workers requested. Grade with: python grader.py batch SUBMISSIONS --out RESULTS "
                      "--dask {address}  (Ctrl-C stops the workers)", lang, address=address), flush=True)
        with suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
