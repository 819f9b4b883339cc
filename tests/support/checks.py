"""Shared assertions whose failure messages teach: what differs, where, and by how much.

Every test reads a result through :func:`as_array` first: it must be a real ``numpy.ndarray`` of
the right shape and dtype, and is then copied into a plain array, so an object that answers
"equal" to everything, or an ndarray subclass with rigged comparisons, cannot pass.

A bad argument must raise ``ValueError`` (:func:`raises_value_error`); whether the message names the
argument is advice, issued as an :class:`Advice` warning that the grader shows under the exercise.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

MAX_LISTED = 3


def tolerance(dtype: Any) -> tuple[float, float]:
    """``(rtol, atol)`` that a correct implementation meets in ``dtype`` and a wrong one does not."""
    if np.dtype(dtype) == np.float32:
        return 2e-4, 2e-5
    return 1e-7, 1e-9


def _fmt(value: Any) -> str:
    return np.format_float_positional(value, precision=4, fractional=False, trim="-") \
        if np.isfinite(value) else str(value)


def _where(mask: np.ndarray) -> str:
    idx = [tuple(int(i) for i in ix) for ix in np.argwhere(mask)[:MAX_LISTED]]
    more = " ..." if mask.sum() > MAX_LISTED else ""
    return ", ".join(str(i) for i in idx) + more


def as_array(
    result: Any,
    name: str,
    shape: tuple[int, ...] | None = None,
    dtype: Any = None,
) -> np.ndarray:
    """``result`` as a plain ndarray copy, after checking its type, shape and dtype."""
    if not issubclass(type(result), np.ndarray):
        raise AssertionError(
            f"{name} should be a numpy.ndarray, got {type(result).__name__}: "
            "build the result with numpy operations"
        )
    arr = np.array(result, subok=False, copy=True)
    if shape is not None and arr.shape != tuple(shape):
        raise AssertionError(f"{name} has shape {arr.shape}, expected {tuple(shape)}")
    if dtype is not None and arr.dtype != np.dtype(dtype):
        raise AssertionError(
            f"{name} has dtype {arr.dtype}, expected {np.dtype(dtype)}: keep the input's dtype "
            "(float32 in, float32 out)"
            if np.dtype(dtype).kind == "f"
            else f"{name} has dtype {arr.dtype}, expected {np.dtype(dtype)}"
        )
    return arr


def assert_finite(arr: np.ndarray, name: str) -> None:
    """No NaN and no infinity anywhere in ``arr``."""
    bad = ~np.isfinite(arr)
    if bad.any():
        raise AssertionError(f"{name} has {int(bad.sum())} NaN or infinite entries, at {_where(bad)}")


def assert_close(
    actual: np.ndarray,
    expected: np.ndarray,
    name: str,
    rtol: float | None = None,
    atol: float | None = None,
) -> None:
    """``actual`` equals ``expected`` within tolerance; the message says where and by how much."""
    actual = np.array(actual, subok=False)
    expected = np.array(expected, subok=False)
    if actual.shape != expected.shape:
        raise AssertionError(f"{name} has shape {actual.shape}, expected {expected.shape}")
    default_rtol, default_atol = tolerance(actual.dtype if actual.dtype.kind == "f" else np.float64)
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    a = np.atleast_1d(actual.astype(np.float64))
    e = np.atleast_1d(expected.astype(np.float64))
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    inf_mismatch = np.isinf(a) & ~(np.isinf(e) & (a == e))
    if (nan_a & ~nan_e).any():
        raise AssertionError(f"{name} has NaN where a number was expected, at {_where(nan_a & ~nan_e)}")
    if inf_mismatch.any():
        raise AssertionError(f"{name} has infinity where a number was expected, at {_where(inf_mismatch)}")
    with np.errstate(invalid="ignore"):
        err = np.abs(a - e)
        err[(nan_a & nan_e) | (np.isinf(a) & (a == e))] = 0.0
    err[np.isnan(err)] = np.inf
    bad = err > atol + rtol * np.abs(np.where(np.isfinite(e), e, 0.0))
    if not bad.any():
        return
    worst = np.unravel_index(int(np.argmax(err)), err.shape)
    index = tuple(int(i) for i in worst) if actual.ndim else ()
    raise AssertionError(
        f"{name} differs from the expected value: largest error {_fmt(err[worst])} at index "
        f"{index} (got {_fmt(a[worst])}, expected {_fmt(e[worst])}); "
        f"{int(bad.sum())} of {bad.size} entries outside tolerance (rtol={rtol:g}, atol={atol:g})"
    )


def assert_equal(actual: np.ndarray, expected: np.ndarray, name: str) -> None:
    """Exact equality, for masks and tokens."""
    actual = np.array(actual, subok=False)
    expected = np.array(expected, subok=False)
    if actual.shape != expected.shape:
        raise AssertionError(f"{name} has shape {actual.shape}, expected {expected.shape}")
    bad = actual != expected
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(
            f"{name} differs at {int(bad.sum())} of {bad.size} entries, first at {first} "
            f"(got {actual[first].item()!r}, expected {expected[first].item()!r}); expected:\n{expected}"
        )


class Advice(UserWarning):
    """Feedback that costs no points: the grader shows it to the learner as a note."""


@contextmanager
def raises_value_error(*names: str) -> Iterator[None]:
    """The block must raise ``ValueError``; a message naming none of ``names`` earns advice, not a failure."""
    try:
        yield
    except ValueError as e:
        message = str(e)
    else:
        raise AssertionError(f"no ValueError was raised: a bad {' or '.join(names)} must raise ValueError")
    if not any(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", message) for name in names):
        warnings.warn(Advice(
            f"your ValueError says {message!r}: naming the bad argument ({' or '.join(names)}) "
            "would tell the caller what to fix"), stacklevel=3)
