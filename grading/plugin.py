"""The pytest plugin that runs inside a grading child process.

It reports every test as one JSON line on a pipe the parent reads (the parent computes the grade),
guards the learner's code once the tests are loaded (:mod:`grading.sandbox`), checks afterwards
that nothing the tests rely on was monkeypatched, and runs the diagnostic inputs through the
learner's functions so the parent can name a catalogued mistake.
"""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
import types
import warnings
from pathlib import Path
from typing import Any

import pytest

from course.i18n import Message, message
from course.info import REFERENCE_PACKAGE
from grading import protocol, sandbox
from grading.model import Outcome
from grading.protocol import MAX_FIELD, MAX_TRACEBACK
from grading.symptoms import alone, observe
from tests.support import target
from tests.support.checks import Advice

WATCHED_PREFIXES = ("numpy", "pytest", "_pytest", "pluggy", "hypothesis", "tests", "grading", "course",
                    "builtins", "math", REFERENCE_PACKAGE)


def _short(text: str, limit: int = MAX_FIELD) -> str:
    """``text`` within ``limit`` characters; a :class:`Message` that fits stays one."""
    if isinstance(text, Message) and len(text) <= limit:
        return text
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 15] + " ... (cut)"


def _doc_parts(item: pytest.Item) -> tuple[str, str]:
    """(property, hint) from the test function's docstring: its first paragraph, whole, and the
    paragraph that starts with ``Hint:``."""
    doc = getattr(getattr(item, "obj", None), "__doc__", None) or ""
    paragraphs = [" ".join(line.strip() for line in p.splitlines())
                  for p in textwrap.dedent(doc).strip().split("\n\n") if p.strip()]
    prop = next((p for p in paragraphs if not p.startswith("Hint:")), item.name)
    hint = " ".join(p.removeprefix("Hint:").strip() for p in paragraphs if p.startswith("Hint:"))
    return prop, hint


def _name(item: pytest.Item) -> str:
    """The test's name; an instructor's hidden test is marked as such."""
    return item.name if item.path.name.startswith("test_ex") and item.path.parent.name == "tests" \
        else f"hidden:{item.name}"


_OUTCOMES = {target.NotStarted: Outcome.NOT_STARTED, target.DoesNotReturn: Outcome.DID_NOT_RETURN}


def _first(exc: BaseException) -> BaseException:
    """The first of several failures hypothesis found (an exception group), else ``exc`` itself."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _counterexample(exc: BaseException, function: str) -> str:
    """The smallest failing input, from the note hypothesis adds: "Falsifying example: f(...)", or
    "Failing test case: f(...)" in later releases; any wording before the call will do."""
    for note in getattr(exc, "__notes__", []):
        _, colon, call = note.partition(": ")
        if colon and call.startswith(f"{function}("):
            return _short(call)
    return ""


def _message(exc: BaseException) -> str:
    if isinstance(exc, AssertionError | target.NotStarted | target.TargetError | target.DoesNotReturn):
        if exc.args and isinstance(exc.args[0], Message):  # a test's message that can be translated
            return _short(exc.args[0])
        text = str(exc).split("\nassert ")[0]  # drop pytest's assertion introspection
        return _short(text or message("an assertion failed"))
    if isinstance(exc, MemoryError):
        return message("your code ran out of memory (MemoryError): it allocates far more than the task needs")
    if isinstance(exc, OSError) and exc.errno == 27:  # EFBIG: the file-size limit
        return message("your code printed or wrote too much output (over the grader's limit)")
    return _short(message("your code raised {error}: {detail}", error=type(exc).__name__, detail=str(exc)))


# Modules whose every attribute must stay put; elsewhere only callables and classes are watched
# (libraries keep changing state such as caches and counters in their module globals).
FROZEN_PREFIXES = ("numpy", "builtins", "math")


def _identity(value: Any) -> tuple[int, ...]:
    """What a replacement changes: the object, and for a Python function its code and defaults too
    (``f.__code__ = ...`` keeps the function's identity)."""
    if isinstance(value, types.FunctionType):
        return id(value), id(value.__code__), id(value.__defaults__), id(value.__kwdefaults__)
    return (id(value),)


def _snapshot() -> dict[tuple[str, str], tuple[int, ...]]:
    """Identity of every watched attribute of the modules the tests rely on, found through
    ``sys.modules``, so a replacement made through any alias or by any means shows."""
    seen: dict[tuple[str, str], tuple[int, ...]] = {}
    for name, mod in list(sys.modules.items()):
        if not isinstance(mod, types.ModuleType) or not name.startswith(WATCHED_PREFIXES):
            continue
        frozen = name.startswith(FROZEN_PREFIXES)
        for attr, value in list(vars(mod).items()):
            if frozen or callable(value):
                seen[(name, attr)] = _identity(value)
            if isinstance(value, type) and value.__module__ == name:
                for sub, member in list(vars(value).items()):
                    if callable(member):
                        seen[(f"{name}.{attr}", sub)] = _identity(member)
    return seen


class Integrity:
    """Remembers what the tests rely on, before any learner code runs, and names what changed since."""

    def __init__(self) -> None:
        self.before = _snapshot()

    def changed(self) -> list[str]:
        after = _snapshot()
        return sorted(f"{module}.{attr}" for (module, attr), ident in self.before.items()
                      if after.get((module, attr)) != ident)


class GradingPlugin:
    """Streams outcomes of one exercise's tests to the parent."""

    def __init__(self, fd: int, module: str, functions: list[str], protected: list[Path],
                 target_dir: Path, skip: set[str]) -> None:
        self.fd = fd
        self.skip = skip
        self.module = module
        self.functions = functions
        self.protected = protected
        self.target_dir = target_dir
        self.cases: dict[str, list[tuple]] = {}
        self.integrity: Integrity | None = None
        self.any_failed = False

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
        sandbox.install_audit_hook(self.protected, readable=[self.target_dir])
        try:
            target.load(self.module)
        except BaseException as e:
            said = {"module": self.module, "error": type(e).__name__, "detail": str(e)}
            self.send(protocol.Note(_short(
                message("{module}.py could not be imported: {error} (line {line}): {detail}",
                        line=e.lineno, **said) if isinstance(e, SyntaxError)
                else message("{module}.py could not be imported: {error}: {detail}", **said))))

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.send(protocol.Collected([_name(item) for item in items]))
        items[:] = [item for item in items if _name(item) not in self.skip]

    # -- tests ------------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        prop, hint = _doc_parts(item)
        self.send(protocol.Started(_name(item), prop=prop, hint=hint))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        """Forward a test's advice (feedback that costs no points) as a note."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", Advice)
            yield
        advice = sorted({str(w.message) for w in caught if issubclass(w.category, Advice)})
        if advice:
            self.send(protocol.Note(_short(message("advice from {test}: {advice}", test=_name(item),
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
        exc = _first(call.excinfo.value) if call.excinfo else None
        outcome = _OUTCOMES.get(type(exc), Outcome.FAILED)
        shown = exc is not None and outcome == Outcome.FAILED
        return protocol.Finished(
            name, outcome, prop=prop, duration=duration, hint=hint,
            message=_message(exc) if exc is not None else message("failed"),
            counterexample=_counterexample(exc, getattr(item, "originalname", item.name)) if shown else "",
            traceback=str(report.longrepr)[-MAX_TRACEBACK:],
        )

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

