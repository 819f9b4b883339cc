"""The pytest plugin that runs inside a grading child process.

It reports every test as one JSON line on a pipe the parent reads (the parent computes the grade),
guards the learner's code once the tests are loaded (:mod:`grading.sandbox`), checks afterwards
that nothing the tests rely on was monkeypatched, and runs the diagnostic inputs through the
learner's functions so the parent can name a catalogued mistake.
"""

from __future__ import annotations

import importlib
import linecache
import operator
import os
import sys
import traceback
import types
import warnings
from pathlib import Path
from typing import Any

import pytest

from course.i18n import Message, doc_parts, message
from course.info import REFERENCE_PACKAGE
from grading import protocol, sandbox, tokens
from grading.calls import LastCall
from grading.model import Failure, Outcome
from grading.pictures import pictures_of
from grading.protocol import MAX_FIELD, MAX_OTHERS, MAX_TRACEBACK
from grading.symptoms import alone, observe
from tests.support import target
from tests.support.checks import Advice

WATCHED_PREFIXES = ("numpy", "pytest", "_pytest", "pluggy", "hypothesis", "tests", "grading", "course",
                    "builtins", "math", REFERENCE_PACKAGE)


CUT = " ... (cut)"


def shorten(text: str, limit: int = MAX_FIELD) -> str:
    """``text`` within ``limit`` characters; a :class:`Message` that fits stays one, and so does one
    whose excess is all in its last value (an array printed at the end), cut there."""
    if isinstance(text, Message) and len(text) <= limit:
        return text
    plain = text.strip()
    cut = plain if len(plain) <= limit else plain[: limit - 15] + CUT
    return _cut_last(text, cut) if isinstance(text, Message) else cut


def _cut_last(said: Message, cut: str) -> str:
    """``said`` with its last value shortened so that it reads ``cut`` in English; ``cut`` itself
    when the template does not end with a value that holds the excess."""
    last = said.template.rpartition("{")[2].removesuffix("}")
    value = said.named.get(last) if said.template.endswith("}") else None
    if not isinstance(value, str) or isinstance(value, Message):
        return cut
    keep = len(cut) - len(CUT) - (len(said) - len(value))  # the value's characters that still fit
    if keep < 0:
        return cut
    shorter = message(said.template, **{**said.named, last: message("{text} ... (cut)", text=value[:keep])})
    return shorter if shorter == cut else cut


def _doc_parts(item: pytest.Item) -> tuple[str, str]:
    """(property, hint) from the test function's docstring, whole paragraphs (the test's name when
    it has no property)."""
    prop, hint = doc_parts(getattr(getattr(item, "obj", None), "__doc__", None) or "")
    return prop or item.name, hint


def _name(item: pytest.Item) -> str:
    """The test's name; an instructor's hidden test is marked as such."""
    return item.name if item.path.name.startswith("test_ex") and item.path.parent.name == "tests" \
        else f"hidden:{item.name}"


_OUTCOMES = {target.NotStarted: Outcome.NOT_STARTED, target.DoesNotReturn: Outcome.DID_NOT_RETURN}


def _leaves(exc: BaseException) -> list[BaseException]:
    """The distinct failures in ``exc``: those of an exception group (hypothesis raises one when it
    finds several), else ``exc`` itself."""
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [exc]


MAX_FRAMES = 6  # the learner's innermost frames a traceback keeps


def learner_traceback(exc: BaseException, learner_file: str, shown_as: str) -> str:
    """The frames of ``exc``'s traceback in the learner's file (named ``shown_as``): file, line and
    the line of code, innermost last, then the error; "" when no frame is the learner's (the test
    itself found the result wrong)."""
    frames = [(frame.f_code.co_name, line) for frame, line in traceback.walk_tb(exc.__traceback__)
              if os.path.realpath(frame.f_code.co_filename) == learner_file]
    if not frames:
        return ""
    lines = [f'  File "{shown_as}", line {line}, in {name}\n'
             f"    {linecache.getline(learner_file, line).strip()}" for name, line in frames[-MAX_FRAMES:]]
    text = "\n".join(lines) + "\n" + shorten(f"{type(exc).__name__}: {exc}")
    return text[-MAX_TRACEBACK:]


def _counterexample(exc: BaseException, function: str) -> str:
    """The smallest failing input, from the note hypothesis adds: "Falsifying example: f(...)", or
    "Failing test case: f(...)" in later releases; any wording before the call will do."""
    for note in getattr(exc, "__notes__", []):
        _, colon, call = note.partition(": ")
        if colon and call.startswith(f"{function}("):
            return shorten(call)
    return ""


def _said(exc: BaseException | str) -> str:
    """What an exception (or a warning) says: its :class:`Message`, which can be translated, or its text."""
    first = exc.args[0] if isinstance(exc, BaseException) and exc.args else None
    return first if isinstance(first, Message) else str(exc)


def _message(exc: BaseException) -> str:
    if isinstance(exc, AssertionError | target.NotStarted | target.TargetError | target.DoesNotReturn):
        if exc.args and isinstance(exc.args[0], Message):  # a test's message that can be translated
            return shorten(exc.args[0])
        text = str(exc).split("\nassert ")[0]  # drop pytest's assertion introspection
        return shorten(text or message("an assertion failed"))
    if isinstance(exc, MemoryError):
        return message("your code ran out of memory (MemoryError): it allocates far more than the task needs")
    if isinstance(exc, OSError) and exc.errno == 27:  # EFBIG: the file-size limit
        return message("your code printed or wrote too much output (over the grader's limit)")
    return shorten(message("your code raised {error}: {detail}", error=type(exc).__name__, detail=_said(exc)))


# Modules whose every attribute must stay put; elsewhere only callables and classes are watched
# (libraries keep changing state such as caches and counters in their module globals).
FROZEN_PREFIXES = ("numpy", "builtins", "math")


def _identity(value: Any) -> tuple[Any, ...]:
    """What a replacement changes: the object, and for a Python function its code and defaults too
    (``f.__code__ = ...`` keeps the function's identity). The objects themselves, compared with
    ``is``: once the sandbox is installed, each call of ``id()`` would raise an audit event."""
    if isinstance(value, types.FunctionType):
        return value, value.__code__, value.__defaults__, value.__kwdefaults__
    return (value,)


Snapshot = dict[str, list[tuple[str, str | None, tuple[Any, ...]]]]


def _snapshot() -> Snapshot:
    """Identity of every watched attribute of the modules the tests rely on, by module name:
    ``(attr, None, identity)`` for an attribute of the module, ``(attr, member, identity)`` for a
    method of a class it defines. Found through ``sys.modules``, so a replacement made through any
    alias or by any means shows."""
    seen: Snapshot = {}
    for name, mod in list(sys.modules.items()):
        if not isinstance(mod, types.ModuleType) or not name.startswith(WATCHED_PREFIXES):
            continue
        frozen = name.startswith(FROZEN_PREFIXES)
        entries = seen[name] = []
        for attr, value in list(vars(mod).items()):
            if frozen or callable(value):
                entries.append((attr, None, _identity(value)))
            if isinstance(value, type) and value.__module__ == name:
                entries.extend((attr, sub, _identity(member)) for sub, member in list(vars(value).items())
                               if callable(member))
    return seen


_GONE = object()  # an attribute that is no longer there


def _now(namespace: dict[str, Any], module: str, attr: str, member: str | None) -> Any:
    """What ``module.attr`` (or that class's method ``member``) is now, looked up as the snapshot did."""
    value = namespace.get(attr, _GONE)
    if member is None:
        return value
    return vars(value).get(member, _GONE) if isinstance(value, type) and value.__module__ == module else _GONE


class Integrity:
    """Remembers what the tests rely on, before any learner code runs, and names what changed since."""

    def __init__(self) -> None:
        self.before = _snapshot()

    def changed(self) -> list[str]:
        """The watched names whose object (or function's code or defaults) is not the one remembered.
        One pass over what was remembered: a second snapshot would cost twice as much."""
        changed = []
        for module, entries in self.before.items():
            mod = sys.modules.get(module)
            namespace = vars(mod) if isinstance(mod, types.ModuleType) else {}
            for attr, member, ident in entries:
                value = _now(namespace, module, attr, member)
                if value is not ident[0] or (  # a function's code and defaults only when it is the same one
                        len(ident) > 1 and any(map(operator.is_not, _identity(value), ident))):
                    changed.append(".".join(part for part in (module, attr, member) if part is not None))
        return sorted(changed)


class GradingPlugin:
    """Streams outcomes of one exercise's tests to the parent."""

    def __init__(self, fd: int, module: str, functions: list[str], protected: list[Path],
                 target_dir: Path, queue: int, shown_dir: Path | None = None) -> None:
        self.fd = fd
        self.queue = queue  # the pipe of test indices this child claims its tests from (grading.tokens)
        self.order: dict[str, int] = {}  # each test's index, by node id
        self.claimed = -1  # the last index this child claimed
        self.module = module
        self.functions = functions
        self.protected = protected
        self.target_dir = target_dir
        # The learner's file as the tests load it, and as the learner knows it (``shown_dir``).
        self.learner_file = os.path.realpath(target_dir / f"{module}.py")
        shown = (shown_dir or target_dir).resolve() / f"{module}.py"
        self.shown_as = str(shown.relative_to(Path.cwd()) if shown.is_relative_to(Path.cwd()) else shown)
        self.cases: dict[str, list[tuple]] = {}
        self.integrity: Integrity | None = None
        self.any_failed = False
        self.not_imported = ""  # why the learner's module could not be imported
        self.last_call = LastCall()  # the running test's last call of the learner's function

    def send(self, event: protocol.Event) -> None:
        view = memoryview(protocol.encode(event))
        while view:
            view = view[os.write(self.fd, view):]

    # -- before collection: load everything trusted, then guard, then load the learner's module --
    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Take the integrity snapshot and install the sandbox before any learner code runs.

        After every plugin's ``pytest_configure`` (plugins may patch pytest then: hypothesis
        does) and before collection, which may touch the learner's module in some pytest releases.
        """
        target.set_target(self.target_dir)
        target.load_reference()
        test_module = importlib.import_module(f"tests.test_{self.module}")
        self.cases = getattr(test_module, "diagnostic_cases", dict)()
        self.integrity = Integrity()
        target.callers.append(self.last_call)
        sandbox.install_audit_hook(self.protected, readable=[self.target_dir])
        try:
            target.load(self.module)
        except BaseException as e:
            said = {"module": self.module, "error": type(e).__name__, "detail": _said(e)}
            self.not_imported = shorten(
                message("{module}.py could not be imported: {error} (line {line}): {detail}",
                        line=e.lineno, **said) if isinstance(e, SyntaxError)
                else message("{module}.py could not be imported: {error}: {detail}", **said))
            self.send(protocol.Note(self.not_imported))

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Say which tests there are; run none when the module cannot be imported (each would only
        fail with the same error: the note says it once)."""
        slow = [item for item in items if item.get_closest_marker("slow")]
        self.send(protocol.Collected([_name(item) for item in items], [_name(item) for item in slow]))
        items[:] = slow + [item for item in items if item not in slow]  # the order tests are claimed in
        self.order = {item.nodeid: i for i, item in enumerate(items)}
        if self.not_imported:
            tokens.withdraw(self.queue)  # nor does any other child of the run
            for item in items:
                self.send(protocol.Finished(_name(item), Outcome.NOT_IMPORTED, prop=_doc_parts(item)[0],
                                            message=self.not_imported))
            items[:] = []

    # -- tests ------------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> bool | None:
        """Run ``item`` if this child claims it; another child of the run runs it otherwise."""
        index = self.order[item.nodeid]
        while self.claimed < index:
            claimed = tokens.claim(self.queue)
            self.claimed = len(self.order) if claimed is None else claimed  # none left: this child is done
        return None if self.claimed == index else True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        prop, hint = _doc_parts(item)
        self.last_call.clear()
        self.send(protocol.Started(_name(item), prop=prop, hint=hint))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        """Forward a test's advice (feedback that costs no points) as a note."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", Advice)
            yield
        advice = sorted({_said(w.message) for w in caught if issubclass(w.category, Advice)})
        if advice:
            self.send(protocol.Note(shorten(message("advice from {test}: {advice}", test=_name(item),
                                                   advice=advice[0]))))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and report.failed):
            self.send(self._finished(item, call, report))

    def _finished(self, item: pytest.Item, call: pytest.CallInfo,
                  report: pytest.TestReport) -> protocol.Finished:
        prop, hint = _doc_parts(item)
        name, duration = _name(item), round(report.duration, 4)
        if report.passed:
            return protocol.Finished(name, Outcome.PASSED, prop=prop, duration=duration)
        self.any_failed = True
        if call.excinfo is None:
            return protocol.Finished(name, Outcome.FAILED, prop=prop, duration=duration, hint=hint,
                                     message=message("failed"))
        leaves = _leaves(call.excinfo.value)
        outcome = _OUTCOMES.get(type(leaves[0]), Outcome.FAILED)
        first, *others = [self._failure(item, exc, shown=outcome == Outcome.FAILED)
                          for exc in leaves[:MAX_OTHERS + 1]]
        # Without a smallest input from hypothesis, the last call the test made (the one that raised,
        # or the last before the check that failed).
        tried = (shorten(self.last_call.said()) if outcome == Outcome.FAILED and not first.counterexample
                 else "")
        return protocol.Finished(name, outcome, prop=prop, duration=duration, hint=hint,
                                 message=first.message, counterexample=first.counterexample, call=tried,
                                 traceback=first.traceback, others=others,
                                 pictures=pictures_of(leaves[0]) if outcome == Outcome.FAILED else [])

    def _failure(self, item: pytest.Item, exc: BaseException, *, shown: bool) -> Failure:
        """What one failure says; its smallest input and the learner's frames only if ``shown``
        (a function not started, or one that never returns, has nothing more to tell)."""
        function = getattr(item, "originalname", item.name)
        return Failure(message=_message(exc), counterexample=_counterexample(exc, function) if shown else "",
                       traceback=learner_traceback(exc, self.learner_file, self.shown_as) if shown else "")

    # -- end: integrity and diagnosis, before pytest's own clean-up undoes its patches -------
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Report what the learner's code changed, the diagnostic fingerprints, and the end."""
        changed = self.integrity.changed() if self.integrity else []
        if changed:
            self.send(protocol.Tampered(changed[:protocol.MAX_NAMES]))
        if self.any_failed:
            try:
                self.send(protocol.Fingerprints(*self._fingerprints()))
            except BaseException as e:
                self.send(protocol.Debug(f"no diagnosis: {type(e).__name__}: {e}"))
        self.send(protocol.Done())
        os._exit(0)  # a throwaway process: pytest's own teardown would only cost time

    def _fingerprints(self) -> tuple[dict[str, list[Any]], dict[str, Any]]:
        """Each function's fingerprints and its symptom, if it shows one (see ``grading.symptoms``)."""
        module, reference = target.module(self.module), target.reference(self.module)
        prints: dict[str, list[Any]] = {}
        symptoms: dict[str, Any] = {}
        for function, cases in self.cases.items():
            try:
                fn = getattr(module, function)
            except BaseException:
                continue
            with alone(target.load(self.module), reference, [f for f in self.cases if f != function]):
                prints[function], symptom = observe(fn, getattr(reference, function, None), cases)
            if symptom is not None:
                symptoms[function] = symptom
        return prints, symptoms

