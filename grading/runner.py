"""Run exercises' tests in sandboxed child processes, several at a time, and collect the outcomes.

The parent imports numpy, pytest and hypothesis once and forks one child per run, so a run costs
its tests and not an interpreter start. A child reports on a pipe, one JSON line per event
(``grading.plugin``). The parent enforces a time limit per test and per exercise, kills the
child's whole process group when one is exceeded, and, when a child dies half way (a timeout,
``os._exit``, a segfault, the memory limit), starts a new one for the tests not yet run, so one
runaway test costs that test only.
"""

from __future__ import annotations

import gc
import importlib
import os
import selectors
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course.i18n import message
from course.info import ROOT
from grading import protocol
from grading.model import Outcome, TestResult
from grading.protocol import MAX_LINE, MAX_NOTES

MAX_RESTARTS = 4
# Time limits count the CPU time a child spends, so a machine busy with other work never makes a
# correct submission time out; a child that waits instead of computing is stopped after this many
# times the limit in wall-clock time. Where the CPU time cannot be read, the limits are wall-clock.
WALL_FACTOR = 3
_HAVE_PROC = Path("/proc/self/stat").is_file()
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if _HAVE_PROC else 100


@dataclass(frozen=True)
class Limits:
    """Resource limits of one child process."""

    test_seconds: float = 10.0
    exercise_seconds: float = 60.0
    memory_bytes: int = 4 << 30
    file_bytes: int = 8 << 20


@dataclass(frozen=True)
class RunKey:
    """Who asked for a run: an exercise, on its own or with the learner's own earlier exercises."""

    exercise: str  # its id: "ex05"
    integrated: bool = field(default=False, kw_only=True)

    def __str__(self) -> str:
        return f"{self.exercise}/integrated" if self.integrated else self.exercise


@dataclass
class Run:
    """One exercise's tests against one target directory, and everything its children said."""

    key: RunKey
    module: str
    functions: list[str]
    target_dir: Path
    limits: Limits
    tests_dir: Path = ROOT / "tests"
    extra_tests: list[Path] = field(default_factory=list)  # an instructor's hidden tests
    fail_fast: bool = False  # stop at the first failing test (enough to know a mistake is caught)
    protected: list[Path] = field(default_factory=list)
    shown_dir: Path | None = None  # where the learner keeps the module (tracebacks name it there)
    collected: list[str] | None = None
    results: dict[str, TestResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    fingerprints: dict[str, list[Any]] = field(default_factory=dict)
    symptoms: dict[str, Any] = field(default_factory=dict)
    tampering: list[str] = field(default_factory=list)
    restarts: int = 0
    started: float = 0.0
    finished: float = 0.0
    cpu_spent: float = 0.0  # CPU seconds of the children that have ended

    def remaining(self) -> list[str]:
        return [t for t in (self.collected or []) if t not in self.results]


def _child_main(run: Run, wfd: int) -> None:
    """Body of the forked child: never returns."""
    code = 70
    try:
        os.setpgid(0, 0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1) if os.environ.get("GRADER_DEBUG") else (0, 1, 2):
            os.dup2(devnull, fd)
        # The parent may itself be capturing output (pytest): write to our own fds, not its files.
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        os.environ["HYPOTHESIS_PROFILE"] = "grading"
        os.environ["PYTHONHASHSEED"] = "0"
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only the plugins grading relies on
        from grading import sandbox
        from grading.plugin import GradingPlugin

        sandbox.limit_resources(run.limits.memory_bytes, int(run.limits.exercise_seconds) + 5,
                                run.limits.file_bytes)
        plugin = GradingPlugin(wfd, run.module, run.functions, run.protected, run.target_dir,
                               skip=set(run.results), shown_dir=run.shown_dir)
        import pytest

        pytest.main(
            [str(run.tests_dir / f"test_{run.module}.py"), *map(str, run.extra_tests), "-s",
             "-q", "--tb=native", "-p", "no:cacheprovider", "-p", "no:warnings",
             "-p", "hypothesis.extra.pytestplugin",
             "--override-ini=addopts=", "--rootdir", str(ROOT), "--target", str(run.target_dir),
             "--hypothesis-profile", "grading", *(["-x"] if run.fail_fast else [])],
            plugins=[plugin],
        )
        code = 0
    finally:
        os._exit(code)


@dataclass
class _Child:
    run: Run
    pid: int
    fd: int
    buffer: bytes = b""
    current: protocol.Started | None = None
    current_since: float = 0.0
    current_cpu: float = 0.0  # the child's CPU seconds when the current test started
    started: float = field(default_factory=time.monotonic)
    cpu: float = 0.0  # its CPU seconds at the last look
    progressed: bool = False
    done: bool = False


def _cpu_seconds(pid: int) -> float | None:
    """User and system CPU seconds of a running process (Linux), or None where they cannot be read."""
    if not _HAVE_PROC:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime


def signal_name(status: int) -> str:
    """How a child process ended: the signal that killed it, or its exit status."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        names = {signal.SIGSEGV: message("a segmentation fault (SIGSEGV)"), signal.SIGKILL: "SIGKILL",
                 signal.SIGXCPU: message("the CPU time limit (SIGXCPU)"),
                 signal.SIGABRT: message("an abort (SIGABRT)"),
                 signal.SIGBUS: message("a bus error (SIGBUS)")}
        return message("was killed by {what}", what=names.get(sig, signal.Signals(sig).name))
    return message("exited with status {status}", status=os.WEXITSTATUS(status))


def preload(runs: list[Run]) -> None:
    """Import pytest, hypothesis and the (trusted) test modules once, before any fork.

    Each child then starts with them loaded, so a run costs its tests and little else. The tests
    rely on explicit assertion messages, so they lose nothing by skipping pytest's rewriting.
    """
    import warnings

    import hypothesis.extra.numpy  # noqa: F401
    import pytest  # noqa: F401
    from hypothesis import settings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        importlib.import_module("tests.conftest")  # registers the profiles
        previous = settings.get_current_profile_name()
        # A test takes the profile active when its module is imported: import (or import again)
        # every test module under the derandomised grading profile, or the examples would vary.
        settings.load_profile("grading")
        try:
            for run in runs:
                name = f"tests.test_{run.module}"
                if run.tests_dir != ROOT / "tests" or name in _UNDER_GRADING:
                    continue
                if name in sys.modules:
                    importlib.reload(sys.modules[name])
                else:
                    importlib.import_module(name)
                _UNDER_GRADING.add(name)
        finally:
            settings.load_profile(previous)
    gc.freeze()  # what is loaded now stays put: the children's collections skip it


_UNDER_GRADING: set[str] = set()  # test modules this process imported under the grading profile


class Scheduler:
    """Runs many :class:`Run` s, ``jobs`` children at a time, in one thread."""

    def __init__(self, jobs: int, on_event: Callable[[Run, protocol.Event], None] | None = None) -> None:
        self.jobs = max(1, jobs)
        self.on_event = on_event or (lambda run, event: None)
        self.selector = selectors.DefaultSelector()

    def run_all(self, runs: list[Run]) -> list[Run]:
        preload(runs)
        pending = list(runs)
        running: dict[int, _Child] = {}
        while pending or running:
            while pending and len(running) < self.jobs:
                child = self._start(pending.pop(0))
                running[child.fd] = child
            for key, _ in self.selector.select(timeout=0.05):
                child = running[key.fd]
                if not self._read(child):
                    self._finish(child, running, pending)
            now = time.monotonic()
            for child in list(running.values()):
                reason = self._overdue(child, now)
                if reason:
                    os.killpg(child.pid, signal.SIGKILL)
                    self._finish(child, running, pending, reason)
        return runs

    def _start(self, run: Run) -> _Child:
        if not run.started:
            run.started = time.monotonic()
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os.close(rfd)
            _child_main(run, wfd)
        os.close(wfd)
        os.set_blocking(rfd, False)
        child = _Child(run, pid, rfd)
        self.selector.register(rfd, selectors.EVENT_READ)
        self.on_event(run, protocol.Spawned())
        return child

    def _read(self, child: _Child) -> bool:
        """Read what the child wrote; False at end of file."""
        try:
            data = os.read(child.fd, 65536)
        except BlockingIOError:
            return True
        if not data:
            return False
        child.buffer += data
        *lines, child.buffer = child.buffer.split(b"\n")
        if len(child.buffer) > MAX_LINE:
            child.buffer = b""
        for line in lines:
            event = protocol.decode(line)
            if event is not None:
                self._handle(child, event)
        return True

    def _handle(self, child: _Child, event: protocol.Event) -> None:
        run = child.run
        match event:
            case protocol.Collected(tests) if run.collected is None:
                run.collected = tests
            case protocol.Started():
                child.current = event
                child.current_since = time.monotonic()
                child.current_cpu = _cpu_seconds(child.pid) or child.cpu
                child.progressed = True
            case protocol.Finished(test):
                if run.collected is not None and test in run.collected and test not in run.results:
                    run.results[test] = event.result()
                child.current = None
            case protocol.Note(text) if len(run.notes) < MAX_NOTES:
                run.notes.append(text)
            case protocol.Tampered(names):
                run.tampering = names
            case protocol.Fingerprints(values, symptoms):
                run.fingerprints, run.symptoms = values, symptoms
            case protocol.Debug(text) if os.environ.get("GRADER_DEBUG"):
                print(f"grader debug ({run.key}): {text}", file=sys.stderr)
            case protocol.Done():
                child.done = True
        self.on_event(run, event)

    def _overdue(self, child: _Child, now: float) -> tuple[Outcome, str] | None:
        """Why ``child`` must be stopped now, if it must: a test (or, before the first test, loading
        the module) ran past the per-test limit, or the exercise past its own."""
        run, limits = child.run, child.run.limits
        cpu = _cpu_seconds(child.pid)
        if cpu is not None:
            child.cpu = cpu
        if child.current or not child.progressed:
            since, cpu_since = ((child.current_since, child.current_cpu) if child.current
                                else (child.started, 0.0))
            wall = now - since
            used = wall if cpu is None else cpu - cpu_since
            if used > limits.test_seconds or wall > WALL_FACTOR * limits.test_seconds:
                return Outcome.TIMED_OUT, message(
                    "timed out after {seconds} s (an endless loop, or far too slow)",
                    seconds=f"{limits.test_seconds:g}")
        if _spent(run, child, now) > limits.exercise_seconds:
            return Outcome.TIMED_OUT, message("the exercise's time limit of {seconds} s ran out",
                                              seconds=f"{limits.exercise_seconds:g}")
        return None

    def _finish(self, child: _Child, running: dict[int, _Child], pending: list[Run],
                reason: tuple[Outcome, str] | None = None) -> None:
        self.selector.unregister(child.fd)
        os.close(child.fd)
        del running[child.fd]
        _, status = os.waitpid(child.pid, 0)
        run = child.run
        run.cpu_spent += child.cpu
        if child.done:
            run.finished = time.monotonic()
            return
        outcome, died = reason or (Outcome.CRASHED,
                                   message("the test process {how}", how=signal_name(status)))
        if child.current and run.collected is not None:
            current = child.current
            run.results[current.test] = TestResult(
                name=current.test, outcome=outcome, message=message("{what} during this test", what=died),
                prop=current.prop, hint=current.hint)
        elif not child.progressed:
            run.notes.append(message("the tests could not start: {what} while loading {module}.py",
                                     what=died, module=run.module))
        out_of_time = _spent(run, None, time.monotonic()) > run.limits.exercise_seconds
        if (run.remaining() and child.progressed and not out_of_time
                and run.restarts < MAX_RESTARTS):
            run.restarts += 1
            pending.insert(0, run)
            return
        for name in run.remaining():
            run.results[name] = TestResult(name=name, outcome=Outcome.NOT_RUN,
                                           message=message("not run: {what}", what=died))
        if run.collected is None:
            run.collected = []
        run.finished = time.monotonic()


def _spent(run: Run, child: _Child | None, now: float) -> float:
    """The time an exercise has used against its limit: its children's CPU seconds where they can
    be read (wall-clock past ``WALL_FACTOR`` times the limit counts as the whole limit), else wall-clock."""
    wall = now - run.started
    if not _HAVE_PROC:
        return wall
    cpu = run.cpu_spent + (child.cpu if child else 0.0)
    return run.limits.exercise_seconds + 1 if wall > WALL_FACTOR * run.limits.exercise_seconds else cpu

