"""Check an exercise from a Jupyter or Colab notebook: ``check("ex05")``.

``from grading.notebook import check`` then ``check("ex05")`` in a cell grades exercise 05 with the
same engine, sandbox and limits as ``python grader.py ex05``, and shows the feedback as HTML in the
notebook (as the grader's text anywhere else).

What is graded: the exercise's functions (``functions`` in ``exercises/info.toml``) that the notebook
defines, found by name in the notebook's namespace (the IPython kernel's, else the caller's globals).
When the notebook defines none of them, the target's exercise file is graded as it is. Captured from
the notebook, besides each such function's newest definition (its source, by ``inspect.getsource``),
are the names those functions use that the exercise file does not bind:

- the notebook's own functions and classes (their source, and in turn what they use; a class whose
  source IPython cannot give, as before Python 3.13, is left out: define a function instead);
- imports (written again as import lines: ``import numpy as np``, ``from math import sqrt``);
- constants of plain values (numbers, strings, booleans, None, tuples of them).

Nothing else is: a value that a cell computed (an array, a model) is not, and the grade says which
names were left out. The captured code replaces those functions in a copy of the target's exercise
file, whose imports of earlier exercises (``from .ex02_softmax import softmax``) stay as they are,
beside copies of the target's other exercise files, in a temporary folder graded as ``--target``
would be. The code runs in the grader's sandboxed child processes: an endless loop or a crash costs
a test, never the kernel. IPython is not needed to import this module.
"""

from __future__ import annotations

import ast
import inspect
import os
import shutil
import sys
import tempfile
import textwrap
import types
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from course.i18n import ENGLISH, language, localize, message, translate
from course.info import ROOT, Exercise, find_exercise, load_course
from grading.engine import Options, grade
from grading.model import ExerciseResult, Outcome, Report, Status, TestResult
from grading.pictures import picture_html
from grading.report import diagnosis_sentence, integrated_sentence, localized, render_text, shown_points

if str(ROOT) not in sys.path:  # the tests, and cells that import `exercises.exNN`, need the course root
    sys.path.insert(0, str(ROOT))

NOTEBOOK_MODULE = "__main__"  # the module of what a notebook's cells define
_PLAIN = (int, float, complex, str, bytes, bool, type(None))


# -- what the notebook defines ---------------------------------------------------------------------

@dataclass
class Captured:
    """The notebook's code for one exercise: what replaces the file's definitions, what is added."""

    functions: list[str] = field(default_factory=list)  # the exercise's functions the notebook defines
    definitions: dict[str, str] = field(default_factory=dict)  # name -> source, functions and classes
    bindings: list[str] = field(default_factory=list)  # import lines and constants
    left_out: list[str] = field(default_factory=list)  # names used that could not be captured


def _defined_in_notebook(value: Any) -> bool:
    return ((inspect.isfunction(value) or inspect.isclass(value))
            and getattr(value, "__module__", None) == NOTEBOOK_MODULE)


def _plain(value: Any) -> bool:
    return all(map(_plain, value)) if isinstance(value, tuple) else isinstance(value, _PLAIN)


def _global_names(value: Any, source: str) -> list[str]:
    """The global names a notebook function or class reads: names loaded in its source that its
    code looks up outside its locals."""
    codes = [value.__code__] if inspect.isfunction(value) else [
        v.__code__ for v in vars(value).values() if inspect.isfunction(v)]
    names: set[str] = set()
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    loaded = [n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)]
    return [n for n in dict.fromkeys(loaded) if n in names or inspect.isclass(value)]


def _import_line(name: str, value: Any) -> str | None:
    """The import that binds ``name`` to ``value`` (a module, or an object a module holds), if any."""
    if inspect.ismodule(value):
        return f"import {value.__name__}" + ("" if name == value.__name__ else f" as {name}")
    own = getattr(value, "__name__", name)
    home = getattr(value, "__module__", None) or type(value).__module__
    for module in dict.fromkeys([home, home.split(".")[0]] if isinstance(home, str) else []):
        if getattr(sys.modules.get(module), own, None) is value:
            return f"from {module} import {own}" + ("" if own == name else f" as {name}")
    return None


def _bound_names(tree: ast.Module) -> set[str]:
    """The names a module binds at its top level."""
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        else:
            bound.update(n.id for n in ast.walk(node)
                         if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return bound


def capture(e: Exercise, namespace: Mapping[str, Any], base: ast.Module) -> Captured:
    """What the notebook's ``namespace`` defines for ``e``, and what that needs that the exercise
    file ``base`` does not bind (see the module's docstring)."""
    found = Captured(functions=[n for n in e.functions if _defined_in_notebook(namespace.get(n))])
    bound, todo, seen = _bound_names(base), list(found.functions), set(found.functions)
    definitions = {d.name for d in base.body if isinstance(d, ast.FunctionDef | ast.ClassDef)}
    while todo:
        name = todo.pop(0)
        value = namespace.get(name)
        if _defined_in_notebook(value) and (name in definitions or name not in bound):
            try:
                source = textwrap.dedent(inspect.getsource(value))
            except (OSError, TypeError):  # made by exec, or a class IPython cannot give the source of
                found.left_out.append(name)
                continue
            found.definitions[name] = source
            fresh = [n for n in _global_names(value, source) if n not in seen and n in namespace]
            seen.update(fresh)
            todo.extend(fresh)
        elif name in bound or name.startswith("__"):
            continue
        elif _plain(value):
            found.bindings.append(f"{name} = {value!r}")
        elif (line := _import_line(name, value)) is not None:
            found.bindings.append(line)
        else:
            found.left_out.append(name)
    return found


def module_source(base_text: str, captured: Captured) -> str:
    """``base_text`` (an exercise file) with each definition of ``captured`` in place of the file's
    own, the others and the imports and constants after the file's last top-level import."""
    tree = ast.parse(base_text)
    lines = base_text.splitlines(keepends=True)
    edits, added = [], dict(captured.definitions)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name in added:
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            edits.append((start, node.end_lineno, added.pop(node.name).rstrip("\n") + "\n"))
    imports = [n.end_lineno for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    at = max(imports, default=tree.body[0].end_lineno if ast.get_docstring(tree) else 0)
    block = [*captured.bindings, *(s.rstrip("\n") for s in added.values())]
    if block:
        edits.append((at, at, "\n# From the notebook:\n" + "\n\n".join(block) + "\n\n"))
    for start, end, text in sorted(edits, reverse=True):
        lines[start:end] = [text]
    return "".join(lines)


# -- grading --------------------------------------------------------------------------------------

def _namespace(depth: int = 2) -> Mapping[str, Any]:
    """The notebook's namespace: the IPython kernel's when one runs, else the caller's globals."""
    ipython = sys.modules.get("IPython")  # imported by the kernel already; never imported here
    shell = ipython.get_ipython() if ipython is not None else None
    return shell.user_ns if shell is not None else sys._getframe(depth).f_globals


def _base_text(e: Exercise, target: Path) -> str:
    """The exercise file the notebook's code goes into: the target's, else (missing or not Python)
    the stub of exercises/."""
    for path in (target / e.file_name, ROOT / "exercises" / e.file_name):
        try:
            text = path.read_text()
            ast.parse(text)
            return text
        except (OSError, SyntaxError, ValueError):
            continue
    return ""


def write_target(e: Exercise, captured: Captured, target: Path, dest: Path) -> Path:
    """``dest``, laid out like exercises/: the target's exercise files, ``e``'s with the notebook's code."""
    dest.mkdir(parents=True, exist_ok=True)
    for other in load_course():
        if (target / other.file_name).is_file():
            shutil.copyfile(target / other.file_name, dest / other.file_name)
    (dest / e.file_name).write_text(module_source(_base_text(e, target), captured))
    return dest


def _graded(e: Exercise, folder: Path) -> Report:
    """``python grader.py ID --target FOLDER``'s report: the same options, limits and sandbox."""
    with warnings.catch_warnings():  # Python 3.12+ warns of fork() in a process with threads (a kernel)
        warnings.simplefilter("ignore", DeprecationWarning)
        return grade(Options(target=folder, exercises=[e]))


def check(exercise: str, *, target: str | Path = "exercises", lang: str | None = None,
          namespace: Mapping[str, Any] | None = None, directory: str | Path | None = None) -> Feedback:
    """Grade ``exercise`` (``"ex05"``, ``"05"``, ``5``) as the notebook defines it; see the module's
    docstring for what is captured. ``target``: the folder of exercise files the notebook's code is
    put among (default: exercises/), graded as it is when the notebook defines none of the exercise's
    functions; ``lang``: "en" or "ko" (default: from the locale, as the grader); ``namespace``: where
    to look for the functions (default: the notebook's); ``directory``: where to write the folder
    that is graded (default: a temporary folder, deleted after)."""
    lang = lang or language(None, os.environ)
    try:
        e = find_exercise(load_course(), str(exercise))
    except KeyError as err:
        raise ValueError(localize(err.args[0], lang)) from None
    folder = ROOT / target if str(target) in ("exercises", "solutions") else Path(target)
    captured = capture(e, _namespace() if namespace is None else namespace,
                       ast.parse(_base_text(e, folder)))
    if not captured.functions:
        return Feedback(_graded(e, folder), lang)
    with tempfile.TemporaryDirectory(prefix="notebook-check-") as tmp:
        report = _graded(e, write_target(e, captured, folder, Path(directory or tmp)))
    report.target = message("the notebook's {functions}", lang, functions=", ".join(captured.functions))
    if captured.left_out:
        report.exercises[0].notes.insert(0, message(
            "not taken from the notebook: {names} (only functions, classes, imports and plain constants "
            "are); define them inside your functions", names=", ".join(captured.left_out)))
    return Feedback(report, lang)


# -- the feedback, in the notebook -----------------------------------------------------------------

STYLE = """<style>
.course-check { line-height: 1.4; }
.course-check .passed { color: #1a7f37; }
.course-check .failed { color: #cf222e; }
.course-check pre { background: rgba(127, 127, 127, 0.1); padding: 4px 8px; margin: 2px 0 6px;
                    white-space: pre-wrap; }
.course-check summary { cursor: pointer; }
</style>"""


@dataclass
class Feedback:
    """The verdict of :func:`check`: HTML in a notebook (``_repr_html_``), the grader's text report
    elsewhere (``repr``)."""

    report: Report
    lang: str = ENGLISH

    @property
    def result(self) -> ExerciseResult:
        return self.report.exercises[0]

    @property
    def points(self) -> float:
        return self.result.points

    @property
    def passed(self) -> bool:
        return self.result.status == Status.PASSED

    def __repr__(self) -> str:
        return render_text(self.report, lang=self.lang)

    def _repr_html_(self) -> str:
        report = localized(self.report, self.lang)
        heading = message("Grading {target}", self.lang, target=report.target)
        body = [line for e in report.exercises for line in exercise_html(e, self.lang)]
        return "\n".join([STYLE, f'<div class="course-check" lang="{escape(self.lang)}">',
                          f"<p><small>{escape(heading)}</small></p>", *body, "</div>"])


def exercise_html(e: ExerciseResult, lang: str) -> list[str]:
    """One graded exercise (its content in ``lang`` already) as HTML: the verdict, the notes, each
    failing property with its smallest inputs, hint and pictures, the diagnoses, the properties that hold."""
    verdict = "passed" if e.status == Status.PASSED else "failed"
    head = (f"{e.id} {e.title}: {shown_points(e.points)} / {shown_points(e.max_points)}, "
            f"{translate(e.status.value, lang)}")
    out = [f'<h3 class="{verdict}">{escape(head)}</h3>']
    out += [f'<p class="note">&#9888; {escape(note)}</p>' for note in e.notes]
    if e.status == Status.NOT_STARTED:
        out.append("<p>" + escape(message("Not started: replace each `raise NotImplementedError` in the "
                                          "cells of {id}, run them, then check again.", lang, id=e.id))
                   + "</p>")
        return out
    failing = [t for t in e.listed_tests if t.outcome != Outcome.PASSED]
    out += [failure_html(t, lang, opened=k < SHOWN_OPEN) for k, t in enumerate(failing)]
    out += [f'<p class="diagnosis"><b>{escape(diagnosis_sentence(d, lang))}</b></p>' for d in e.diagnoses]
    if integrated := integrated_sentence(e, lang):
        out.append(f"<p>{escape(integrated)}</p>")
    holding = [t for t in e.listed_tests if t.outcome == Outcome.PASSED]
    if holding:
        said = message("{count} of {total} properties hold", lang, count=len(holding),
                       total=len(e.listed_tests))
        items = "".join(f'<li class="passed">&#10003; {escape(t.prop or t.name)}</li>' for t in holding)
        out.append(f"<details><summary>{escape(said)}</summary><ul>{items}</ul></details>")
    if failing and e.hints and not e.diagnoses:
        items = "".join(f"<li>{escape(hint)}</li>" for hint in e.hints)
        out.append(f"<details><summary>{escape(message('Hints of {id}', lang, id=e.id))}</summary>"
                   f"<ol>{items}</ol></details>")
    return out


SHOWN_OPEN = 3  # failing properties shown unfolded; the others are one click away


def failure_html(t: TestResult, lang: str, *, opened: bool) -> str:
    """A failing test as HTML: its property, each failure with its smallest input and traceback, its
    hint, its pictures (the grader's heatmaps)."""
    parts = [f"<details{' open' if opened else ''}><summary class=\"failed\">&#10007; "
             f"<b>{escape(t.prop or t.name)}</b> <small>[{escape(t.name)}, "
             f"{escape(translate(t.outcome.value, lang))}]</small></summary>"]
    for f in t.failures:
        parts.append(f"<pre>{escape(f.message or translate(t.outcome.value, lang))}</pre>")
        if f.counterexample or f.call:
            said = (message("smallest failing input", lang) if f.counterexample
                    else message("the call that failed", lang))
            parts.append(f"<div>{escape(said)}</div><pre>{escape(f.counterexample or f.call)}</pre>")
        if f.traceback:
            parts.append(f"<details><summary>{escape(message('where it broke', lang))}</summary>"
                         f"<pre>{escape(f.traceback)}</pre></details>")
    if t.hint:
        parts.append(f'<p class="hint">{escape(message("hint: {hint}", lang, hint=t.hint))}</p>')
    parts += [picture_html(p, lang) for p in t.pictures]
    return "\n".join([*parts, "</details>"])
