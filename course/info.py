"""The course metadata, read from ``exercises/info.toml``: the one ordered list of exercises."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INFO_FILE = ROOT / "exercises" / "info.toml"


@dataclass(frozen=True)
class Exercise:
    """One exercise of the course, as ``info.toml`` describes it."""

    id: str
    module: str
    title: str
    points: float
    functions: tuple[str, ...]
    requires: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    weights: dict[str, float] = field(default_factory=dict)

    @property
    def file_name(self) -> str:
        return f"{self.module}.py"

    @property
    def test_file(self) -> str:
        return f"test_{self.module}.py"

    def weight(self, test_name: str) -> float:
        """Weight of a test (its name without parameters); 1 unless ``weights`` says otherwise."""
        return float(self.weights.get(test_name.split("[", 1)[0], 1.0))


def load_course(path: Path = INFO_FILE) -> list[Exercise]:
    """The exercises in curriculum order."""
    with path.open("rb") as f:
        data = tomllib.load(f)
    course = [
        Exercise(
            id=e["id"],
            module=e["module"],
            title=e["title"],
            points=float(e["points"]),
            functions=tuple(e["functions"]),
            requires=tuple(e.get("requires", ())),
            hints=tuple(e.get("hints", ())),
            weights=dict(e.get("weights", {})),
        )
        for e in data["exercise"]
    ]
    ids = [e.id for e in course]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: exercise ids must be unique, got {ids}")
    return course


def find_exercise(course: list[Exercise], key: str) -> Exercise:
    """The exercise named by ``key``: an id (``ex05``), a number (``05``, ``5``) or a module name."""
    k = key.strip().lower().removesuffix(".py")
    for e in course:
        number = e.id.removeprefix("ex")
        if k in (e.id, e.module, number) or (k.isdigit() and int(k) == int(number)):
            return e
    matches = [e for e in course if e.module.startswith(k) or e.id.startswith(k)]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(e.id for e in course)
    raise KeyError(f"no exercise matches {key!r}; choose one of {names}")
