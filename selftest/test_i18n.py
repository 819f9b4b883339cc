"""The learner's language: Korean with ``--lang ko`` or a Korean locale, English otherwise, and the
English output exactly as it was before there was a choice.

Reports are translated when they are rendered: the engine's values stay English. The tests' own
failure messages (``softmax of scores up to 1000 has ...``) are messages too, said again in Korean;
hypothesis's counterexamples are code (a call with its arguments) and stay as they are.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import string
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from course.i18n import Message, localize, message, translate
from course.info import ROOT, find_exercise, load_course
from grading import protocol
from grading import report as rp
from grading.engine import Options, grade
from grading.model import Diagnosis, ExerciseResult, Integrated, Outcome, Report, Status
from grading.model import TestResult as Result  # not a test class
from selftest.conftest import STUBS

COURSE = load_course()
HANGUL = re.compile("[\uac00-\ud7a3]")
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,}){2,}")  # three English words in a row
NOT_WORDS = re.compile(r"`[^`]*`|\b(?:True|False|nan|inf|None)\b")  # code, and the words of printed arrays
WRONG_SOFTMAX = ("    z = np.exp(x - x.max(axis=axis, keepdims=True))  # every exponent <= 0: no overflow",
                 "    z = np.exp(x)")
WRONG_MASK = ("    return np.tril(np.ones((T, T), dtype=bool))  # (T, T)",
              "    return np.tril(np.ones((T, T), dtype=bool), k=-1)  # (T, T)")


def english_lines(text: str, report: Report) -> Iterator[str]:
    """The lines of ``text`` that hold an English sentence (three English words in a row, outside
    backticks and without Hangul), besides hypothesis's counterexamples (code)."""
    theirs = [t.counterexample for e in report.exercises for t in e.tests]
    for line in text.splitlines():
        if HANGUL.search(line) or not ENGLISH_SENTENCE.search(NOT_WORDS.sub("", line)):
            continue
        if not any(line.strip().removesuffix(" ...") in said for said in theirs):
            yield line


def _edit(path, wrong: tuple[str, str]) -> None:
    assert wrong[0] in path.read_text()
    path.write_text(path.read_text().replace(*wrong))


@pytest.fixture(scope="session")  # as `released` in test_classroom.py: built once per worker
def gradings(stubs: Report, tmp_path_factory) -> list[Report]:
    """The untouched stubs (the report the stubs' tests share); a wrong softmax and a wrong mask; a
    passing submission."""
    wrong = tmp_path_factory.mktemp("wrong") / "submission"
    shutil.copytree(ROOT / "solutions", wrong, ignore=shutil.ignore_patterns("__pycache__"))
    _edit(wrong / "ex02_softmax.py", WRONG_SOFTMAX)
    _edit(wrong / "ex06_masking.py", WRONG_MASK)
    chosen = [find_exercise(COURSE, k) for k in ("ex01", "ex02", "ex05", "ex06", "ex07")]
    return [stubs, grade(Options(target=wrong, exercises=chosen)),
            grade(Options(target=ROOT / "solutions", exercises=chosen[:2]))]


@STUBS
def test_korean_reports_hold_no_english_sentence(gradings):
    for report in gradings:
        text = rp.render_text(report, lang="ko")
        assert not list(english_lines(text, report)), text
        results = rp.to_gradescope(report, "ko")
        outputs = [results["output"], *(t[key] for t in results["tests"] for key in ("name", "output"))]
        assert not list(english_lines("\n".join(outputs), report))
        junit = ET.fromstring(rp.to_junit(report, "ko").split("?>", 1)[1])
        failures = [f.get("message", "") + "\n" + (f.text or "") for f in junit.iter("failure")]
        assert not list(english_lines("\n".join(failures), report))
        data = json.loads(rp.to_json(report, "ko"))
        assert all(HANGUL.search(e["title"]) for e in data["exercises"])
    wrong = gradings[1]
    assert any(e.diagnoses for e in wrong.exercises)  # the diagnoses were translated too
    assert rp.render_text(wrong, lang="ko").count("진단: ") == sum(len(e.diagnoses) for e in wrong.exercises)


@STUBS
def test_a_korean_rendering_leaves_the_report_english(gradings):
    wrong = gradings[1]
    before = rp.to_json(wrong)
    rp.render_text(wrong, lang="ko")
    rp.to_gradescope(wrong, "ko")
    assert rp.to_json(wrong) == before


def made_up_report() -> Report:
    """A report with every part the table shows, its text made up (no catalogue has it)."""
    failing = Result("test_finite[float32]", Outcome.FAILED, prop="softmax of huge scores is finite.",
                         message="softmax of scores up to 1000 has 1 NaN entries, at (1,)",
                         counterexample="test_finite(\n    n=1,\n)", hint="subtract the maximum first.",
                         max_points=1)
    slow = Result("test_axis", Outcome.TIMED_OUT, prop="softmax normalises the last axis.",
                      message=message("{what} during this test", what=message(
                          "timed out after {seconds} s (an endless loop, or far too slow)", seconds="2")))
    return Report(target="/submission", complete=False, meta={
        "profile": "grading", "seed": 0, "tests_hash": "0123456789abcdef", "python": "3.12", "numpy": "2",
        "hypothesis": "6"}, exercises=[
        ExerciseResult("ex01", "Lags", "ex01_lags", Status.PASSED, 2, 2,
                       tests=[Result("test_a", Outcome.PASSED, points=2, max_points=2)]),
        ExerciseResult("ex02", "Softmax", "ex02_softmax", Status.FAILED, 1, 6,
                       tests=[failing, slow, failing, failing], hints=["one hint"],
                       diagnoses=[Diagnosis("softmax", "no_max", "exp overflows: subtract the max first")]),
        ExerciseResult("ex03", "Masks", "ex03_masks", Status.NOT_STARTED, 0, 4, tests=[slow], notes=[
            message("{file} is missing from the target: copy it from exercises/", file="ex03_masks.py")]),
        ExerciseResult("ex04", "Heads", "ex04_heads", Status.FAILED, 0, 5, tests=[failing], hints=["h"],
                       integrated=Integrated(3, 9, ["ex02"])),
        ExerciseResult("ex05", "Stack", "ex05_stack", Status.FAILED, 0, 5, tests=[failing],
                       integrated=Integrated(0, 0, ["ex02", "ex04"],
                                             not_run="ex02 crashes; ex04 does not return")),
    ])


# made_up_report() as the grader rendered it before it spoke Korean.
ENGLISH_TABLE = Path(__file__).parent / "data" / "english_table.txt"
ENGLISH_SUMMARY = ("3 / 22 points. The run stopped early: exercises not graded score 0. Reproducible with "
                   "profile grading (derandomised, seed 0), tests 0123456789abcdef, Python 3.12, numpy 2, "
                   "hypothesis 6.")
ENGLISH_TIMEOUT = "timed out after 2 s (an endless loop, or far too slow) during this test"


def test_the_english_output_is_unchanged():
    report = made_up_report()
    table = ENGLISH_TABLE.read_text().removesuffix("\n")
    assert rp.render_text(report) == rp.render_text(report, lang="en") == table
    results = rp.to_gradescope(report)
    assert results["output"] == ENGLISH_SUMMARY and results["tests"][2]["output"] == ENGLISH_TIMEOUT


def test_the_grader_s_sentences_are_said_again_in_korean():
    text = rp.render_text(made_up_report(), lang="ko")
    assert "2초 안에 끝나지 않았습니다" in text and "합계: 3 / 22  (실행이 끝나지 않음)" in text
    assert "[test_axis, 시간 초과]" in text and "실패한 테스트가 1개 더 있습니다" in text
    assert "참조 구현 대신 직접 작성한 ex02을(를) 쓰면 ex04의 테스트 9개 중 3개를 통과합니다" in text


def test_content_is_translated_whole_and_never_formatted():
    hint = "y_{t-1} is the previous value"  # a placeholder-like brace in content
    said = message("hint: {hint}", "ko", hint=hint)
    assert said == "힌트: " + hint and localize(said, "en") == "hint: " + hint
    assert translate("", "ko") == "" and translate("no such sentence", "ko") == "no such sentence"
    title = COURSE[1].title
    assert HANGUL.search(translate(title, "ko")) and message("{id} {title}, hint {number} of {count}:", "ko",
                                                             id="ex02", title=title, number=1, count=2) \
        .startswith("ex02 " + translate(title, "ko"))


def test_a_message_crosses_the_pipe_with_its_template():
    note = message("{module}.py could not be imported: {error}: {detail}", module="ex02_softmax",
                   error="ImportError", detail="no module named x")
    event = protocol.decode(protocol.encode(protocol.Note(note)))
    assert isinstance(event.text, Message) and event.text == note
    assert localize(event.text, "ko").startswith("ex02_softmax.py를 import하지 못했습니다")
    for template in ("{x:>999999999}", "{x.__class__}", "{missing}", "{0}"):  # only plain {name} fields
        line = json.dumps({"event": "note", "text": {"template": template, "named": {"x": "1"}}}).encode()
        assert protocol.decode(line) == protocol.Note("")


def _grader(*args: str, lang_env: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
    proc = subprocess.run([sys.executable, str(ROOT / "grader.py"), "-q", *args], capture_output=True,
                          text=True, env={**env, "LANG": lang_env}, cwd=ROOT, timeout=300, check=True)
    return proc.stdout


def test_a_korean_locale_speaks_korean_and_lang_en_english():
    korean = _grader("ex02", lang_env="ko_KR.UTF-8")
    assert korean.startswith("채점 대상: ") and "시작 전" in korean and "<- 다음" in korean
    english = _grader("ex02", "--lang", "en", lang_env="ko_KR.UTF-8")
    assert english.startswith("Grading ") and "not started" in english and not HANGUL.search(english)
    assert _grader("ex02", lang_env="C.UTF-8") == english
    assert _grader("--lang", "ko", "ex02", lang_env="C.UTF-8") == korean


CAUGHT = [("ex02_softmax", "ignores_axis"), ("ex02_softmax", "no_max_subtraction"),
          ("ex05_qkv_attention", "mask_after_softmax"), ("ex06_masking", "diagonal_excluded"),
          ("ex07_multi_head", "mask_without_head_axis")]  # catalogued mistakes whose failures a learner meets


@pytest.fixture(scope="module")
def caught(tmp_path_factory) -> list[Report]:
    """Each mistake of CAUGHT graded alone (every failing test, not only the first)."""
    from catalogue.entries import mistakes

    chosen = [m for m in mistakes() if (m.module, m.id) in CAUGHT]
    assert len(chosen) == len(CAUGHT)
    return [grade(Options(target=m.materialise(tmp_path_factory.mktemp(m.id)),
                          exercises=[find_exercise(COURSE, m.module)])) for m in chosen]


@pytest.mark.ci_only  # grades five mistakes, every failing test of each
def test_catalogued_mistakes_are_explained_in_korean(caught):
    for report in caught:
        failed = [t for e in report.exercises for t in e.tests if t.message]
        assert failed, rp.render_text(report)
        text = rp.render_text(report, verbose=False, lang="ko")
        assert not list(english_lines(text, report)), text
        assert all(HANGUL.search(localize(t.message, "ko")) for t in failed), [t.message for t in failed]


PROSE = re.compile(r"[A-Za-z]{2,}(?: +[A-Za-z]{2,}){2,}")  # three English words (a call's arguments aside)


def _filled(template: str) -> dict[str, str]:
    return {name: f"<{name}>" for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_failure_message_of_the_tests_is_said_in_korean():
    """Every sentence tests/ can fail with (its checks, its seam, its test files) reads as Korean,
    whatever its values: Hangul, the same values, and no English sentence left."""
    import dev

    said = {text for text, path, _ in dev.grader_messages() if path.startswith("tests/")}
    assert len(said) > 300
    for template in said:
        named = _filled(template)
        korean = message(template, "ko", **named)
        assert HANGUL.search(korean), template
        assert all(value in korean for value in named.values()), (template, korean)
        assert not PROSE.search(NOT_WORDS.sub("", re.sub(r"<\w+>", "", korean))), (template, korean)
        assert message(template, **named) == template.format(**named)  # English: the template itself


def test_a_test_s_message_crosses_the_pipe_nested_and_cut_at_its_end():
    """A check's sentence names what it checked with a phrase of its own; a printed array at its end
    is cut there, so the English reads exactly as before and the Korean keeps its template."""
    import numpy as np

    from grading.plugin import shorten
    from tests.support.checks import assert_equal

    name = message("weights for scores up to {magnitude}", magnitude="1e+03")
    said = message("{name} has {count} NaN or infinite entries, at {where}", name=name, count=1, where="(1,)")
    event = protocol.decode(protocol.encode(protocol.Note(said)))
    assert event.text == said
    assert localize(event.text, "ko").startswith("최대 1e+03까지의 스코어에 대한 weights에")
    mask = np.tril(np.ones((12, 12), bool))
    with pytest.raises(AssertionError) as caught, np.printoptions(threshold=1000, linewidth=75):
        assert_equal(np.tril(mask, -1), mask, "causal_mask(12)")  # printed whole: over the limit
    long = caught.value.args[0]
    cut = shorten(long)
    assert isinstance(cut, Message) and str(cut) == long[:585] + " ... (cut)"
    assert localize(protocol.decode(protocol.encode(protocol.Note(cut))).text, "ko").endswith(" ... (잘림)")


def _command_line(*args: str, lang_env: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
    return subprocess.run([sys.executable, str(ROOT / "grader.py"), *args], capture_output=True, text=True,
                          env={**env, "LANG": lang_env}, cwd=ROOT, timeout=60)


def _prose(help_text: str) -> str:
    """``help_text`` without its usage lines, options, metavars and code: the sentences it says."""
    said = help_text.split("\n\n", 1)[1]  # the usage lines end at the first blank line
    return re.sub(r"`[^`]*`|--?[\w-]+|\{[^}]*\}|\b[A-Z_]{2,}\b", "", said)


def test_help_and_argparse_s_own_words_are_korean_and_english_unchanged():
    """``--help`` and argparse's errors speak the learner's language; English stays as argparse says it."""
    for command in ([], ["hint"], ["watch"], ["show"], ["batch"], ["batch", "merge"]):
        korean = _command_line("--lang", "ko", *command, "--help", lang_env="C.UTF-8").stdout
        assert korean.startswith("사용법: grader.py") and "위치 인자:" in korean, korean
        assert HANGUL.search(_prose(korean)) and not PROSE.search(_prose(korean)), korean
    english = _command_line("--lang", "en", "--help", lang_env="ko_KR.UTF-8").stdout
    assert english == _command_line("--help", lang_env="C.UTF-8").stdout and not HANGUL.search(english)
    assert english.startswith("usage: grader.py [-h] [--lang {en,ko}]")
    assert "\npositional arguments:\n" in english and "show this help message and exit" in english
    assert "\nGrade the Transformer exercises.\n" in english
    assert "--jobs JOBS, -j JOBS  parallel test" in english
    wrong = _command_line("--jobs", "x", lang_env="ko_KR.UTF-8")
    assert wrong.returncode == 2 and "grader.py: 오류: 인자 --jobs/-j: 잘못된 int 값: 'x'" in wrong.stderr
    wrong = _command_line("--lang", "en", "--jobs", "x", lang_env="ko_KR.UTF-8")
    assert wrong.stderr.endswith("grader.py: error: argument --jobs/-j: invalid int value: 'x'\n")


def test_argparse_speaks_korean_only_inside_the_block():
    """The global text domain and ``LANGUAGE`` that Korean argparse needs are put back after it."""
    import argparse
    import gettext

    from course.i18n import argparse_speaking

    before = gettext.textdomain(), os.environ.get("LANGUAGE")
    with argparse_speaking("ko"):
        assert argparse.ArgumentParser(prog="x").format_usage() == "사용법: x [-h]\n"
    assert (gettext.textdomain(), os.environ.get("LANGUAGE")) == before
    assert argparse.ArgumentParser(prog="x").format_usage() == "usage: x [-h]\n"
