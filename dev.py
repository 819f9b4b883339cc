"""Author-only checks and generators (rustlings' `dev check`). Not shipped to students.

    python dev.py check          the course is consistent: metadata, stubs, solutions, docstrings
    python dev.py fingerprints   regenerate grading/fingerprints.json from the mistake catalogue
    python dev.py catalogue [EX] grade every catalogue entry (or one exercise's): mistakes caught,
                                 alternatives accepted, and how many the diagnosis names
    python dev.py stub EX        write exercises/<module>.py from the solution: the same module,
                                 public bodies replaced by NotImplementedError, private helpers dropped
"""

from __future__ import annotations

import ast
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from course.info import ROOT, load_course

FINGERPRINTS = ROOT / "grading" / "fingerprints.json"


def _functions(path: Path) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(path.read_text())
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")}


def _is_stub_body(fn: ast.FunctionDef) -> bool:
    body = fn.body[1:] if ast.get_docstring(fn) else fn.body
    return (len(body) == 1 and isinstance(body[0], ast.Raise) and isinstance(body[0].exc, ast.Call)
            and getattr(body[0].exc.func, "id", "") == "NotImplementedError")


def course_problems() -> list[str]:
    """Everything that makes the course inconsistent (empty when all is well)."""
    problems = []
    course = load_course()
    known = {e.module for e in course}
    for folder in ("exercises", "solutions"):
        for f in (ROOT / folder).glob("*.py"):
            if f.stem not in known and f.name != "__init__.py":
                problems.append(f"{folder}/{f.name} is not in exercises/info.toml")
    for f in (ROOT / "tests").glob("test_*.py"):
        if f.stem.removeprefix("test_") not in known:
            problems.append(f"tests/{f.name} is not in exercises/info.toml")
    for e in course:
        stub, sol, test = ROOT / "exercises" / e.file_name, ROOT / "solutions" / e.file_name, \
            ROOT / "tests" / e.test_file
        missing = [str(p.relative_to(ROOT)) for p in (stub, sol, test) if not p.is_file()]
        if missing:
            problems.append(f"{e.id}: missing {', '.join(missing)}")
            continue
        stub_fns, sol_fns = _functions(stub), _functions(sol)
        if ast.get_docstring(ast.parse(stub.read_text())) != ast.get_docstring(ast.parse(sol.read_text())):
            problems.append(f"{e.id}: the stub's module docstring differs from the solution's")
        if sorted(stub_fns) != sorted(e.functions):
            problems.append(f"{e.id}: the stub defines {sorted(stub_fns)}, "
                            f"info.toml says {sorted(e.functions)}")
        for name in e.functions:
            s, r = stub_fns.get(name), sol_fns.get(name)
            if s is None or r is None:
                problems.append(f"{e.id}: {name} is missing from the stub or the solution")
                continue
            if ast.get_docstring(s) != ast.get_docstring(r) or ast.unparse(s.args) != ast.unparse(r.args):
                problems.append(f"{e.id}: {name} has a different signature or docstring in stub and solution")
            if not _is_stub_body(s):
                problems.append(f"{e.id}: the stub's {name} must only raise NotImplementedError")
            if not ast.get_docstring(r):
                problems.append(f"{e.id}: {name} has no docstring")
        if len(e.hints) < 1:
            problems.append(f"{e.id}: no hints in info.toml")
    return problems + readme_problems(course)


def readme_problems(course: list) -> list[str]:
    """The README's table of exercises must list info.toml's ids, titles and points, in order."""
    import re

    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| (ex\d+) \| (.+?) \| (\d+) \|$", readme, re.MULTILINE)
    wanted = [(e.id, e.title, str(int(e.points))) for e in course]
    total = f"points out of {sum(int(e.points) for e in course)};"
    problems = [] if rows == wanted else [f"README.md lists {rows}, info.toml {wanted}"]
    if total not in readme:
        problems.append(f"README.md must say '{total}'")
    return problems


def stub_source(solution: Path, exercise_id: str) -> str:
    """The stub of a solution file: public bodies raise NotImplementedError, private helpers go."""
    source = solution.read_text()
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    out, last = [], 0
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        start = (node.decorator_list[0] if node.decorator_list else node).lineno - 1
        if node.name.startswith("_"):
            out.append("".join(lines[last:start]).rstrip("\n") + "\n")
            last = node.end_lineno
            continue
        body = node.body[1] if ast.get_docstring(node) and len(node.body) > 1 else node.body[0]
        indent = " " * body.col_offset
        out.append("".join(lines[last:body.lineno - 1]))
        out.append(f'{indent}raise NotImplementedError("{exercise_id}: implement {node.name}")\n')
        last = node.end_lineno
    out.append("".join(lines[last:]))
    return "".join(out).rstrip("\n") + "\n"


def _outputs(package_dir: Path, module: str, cases: dict[str, list[tuple]]) -> dict[str, list[Any]]:
    from grading.fingerprint import fingerprint
    from grading.plugin import _call
    from tests import target

    target.set_target(package_dir)
    proxy = target.module(module)
    return {fn: [fingerprint(_call(getattr(proxy, fn), args)) for args in args_list]
            for fn, args_list in cases.items()}


def fingerprints() -> dict[str, Any]:
    """The reference's and every catalogued mistake's fingerprints on the diagnostic inputs."""
    import importlib

    from catalogue.entries import mistakes

    data: dict[str, Any] = {"reference": {}, "mistakes": []}
    cases_of: dict[str, dict[str, list[tuple]]] = {}
    for e in load_course():
        test_module = importlib.import_module(f"tests.test_{e.module}")
        cases_of[e.module] = getattr(test_module, "diagnostic_cases", dict)()
        for fn, prints in _outputs(ROOT / "solutions", e.module, cases_of[e.module]).items():
            data["reference"][f"{e.module}:{fn}"] = prints
    with tempfile.TemporaryDirectory() as tmp:
        for i, m in enumerate(mistakes()):
            directory = m.materialise(Path(tmp) / str(i))
            cases = {m.function: cases_of[m.module].get(m.function, [])}
            prints = _outputs(directory, m.module, cases)[m.function]
            data["mistakes"].append({"module": m.module, "function": m.function, "id": m.id,
                                     "says": m.says, "prints": prints})
    return data


def judge_catalogue(entries: list | None = None, jobs: int = 2) -> list[dict[str, Any]]:
    """Grade every catalogue entry with the engine: is it caught (or accepted), and diagnosed?"""
    from catalogue.entries import alternatives, mistakes
    from course.info import find_exercise
    from grading.engine import _exercise_result, load_fingerprints
    from grading.runner import Limits, Run, Scheduler

    entries = entries if entries is not None else mistakes() + alternatives()
    course = load_course()
    catalogue = load_fingerprints()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        for i, entry in enumerate(entries):
            exercise = find_exercise(course, entry.module)
            directory = entry.materialise(Path(tmp) / str(i))
            runs.append((entry, exercise, Run(key=exercise.id, module=entry.module,
                                              functions=list(exercise.functions), target_dir=directory,
                                              limits=Limits(test_seconds=20, exercise_seconds=120),
                                              protected=[ROOT / "catalogue"],
                                              fail_fast=entry.kind == "mistake")))
        Scheduler(jobs).run_all([run for _, _, run in runs])
        for entry, exercise, run in runs:
            result = _exercise_result(exercise, run, [], False, catalogue)
            full = result.points >= result.max_points - 1e-9
            rows.append({"entry": entry, "right": full if entry.kind == "alternative" else not full,
                         "diagnosed": any(d.mistake == entry.id and d.function == entry.function
                                          for d in result.diagnoses),
                         "result": result})
    return rows


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "check":
        problems = course_problems()
        for p in problems:
            print("problem:", p)
        print(f"{len(problems)} problems")
        return 1 if problems else 0
    if command == "fingerprints":
        FINGERPRINTS.write_text(json.dumps(fingerprints(), indent=1) + "\n")
        print(f"wrote {FINGERPRINTS.relative_to(ROOT)}")
        return 0
    if command == "catalogue":
        from catalogue.entries import alternatives, mistakes
        from course.info import find_exercise

        course = load_course()
        wanted = {find_exercise(course, a).module for a in argv[1:]}
        rows = judge_catalogue([e for e in mistakes() + alternatives() if not wanted or e.module in wanted])
        wrong = [r for r in rows if not r["right"]]
        for r in wrong:
            e = r["entry"]
            print(f"{'SURVIVED' if e.kind == 'mistake' else 'REJECTED'}: {e.name}")
        n_m = sum(r["entry"].kind == "mistake" for r in rows)
        caught = sum(r["right"] for r in rows if r["entry"].kind == "mistake")
        accepted = sum(r["right"] for r in rows if r["entry"].kind == "alternative")
        named = sum(r["diagnosed"] for r in rows if r["entry"].kind == "mistake")
        print(f"mistakes caught: {caught}/{n_m}; alternatives accepted: {accepted}/{len(rows) - n_m}; "
              f"mistakes named by the diagnosis: {named}/{n_m}")
        for r in rows:
            if r["entry"].kind == "mistake" and not r["diagnosed"]:
                print(f"  not named: {r['entry'].name}")
        return 1 if wrong else 0
    if command == "stub" and len(argv) == 2:
        from course.info import find_exercise

        e = find_exercise(load_course(), argv[1])
        (ROOT / "exercises" / e.file_name).write_text(stub_source(ROOT / "solutions" / e.file_name, e.id))
        print(f"wrote exercises/{e.file_name}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
