"""A batch shared between machines: ``batch --shard K/N`` grades every N-th submission by sorted
name, from the K-th, and writes its rows beside its results; ``batch merge`` joins the shards into
the ``grades.csv``, feedback and dashboard that one batch of the whole class writes."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course.i18n import ENGLISH, message
from course.info import Exercise, load_course
from grading.batch import FEEDBACK, Row, finish
from grading.report import write_atomically

PART = "part.json"  # what a shard hands to `batch merge`


class MergeError(Exception):
    """Partial results that cannot be merged, with the reason in words."""


@dataclass(frozen=True)
class Shard:
    """The ``k``-th (from 1) of ``n`` slices of a class: every n-th submission by sorted name,
    so that a job array or a CI matrix can share a batch (``batch merge`` joins the parts)."""

    k: int
    n: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``K/N`` with 1 <= K <= N."""
        k, _, n = text.partition("/")
        if not (k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
            raise ValueError(message("--shard takes K/N with 1 <= K <= N, such as 2/8, not {text}",
                                     text=text))
        return cls(int(k), int(n))

    def take(self, entries: list[Path]) -> list[Path]:
        """This shard's slice of the class's ``entries`` (sorted by name)."""
        return entries[self.k - 1::self.n]

    def save(self, out: Path, rows: list[dict[str, Any]], count: int) -> None:
        """Write this shard's ``rows`` (of a class of ``count``) for :func:`merge`."""
        part = {"shard": [self.k, self.n], "count": count, "rows": rows}
        write_atomically(out / PART, json.dumps(part, indent=1))


def _read_part(folder: Path) -> dict:
    try:
        return json.loads((folder / PART).read_text())
    except (OSError, ValueError) as e:
        raise MergeError(message("{folder} holds no partial result ({error}): run batch --shard K/N "
                                 "--out {folder} first", folder=folder, error=e)) from e


def merge(out: Path, parts: list[Path], exercises: list[Exercise] | None = None,
          lang: str = ENGLISH) -> list[Row]:
    """Join the results of ``batch --shard K/N`` (every K from 1 to N) into ``out``: the same
    ``grades.csv``, feedback and dashboard as one batch of the whole class would write."""
    course = exercises or load_course()
    read = [(_read_part(p), p) for p in parts]
    shards = sorted(tuple(d["shard"]) for d, _ in read)
    n = shards[0][1] if shards else 0
    if not n or shards != [(k, n) for k in range(1, n + 1)] or len({d["count"] for d, _ in read}) > 1:
        raise MergeError(message("merge needs every shard 1/N to N/N of one class exactly once; "
                                 "got {shards}", shards=", ".join(f"{k}/{m}" for k, m in shards) or "none"))
    count = read[0][0]["count"]
    rows: list[Row | None] = [None] * count
    (out / FEEDBACK).mkdir(parents=True, exist_ok=True)
    for data, folder in read:
        k = data["shard"][0]
        for index, saved in zip(range(k - 1, count, n), data["rows"], strict=False):
            rows[index] = Row(**saved)
        if (folder / FEEDBACK).is_dir():
            shutil.copytree(folder / FEEDBACK, out / FEEDBACK, dirs_exist_ok=True)
    merged = [r for r in rows if r is not None]
    if len(merged) != count or sum(len(d["rows"]) for d, _ in read) != count:
        raise MergeError(message("the parts hold {found} students, their class {count}: grade every "
                                 "shard of the same folder again", found=len(merged), count=count))
    finish(out, merged, course, lang)
    return merged
