"""Author-only checks and generators (rustlings' `dev check`). Not shipped to students.

    python dev.py check          the course is consistent: metadata, stubs, solutions, docstrings
    python dev.py readme         rewrite the README's table of exercises from exercises/info.toml
    python dev.py fingerprints   regenerate grading/fingerprints.json from the mistake catalogue
    python dev.py catalogue [EX] grade every catalogue entry (or one exercise's): mistakes caught,
                                 alternatives accepted, and how many the diagnosis names
    python dev.py stub EX        write exercises/<module>.py from the solution: the same module,
                                 public bodies replaced by NotImplementedError, private helpers dropped
"""

from __future__ import annotations

import ast
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from course.info import MAX_VALIDATION, ROOT, VALIDATION, Exercise, load_course
from grading.engine import FINGERPRINTS


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
        problems += requirement_problems(e, test) + error_rule_problems(e, test, sol_fns)
    return problems + readme_problems(course) + rules_problems(course) + long_function_problems()


MAX_FUNCTION_LINES = 40
# Model code and its variants may be long (one function, one equation); the rest may not.
LONG_FUNCTIONS_ALLOWED_IN = ("solutions", "exercises", "catalogue")
# Temporary, until issue 15's tests side shortens them: "path:function".
LONG_FUNCTIONS_PENDING = frozenset({
    "tests/test_ex15_backward.py:diagnostic_cases",
    "selftest/test_parity_torch.py:test_multi_head_attention_equals_torch",
})


def long_function_problems() -> list[str]:
    """Every function over MAX_FUNCTION_LINES lines (its decorators aside), outside model code."""
    problems = []
    for f in sorted(ROOT.rglob("*.py")):
        where = f.relative_to(ROOT)
        if where.parts[0] in LONG_FUNCTIONS_ALLOWED_IN or any(p.startswith(".") or p == "site-packages"
                                                               for p in where.parts):
            continue
        for node in ast.walk(ast.parse(f.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            lines = node.end_lineno - node.lineno + 1
            if lines > MAX_FUNCTION_LINES and f"{where.as_posix()}:{node.name}" not in LONG_FUNCTIONS_PENDING:
                problems.append(f"{where}:{node.lineno}: {node.name} has {lines} lines, more than "
                                f"{MAX_FUNCTION_LINES}: split it")
    return problems


RULES = ROOT / "docs" / "API.md"


def rules_problems(course: list[Exercise]) -> list[str]:
    """Every exercise's docstring points to the rules, and the rules list the sandbox's allow-list."""
    from grading.sandbox import ALLOWED_IMPORTS

    rules = RULES.read_text()
    problems = [f"exercises/{e.file_name}: its module docstring must point to docs/API.md (the rules)"
                for e in course
                if "docs/API.md" not in (ast.get_docstring(ast.parse((ROOT / "exercises" / e.file_name)
                                                                      .read_text())) or "")]
    bullet = re.search(r"^- \*\*Imports\*\*:(.*?)(?=^- |^#)", rules, re.MULTILINE | re.DOTALL)
    listed = set(re.findall(r"`([\w.]+)`", bullet[1])) - {"course.params"} if bullet else set()
    wanted = ALLOWED_IMPORTS - {"__future__"}
    if listed != wanted:
        problems.append(f"docs/API.md's **Imports** rule must list grading/sandbox.py's ALLOWED_IMPORTS: "
                        f"missing {sorted(wanted - listed)}, extra {sorted(listed - wanted)}")
    from tests.target import CALL_SECONDS

    if f"past {CALL_SECONDS:g} s of CPU time" not in rules:
        problems.append(f"docs/API.md's rules must give the time a call may take: past {CALL_SECONDS:g} s "
                        "of CPU time (tests/target.py's CALL_SECONDS)")
    return problems


def _test_functions(test_file: Path) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(test_file.read_text())
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}


def _argument_checks(fn: ast.FunctionDef) -> list[ast.With]:
    """The ``with raises_value_error(...)`` blocks of a test function."""
    return [n for n in ast.walk(fn) if isinstance(n, ast.With) and any(
        isinstance(i.context_expr, ast.Call)
        and getattr(i.context_expr.func, "id", "") == "raises_value_error" for i in n.items)]


def requirement_problems(e: Exercise, test_file: Path) -> list[str]:
    """Every test function is in exactly one requirement, the points add up, and the argument
    checks (the tests of ValueError, in the requirement VALIDATION) carry at most MAX_VALIDATION."""
    tests = _test_functions(test_file)
    listed = [name for r in e.requirements for name in r.tests]
    problems = [f"{e.id}: {name} is in no requirement of info.toml" for name in tests if name not in listed]
    problems += [f"{e.id}: info.toml lists {name}, which tests/{e.test_file} does not define"
                 for name in listed if name not in tests]
    problems += [f"{e.id}: {name} is in more than one requirement" for name in set(listed)
                 if listed.count(name) > 1]
    total = sum(r.points for r in e.requirements)
    if abs(total - e.points) > 1e-9:
        problems.append(f"{e.id}: its requirements carry {total:g} points, the exercise {e.points:g}")
    validation = next((r for r in e.requirements if r.name == VALIDATION), None)
    if validation is not None and validation.points > MAX_VALIDATION * e.points + 1e-9:
        problems.append(f"{e.id}: '{VALIDATION}' carries {validation.points:g} of {e.points:g} points, "
                        f"more than {MAX_VALIDATION:.0%}")
    checking = {name for name, fn in tests.items() if _argument_checks(fn)}
    in_validation = set(validation.tests if validation else ())
    problems += [f"{e.id}: {name} tests a ValueError, so it belongs to '{VALIDATION}' alone"
                 for name in sorted(checking - in_validation)]
    problems += [f"{e.id}: {name} is in '{VALIDATION}' but tests no ValueError (use raises_value_error)"
                 for name in sorted(in_validation - checking)]
    return problems


def error_rule_problems(e: Exercise, test_file: Path, solution: dict[str, ast.FunctionDef]) -> list[str]:
    """A ValueError a test expects is announced in the docstring of the function it calls, with the
    argument named there too when the test names it literally: the learner reads every rule."""
    problems = []
    for test_name, fn in _test_functions(test_file).items():
        for block in _argument_checks(fn):
            called = {node.func.attr for stmt in block.body for node in ast.walk(stmt)
                      if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                      and node.func.attr in e.functions}
            names = {a.value for i in block.items for a in getattr(i.context_expr, "args", [])
                     if isinstance(a, ast.Constant) and isinstance(a.value, str)}
            for function in sorted(called):
                doc = ast.get_docstring(solution[function]) or ""
                if "ValueError" not in doc:
                    problems.append(f"{e.id}: {test_name} expects ValueError from {function}, "
                                    "whose docstring does not say when it raises one")
                missing = sorted(n for n in names if not re.search(rf"(?<!\w){re.escape(n)}(?!\w)", doc))
                if "ValueError" in doc and missing and len(missing) == len(names):
                    problems.append(f"{e.id}: {test_name} checks {', '.join(missing)} of {function}, "
                                    "which its docstring never mentions")
    return problems


def readme_row(e: Exercise) -> str:
    """The README's row of an exercise: id, title, points, and how its requirements split them."""
    split = "; ".join(f"{r.name} {r.points:g}" for r in e.requirements)
    return f"| {e.id} | {e.title} | {e.points:g} | {split} |"


def readme_problems(course: list[Exercise]) -> list[str]:
    """The README's table of exercises must be info.toml's: ids, titles, points and their split."""
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| ex\d+ \|.*\|$", readme, re.MULTILINE)
    wanted = [readme_row(e) for e in course]
    total = f"points out of {sum(int(e.points) for e in course)};"
    problems = [f"README.md's row should read: {w}" for w in wanted if w not in rows]
    if not problems and rows != wanted:
        problems.append("README.md's table of exercises is not in info.toml's order")
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
    from grading.fingerprint import fingerprints_of
    from tests import target

    target.set_target(package_dir)
    proxy = target.module(module)
    return {fn: fingerprints_of(getattr(proxy, fn), args_list) for fn, args_list in cases.items()}


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
    from grading.engine import Candidate, grade_candidates
    from grading.runner import Limits

    entries = entries if entries is not None else mistakes() + alternatives()
    course = load_course()
    with tempfile.TemporaryDirectory() as tmp:
        candidates = [Candidate(find_exercise(course, entry.module), entry.materialise(Path(tmp) / str(i)),
                                fail_fast=entry.kind == "mistake") for i, entry in enumerate(entries)]
        results = grade_candidates(candidates, Limits(test_seconds=20, exercise_seconds=120),
                                   protected=[ROOT / "catalogue"], jobs=jobs)
    rows = []
    for entry, result in zip(entries, results, strict=True):
        full = result.points >= result.max_points - 1e-9
        rows.append({"entry": entry, "right": full if entry.kind == "alternative" else not full,
                     "diagnosed": any(d.mistake == entry.id and d.function == entry.function
                                      for d in result.diagnoses),
                     "result": result})
    return rows


def catalogue_command(exercises: list[str]) -> int:
    """``dev.py catalogue [EX]``: grade the catalogue, print what it misses; 1 when it misses any."""
    from catalogue.entries import alternatives, mistakes
    from course.info import find_exercise

    course = load_course()
    wanted = {find_exercise(course, a).module for a in exercises}
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


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "check":
        problems = course_problems()
        for p in problems:
            print("problem:", p)
        print(f"{len(problems)} problems")
        return 1 if problems else 0
    if command == "readme":
        readme = ROOT / "README.md"
        rows = {e.id: readme_row(e) for e in load_course()}
        readme.write_text(re.sub(r"^\| (ex\d+) \|.*\|$", lambda m: rows.get(m[1], m[0]),
                                 readme.read_text(), flags=re.MULTILINE))
        print("rewrote the table of README.md")
        return 0
    if command == "fingerprints":
        FINGERPRINTS.write_text(json.dumps(fingerprints(), indent=1) + "\n")
        print(f"wrote {FINGERPRINTS.relative_to(ROOT)}")
        return 0
    if command == "catalogue":
        return catalogue_command(argv[1:])
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
