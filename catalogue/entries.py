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
        copy_solutions(dest)
        with (dest / f"{self.module}.py").open("a") as out:
            out.write(f"\n\n# --- catalogue entry {self.id}: replaces {self.function} ---\n")
            out.write(self.source + "\n")
        return dest


def copy_solutions(dest: Path) -> Path:
    """``dest``, created, holding a copy of every module of ``solutions/``."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in SOLUTIONS.glob("ex*.py"):
        shutil.copy(f, dest / f.name)
    return dest


def _literal_args(call: ast.Call) -> list:
    return [ast.literal_eval(a) for a in call.args]


def _marked(node: ast.FunctionDef, mark: str) -> list | None:
    """The arguments of the ``@mark(...)`` decorating ``node``, or None."""
    return next((_literal_args(d) for d in node.decorator_list
                 if isinstance(d, ast.Call) and getattr(d.func, "id", "") == mark), None)


def apply_changes(base: str, changes: dict[str, str], where: str) -> str:
    """The source ``base`` with each block of lines named in ``changes`` replaced (see
    :func:`catalogue.variant`)."""
    lines = base.splitlines()
    for old, new in changes.items():
        olds = old.splitlines()
        starts = [i for i in range(len(lines)) if [s.strip() for s in lines[i:i + len(olds)]] == olds]
        if len(starts) != 1:
            raise ValueError(f"{where}: the base has {len(starts)} places reading {old!r}, not one")
        i = starts[0]
        indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
        lines[i:i + len(olds)] = [indent + n for n in new.splitlines()]
    return "\n".join(lines)


def _read(path: Path, kind: str) -> list[Entry]:
    """The entries of one catalogue file, in file order: decorated functions and variants."""
    text = path.read_text()
    lines = text.splitlines()
    entries, bases = [], {}
    for node in ast.parse(text).body:
        where = f"{path}:{node.lineno}"
        if isinstance(node, ast.FunctionDef):
            source = "\n".join(lines[node.lineno - 1: node.end_lineno])
            if (args := _marked(node, "base")) is not None:
                if node.name != args[0]:
                    raise ValueError(f"{where}: def {node.name} is marked as the base of {args[0]}")
                bases[args[0]] = source
            if (args := _marked(node, kind)) is None:
                continue
            if node.name != args[0]:
                raise ValueError(f"{where}: def {node.name} is marked as {args[0]}")
        elif (kind == "mistake" and isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
              and getattr(node.value.func, "id", "") == "variant"):
            args = _literal_args(node.value)
            if args[0] not in bases:
                raise ValueError(f"{where}: variant of {args[0]} before any @base({args[0]!r})")
            source = apply_changes(bases[args[0]], args.pop(), where)
        else:
            continue
        entries.append(Entry(kind=kind, module=path.stem, function=args[0], id=args[1],
                             says=args[2] if len(args) > 2 else "", source=source))
    return entries


def _entries(kind: str) -> list[Entry]:
    entries = [e for path in sorted((CATALOGUE / f"{kind}s").glob("ex*.py")) for e in _read(path, kind)]
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate {kind} ids in the catalogue")
    return entries


def mistakes() -> list[Entry]:
    return _entries("mistake")


def alternatives() -> list[Entry]:
    return _entries("alternative")
