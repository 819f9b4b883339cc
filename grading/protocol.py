"""What a grading child (:mod:`grading.plugin`) tells its parent (:mod:`grading.runner`).

The child writes one JSON line per event on a pipe; :func:`encode` and :func:`decode` are the only
code that knows the wire format. The parent does not trust the child's process (it runs the learner's
code): :func:`decode` drops what it cannot read and cuts every text to its limit below. A text that is
a :class:`~course.i18n.Message` travels as its template and values, so the parent can say it in the
learner's language.
"""

from __future__ import annotations

import json
import math
import string
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from course.i18n import Message, message
from grading.model import Failure, Outcome, Picture, TestResult

MAX_LINE = 1 << 20  # bytes of one event line the parent keeps buffering
MAX_SENTENCE = 300  # characters of a property or a hint (a test docstring's paragraph)
MAX_FIELD = 600  # characters of a message, a counterexample, a call or a note
MAX_TRACEBACK = 4000  # characters of a failed test's traceback a child sends: the end, where the error is
MAX_OTHERS = 4  # further distinct failures of one test a child sends (hypothesis may find several)
MAX_NOTES = 5  # notes one run keeps
MAX_NAMES = 5  # tampered names one run keeps
# Pictures of a failed test's matrices (see tests/support/pictures.py): how many, and how large.
MAX_PICTURES = 2
MAX_PICTURE_ROWS = 12
MAX_PICTURE_COLUMNS = 16
MAX_PICTURE_NAME = 80  # characters of what a picture shows, "weights[1, 0]"
PICTURE_KINDS = ("mask", "values")


@dataclass(frozen=True)
class Spawned:
    """The parent started a child for a run (never sent on the pipe: the parent says it to itself)."""


@dataclass(frozen=True)
class Collected:
    """The tests pytest collected, in order (the report's), and those marked ``slow``, which the
    children claim first (then the others in order), so that no core waits for a long test at the end."""

    tests: list[str]
    first: list[str] = field(default_factory=list)

    def claim_order(self) -> list[str]:
        """The tests in the order the children claim them."""
        first = [t for t in self.first if t in self.tests]
        return first + [t for t in self.tests if t not in first]


@dataclass(frozen=True)
class Started:
    """A test starts: what it checks and its hint, in case its process dies during it."""

    test: str
    prop: str = ""
    hint: str = ""


@dataclass(frozen=True)
class Finished:
    """A test ended, passed or not."""

    test: str
    outcome: Outcome
    prop: str = ""
    message: str = ""
    counterexample: str = ""
    call: str = ""
    hint: str = ""
    traceback: str = ""
    duration: float = 0.0
    others: list[Failure] = field(default_factory=list)
    pictures: list[Picture] = field(default_factory=list)

    def result(self) -> TestResult:
        """The test's result, before it is scored."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return TestResult(name=values.pop("test"), **values)


@dataclass(frozen=True)
class Note:
    """Something to tell the learner that no single test says: an import error, advice."""

    text: str


@dataclass(frozen=True)
class Tampered:
    """Attributes the tests rely on that the learner's code replaced."""

    names: list[str]


@dataclass(frozen=True)
class Fingerprints:
    """The learner's functions' outputs on the diagnostic inputs, by function."""

    values: dict[str, list[Any]] = field(default_factory=dict)
    symptoms: dict[str, Any] = field(default_factory=dict)  # by function: [kind, {name: text}]


@dataclass(frozen=True)
class Debug:
    """Why a step that costs no points went wrong (shown with ``GRADER_DEBUG=1``)."""

    text: str


@dataclass(frozen=True)
class Drawn:
    """What ``grader.py show`` drew: the learner's functions on a fixed example."""

    pictures: list[Picture] = field(default_factory=list)


@dataclass(frozen=True)
class Done:
    """The child finished every test; nothing follows. The parent says it once per run, when the
    run's last child has ended, however it ended."""


Event = Spawned | Collected | Started | Finished | Note | Tampered | Fingerprints | Debug | Drawn | Done
_KINDS: dict[str, type] = {"collected": Collected, "start": Started, "result": Finished, "note": Note,
                           "tampering": Tampered, "fingerprints": Fingerprints, "debug": Debug,
                           "drawn": Drawn, "done": Done}
_NAMES = {kind: name for name, kind in _KINDS.items()}


def _wire(value: Any) -> Any:
    """A :class:`Message` as its template and values (a value that is a message too stays one: a
    test's sentence names what it checked with a phrase of its own); anything else as it is."""
    if isinstance(value, Message):
        return {"template": value.template,
                "named": {k: _wire(v) if isinstance(v, Message) else str(v) for k, v in value.named.items()}}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _wire(getattr(value, f.name)) for f in fields(value)}
    return value


def encode(event: Event) -> bytes:
    """One line of the wire format."""
    data = {"event": _NAMES[type(event)], **{f.name: _wire(getattr(event, f.name)) for f in fields(event)}}
    return (json.dumps(data, default=str) + "\n").encode()


MAX_NESTING = 3  # messages within a message (a test's sentence, the phrase naming what it checked)


def _said(value: dict[str, Any], limit: int, depth: int = 0) -> str:
    """The message a child sent as ``{"template": ..., "named": {...}}`` (a value may be such a
    message, to MAX_NESTING levels); "" unless every field of the template is a plain ``{name}`` it
    gives a value for, and the message fits in ``limit``."""
    template, named = value.get("template"), value.get("named")
    if not (isinstance(template, str) and isinstance(named, dict) and len(template) <= limit):
        return ""
    named = {str(k): _said(v, limit, depth + 1) if isinstance(v, dict) and depth < MAX_NESTING
             else str(v)[:limit] for k, v in named.items()}
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is not None and (spec or conversion or name not in named):
            return ""
    said = message(template, **named)
    return said if len(said) <= limit else said[:limit]


def _text(data: dict[str, Any], key: str, limit: int) -> str:
    value = data.get(key, "")
    return _said(value, limit) if isinstance(value, dict) else str(value)[:limit]


def _failure(data: dict[str, Any]) -> Failure:
    return Failure(message=_text(data, "message", MAX_FIELD),
                   counterexample=_text(data, "counterexample", MAX_FIELD),
                   traceback=str(data.get("traceback", ""))[-MAX_TRACEBACK:],
                   call=_text(data, "call", MAX_FIELD))


def _finished(data: dict[str, Any]) -> Finished:
    try:
        outcome = Outcome(data.get("outcome"))
    except ValueError:
        outcome = Outcome.FAILED
    first = _failure(data)
    others = data.get("others") or []
    return Finished(
        test=str(data.get("test")), outcome=outcome, prop=_text(data, "prop", MAX_SENTENCE),
        message=first.message, counterexample=first.counterexample, call=first.call,
        hint=_text(data, "hint", MAX_SENTENCE),
        traceback=first.traceback, duration=float(data.get("duration", 0.0) or 0.0),
        others=[_failure(d) for d in others[:MAX_OTHERS] if isinstance(d, dict)],
        pictures=pictures(data.get("pictures")))


def _cell(value: Any, kind: str) -> Any:
    """A cell of a picture: a boolean of a mask, else a finite number or None."""
    if kind == "mask":
        if not isinstance(value, bool):
            raise ValueError(value)
        return value
    if value is None:
        return None
    number = float(value)  # TypeError or ValueError for anything else
    return number if math.isfinite(number) else None


def _matrix(value: Any, kind: str, shape: tuple[int, int] | None = None) -> list[list[Any]]:
    """A picture's matrix: rectangular, within the limits, of ``shape`` when given."""
    if not (isinstance(value, list) and 0 < len(value) <= MAX_PICTURE_ROWS
            and all(isinstance(row, list) and 0 < len(row) <= MAX_PICTURE_COLUMNS for row in value)):
        raise ValueError("not a small matrix")
    if len({len(row) for row in value}) != 1 or (shape and (len(value), len(value[0])) != shape):
        raise ValueError("not rectangular")
    return [[_cell(v, kind) for v in row] for row in value]


def _picture(data: Any) -> Picture:
    kind = data.get("kind")
    if kind not in PICTURE_KINDS:
        raise ValueError(kind)
    learner = _matrix(data.get("learner"), kind)
    shape = (len(learner), len(learner[0]))
    expected = _matrix(data["expected"], kind, shape) if data.get("expected") else []
    cells = {(int(i), int(j)) for i, j in data.get("differing", [])}
    return Picture(name=str(data.get("name", ""))[:MAX_PICTURE_NAME], kind=kind, learner=learner,
                   expected=expected, rows=str(data.get("rows", ""))[:MAX_PICTURE_NAME],
                   columns=str(data.get("columns", ""))[:MAX_PICTURE_NAME],
                   differing=[[i, j] for i, j in sorted(cells) if 0 <= i < shape[0] and 0 <= j < shape[1]])


def pictures(value: Any) -> list[Picture]:
    """The pictures a child sent, at most :data:`MAX_PICTURES`; one it sent wrong is dropped."""
    found = []
    for data in value[:MAX_PICTURES] if isinstance(value, list) else []:
        try:
            found.append(_picture(data))
        except (TypeError, ValueError, AttributeError, KeyError):
            continue
    return found


_DECODERS = {
    "collected": lambda d: Collected(tests=[str(t) for t in d.get("tests", [])],
                                     first=[str(t) for t in d.get("first", [])]),
    "start": lambda d: Started(test=str(d.get("test")), prop=_text(d, "prop", MAX_SENTENCE),
                               hint=_text(d, "hint", MAX_SENTENCE)),
    "result": _finished,
    "note": lambda d: Note(text=_text(d, "text", MAX_FIELD)),
    "tampering": lambda d: Tampered(names=[str(n) for n in d.get("names", [])][:MAX_NAMES]),
    "fingerprints": lambda d: Fingerprints(values=d["values"], symptoms=dict(d.get("symptoms") or {}))
    if isinstance(d.get("values"), dict) else None,
    "debug": lambda d: Debug(text=str(d.get("text"))),
    "drawn": lambda d: Drawn(pictures=pictures(d.get("pictures"))),
    "done": lambda d: Done(),
}


def decode(line: bytes) -> Event | None:
    """The event on one line, or None for a line that is not one."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    decoder = _DECODERS.get(data.get("event")) if isinstance(data, dict) else None
    if decoder is None:
        return None
    try:
        return decoder(data)
    except (TypeError, ValueError, AttributeError):
        return None
