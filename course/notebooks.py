"""The starter notebooks, one per group of exercises, generated from exercises/ (``python dev.py
notebooks``; ``python dev.py check`` fails when one is out of date).

Each notebook holds a setup cell (on Colab it clones and installs the course first), then per
exercise: its text and formulas (markdown, LaTeX), its stubs as in exercises/ (a code cell to fill
in), and a ``check("exNN")`` cell (:mod:`grading.notebook`). Cells are stored without outputs.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from course.info import ROOT, Exercise, load_course

NOTEBOOKS = ROOT / "notebooks"
# (file stem, title, exercise ids): the course's groups, in order.
GROUPS = (
    ("01-attention", "From AR(p) to attention", ("ex01", "ex02", "ex03", "ex04", "ex05")),
    ("02-masks-and-heads", "Masks, heads and positions", ("ex06", "ex07", "ex08")),
    ("03-encoder-decoder", "The encoder and the decoder", ("ex09", "ex10", "ex11")),
    ("04-model-and-decoding", "The model and decoding", ("ex12", "ex13", "ex14")),
    ("05-training", "Training", ("ex15", "ex16")),
)
# The formula each exercise builds, in LaTeX (its module docstring says it in plain text too).
FORMULAS = {
    "ex01": r"y_t = c + \sum_{i=1}^{p} \phi_i\, y_{t-i} + \varepsilon_t",
    "ex02": r"\mathrm{softmax}(x)_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}}, \quad"
            r" \log\mathrm{softmax}(x)_i = x_i - m - \log \sum_j e^{x_j - m}, \quad m = \max_j x_j",
    "ex03": r"s_t = q \cdot k_t \ \text{or}\ s_t = v \cdot \tanh(q W_q + k_t W_k), \quad"
            r" \alpha = \mathrm{softmax}(s), \quad c = \sum_t \alpha_t v_t",
    "ex04": r"W = \mathrm{softmax}(X X^\top), \quad \mathrm{out} = W X",
    "ex05": r"\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right) V",
    "ex06": r"\mathrm{causal}_{ij} = [\,j \le i\,], \quad \mathrm{padding}_{b0j} = [\,x_{bj} \ne"
            r" \mathrm{pad}\,]",
    "ex07": r"\mathrm{MultiHead}(x_q, x_{kv}) = \mathrm{concat}(\mathrm{head}_1, \dots,"
            r" \mathrm{head}_H)\, W_o + b_o",
    "ex08": r"PE_{pos, 2i} = \sin\!\left(pos / 10000^{2i/D}\right), \quad"
            r" PE_{pos, 2i+1} = \cos\!\left(pos / 10000^{2i/D}\right)",
    "ex09": r"\mathrm{LayerNorm}(x) = \gamma \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta, \quad"
            r" \mathrm{FFN}(x) = \max(0, x W_1 + b_1) W_2 + b_2",
    "ex10": r"x \leftarrow \mathrm{LN}_1(x + \mathrm{MultiHead}(x, x)), \quad"
            r" x \leftarrow \mathrm{LN}_2(x + \mathrm{FFN}(x))",
    "ex11": r"y \leftarrow \mathrm{LN}_1(y + \mathrm{MHA}(y, y)), \ y \leftarrow \mathrm{LN}_2(y +"
            r" \mathrm{MHA}(y, m)), \ y \leftarrow \mathrm{LN}_3(y + \mathrm{FFN}(y))",
    "ex12": r"\mathrm{logits} = \mathrm{decode}(y, \mathrm{encode}(x))\, W_{out} + b_{out}, \quad"
            r" y_{t+1} = \arg\max_v \mathrm{logits}_{t, v}",
    "ex13": r"K = [K_{cache}; k_t], \ V = [V_{cache}; v_t], \quad"
            r" \mathrm{out}_t = \mathrm{softmax}\!\left(q_t K^\top / \sqrt{d_k}\right) V",
    "ex14": r"p(x_{t+1} = v \mid x_{\le t}) = \mathrm{softmax}(\mathrm{logits}_t / \tau)_v",
    "ex15": r"y = x W + b: \ \frac{\partial L}{\partial x} = g W^\top, \ \frac{\partial L}{\partial W}"
            r" = x^\top g; \quad y = \mathrm{softmax}(x): \ \frac{\partial L}{\partial x} ="
            r" y \odot (g - \textstyle\sum g \odot y)",
    "ex16": r"\theta \leftarrow \theta - \eta\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}, \quad"
            r" \hat m = \frac{m}{1 - \beta_1^t}, \ \hat v = \frac{v}{1 - \beta_2^t}",
}
SETUP = '''\
# Run this cell first. Where the course is not installed (Colab), it installs the course folder
# COURSE_DIR (uploaded, or cloned from COURSE_REPO: the address your instructor gives).
COURSE_REPO = ""
COURSE_DIR = "learn-transformer"
import importlib.util
import os
import sys

if importlib.util.find_spec("grading") is None:
    if not os.path.isdir(COURSE_DIR):
        if not COURSE_REPO:
            raise SystemExit(f"The course is not installed and there is no folder {COURSE_DIR}: upload "
                             "it, or set COURSE_REPO above to its repository, then run this cell again.")
        !git clone --depth 1 {COURSE_REPO} {COURSE_DIR}
    %pip install --quiet -e {COURSE_DIR}  # not the notebook extra: Colab has its own kernel
    sys.path.insert(0, COURSE_DIR)

from grading.notebook import check  # check("ex05") grades the cells of ex05 as `python grader.py ex05`'''


def _cell(kind: str, cell_id: str, text: str) -> dict:
    cell = {"cell_type": kind, "id": cell_id, "metadata": {}, "source": text.splitlines(keepends=True)}
    return cell if kind == "markdown" else {**cell, "execution_count": None, "outputs": []}


def cell_source(path: Path, same_notebook: set[str]) -> str:
    """An exercise module (exercises/'s stub, or any version of it) as a notebook cell: no module
    docstring or ``__future__`` import; an earlier exercise's import is left out when that exercise
    is in the same notebook (its cell defines it), else taken from your exercises/ files."""
    text = path.read_text()
    tree = ast.parse(text)
    lines = text.splitlines()
    keep = [True] * len(lines)
    for node in tree.body:
        drop = (isinstance(node, ast.Expr) and node is tree.body[0]) or (
            isinstance(node, ast.ImportFrom) and node.module == "__future__")
        relative = isinstance(node, ast.ImportFrom) and node.level == 1
        for k in range(node.lineno - 1, node.end_lineno):
            keep[k] = not drop and not (relative and node.module in same_notebook)
        if relative and node.module not in same_notebook:
            lines[node.lineno - 1] = lines[node.lineno - 1].replace("from .", "from exercises.", 1)
    kept = "\n".join(line for line, k in zip(lines, keep, strict=True) if k)
    return re.sub(r"\n{4,}", "\n\n\n", kept.strip("\n")) + "\n"


def _about(e: Exercise) -> str:
    doc = ast.get_docstring(ast.parse((ROOT / "exercises" / e.file_name).read_text())) or ""
    paragraphs = [p for p in doc.split("\n\n")[1:] if not p.startswith("Rules of every exercise")]
    return (f"## {e.id}: {e.title} ({e.points:g} points)\n\n" + "\n\n".join(paragraphs)
            + f"\n\n$$\n{FORMULAS[e.id]}\n$$\n\nWrite {', '.join(f'`{f}`' for f in e.functions)} in the"
            " cell below (the rules of every exercise: docs/API.md), run it, then run the check.")


def notebook(stem: str, title: str, ids: tuple[str, ...], course: list[Exercise]) -> dict:
    """The starter notebook of one group, as nbformat 4 JSON."""
    chosen = [e for e in course if e.id in ids]
    intro = (f"# Learn the Transformer by building it: {title}\n\nExercises "
             f"{', '.join(e.id for e in chosen)}. Fill in each exercise's cell, run it, then run its "
             "`check` cell: it grades the functions the notebook defines with the grader's own tests"
             " and shows what fails, on which smallest input, with a hint.\n\n"
             "Generated from exercises/ by `python dev.py notebooks`: edit those files, not this one.")
    modules = {e.module for e in chosen}
    cells = [_cell("markdown", "intro", intro), _cell("code", "setup", SETUP)]
    for e in chosen:
        cells += [_cell("markdown", f"{e.id}-about", _about(e)),
                  _cell("code", f"{e.id}-code", cell_source(ROOT / "exercises" / e.file_name, modules)),
                  _cell("code", f"{e.id}-check", f'check("{e.id}")')]
    return {"cells": cells, "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}


def rendered(folder: Path = NOTEBOOKS) -> dict[Path, str]:
    """Every starter notebook's path in ``folder`` and its text, as :func:`write` writes them."""
    course = load_course()
    return {folder / f"{stem}.ipynb": json.dumps(notebook(stem, title, ids, course), indent=1,
                                                 ensure_ascii=False) + "\n"
            for stem, title, ids in GROUPS}


def write(folder: Path = NOTEBOOKS) -> list[Path]:
    """Write every starter notebook into ``folder``; the paths written."""
    folder.mkdir(exist_ok=True)
    texts = rendered(folder)
    for path, text in texts.items():
        path.write_text(text)
    return list(texts)


def stale(folder: Path = NOTEBOOKS) -> list[str]:
    """The starter notebooks in ``folder`` that are missing or differ from what exercises/ gives."""
    grouped = [i for _, _, ids in GROUPS for i in ids]
    problems = [f"{e.id} is in no notebook group of course/notebooks.py" for e in load_course()
                if e.id not in grouped]
    return problems + [f"{path.name} is out of date: run python dev.py notebooks"
                       for path, text in rendered(folder).items()
                       if not path.is_file() or path.read_text() != text]
