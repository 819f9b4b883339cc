"""Reading the catalogue's files (statically, with ``ast``) and building a target from an entry."""

from __future__ import annotations

import ast
import shutil
from dataclasses import dataclass
from pathlib import Path

from course.info import ROOT

CATALOGUE = Path(__file__).resolve().parent
SOLUTIONS = ROOT / "solutions"


@dataclass(frozen=True)
class Entry:
    """One catalogued function: a mistake (``says`` set) or a correct alternative."""

    kind: str  # "mistake" or "alternative"
    module: str
    function: str
    id: str
    says: str
    source: str

    @property
    def name(self) -> str:
        return f"{self.module}:{self.function}:{self.id}"

    def materialise(self, dest: Path) -> Path:
        """A copy of ``solutions/`` in ``dest`` whose ``function`` is this entry's code."""
        dest.mkdir(parents=True, exist_ok=True)
        for f in SOLUTIONS.glob("ex*.py"):
            shutil.copy(f, dest / f.name)
        with (dest / f"{self.module}.py").open("a") as out:
            out.write(f"\n\n# --- catalogue entry {self.id}: replaces {self.function} ---\n")
            out.write(self.source + "\n")
        return dest


def _entries(kind: str) -> list[Entry]:
    entries = []
    for path in sorted((CATALOGUE / f"{kind}s").glob("ex*.py")):
        text = path.read_text()
        lines = text.splitlines()
        for node in ast.parse(text).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            for dec in node.decorator_list:
                if isinstance(dec, ast.Call) and getattr(dec.func, "id", "") == kind:
                    args = [ast.literal_eval(a) for a in dec.args]
                    if node.name != args[0]:
                        raise ValueError(f"{path}:{node.lineno}: def {node.name} is marked as {args[0]}")
                    entries.append(Entry(
                        kind=kind,
                        module=path.stem,
                        function=args[0],
                        id=args[1],
                        says=args[2] if len(args) > 2 else "",
                        source="\n".join(lines[node.lineno - 1: node.end_lineno]),
                    ))
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate {kind} ids in the catalogue")
    return entries


def mistakes() -> list[Entry]:
    return _entries("mistake")


def alternatives() -> list[Entry]:
    return _entries("alternative")
