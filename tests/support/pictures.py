"""Pictures of a failed check: the learner's matrix beside the expected one.

A test wraps the assertions about a mask, attention weights or a positional encoding in
:func:`picture`::

    with picture(f"causal_mask({T})", m, expected, rows="queries", columns="keys"):
        assert_equal(m[above], ...)

When an assertion in the block fails, the matrices are attached to the ``AssertionError`` (never
copied, drawn or checked before): the grader draws them beside each other, the cells that differ
marked. The block's outcome never changes: an error while preparing a picture only loses the picture.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import numpy as np

from tests.support.checks import tolerance

ATTRIBUTE = "course_pictures"  # the attribute of a failed assertion that holds its drawings


@dataclass(frozen=True)
class Drawing:
    """A matrix to draw beside its expected value, should the check on it fail."""

    name: str  # what is drawn, as code: "causal_mask(4)", "weights"
    got: Any
    expected: Any  # an array, or a function that computes it (called only once the check has failed)
    rows: str = ""  # what the rows are: "queries", "positions", "sequences"
    columns: str = ""  # what the columns are: "keys", "dimensions"

    def matrices(self, max_rows: int, max_columns: int) -> tuple[str, np.ndarray, np.ndarray,
                                                                 np.ndarray] | None:
        """``(name, learner, expected, differs)``: one 2-D slice of each, the first slice where they
        differ (its index added to the name), within the size given; None when there is none."""
        got = np.array(self.got, subok=False)
        expected = self.expected() if callable(self.expected) else self.expected
        expected = np.broadcast_to(np.array(expected, subok=False), got.shape)
        if got.ndim == 0:
            return None
        if got.ndim == 1:
            got, expected = got[None], expected[None]
        differs = _differs(got, expected)
        lead = got.shape[:-2]
        index = next((i for i in itertools.product(*map(range, lead)) if differs[i].any()), (0,) * len(lead))
        rows, columns = got.shape[-2:]
        if not 0 < rows <= max_rows or not 0 < columns <= max_columns:
            return None
        name = f"{self.name}[{', '.join(map(str, index))}]" if index else self.name
        return name, got[index], expected[index], differs[index]


def _differs(got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Where ``got`` differs from ``expected``: exactly for masks and integers, else beyond the
    tolerance of ``got``'s dtype (NaN equals NaN)."""
    if got.dtype.kind not in "fc" or expected.dtype.kind not in "fc":
        return got != expected
    rtol, atol = tolerance(got.dtype)
    return ~np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)


def drawings(error: BaseException) -> list[Drawing]:
    """The drawings attached to a failed assertion (none for any other error)."""
    return list(getattr(error, ATTRIBUTE, None) or [])


@contextmanager
def picture(name: str, got: Any, expected: Any | Callable[[], Any], *, rows: str = "queries",
            columns: str = "keys") -> Iterator[None]:
    """Attach ``got`` and ``expected`` to an assertion that fails in the block, to be drawn."""
    try:
        yield
    except AssertionError as error:
        with suppress(Exception):  # a picture must never change the outcome
            setattr(error, ATTRIBUTE, [*drawings(error), Drawing(name, got, expected, rows, columns)])
        raise
