"""Checks inside notebooks (grading/notebook.py, course/notebooks.py): ``check`` gives the verdict of
``grader.py`` on the same code, survives an endless loop, and a starter notebook runs end to end in a
real kernel (nbclient), once with a wrong and once with a right ex05."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from course import notebooks
from course.info import ROOT, find_exercise, load_course
from grading.model import Outcome
from grading.notebook import check

EX05 = find_exercise(load_course(), "ex05")
GROUP = next(group for group in notebooks.GROUPS if EX05.id in group[2])
# The catalogued mistake "no_scaling" of ex05, made from the reference: the scores not divided by sqrt(d_k).
SCALING = "/ math.sqrt(d_k)"


def ex05_cell(*, wrong: bool) -> str:
    """The reference's ex05 as the learner's cell of the starter notebook, or with the mistake."""
    modules = {e.module for e in load_course() if e.id in GROUP[2]}
    text = notebooks.cell_source(ROOT / "solutions" / EX05.file_name, modules)
    assert SCALING in text
    return text.replace(SCALING, "") if wrong else text


def run_cell(tmp_path: Path, source: str) -> dict[str, Any]:
    """The namespace of a notebook that ran ``source`` in one cell (after softmax, ex02's, is defined)."""
    cell = tmp_path / "cell.py"
    cell.write_text("from solutions.ex02_softmax import softmax\n" + source)
    namespace = {"__name__": "__main__"}
    exec(compile(cell.read_text(), str(cell), "exec"), namespace)
    return namespace


@pytest.mark.parametrize("wrong", [pytest.param(False, marks=pytest.mark.ci_only), True],
                         ids=["right", "wrong"])
def test_check_gives_the_verdict_of_the_grader(tmp_path: Path, wrong: bool) -> None:
    graded = tmp_path / "graded"
    feedback = check("ex05", namespace=run_cell(tmp_path, ex05_cell(wrong=wrong)), directory=graded,
                     lang="en")
    proc = subprocess.run([sys.executable, "grader.py", "ex05", "--target", str(graded), "--json", "-",
                           "--quiet", "--lang", "en"], cwd=ROOT, capture_output=True, text=True, check=True)
    expected = json.loads(proc.stdout)["exercises"][0]
    assert feedback.passed is not wrong
    assert feedback.points == expected["points"]
    assert ({t.name: t.outcome.value for t in feedback.result.tests}
            == {t["name"]: t["outcome"] for t in expected["tests"]})
    html = feedback._repr_html_()
    if wrong:
        assert "sqrt(d_k)" in " ".join(d.says for d in feedback.result.diagnoses)
        assert 'class="failed"' in html and "test_attention_matches_reference" in html
        assert "<table" in html  # the pictures of the weights
    else:
        assert 'class="passed"' in html and 'class="failed"' not in html
    assert repr(feedback).startswith("Grading the notebook's project_qkv, scaled_dot_product_attention")


@pytest.mark.ci_only
def test_an_endless_loop_costs_its_tests_not_the_notebook(tmp_path: Path) -> None:
    looping = ex05_cell(wrong=False).replace('    """Queries, keys', '    while True:\n        pass\n'
                                             '    """Queries, keys', 1)
    start = time.monotonic()
    feedback = check("ex05", namespace=run_cell(tmp_path, looping), lang="en")
    assert time.monotonic() - start < 120
    outcomes = {t.outcome for t in feedback.result.tests if t.name.startswith("test_project")}
    assert outcomes and Outcome.PASSED not in outcomes


def test_names_the_notebook_cannot_give_are_said_and_the_html_is_escaped(tmp_path: Path) -> None:
    namespace = run_cell(tmp_path, ex05_cell(wrong=False).replace(
        "return X @ W_q,", 'raise ValueError("<script>" + BIAS + made())\n    return X @ W_q,'))
    namespace["BIAS"] = object()  # a value a cell computed: not captured
    exec("def made():\n    return ''", namespace)  # a function without a source: not captured
    feedback = check("ex05", namespace=namespace, lang="en")
    html = feedback._repr_html_()
    assert "BIAS, made" in repr(feedback) and "BIAS, made" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_check_imports_and_runs_without_ipython(tmp_path: Path) -> None:
    script = ("import sys; sys.modules['IPython'] = None  # importing IPython now fails\n"
              "from grading.notebook import check\n"
              "print(check('ex02', target='solutions').passed)")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "True"


def test_a_stale_or_missing_notebook_is_a_problem(tmp_path: Path) -> None:
    assert notebooks.stale() == []
    written = notebooks.write(tmp_path)
    assert notebooks.stale(tmp_path) == []
    written[0].write_text(written[0].read_text().replace("check(", "check_(", 1))
    written[1].unlink()
    assert notebooks.stale(tmp_path) == [f"{path.name} is out of date: run python dev.py notebooks"
                                         for path in written[:2]]
    assert all(cell.get("outputs", []) == [] for cell in json.loads(written[2].read_text())["cells"])


def executed(wrong: bool) -> list[str]:
    """The HTML outputs of ex05's check cell after running the starter notebook of ex05's group in a
    python3 kernel, its ex05 cell replaced by the reference's ex05 (or its mistake)."""
    nbformat = pytest.importorskip("nbformat", reason="the notebook extra is not installed (nbformat)")
    nbclient = pytest.importorskip("nbclient", reason="the notebook extra is not installed (nbclient)")
    pytest.importorskip("ipykernel", reason="the notebook extra is not installed (ipykernel)")
    path = notebooks.NOTEBOOKS / f"{GROUP[0]}.ipynb"
    nb = nbformat.reads(notebooks.rendered()[path], as_version=4)
    for cell in nb.cells:
        if cell.get("id") == f"{EX05.id}-code":
            cell.source = ex05_cell(wrong=wrong)
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    return [output["data"]["text/html"] for cell in nb.cells if cell.get("id") == f"{EX05.id}-check"
            for output in cell.outputs if "text/html" in output.get("data", {})]


@pytest.mark.ci_only
@pytest.mark.parametrize("wrong", [False, True], ids=["right", "wrong"])
def test_a_starter_notebook_runs_end_to_end(wrong: bool) -> None:
    shown = executed(wrong)
    assert len(shown) == 1
    if wrong:
        assert 'class="failed"' in shown[0] and "test_attention_matches_reference" in shown[0]
    else:
        assert 'class="passed"' in shown[0] and 'class="failed"' not in shown[0]
