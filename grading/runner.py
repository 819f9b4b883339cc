"""Run exercises' tests in sandboxed child processes, several at a time, and collect the outcomes.

The parent imports numpy, pytest and hypothesis once and forks one child per run, so a run costs
its tests and not an interpreter start. A child reports on a pipe, one JSON line per event
(``grading.plugin``). The parent enforces a time limit per test and per exercise, kills the
child's whole process group when one is exceeded, and, when a child dies half way (a timeout,
``os._exit``, a segfault, the memory limit), starts a new one for the tests not yet run, so one
runaway test costs that test only. A core with no run to start helps a running one: the children
of a run claim its tests one at a time (:mod:`grading.tokens`), so one exercise graded alone uses
every core, and the report is the same whatever the number of children (see :meth:`Scheduler._end`).
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
from grading import protocol, tokens
from grading.model import Outcome, TestResult
from grading.protocol import MAX_LINE, MAX_NOTES

MAX_RESTARTS = 4  # a run's tests stop at the (MAX_RESTARTS + 1)-th that ends its process
# A run takes a second child only while at least this many of its tests are unclaimed: a child
# costs a fork, pytest's start and the integrity snapshots, a few tenths of a second.
MIN_SHARED = 8
MAX_HEARD = 200  # distinct notes the parent hears from a run's children; the report keeps MAX_NOTES
# Time limits count the CPU time a child spends, so a machine busy with other work never makes a
# correct submission time out; a child that waits instead of computing is stopped after this many
# times the limit in wall-clock time. Where the CPU time cannot be read, the limits are wall-clock.
WALL_FACTOR = 3
_HAVE_PROC = Path("/proc/self/stat").is_file()
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if _HAVE_PROC else 100


JOBS_VARIABLE = "GRADER_JOBS"


def default_jobs() -> int:
    """How many test processes a grading runs at once unless told: ``GRADER_JOBS`` when it is set (a
    pytest-xdist worker, which shares the cores with the others, sets 1), else every core."""
    given = os.environ.get(JOBS_VARIABLE, "")
    return int(given) if given.isdigit() and int(given) > 0 else os.cpu_count() or 2


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
    order: list[str] = field(default_factory=list)  # its tests in the order its children claim them
    results: dict[str, TestResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    noted: dict[str, int] = field(default_factory=dict)  # what its children said, and the test they were at
    fingerprints: dict[str, list[Any]] = field(default_factory=dict)
    symptoms: dict[str, Any] = field(default_factory=dict)
    tampering: list[str] = field(default_factory=list)
    deaths: list[tuple[str, str]] = field(default_factory=list)  # (test, how its process ended)
    last_death: str = ""  # how the last child that died ended
    queue: int | None = None  # the pipe of test indices its children claim (grading.tokens)
    handed_out: int = 0  # how many indices that pipe held
    children: int = 0  # its children running now
    helpers: int = 0  # children started to share its tests with the first
    started: float = 0.0
    finished: float = 0.0
    cpu_spent: float = 0.0  # CPU seconds of the children that have ended

    def remaining(self) -> list[str]:
        """Its tests with no result yet."""
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
                               queue=run.queue, shown_dir=run.shown_dir)
        import pytest

        pytest.main(  # --tb=no: the plugin reads each failure itself; pytest's own text would cost 5 ms each
            [str(run.tests_dir / f"test_{run.module}.py"), *map(str, run.extra_tests), "-s",
             "-q", "--tb=no", "-p", "no:cacheprovider", "-p", "no:warnings",
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
    """Import pytest, hypothesis, the (trusted) test modules and the reference once, before any fork.

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
        importlib.import_module("tests.support.target").load_reference()  # trusted: every child uses it
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
        self.running: dict[int, _Child] = {}  # by the fd its events come on
        self.queues: set[int] = set()  # the test pipes of the runs not ended

    def run_all(self, runs: list[Run]) -> list[Run]:
        preload(runs)
        pending = list(runs)
        while pending or self.running:
            while len(self.running) < self.jobs:
                if pending:
                    self._start(pending.pop(0))
                elif run := self._to_share():
                    run.helpers += 1
                    self._start(run)
                else:
                    break
            for key, _ in self.selector.select(timeout=0.05):
                child = self.running[key.fd]
                if not self._read(child):
                    self._finish(child, pending)
            now = time.monotonic()
            for child in list(self.running.values()):
                reason = self._overdue(child, now)
                if reason:
                    os.killpg(child.pid, signal.SIGKILL)
                    self._finish(child, pending, reason)
        return runs

    def _to_share(self) -> Run | None:
        """The running run with the most tests no child has claimed yet, if it has enough to be worth
        another child (all of them, before its tests are collected)."""
        best, most = None, MIN_SHARED - 1
        for run in {id(c.run): c.run for c in self.running.values()}.values():
            left = _unclaimed(run)
            if run.helpers < self.jobs - 1 and left > most:
                best, most = run, left
        return best

    def _start(self, run: Run) -> None:
        if not run.started:
            run.started = time.monotonic()
            run.queue, run.handed_out = tokens.hand_out()
            self.queues.add(run.queue)
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os.close(rfd)
            # What the parent reads from other children, and other runs' tests: not this child's.
            for fd in [self.selector.fileno(), *self.running, *(self.queues - {run.queue})]:
                os.close(fd)
            _child_main(run, wfd)
        os.close(wfd)
        os.set_blocking(rfd, False)
        self.running[rfd] = _Child(run, pid, rfd)
        run.children += 1
        self.selector.register(rfd, selectors.EVENT_READ)
        self.on_event(run, protocol.Spawned())

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
                run.collected, run.order = tests, event.claim_order()
            case protocol.Started():
                child.current = event
                child.current_since = time.monotonic()
                child.current_cpu = _cpu_seconds(child.pid) or child.cpu
                child.progressed = True
            case protocol.Finished(test):
                child.current = None
                if run.collected is None or test not in run.collected or test in run.results:
                    return  # another child of the run said it already
                run.results[test] = event.result()
                if run.fail_fast and event.outcome is not Outcome.PASSED and run.queue is not None:
                    tokens.withdraw(run.queue)  # a mistake is caught: no child needs to go on
            case protocol.Note(text) if text not in run.noted and len(run.noted) < MAX_HEARD:
                run.noted[text] = self._place(child)
            case protocol.Tampered(names):
                run.tampering += [name for name in names if name not in run.tampering]
            case protocol.Fingerprints(values, symptoms) if not run.fingerprints:
                run.fingerprints, run.symptoms = values, symptoms
            case protocol.Debug(text) if os.environ.get("GRADER_DEBUG"):
                print(f"grader debug ({run.key}): {text}", file=sys.stderr)
            case protocol.Done():
                child.done = True
                return  # said once, when the run's last child has ended (``_end``)
            case protocol.Collected() | protocol.Note() | protocol.Fingerprints():
                return  # another child of the run said it already
        self.on_event(run, event)

    @staticmethod
    def _place(child: _Child) -> int:
        """Where ``child`` is in its run's tests: the index of the test it runs, -1 before any."""
        order = child.run.order
        return order.index(child.current.test) if child.current and child.current.test in order else -1

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
        if self._spent(run, now) > limits.exercise_seconds:
            return Outcome.TIMED_OUT, message("the exercise's time limit of {seconds} s ran out",
                                              seconds=f"{limits.exercise_seconds:g}")
        return None

    def _spent(self, run: Run, now: float) -> float:
        """The time a run has used against its exercise's limit: its children's CPU seconds where they
        can be read (wall-clock past ``WALL_FACTOR`` times the limit counts as the whole limit), else
        wall-clock."""
        wall = now - run.started
        if not _HAVE_PROC:
            return wall
        if wall > WALL_FACTOR * run.limits.exercise_seconds:
            return run.limits.exercise_seconds + 1
        return run.cpu_spent + sum(c.cpu for c in self.running.values() if c.run is run)

    def _finish(self, child: _Child, pending: list[Run], reason: tuple[Outcome, str] | None = None) -> None:
        """A child has ended: what it was running when it died fails, and a new child takes up its
        run's tests while the run may restart."""
        self.selector.unregister(child.fd)
        os.close(child.fd)
        del self.running[child.fd]
        _, status = os.waitpid(child.pid, 0)
        run = child.run
        run.children -= 1
        run.cpu_spent += child.cpu
        if not child.done:
            outcome, died = reason or (Outcome.CRASHED,
                                       message("the test process {how}", how=signal_name(status)))
            run.last_death = died
            if child.current and run.collected is not None:
                current = child.current
                run.results[current.test] = TestResult(
                    name=current.test, outcome=outcome, message=message("{what} during this test", what=died),
                    prop=current.prop, hint=current.hint)
                run.deaths.append((current.test, died))
            elif not child.progressed:
                note = message("the tests could not start: {what} while loading {module}.py",
                               what=died, module=run.module)
                run.noted.setdefault(note, self._place(child))
            out_of_time = self._spent(run, time.monotonic()) > run.limits.exercise_seconds
            if (child.progressed and not out_of_time and len(run.deaths) <= MAX_RESTARTS
                    and _unclaimed(run) > 0):
                if run not in pending:
                    pending.insert(0, run)
            elif run.queue is not None:
                tokens.withdraw(run.queue)  # the run stops: its other children end with their test
        if run.children == 0 and run not in pending:
            self._end(run)

    def _end(self, run: Run) -> None:
        """The run's last child has ended: the report is the one a single child would have given.

        One child runs the tests in the claim order and stops at the (``MAX_RESTARTS`` + 1)-th test
        that ends its process; several run them at once, so the tests past that one, in the claim
        order, count as not run whichever child ran them."""
        order = {test: i for i, test in enumerate(run.order)}
        deaths = sorted(run.deaths, key=lambda death: order[death[0]])
        if len(deaths) > MAX_RESTARTS:
            last, died = deaths[MAX_RESTARTS]
            for test in run.order[order[last] + 1:]:
                run.results[test] = TestResult(name=test, outcome=Outcome.NOT_RUN,
                                               message=message("not run: {what}", what=died))
        # The tests no child reached: after a death, or past the numbers handed out. A run that stopped
        # at its first failure (``fail_fast``) leaves them out, as pytest's -x does.
        why = run.last_death or (message("the grader hands out at most {count} tests per exercise",
                                         count=run.handed_out) if len(run.order) > run.handed_out else "")
        for test in run.remaining() if why else []:
            run.results[test] = TestResult(name=test, outcome=Outcome.NOT_RUN,
                                           message=message("not run: {what}", what=why))
        if run.collected is None:
            run.collected = []
        # In the order of the tests that said them, as one child would have: the first MAX_NOTES.
        run.notes += sorted(run.noted, key=run.noted.__getitem__)[:MAX_NOTES - len(run.notes)]
        if run.queue is not None:
            os.close(run.queue)
            self.queues.discard(run.queue)
            run.queue = None
        run.finished = time.monotonic()
        self.on_event(run, protocol.Done())


def _unclaimed(run: Run) -> int:
    """How many of a run's tests no child has claimed yet (all of its indices, before collection)."""
    if run.queue is None:
        return 0
    left = tokens.unclaimed(run.queue)
    if left is None:
        return run.handed_out if run.collected is None else len(run.remaining())
    if run.collected is None:
        return left
    return max(0, len(run.collected) - (run.handed_out - left))
