"""The values the grading engine returns. The engine never prints; reports render these."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """How one test ended."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_STARTED = "not started"  # the function still raises NotImplementedError
    NOT_IMPORTED = "not imported"  # the module could not be imported (a syntax error): not run
    TIMED_OUT = "timed out"  # the test as a whole ran past its limit (shrinking a slow failure, too)
    DID_NOT_RETURN = "did not return"  # a call of the learner's function ran past its CPU budget
    CRASHED = "crashed"  # the process died: os._exit, a signal, the memory limit
    NOT_RUN = "not run"  # the exercise's time limit or a refused module stopped it first


class Status(StrEnum):
    """How one exercise stands."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_STARTED = "not started"
    REFUSED = "refused"  # the module breaks the sandbox policy; its tests were not run


class Flag(StrEnum):
    """Something about an exercise's run that a reader of grades must know, besides its points."""

    REFUSED = "refused"  # the module breaks the sandbox policy; its tests were not run
    REACHES_GRADER = "reaches the grader"  # refused for naming the reference, the tests or the grader
    TAMPERED = "tampered"  # it changed code the grader relies on: no points
    TIMED_OUT = "timed out"  # a test has the outcome of the same name
    DID_NOT_RETURN = "did not return"
    CRASHED = "crashed"
    NOT_RUN = "not run"


OUTCOME_FLAGS = {Outcome.TIMED_OUT: Flag.TIMED_OUT, Outcome.DID_NOT_RETURN: Flag.DID_NOT_RETURN,
                 Outcome.CRASHED: Flag.CRASHED, Outcome.NOT_RUN: Flag.NOT_RUN}


@dataclass
class Failure:
    """One distinct failure of a test (hypothesis may find several in one test)."""

    message: str  # what broke, one or two lines
    counterexample: str = ""  # the smallest input hypothesis found for it
    traceback: str = ""  # the learner's frames and the error, for --verbose ("" when none is the learner's)
    call: str = ""  # without a counterexample: the test's last call of the learner's function, as code


@dataclass
class Picture:
    """A small matrix of the learner's beside the expected one, drawn when a check on it failed."""

    name: str  # what is drawn, as code: "causal_mask(4)", "weights[1, 0]"
    kind: str  # "mask" (cells are booleans) or "values" (numbers, None where not finite)
    learner: list[list[Any]]
    expected: list[list[Any]]  # the same shape
    differing: list[list[int]] = field(default_factory=list)  # [row, column] of each cell that differs
    rows: str = ""  # what the rows are: "queries", "positions"
    columns: str = ""  # what the columns are: "keys", "dimensions"


@dataclass
class TestResult:
    """One test of one exercise."""

    name: str  # the test function, with parameters: test_bad_axis[softmax]
    outcome: Outcome
    prop: str = ""  # the property it checks, in plain words (the first paragraph of its docstring)
    message: str = ""  # what broke, one or two lines
    counterexample: str = ""  # the smallest input hypothesis found
    call: str = ""  # without a counterexample: the test's last call of the learner's function, as code
    hint: str = ""  # the docstring's "Hint:" paragraph
    traceback: str = ""  # the learner's frames and the error, for --verbose ("" when none is the learner's)
    duration: float = 0.0
    points: float = 0.0
    max_points: float = 0.0
    pictures: list[Picture] = field(default_factory=list)  # the failure's matrices, when small
    others: list[Failure] = field(default_factory=list)  # further distinct failures, after the one above

    @property
    def failures(self) -> list[Failure]:
        """Every distinct failure of the test, the one its own fields hold first."""
        return [Failure(self.message, self.counterexample, self.traceback, self.call), *self.others]


@dataclass
class Diagnosis:
    """A failing function's output matched a catalogued mistake on the diagnostic inputs, or showed
    a symptom (``known`` False) that names what is wrong without one (see ``grading.diagnosis``)."""

    function: str
    mistake: str  # its id in the catalogue, or "symptom:<kind>"
    says: str  # what to tell the learner
    known: bool = True  # a catalogued mistake


@dataclass
class Integrated:
    """The exercise run with the learner's own earlier exercises instead of the reference's."""

    passed: int
    total: int
    failing_prerequisites: list[str]
    not_run: str = ""  # why it was not run, e.g. "ex02 does not return"


@dataclass
class ExerciseResult:
    """The grade of one exercise and what to tell the learner about it."""

    id: str
    title: str
    module: str
    status: Status
    points: float
    max_points: float
    tests: list[TestResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # import errors, refusals, tampering
    diagnoses: list[Diagnosis] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    integrated: Integrated | None = None
    duration: float = 0.0
    flags: set[Flag] = field(default_factory=set)  # not in the JSON report, whose schema predates it

    @property
    def not_imported(self) -> bool:
        """Its module could not be imported (a note says why), so none of its tests ran."""
        return bool(self.tests) and all(t.outcome == Outcome.NOT_IMPORTED for t in self.tests)

    @property
    def listed_tests(self) -> list[TestResult]:
        """The tests a report lists one by one: none for an exercise not started or not imported,
        whose every test would only say so (its ``tests`` still holds them, for the score)."""
        return [] if self.status == Status.NOT_STARTED or self.not_imported else self.tests

    @property
    def integrated_differs(self) -> bool:
        """The run with the learner's own earlier exercises did not end as this one did."""
        i = self.integrated
        passed = sum(t.outcome == Outcome.PASSED for t in self.tests)
        return i is not None and (bool(i.not_run) or (i.passed, i.total) != (passed, len(self.tests)))

    def ordered_hints(self) -> list[tuple[str, str]]:
        """Every hint as (hint, the failing property it is attached to, or ""): first the hints of
        the tests that fail now, in test order, then the exercise's own; each hint once."""
        failing = [(t.hint, t.prop) for t in self.tests if t.outcome == Outcome.FAILED and t.hint]
        seen: set[str] = set()
        return [(hint, prop) for hint, prop in [*failing, *((h, "") for h in self.hints)]
                if not (hint in seen or seen.add(hint))]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(replace(self, tests=self.listed_tests))
        del data["flags"]
        data["test_count"] = len(self.tests)
        return data


@dataclass
class Report:
    """A whole grading run: every exercise asked for, and what makes the run reproducible."""

    target: str
    exercises: list[ExerciseResult]
    meta: dict[str, Any]
    complete: bool = True  # False when the run stopped half way (the results so far are kept)

    @property
    def points(self) -> float:
        return round(sum(e.points for e in self.exercises), 2)

    @property
    def max_points(self) -> float:
        return round(sum(e.max_points for e in self.exercises), 2)

    @property
    def next_exercise(self) -> ExerciseResult | None:
        return next((e for e in self.exercises if e.status != Status.PASSED), None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(replace(self, exercises=[]))
        data["exercises"] = [e.to_dict() for e in self.exercises]
        data["points"] = self.points
        data["max_points"] = self.max_points
        nxt = self.next_exercise
        data["next"] = nxt.id if nxt else None
        return data
