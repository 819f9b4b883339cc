"""First-order mutants of the reference, made with mutmut's operators, for ``python dev.py mutate``.

Each mutant is one small change (an operator swapped, a number moved, an argument dropped) in one
function of one module of ``solutions/``. It is written into a copy of ``solutions/`` and graded as
the target, exactly like a catalogued mistake: the tests keep ``solutions/`` itself as their oracle.
A mutant that still earns full points *survives*; unless it is listed in ``equivalent_mutants.toml``
with the reason it cannot be told apart from the reference, it is a gap in the tests.

mutmut is an optional dependency (the ``mutate`` extra). Its operators are read from
``mutmut.mutation``, which is how mutmut drives them itself.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from catalogue.entries import CATALOGUE, SOLUTIONS, copy_solutions

EQUIVALENTS = CATALOGUE / "equivalent_mutants.toml"


@dataclass(frozen=True)
class Mutant:
    """One first-order mutant: ``before`` became ``after`` in ``function`` of ``module``."""

    module: str
    function: str
    before: str
    after: str
    source: str  # the whole mutated module
    occurrence: int = 0  # the same change made at a second place of the same function

    kind = "mistake"  # graded as a mistake: it must lose points

    @property
    def id(self) -> str:
        """Stable across edits elsewhere in the file: the function and the change, not a line number."""
        suffix = f" #{self.occurrence + 1}" if self.occurrence else ""
        return f"{self.module}:{self.function}: {self.before} -> {self.after}{suffix}"

    @property
    def name(self) -> str:
        return self.id

    def materialise(self, dest: Path) -> Path:
        """A copy of ``solutions/`` in ``dest`` whose ``module`` is this mutant."""
        copy_solutions(dest)
        (dest / f"{self.module}.py").write_text(self.source)
        return dest


def _code(lines: list[str]) -> str:
    """Lines as one line of code: stripped, without a trailing comment."""
    return " ".join(re.sub(r"\s+#[^\"']*$", "", s).strip() for s in lines) or "(nothing)"


def _changed_lines(before: str, after: str) -> tuple[str, str]:
    """The first differing lines of each text: the mutant's one-line change."""
    old, new = before.splitlines(), after.splitlines()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag != "equal":
            return _code(old[i1:i2]), _code(new[j1:j2])
    return "(nothing)", "(nothing)"


def _error_messages(module) -> set[int]:
    """The ids of every node inside the call of a ``raise``: a message is advice, never graded."""
    import libcst as cst

    return {id(n) for r in _walk(module) if isinstance(r, cst.Raise) and isinstance(r.exc, cst.Call)
            for n in _walk(r.exc)}


def _walk(node) -> Iterator:
    yield node
    for child in node.children:
        yield from _walk(child)


def mutants(module_name: str) -> list[Mutant]:
    """Every first-order mutant of ``solutions/<module_name>.py`` that the grader can judge."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper
    from mutmut.mutation.file_mutation import MutationVisitor
    from mutmut.mutation.mutators import mutation_operators
    from mutmut.mutation.pragma_handling import IgnoredCode

    code = (SOLUTIONS / f"{module_name}.py").read_text()
    visitor = MutationVisitor(mutation_operators, IgnoredCode(set(), set(), set()))
    module = MetadataWrapper(cst.parse_module(code)).visit(visitor)
    advice = _error_messages(module)
    seen: Counter[tuple[str, str, str]] = Counter()
    found = []
    for m in visitor.mutations:
        function = m.contained_by_top_level_function
        if function is None or id(m.original_node) in advice:
            continue
        source = module.deep_replace(m.original_node, m.mutated_node).code
        before, after = _changed_lines(code, source)
        key = (function.name.value, before, after)
        found.append(Mutant(module_name, key[0], before, after, source, occurrence=seen[key]))
        seen[key] += 1
    return found


def equivalents() -> dict[str, str]:
    """The reviewed equivalent mutants: id -> why no test can tell it from the reference."""
    if not EQUIVALENTS.is_file():
        return {}
    data = tomllib.loads(EQUIVALENTS.read_text())
    return {mutant: e["why"] for e in data.get("equivalent", []) for mutant in e["mutants"]}
