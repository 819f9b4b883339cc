"""Renderings of a :class:`~grading.model.Report`: the learner's table, JSON, Gradescope, JUnit.

A report renders itself and decides the exit code; the command line only chooses which.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from course.i18n import ENGLISH, localize, message, translate
from course.info import Exercise, load_course
from grading.model import Diagnosis, ExerciseResult, Failure, Outcome, Report, Status, TestResult
from grading.pictures import heatmap

EXIT_OK = 0
EXIT_NOT_FULL = 1  # --strict and not every point earned
EXIT_USAGE = 2
EXIT_GRADER_FAILED = 3
SHOWN_FAILURES = 3
# Characters of feedback, by where it is shown.
OUTPUT_LIMIT = 800  # one Gradescope test's output
TEXT_FEEDBACK = 700  # one failure of a test in the learner's table
FULL_FEEDBACK = 2000  # one failure of a test with --verbose, and in JUnit XML
MIN_FAILURE_ROOM = 80  # the least room one failure's message and input get, however long the hint
SUMMARY_LIMIT = 1000  # Gradescope's summary of the whole run
FAILURE_MESSAGE = 200  # JUnit's one-line failure message


def exit_code(report: Report, strict: bool) -> int:
    if strict and (report.points < report.max_points or not report.complete):
        return EXIT_NOT_FULL
    return EXIT_OK


def shown_points(value: float) -> str:
    """Points as every report writes them, a row and the total alike: to 0.01, no trailing zeros."""
    return f"{round(value, 2):g}"


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 5].rstrip() + " ..."


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def localized(report: Report, lang: str) -> Report:
    """``report`` with its content (titles, properties, hints, diagnoses, notes) in ``lang``; the
    report itself when ``lang`` is English."""
    if lang == ENGLISH:
        return report
    said = copy.deepcopy(report)
    for e in said.exercises:
        e.title = translate(e.title, lang)
        e.notes = [localize(note, lang) for note in e.notes]
        e.hints = [translate(hint, lang) for hint in e.hints]
        for t in e.tests:
            t.prop, t.hint = translate(t.prop, lang), translate(t.hint, lang)
            t.message = localize(t.message, lang)
            for f in t.others:
                f.message = localize(f.message, lang)
        for d in e.diagnoses:
            d.says = localize(d.says, lang)
        if e.integrated:
            e.integrated.not_run = localize(e.integrated.not_run, lang)
    return said


def test_feedback(t: TestResult, limit: int = OUTPUT_LIMIT, lang: str = ENGLISH, *,
                  tracebacks: bool = False) -> str:
    """What broke, on which input, and a hint: a few short lines within about ``limit`` characters.

    The hint is whole (a test's hint is at most MAX_SENTENCE characters); each distinct failure
    (hypothesis may find several) gets an equal share of the rest, where a long counterexample is
    cut first, then the message; with ``tracebacks``, each failure's traceback follows it, its lines
    starting with "| ". ``t`` is in ``lang`` already (see :func:`localized`); ``lang`` is for the
    words around it.
    """
    hint = message("hint: {hint}", lang, hint=t.hint) if t.hint else ""
    failures = t.failures
    room = max(MIN_FAILURE_ROOM, (limit - len(hint) - 1) // len(failures) - 1)
    parts = []
    for k, f in enumerate(failures, start=1):
        said = f.message or translate(t.outcome.value, lang)
        if len(failures) > 1:
            said = message("failure {number} of {count}: {message}", lang, number=k, count=len(failures),
                           message=said)
        parts.append(_said_on(said, _input(f, lang), room, lang))
        if tracebacks and f.traceback:
            parts.append(_indent(f.traceback, "| "))
    return "\n".join(part for part in (*parts, hint) if part)


def _input(f: Failure, lang: str) -> str:
    """The input a failure was found on: hypothesis's smallest one, else the call that failed, or ""."""
    if f.counterexample:
        return message("smallest failing input: {example}", lang, example=f.counterexample)
    return message("the call that failed: {call}", lang, call=f.call) if f.call else ""


def _said_on(said: str, example: str, room: int, lang: str) -> str:
    """A failure's message and the input it was found on within ``room`` characters: the input is
    cut first, down to half the room, then the message."""
    said = _cut(said, room - min(len(example), room // 2))
    example = _cut(example, room - len(said)) if example else ""
    return "\n".join(part for part in (said, example) if part)


def _start_here(e: ExerciseResult, lang: str) -> str:
    """What to do about an exercise not started (said once, not once per test)."""
    return message("Open exercises/{module}.py, read the docstrings, replace each "
                   "`raise NotImplementedError`, then run: python grader.py {id}\n"
                   "Stuck? python grader.py hint {id}", lang, module=e.module, id=e.id)


def _summary(e: ExerciseResult, lang: str) -> str:
    """One exercise whose tests are not listed: its notes, or what to do when not started."""
    if e.notes:
        return " ".join(e.notes)
    if e.status == Status.NOT_STARTED:
        return message("not started ({count} tests): {start}", lang, count=len(e.tests),
                       start=_start_here(e, lang))
    return translate(e.status.value, lang)


_COLORS = {Status.PASSED: "32", Status.FAILED: "31", Status.NOT_STARTED: "33", Status.REFUSED: "31"}


def _paint(text: str, code: str, *, color: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if color else text


def render_text(report: Report, verbose: bool = False, color: bool = False, lang: str = ENGLISH) -> str:
    """The learner's view in ``lang``: one row per exercise, then what to fix, most useful first."""
    report = localized(report, lang)
    nxt = report.next_exercise
    width = max((len(e.title) for e in report.exercises), default=10)
    out = [message("Grading {target}", lang, target=report.target), ""]
    for e in report.exercises:
        marker = "  " + message("<- next", lang) if e is nxt else ""
        word = _paint(f"{translate(e.status.value, lang):12}", _COLORS[e.status], color=color)
        scored = f"{shown_points(e.points):>5} / {shown_points(e.max_points):<4}"
        out.append(f"  {e.id}  {e.title:{width}}  {scored} {word}{marker}")
    out.append("")
    out.append(message("Total: {points} / {max_points}", lang, points=shown_points(report.points),
                       max_points=shown_points(report.max_points))
               + ("" if report.complete else "  " + message("(incomplete run)", lang)))
    following = _following(report) if nxt is None and report.complete else None
    if following is not None:
        out.append("")
        out.append(message("Every exercise graded passes. Next: {id} {title}: python grader.py {id}", lang,
                           id=following.id, title=translate(following.title, lang)))
    for e in report.exercises:
        if e.status == Status.PASSED and not e.notes and not e.integrated_differs:  # advice, or its
            continue  # integrated run, may still be worth a word
        if e.status == Status.NOT_STARTED and not verbose and e is not nxt:
            continue
        out.append("")
        out.append(_paint(f"{e.id} {e.title}: {shown_points(e.points)} / {shown_points(e.max_points)}, "
                          f"{translate(e.status.value, lang)}", "1", color=color))
        out.extend(_indent(note, "  ! ") for note in e.notes)
        if e.status == Status.NOT_STARTED:
            out.append(_indent(_start_here(e, lang), "  "))
            continue
        out.extend(_what_to_fix(e, verbose=verbose, lang=lang))
    return "\n".join(out)


def _following(report: Report) -> Exercise | None:
    """The course's first exercise after the last one ``report`` graded, if any."""
    course = load_course()
    graded = {e.id for e in report.exercises}
    last = max((k for k, e in enumerate(course) if e.id in graded), default=len(course))
    return next((e for e in course[last + 1:] if e.id not in graded), None)


def shown_failures(e: ExerciseResult, *, verbose: bool = False) -> list[TestResult]:
    """The failing tests the text report shows one by one: the first few, every one with ``verbose``."""
    failing = [t for t in e.listed_tests if t.outcome != Outcome.PASSED]
    return failing if verbose else failing[:SHOWN_FAILURES]


def whole_feedback(e: ExerciseResult) -> bool:
    """The text report shows, for some failing test, its property, a failing input (hypothesis's
    smallest, or the call that failed) and a hint."""
    return any(t.prop and t.hint and any(f.counterexample or f.call for f in t.failures)
               for t in shown_failures(e))


def _what_to_fix(e: ExerciseResult, *, verbose: bool, lang: str) -> list[str]:
    """An exercise's failing tests, diagnoses, integrated run and where to find help."""
    out = []
    failing = [t for t in e.listed_tests if t.outcome != Outcome.PASSED]
    shown = shown_failures(e, verbose=verbose)
    for t in shown:
        out.append(f"  x {t.prop or t.name}  [{t.name}, {translate(t.outcome.value, lang)}]")
        room = (FULL_FEEDBACK if verbose else TEXT_FEEDBACK) * len(t.failures)
        out.append(_indent(test_feedback(t, room, lang, tracebacks=verbose), "      "))
        out.extend(_indent(heatmap(p, lang), "      ") for p in t.pictures)
    if len(failing) > len(shown):
        out.append("  " + message("... and {count} more failing tests (--verbose shows all)", lang,
                                  count=len(failing) - len(shown)))
    out.extend("  " + diagnosis_sentence(d, lang) for d in e.diagnoses)
    integrated = integrated_sentence(e, lang)
    if integrated:
        out.append("  " + integrated)
    if e.hints and not e.diagnoses and e.status != Status.PASSED and not e.not_imported:
        out.append("  " + message("More help: python grader.py hint {id}", lang, id=e.id))
    return out


def diagnosis_sentence(d: Diagnosis, lang: str = ENGLISH) -> str:
    """What a diagnosis tells the learner: the known mistake their function behaves like, or its symptom."""
    if d.known:
        return message("Diagnosis: your {function} behaves like a known mistake: {says}", lang,
                       function=d.function, says=d.says)
    return message("Diagnosis from your {function}'s output on fixed inputs: {says}", lang,
                   function=d.function, says=d.says)


def integrated_sentence(e: ExerciseResult, lang: str = ENGLISH) -> str:
    """How the run with the learner's own earlier exercises ended, when not as the graded one ("" else)."""
    i = e.integrated
    if not e.integrated_differs or i is None:
        return ""
    if i.not_run:
        return message("Not run with your own {names}: {why}.", lang,
                       names=", ".join(i.failing_prerequisites), why=i.not_run)
    return message("With your own {names} instead of the reference's, {passed} of {total} "
                   "tests of {id} pass (the score above uses the reference's).", lang,
                   names=", ".join(i.failing_prerequisites), passed=i.passed, total=i.total, id=e.id)


def render_hint(result: ExerciseResult, shown: list[str], lang: str = ENGLISH) -> str:
    """The first of ``result``'s hints (:meth:`~grading.model.ExerciseResult.ordered_hints`) not
    in ``shown``, with the failing property it is about, or that every hint has been seen."""
    hints = result.ordered_hints()
    if not hints:
        return message("{id} has no hints.", lang, id=result.id)
    unseen = [(hint, prop) for hint, prop in hints if hint not in shown]
    if not unseen:
        return message("You have seen all {count} hints of {id}; run it again to see them from the first.",
                       lang, count=len(hints), id=result.id)
    hint, prop = unseen[0]
    out = [message("{id} {title}, hint {number} of {count}:", lang, id=result.id,
                   title=translate(result.title, lang), number=len(hints) - len(unseen) + 1,
                   count=len(hints)),
           "  " + translate(hint, lang)]
    if prop:
        out.append("  " + message("(about a property that fails now: {prop})", lang,
                                  prop=translate(prop, lang)))
    if len(unseen) > 1:
        out.append(message("(run it again for the next hint)", lang))
    return "\n".join(out)


def to_json(report: Report, lang: str = ENGLISH) -> str:
    """The engine's own schema (documented in README.md, "The JSON report"), its content in ``lang``;
    ``"next"`` names the exercise the text report names next (after a run whose every exercise
    passes, the course's next one)."""
    data = localized(report, lang).to_dict()
    following = _following(report) if data["next"] is None and report.complete else None
    if following is not None:
        data["next"] = following.id
    return json.dumps(data, indent=2, default=str)


def _repro(report: Report, lang: str) -> str:
    m = report.meta
    return message("profile {profile} (derandomised, seed {seed}), tests {tests}, Python {python}, "
                   "numpy {numpy}, hypothesis {hypothesis}", lang, profile=m.get("profile"),
                   seed=m.get("seed"), tests=m.get("tests_hash"), python=m.get("python"),
                   numpy=m.get("numpy"), hypothesis=m.get("hypothesis"))


def to_gradescope(report: Report, lang: str = ENGLISH) -> dict[str, Any]:
    """Gradescope's ``results.json`` in ``lang``: one entry per listed test (one per exercise not
    started), feedback under a few hundred characters."""
    report = localized(report, lang)
    tests: list[dict[str, Any]] = []
    for n, e in enumerate(report.exercises, start=1):
        listed = e.listed_tests
        if not listed:
            tests.append({"name": f"{e.id} {e.title}", "number": f"{n}", "score": 0.0,
                          "max_score": e.max_points, "status": "failed", "tags": [e.id],
                          "output": _cut(_summary(e, lang), OUTPUT_LIMIT), "visibility": "visible"})
            continue
        diagnoses = [message("Diagnosis: {says}", lang, says=d.says) for d in e.diagnoses]
        extra = _cut(" ".join([*e.notes, *diagnoses]), OUTPUT_LIMIT // 4)
        first_failed = next((t for t in listed if t.outcome != Outcome.PASSED), None)
        for k, t in enumerate(listed, start=1):
            passed = t.outcome == Outcome.PASSED
            output = "" if passed else test_feedback(t, lang=lang)
            if t is first_failed and extra:
                output = test_feedback(t, OUTPUT_LIMIT - len(extra) - 1, lang) + "\n" + extra
            output += _drawn(t, lang)
            tests.append({"name": f"{e.id} {t.prop or t.name}", "number": f"{n}.{k}",
                          "score": round(t.points, 4), "max_score": round(t.max_points, 4),
                          "status": "passed" if passed else "failed", "tags": [e.id],
                          "output": output, "visibility": "visible"})
    summary = message("{points} / {max_points} points. ", lang, points=shown_points(report.points),
                      max_points=shown_points(report.max_points)) + (
        "" if report.complete else message("The run stopped early: exercises not graded score 0. ", lang))
    return {
        "score": report.points,
        "execution_time": int(report.meta.get("seconds", 0)),
        "output": _cut(summary + message("Reproducible with {how}.", lang, how=_repro(report, lang)),
                       SUMMARY_LIMIT),
        "output_format": "text",
        "test_output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def _drawn(t: TestResult, lang: str) -> str:
    """A failed test's pictures as the text report draws them, each after a blank line (the
    feedback's limit leaves them out: a picture is small by construction, see MAX_PICTURE_*)."""
    return "".join("\n\n" + heatmap(p, lang) for p in t.pictures)


def to_junit(report: Report, lang: str = ENGLISH) -> str:
    """JUnit XML in ``lang``: one testsuite per exercise, one testcase per listed test (one if none is)."""
    report = localized(report, lang)
    root = ET.Element("testsuites", name="transformer-course")
    for e in report.exercises:
        cases = e.listed_tests or [TestResult(name=e.module, outcome=Outcome.NOT_RUN,
                                              message=_summary(e, lang))]
        failures = sum(t.outcome != Outcome.PASSED for t in cases)
        suite = ET.SubElement(root, "testsuite", name=f"{e.id} {e.title}", tests=str(len(cases)),
                              failures=str(failures), errors="0", skipped="0", time=f"{e.duration:.3f}")
        props = ET.SubElement(suite, "properties")
        for key in ("tests_hash", "profile", "python", "numpy", "hypothesis"):
            ET.SubElement(props, "property", name=key, value=str(report.meta.get(key, "")))
        ET.SubElement(props, "property", name="points",
                      value=f"{shown_points(e.points)}/{shown_points(e.max_points)}")
        for t in cases:
            case = ET.SubElement(suite, "testcase", classname=e.module, name=t.name, time=f"{t.duration:.3f}")
            if t.outcome != Outcome.PASSED:
                fail = ET.SubElement(case, "failure",  # attributes in this order: message, type
                                     message=_cut(t.message or translate(t.outcome.value, lang),
                                                  FAILURE_MESSAGE),
                                     type=t.outcome.value)
                fail.text = test_feedback(t, FULL_FEEDBACK * len(t.failures), lang) + _drawn(t, lang)
    root.set("tests", str(len(root.findall(".//testcase"))))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` so that a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
