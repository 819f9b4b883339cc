"""Author-only checks and generators (rustlings' `dev check`). Not shipped to students.

    python dev.py check          the course is consistent: metadata, stubs, solutions, docstrings,
                                 README.md and its Korean translation, the catalogue of messages
    python dev.py messages       extract the learner-facing messages into locale/course.pot, update
                                 locale/ko/LC_MESSAGES/course.po and compile course.mo (the dev extra)
    python dev.py readme         rewrite the README's table of exercises from exercises/info.toml
    python dev.py fingerprints   regenerate grading/fingerprints.json from the mistake catalogue
    python dev.py catalogue [EX] grade every catalogue entry (or one exercise's): mistakes caught,
                                 alternatives accepted; the mistakes the diagnosis names, with every
                                 fingerprint and with their own left out; its wrong diagnoses; the
                                 mistakes shown a property, a smallest input and a hint
    python dev.py stub EX        write exercises/<module>.py from the solution: the same module,
                                 public bodies replaced by NotImplementedError, private helpers dropped
    python dev.py mutate [EX...] grade every first-order mutant of solutions/ (mutmut's operators;
                                 the `mutate` extra): the score per module and the survivors
    python dev.py mutate --changed REV
                                 the same, for the modules whose solution or tests changed since REV
    python dev.py notebooks      write the starter notebooks of notebooks/ from exercises/ (`check` fails
                                 when one is out of date)
    python dev.py freedoms       run the tests under solutions/ and record which degrees of freedom of
                                 the contract (tests/support/freedoms.py) their calls vary; `check`
                                 fails on a freedom no test varies, or when this record is out of date
"""

from __future__ import annotations

import ast
import json
import re
import sys
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

from course import notebooks
from course.i18n import DOMAIN, LOCALE_DIR, doc_parts
from course.info import INFO_FILE, MAX_VALIDATION, ROOT, VALIDATION, Exercise, load_course
from grading.engine import FINGERPRINTS


def _functions(path: Path) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(path.read_text())
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")}


def _is_stub_body(fn: ast.FunctionDef) -> bool:
    body = fn.body[1:] if ast.get_docstring(fn) else fn.body
    return (len(body) == 1 and isinstance(body[0], ast.Raise) and isinstance(body[0].exc, ast.Call)
            and getattr(body[0].exc.func, "id", "") == "NotImplementedError")


def unlisted_files(course: list[Exercise]) -> list[str]:
    """The exercise, solution and test files on disk that exercises/info.toml does not list."""
    known = {e.module for e in course}
    problems = [f"{folder}/{f.name} is not in exercises/info.toml"
                for folder in ("exercises", "solutions") for f in (ROOT / folder).glob("*.py")
                if f.stem not in known and f.name != "__init__.py"]
    tests = (ROOT / "tests").glob("test_*.py")
    return problems + [f"tests/{f.name} is not in exercises/info.toml" for f in tests
                       if f.stem.removeprefix("test_") not in known]


def exercise_problems(e: Exercise) -> list[str]:
    """What is inconsistent in one exercise: its files, stub against solution, hints and requirements."""
    stub, sol, test = ROOT / "exercises" / e.file_name, ROOT / "solutions" / e.file_name, \
        ROOT / "tests" / e.test_file
    missing = [str(p.relative_to(ROOT)) for p in (stub, sol, test) if not p.is_file()]
    if missing:
        return [f"{e.id}: missing {', '.join(missing)}"]
    problems = []
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
    return (problems + requirement_problems(e, test) + error_rule_problems(e, test, sol_fns)
            + sentence_problems(e, test))


def sentence_problems(e: Exercise, test_file: Path) -> list[str]:
    """Every test's property and hint reach the learner whole: each fits in the protocol's
    MAX_SENTENCE characters (longer ones are cut), and "Hint:" only starts a paragraph (a second
    "Hint:" line in the same paragraph would be shown inside the first hint)."""
    from grading.protocol import MAX_SENTENCE

    problems = []
    for name, fn in _test_functions(test_file).items():
        doc = ast.get_docstring(fn, clean=False) or ""
        for kind, text in zip(("property", "hint"), doc_parts(doc), strict=True):
            if len(text) > MAX_SENTENCE:
                problems.append(f"{e.id}: {name}'s {kind} has {len(text)} characters, more than "
                                f"{MAX_SENTENCE} (grading/protocol.py's MAX_SENTENCE): shorten it")
        if re.search(r"\S[ \t]*\n[ \t]*Hint:", doc):
            problems.append(f"{e.id}: {name} has a 'Hint:' line inside a paragraph: start the hint's "
                            "paragraph with 'Hint:' once, or leave a blank line before each hint")
    return problems


def course_problems() -> list[str]:
    """Everything that makes the course inconsistent (empty when all is well)."""
    course = load_course()
    problems = unlisted_files(course) + [p for e in course for p in exercise_problems(e)]
    return (problems + readme_problems(course) + rules_problems(course) + korean_problems(course)
            + mistake_mark_problems() + long_function_problems() + freedom_problems(course)
            + notebooks.stale())


FREEDOMS_SEEN = ROOT / "tests" / "freedoms_seen.json"  # written by `dev.py freedoms`, read by the check


def _freedom_inputs() -> str:
    """A digest of what decides which freedoms the tests vary: the tests and the solutions."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted([*(ROOT / "tests").rglob("*.py"), *(ROOT / "solutions").glob("*.py")]):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:20]


def record_freedoms() -> list[str]:
    """Run the curriculum's tests under solutions/, recording the freedoms each call exercises;
    write FREEDOMS_SEEN and return the listed freedoms that no test varied."""
    import os
    import subprocess

    from tests.support.freedoms import LOG_VAR, unseen

    with tempfile.TemporaryDirectory() as log:
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.support.freedoms", "-n", "2",
                        "--target", "solutions", "tests"], cwd=ROOT, env=os.environ | {LOG_VAR: log},
                       check=False, stdout=subprocess.DEVNULL)
        seen: dict[str, set[str]] = {}
        for part in Path(log).glob("*.json"):
            for key, names in json.loads(part.read_text()).items():
                seen.setdefault(key, set()).update(names)
    record = {"inputs": _freedom_inputs(), "seen": {k: sorted(v) for k, v in sorted(seen.items())}}
    FREEDOMS_SEEN.write_text(json.dumps(record, indent=1) + "\n")
    return unseen(record["seen"])


def freedoms_command() -> int:
    """``dev.py freedoms``: record which freedoms the tests vary; 1 when some listed one is not."""
    missing = record_freedoms()
    for m in missing:
        print(f"no test varies {m}")
    print(f"wrote {FREEDOMS_SEEN.relative_to(ROOT)}; {len(missing)} freedoms varied by no test")
    return 1 if missing else 0


def freedom_problems(course: list[Exercise]) -> list[str]:
    """Every contract function lists its freedoms (tests/support/freedoms.py), and some test varies
    each one (as recorded in FREEDOMS_SEEN by `dev.py freedoms`, which must be current)."""
    from tests.support.freedoms import FREEDOMS, unseen

    where = "tests/support/freedoms.py"
    problems = [f"{e.id}: {f} lists no degrees of freedom in {where}" for e in course for f in e.functions
                if f"{e.module}.{f}" not in FREEDOMS]
    record = json.loads(FREEDOMS_SEEN.read_text()) if FREEDOMS_SEEN.is_file() else {}
    if record.get("inputs") != _freedom_inputs():
        return [*problems, f"{FREEDOMS_SEEN.relative_to(ROOT)} is missing or older than the tests: "
                "run python dev.py freedoms"]
    return problems + [f"no test varies {u} ({where})" for u in unseen(record["seen"])]


MISTAKE_MARK = "# mistake:"


def mistake_mark_problems() -> list[str]:
    """Every catalogued mistake marks the line or lines where it goes wrong with a comment."""
    from catalogue.entries import mistakes

    return [f"catalogue/mistakes/{m.module}.py: {m.function} ({m.id}) marks no line with '{MISTAKE_MARK}'"
            for m in mistakes() if MISTAKE_MARK not in m.source]


MAX_FUNCTION_LINES = 40
# Model code and its variants may be long (one function, one equation); the rest may not.
LONG_FUNCTIONS_ALLOWED_IN = ("solutions", "exercises", "catalogue")


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
            if lines > MAX_FUNCTION_LINES:
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
    from tests.support.target import CALL_SECONDS

    if f"past {CALL_SECONDS:g} s of CPU time" not in rules:
        problems.append(f"docs/API.md's rules must give the time a call may take: past {CALL_SECONDS:g} s "
                        "of CPU time (tests/support/target.py's CALL_SECONDS)")
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


KOREAN_README = "README.ko.md"
KOREAN_DOCS = Path("docs") / "ko"
FENCED = re.compile(r"^```.*?^```$", re.MULTILINE | re.DOTALL)


def _section_count(markdown: str) -> int:
    """The number of ``##`` sections, headings inside fenced code blocks aside."""
    return len(re.findall(r"^## ", FENCED.sub("", markdown), re.MULTILINE))


def korean_problems(course: list[Exercise], root: Path = ROOT) -> list[str]:
    """README.ko.md keeps README.md's sections, code blocks (verbatim) and exercise points, the two
    link to each other, and docs/ko has a page for every exercise that names the exercise's file."""
    readme, korean_path = (root / "README.md").read_text(), root / KOREAN_README
    if not korean_path.is_file():
        return [f"{KOREAN_README} is missing: translate README.md into it"]
    korean = korean_path.read_text()
    problems = [f"{KOREAN_README} lacks README.md's code block {block.splitlines()[1][:60]!r}...: "
                "copy every fenced block verbatim" for block in FENCED.findall(readme) if block not in korean]
    if _section_count(korean) != _section_count(readme):
        problems.append(f"{KOREAN_README} has {_section_count(korean)} '##' sections, README.md "
                        f"{_section_count(readme)}: translate every section, one for one")
    if f"]({KOREAN_README})" not in readme or "](README.md)" not in korean:
        problems.append(f"README.md and {KOREAN_README} must link to each other")
    rows = {m[1]: (m[2], m[3]) for m in re.finditer(
        r"^\| \[?(ex\d+)\]?(?:\([^)]*\))? \|[^|]*\| ([\d.]+) \| (.*) \|$", korean, re.MULTILINE)}
    for e in course:
        page = root / KOREAN_DOCS / f"{e.id}.md"
        if not page.is_file():
            problems.append(f"{KOREAN_DOCS / page.name} is missing: one Korean page per exercise")
        elif f"exercises/{e.file_name}" not in page.read_text():
            problems.append(f"{KOREAN_DOCS / page.name} must name its file, exercises/{e.file_name}")
        points, split = rows.get(e.id, ("", ""))
        wanted = [f"{r.points:g}" for r in e.requirements]
        if points != f"{e.points:g}" or [piece.rsplit(" ", 1)[-1] for piece in split.split("; ")] != wanted:
            problems.append(f"{KOREAN_README}'s row of {e.id} must give {e.points:g} points, split "
                            f"{'; '.join(wanted)} as info.toml does")
    return problems


TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
KOREAN_PO = LOCALE_DIR / "ko" / "LC_MESSAGES" / f"{DOMAIN}.po"
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")
PERCENT = re.compile(r"%(?:\((\w+)\))?[sr]")  # argparse's placeholders: %s, %r, %(name)s


def _mistake_says(call: ast.expr) -> str:
    """The diagnosis of a ``@mistake(function, id, says)`` decorator or a ``variant(function, id,
    says, changes)`` call (positional or ``says=``)."""
    if not (isinstance(call, ast.Call) and {getattr(call.func, "id", ""), getattr(call.func, "attr", "")}
            & {"mistake", "variant"}):
        return ""
    said = [k.value for k in call.keywords if k.arg == "says"] or call.args[2:3]
    return ast.literal_eval(said[0]) if said else ""


MESSAGE_CODE = ("grader.py", "train.py", "course/*.py", "grading/*.py", "tests/*.py",  # where the grader's
                "tests/support/*.py")  # sentences and the tests' failure messages are
WORDS = ("Outcome", "Status")  # the classes of grading/model.py whose values a report shows as words


def _is_message(node: ast.AST) -> bool:
    """``node`` is a call of the marker :func:`course.i18n.message` with a literal template."""
    if not isinstance(node, ast.Call):
        return False
    return ("message" in (getattr(node.func, "id", ""), getattr(node.func, "attr", ""))
            and bool(node.args) and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str))


def grader_messages(root: Path = ROOT) -> list[tuple[str, str, int]]:
    """The grader's own sentences, as (English template, file, line): every ``message("...")`` in
    MESSAGE_CODE, the values of the WORDS enums of grading/model.py, and argparse's own words."""
    found = []
    for path in sorted({p for pattern in MESSAGE_CODE for p in root.glob(pattern)}):
        name = path.relative_to(root).as_posix()
        calls = [n for n in ast.walk(ast.parse(path.read_text())) if _is_message(n)]
        found += [(n.args[0].value, name, n.lineno) for n in sorted(calls, key=lambda n: n.lineno)]
    return found + _word_messages(root) + argparse_messages(root)


def argparse_messages(root: Path = ROOT) -> list[tuple[str, str, int]]:
    """argparse's own words, the strings of ``ARGPARSE_MESSAGES`` in course/i18n.py."""
    for node in ast.parse((root / "course" / "i18n.py").read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ARGPARSE_MESSAGES":
            return [(n.value, "course/i18n.py", n.lineno) for n in node.value.elts]
    return []


def _word_messages(root: Path) -> list[tuple[str, str, int]]:
    """The values of the WORDS enums of grading/model.py."""
    found = []
    model = root / "grading" / "model.py"
    for cls in ast.parse(model.read_text()).body:
        if isinstance(cls, ast.ClassDef) and cls.name in WORDS:
            found += [(n.value.value, "grading/model.py", n.lineno) for n in cls.body
                      if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)]
    return found


def stub_messages(stub: Path) -> list[tuple[str, int]]:
    """The text of every ``raise NotImplementedError("...")`` in ``stub``, with its line: the grader
    shows it after "... is not implemented yet:"."""
    if not stub.is_file():
        return []
    return [(node.exc.args[0].value, node.lineno) for node in ast.walk(ast.parse(stub.read_text()))
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
            and getattr(node.exc.func, "id", "") == "NotImplementedError" and node.exc.args
            and isinstance(node.exc.args[0], ast.Constant) and isinstance(node.exc.args[0].value, str)]


def course_messages(root: Path = ROOT) -> list[tuple[str, str, int]]:
    """Every learner-facing message of the course, as (English text, file, line), in course order:
    per exercise its title, hints and requirement names (info.toml), its tests' properties and
    hints (their docstrings), its stubs' ``NotImplementedError`` texts, and its catalogued mistakes'
    diagnoses; then the grader's own sentences (:func:`grader_messages`)."""
    info = root / INFO_FILE.relative_to(ROOT)
    toml_text, messages = info.read_text(), []
    toml_name = str(info.relative_to(root))

    def toml_line(text: str, after: int) -> int:
        at = toml_text.find(text, after)
        return toml_text.count("\n", 0, at if at >= 0 else after) + 1

    for e in load_course(info):
        start = toml_text.find(f'id = "{e.id}"')
        messages += [(text, toml_name, toml_line(text, start))
                     for text in (e.title, *e.hints, *(r.name for r in e.requirements))]
        test_file = root / "tests" / e.test_file
        for fn in _test_functions(test_file).values():
            for text in doc_parts(ast.get_docstring(fn, clean=False) or ""):
                if text:
                    messages.append((text, f"tests/{e.test_file}", fn.lineno))
        messages += [(text, f"exercises/{e.file_name}", line)
                     for text, line in stub_messages(root / "exercises" / e.file_name)]
        mistakes = root / "catalogue" / "mistakes" / e.file_name
        if mistakes.is_file():
            for node in ast.parse(mistakes.read_text()).body:
                calls = node.decorator_list if isinstance(node, ast.FunctionDef) else [
                    node.value] if isinstance(node, ast.Expr) else []
                messages += [(says, f"catalogue/mistakes/{e.file_name}", call.lineno)
                             for call in calls if (says := _mistake_says(call))]
    return messages + grader_messages(root)


def message_template(messages: list[tuple[str, str, int]]):  # -> babel.messages.catalog.Catalog
    """The catalogue template (``.pot``) of ``messages``: one entry per text, every place it is used."""
    from babel.messages.catalog import Catalog

    template = Catalog(project="learn-transformer", domain=DOMAIN, charset="utf-8",
                       copyright_holder="the learn-transformer authors")
    for text, path, line in messages:
        template.add(text, locations=[(path, line)])
    return template


def _translations(catalog) -> dict:
    """What gettext would find in ``catalog``: each message's translation, header and fuzzy aside."""
    return {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}


def mo_is_current(mo: Path, catalog) -> bool:
    """``mo`` holds exactly ``catalog``'s translations (its header, which names the Babel that
    wrote it, aside)."""
    from babel.messages.mofile import read_mo

    if not mo.is_file():
        return False
    with mo.open("rb") as f:
        return _translations(read_mo(f)) == _translations(catalog)


def _without_dates(po: str) -> str:
    """``po`` without the header lines that change on every run or with Babel's version."""
    return re.sub(r'^"(POT-Creation-Date|PO-Revision-Date|Generated-By): .*\n', "", po, flags=re.MULTILINE)


def write_messages() -> str:
    """Extract the messages into TEMPLATE, merge them into KOREAN_PO (translations kept, new
    messages added, removed ones obsolete) and compile its ``.mo``. Files that would change only
    by their date are left alone."""
    from babel.messages.pofile import read_po, write_po

    template = message_template(course_messages())
    if KOREAN_PO.is_file():
        with KOREAN_PO.open("rb") as f:
            korean = read_po(f, locale="ko", domain=DOMAIN)
    else:
        from babel.messages.catalog import Catalog

        korean = Catalog(locale="ko", domain=DOMAIN, project=template.project, charset="utf-8", fuzzy=False,
                         copyright_holder=template.copyright_holder, language_team="Korean",
                         last_translator="the learn-transformer authors")
    korean.update(template)
    for path, catalog in ((TEMPLATE, template), (KOREAN_PO, korean)):
        out = BytesIO()
        write_po(out, catalog, width=110, sort_output=False)
        text = out.getvalue().decode()
        if not path.is_file() or _without_dates(path.read_text()) != _without_dates(text):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    from babel.messages.mofile import write_mo

    mo = KOREAN_PO.with_suffix(".mo")
    with KOREAN_PO.open("rb") as f:
        written = read_po(f, locale="ko", domain=DOMAIN)
    if not mo_is_current(mo, written):
        with mo.open("wb") as f:
            write_mo(f, written)  # fuzzy entries left out, as gettext expects
    missing = sum(1 for m in korean if m.id and (not m.string or m.fuzzy))
    return (f"{len(template)} messages in {TEMPLATE.relative_to(ROOT)}; "
            f"{KOREAN_PO.relative_to(ROOT)} lacks {missing} translations")


# Where a test's sentence reaches the learner: the exceptions a test raises, and the argument that names
# what a check looked at. An English sentence there must be a ``message(...)`` to be translated.
FAILURES = ("AssertionError", "TargetError", "NotStarted", "DoesNotReturn", "Advice", "PermissionError",
            "ImportError", "ReleaseError")
NAMED_CHECKS = {"as_array": 1, "assert_finite": 1, "assert_close": 2, "assert_equal": 2}
# Two English words, or one that only prose uses ("column 0 of {what}"): a sentence, not code.
ENGLISH_WORDS = re.compile(r"[A-Za-z]{2,} +[A-Za-z]{2,}|(?<![\w.])(?:of|with|versus|alone|after|before|when|"
                           r"without|than)(?![\w(=])")


def _is_sentence(node: ast.expr | None) -> bool:
    """``node`` is a string or f-string whose own text holds English words (:data:`ENGLISH_WORDS`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(ENGLISH_WORDS.search(node.value))
    return isinstance(node, ast.JoinedStr) and bool(ENGLISH_WORDS.search(
        " {} ".join(v.value for v in node.values if isinstance(v, ast.Constant))))


def unmarked_messages(root: Path = ROOT) -> list[str]:
    """English sentences in the tests (and the grader's sandbox and release) that reach the learner
    without :func:`course.i18n.message`: an exception's text, an ``assert``'s message (pytest turns
    it into plain text: raise ``AssertionError(message(...))`` instead), the name given to a check."""
    problems = []
    for path in sorted({*root.glob("tests/*.py"), *root.glob("tests/support/*.py"),
                        root / "grading" / "sandbox.py", root / "grading" / "release.py"}):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assert) and node.msg is not None:
                problems.append(f"{path.relative_to(root)}:{node.lineno}: pytest turns an assert's message "
                                "into plain text: raise AssertionError(message(...)) instead")
                continue
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", "") or getattr(node.func, "attr", "")
            at = 0 if name in FAILURES else NAMED_CHECKS.get(name)
            if at is not None and len(node.args) > at and _is_sentence(node.args[at]):
                problems.append(f"{path.relative_to(root)}:{node.lineno}: an English sentence that cannot be "
                                "translated: write it message(\"... {name} ...\", name=...)")
    return problems


def _placeholders(text: str) -> list[str]:
    """The ``{name}`` placeholders of ``text`` and its ``%(name)s``/``%s`` ones (argparse's)."""
    return sorted(PLACEHOLDER.findall(text)) + sorted(f"%{m.group(0)}" for m in PERCENT.finditer(text))


def message_problems(po_path: Path = KOREAN_PO, root: Path = ROOT) -> list[str]:
    """Every message of the course has a Korean translation (not fuzzy) with the same
    ``{placeholders}``, and the ``.mo`` next to ``po_path`` is what the ``.po`` compiles to."""
    try:
        from babel.messages.pofile import read_po
    except ImportError:
        return ["the checks of locale/ need Babel: pip install -e '.[dev]'"]
    if not po_path.is_file():
        return [f"{po_path} is missing: run python dev.py messages"]
    with po_path.open("rb") as f:
        korean = read_po(f, locale="ko", domain=DOMAIN)
    name, problems, seen = po_path.name, [], set()
    for text, path, line in course_messages(root):
        if text in seen:
            continue
        seen.add(text)
        entry = korean.get(text)
        if entry is None or not entry.string or entry.fuzzy:
            problems.append(f"{name} has no Korean for {text[:60]!r} ({path}:{line}): "
                            "run python dev.py messages and translate it")
        elif (korean_names := _placeholders(entry.string)) != _placeholders(text):
            problems.append(f"{name}: the Korean of {text[:60]!r} has the placeholders {korean_names}, "
                            f"the English {_placeholders(text)}: keep the same ones")
    mo = po_path.with_suffix(".mo")
    if not mo_is_current(mo, korean):
        problems.append(f"{mo.name} is not what {name} compiles to: run python dev.py messages")
    return problems + unmarked_messages(root)


def _stub_raises(stub: Path) -> dict[str, str]:
    """The ``raise NotImplementedError(...)`` statement, as written, of each public function of a stub."""
    if not stub.is_file():
        return {}
    text = stub.read_text()
    return {name: ast.get_source_segment(text, fn.body[-1]) or "" for name, fn in _functions(stub).items()
            if _is_stub_body(fn)}


def stub_source(solution: Path, exercise_id: str, stub: Path | None = None) -> str:
    """The stub of a solution file: public bodies raise NotImplementedError, private helpers go.

    A function already stubbed in ``stub`` (the file being rewritten) keeps its ``raise`` statement
    and so its hand-written message; the others get a generic one.
    """
    source = solution.read_text()
    raises = _stub_raises(stub) if stub is not None else {}
    lines = source.splitlines(keepends=True)
    out, last = [], 0
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        start = (node.decorator_list[0] if node.decorator_list else node).lineno - 1
        if node.name.startswith("_"):  # dropped, with the blank lines after it
            out.append("".join(lines[last:start]))
            last = node.end_lineno
            while last < len(lines) and not lines[last].strip():
                last += 1
            continue
        body = node.body[1] if ast.get_docstring(node) and len(node.body) > 1 else node.body[0]
        raise_ = raises.get(node.name, f'raise NotImplementedError("{exercise_id}: implement {node.name}")')
        out.append("".join(lines[last:body.lineno - 1]))
        out.append(f"{' ' * body.col_offset}{raise_}\n")
        last = node.end_lineno
    out.append("".join(lines[last:]))
    return "".join(out).rstrip("\n") + "\n"


def _outputs(package_dir: Path, module: str, cases: dict[str, list[tuple]]) -> dict[str, list[Any]]:
    from grading.fingerprint import fingerprints_of
    from tests.support import target

    target.set_target(package_dir)
    proxy = target.module(module)
    return {fn: fingerprints_of(getattr(proxy, fn), args_list) for fn, args_list in cases.items()}


SAME_MISTAKES = ROOT / "catalogue" / "same_mistakes.toml"
SYMPTOMS_ACCEPTED = ROOT / "catalogue" / "symptoms.toml"


def _toml(path: Path) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(path.read_text()) if path.is_file() else {}


def meaning(entry: Any) -> str:
    """The id of the mistake ``entry`` is (its own, or the earlier one ``same_mistakes.toml`` names)."""
    return _toml(SAME_MISTAKES).get(entry.name, entry.id)


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
                                     "same_as": meaning(m), "says": m.says, "prints": prints})
    return data


def left_out(catalogue: dict[str, Any], entry: Any, twins: bool = False) -> dict[str, Any]:
    """``catalogue`` without ``entry``'s fingerprints, nor those of the mistakes of its function
    with the same sentence (a variant saying the same would name it for it); with ``twins``, nor
    those ``same_mistakes.toml`` lists as the same mistake in other words."""
    own = meaning(entry)
    kept = [m for m in catalogue["mistakes"] if not (
        m["module"] == entry.module and m["function"] == entry.function
        and (m["id"] == entry.id or m["says"] == entry.says or (twins and m.get("same_as") == own)))]
    return {**catalogue, "mistakes": kept}


def verdict(entry: Any, diagnoses: list[Any], accepted: dict[str, list[str]]) -> tuple[bool, list[Any]]:
    """(named, wrong ones): a diagnosis names ``entry``'s mistake (its id, its sentence, the same mistake
    per ``same_mistakes.toml``, or a symptom ``symptoms.toml`` lists for it); some diagnosis names
    anything else."""
    from grading.diagnosis import SYMPTOM

    same = _toml(SAME_MISTAKES)
    own = meaning(entry)

    def correct(d: Any) -> bool:
        if d.function != entry.function:
            return False
        if d.mistake.startswith(SYMPTOM):
            return d.mistake.removeprefix(SYMPTOM) in accepted.get(entry.name, [])
        named = f"{entry.module}:{entry.function}:{d.mistake}"
        return d.mistake == entry.id or d.says == entry.says or same.get(named, d.mistake) == own

    named = entry.kind == "mistake" and any(correct(d) for d in diagnoses)
    return named, [d for d in diagnoses if not correct(d)]


def judge_catalogue(entries: list | None = None, jobs: int = 2, *,
                    diagnosed: bool = True) -> list[dict[str, Any]]:
    """Grade every catalogue entry with the engine: is it caught (or accepted), and (``diagnosed``)
    diagnosed, with every fingerprint and with its own left out (:func:`left_out`)? A mutant says
    nothing a diagnosis could name: ``dev.py mutate`` asks only whether it is caught."""
    from catalogue.entries import alternatives, mistakes
    from course.info import find_exercise
    from grading.diagnosis import diagnose
    from grading.engine import Candidate, candidate_runs, exercise_result, load_fingerprints
    from grading.runner import Limits

    entries = entries if entries is not None else mistakes() + alternatives()
    course, catalogue = load_course(), load_fingerprints()
    accepted = _toml(SYMPTOMS_ACCEPTED)
    with tempfile.TemporaryDirectory() as tmp:
        candidates = [Candidate(find_exercise(course, entry.module), entry.materialise(Path(tmp) / str(i)),
                                fail_fast=entry.kind == "mistake") for i, entry in enumerate(entries)]
        runs = candidate_runs(candidates, Limits(test_seconds=20, exercise_seconds=120),
                              protected=[ROOT / "catalogue"], jobs=jobs)
    rows = []
    for entry, c, run in zip(entries, candidates, runs, strict=True):
        result = exercise_result(c.exercise, run, catalogue)
        full = result.points >= result.max_points - 1e-9
        row = {"entry": entry, "right": full if entry.kind == "alternative" else not full, "result": result}
        rows.append(row)
        if not diagnosed:
            continue
        for key, diagnoses in (("", result.diagnoses),
                               ("_alone", diagnose(c.exercise.module, run.fingerprints,
                                                   left_out(catalogue, entry), run.symptoms)),
                               ("_no_twin", diagnose(c.exercise.module, run.fingerprints,
                                                     left_out(catalogue, entry, twins=True), run.symptoms))):
            row[f"diagnosed{key}"], row[f"wrong{key}"] = verdict(entry, diagnoses, accepted)
    return rows


MUTATION_GOAL = 0.98  # the share of non-equivalent mutants each module's tests must kill


def changed_modules(rev: str) -> list[str]:
    """The modules whose solution or test file differs from ``rev`` (``git diff --name-only``)."""
    import subprocess

    names = subprocess.run(["git", "diff", "--name-only", rev, "--", "solutions", "tests"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    stems = {Path(n).stem.removeprefix("test_") for n in names}
    return [e.module for e in load_course() if e.module in stems]


def mutation_report(modules: list[str]) -> int:
    """Grade every mutant of ``modules``; print each module's score and its survivors."""
    try:
        from catalogue.mutants import EQUIVALENTS, equivalents, mutants
    except ImportError:
        print('dev.py mutate needs mutmut: python -m pip install -e ".[mutate]"')
        return 2
    known, below = equivalents(), []
    if not modules:
        print("no module to mutate: no solution or test file changed")
    for module in modules:
        rows = judge_catalogue(mutants(module), diagnosed=False)
        survivors = [r["entry"].id for r in rows if not r["right"]]
        real = [s for s in survivors if s not in known]
        counted = len(rows) - (len(survivors) - len(real))
        score = 1 - len(real) / counted if counted else 1.0
        print(f"{module}: {counted - len(real)}/{counted} killed ({score:.1%}); "
              f"{len(rows) - counted} equivalent, listed in {EQUIVALENTS.relative_to(ROOT)}")
        for s in real:
            print(f"  survived: {s}")
        for r in rows:
            if r["right"] and r["entry"].id in known:
                print(f"  listed as equivalent, but killed: {r['entry'].id}")
        if score < MUTATION_GOAL:
            below.append(module)
    if below:
        print(f"under {MUTATION_GOAL:.0%}: {', '.join(below)}")
    return 1 if below else 0


def mutate_command(args: list[str]) -> int:
    """``dev.py mutate [EX...]`` or ``dev.py mutate --changed REV``."""
    from course.info import find_exercise

    if args[:1] == ["--changed"] and len(args) == 2:
        return mutation_report(changed_modules(args[1]))
    course = load_course()
    wanted = [find_exercise(course, a).module for a in args]
    return mutation_report(wanted or [e.module for e in course])


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
    print(f"mistakes caught: {caught}/{n_m}; alternatives accepted: {accepted}/{len(rows) - n_m}")
    print_diagnosis_rates(rows)
    print_feedback_rate(rows)
    return 1 if wrong else 0


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({part / whole:.0%})" if whole else "0/0"


def print_diagnosis_rates(rows: list[dict[str, Any]]) -> None:
    """How often the diagnosis names the mistake made, with every fingerprint and with the entry's
    own left out; how often it says anything about a correct alternative or names another mistake."""
    made = [r for r in rows if r["entry"].kind == "mistake"]
    others = [r for r in rows if r["entry"].kind == "alternative"]
    for r in made:
        if not r["diagnosed"]:
            print(f"  not named: {r['entry'].name}")
        for key in ("", "_alone", "_no_twin"):
            for d in r[f"wrong{key}"]:
                print(f"  WRONG{key} for {r['entry'].name}: {d.function}: {d.mistake}: {d.says}")
    for r in others:
        for d in r["result"].diagnoses:
            print(f"  DIAGNOSED a correct alternative {r['entry'].name}: {d.function}: {d.mistake}")
    count = {key: sum(bool(r[key]) for r in made) for key in
             ("diagnosed", "diagnosed_alone", "diagnosed_no_twin", "wrong", "wrong_alone", "wrong_no_twin")}
    print(f"diagnosis: mistakes named with every fingerprint {_share(count['diagnosed'], len(made))}; "
          f"with their own left out {_share(count['diagnosed_alone'], len(made))}; "
          f"with their twins left out too {_share(count['diagnosed_no_twin'], len(made))}; "
          f"diagnoses on correct alternatives: {sum(bool(r['result'].diagnoses) for r in others)}"
          f"/{len(others)}; "
          f"wrong diagnoses: {count['wrong']} ({count['wrong_alone']} and {count['wrong_no_twin']} left out)")


def notebooks_command() -> int:
    for path in notebooks.write():
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


def _feedback_lacks(result: Any) -> list[str]:
    """The parts (a hint, a smallest input, a property) no failing test of ``result``'s text report has."""
    from grading.report import shown_failures

    shown = shown_failures(result)
    inputs = [f.counterexample or f.call for t in shown for f in t.failures]
    return [part for part, has in (("a hint", any(t.hint for t in shown)), ("a smallest input", any(inputs)),
                                    ("a property", any(t.prop for t in shown))) if not has]


def print_feedback_rate(rows: list[dict[str, Any]]) -> None:
    """How often a mistake's text report shows, for one failing test, a whole property sentence, a
    smallest input and a hint (``grading.report.whole_feedback``), with a diagnosis that is right or
    absent; and, for the others, which part no failing test shown has."""
    from grading.report import whole_feedback

    made = [r for r in rows if r["entry"].kind == "mistake"]
    whole = [r for r in made if whole_feedback(r["result"]) and not r["wrong"]]
    lacking = {"a hint": 0, "a smallest input": 0, "a property": 0}
    for r in (r for r in made if r not in whole):
        lacks = _feedback_lacks(r["result"])
        for part in lacks:
            lacking[part] += 1
        print(f"  feedback lacks {', '.join(lacks) or 'a test with a hint and an input'}: {r['entry'].name}")
    print(f"feedback: mistakes shown a property, a smallest input and a hint, and no wrong diagnosis: "
          f"{_share(len(whole), len(made))}; of the others, no failing test shown has "
          + ", ".join(f"{part}: {n}" for part, n in lacking.items()))


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "check":
        problems = course_problems() + message_problems()
        for p in problems:
            print("problem:", p)
        print(f"{len(problems)} problems")
        return 1 if problems else 0
    if command == "messages":
        print(write_messages())
        return 0
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
        stub = ROOT / "exercises" / e.file_name
        stub.write_text(stub_source(ROOT / "solutions" / e.file_name, e.id, stub))
        print(f"wrote exercises/{e.file_name}")
        return 0
    if command == "mutate":
        return mutate_command(argv[1:])
    if command == "freedoms":
        return freedoms_command()
    if command == "notebooks":
        return notebooks_command()
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
