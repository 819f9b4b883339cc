"""Shared assertions whose failure messages teach: what differs, where, and by how much.

Every message is a :func:`course.i18n.message` (the grader says it in the learner's language); a
``name`` that says what was checked may be one too (``message("softmax of scores up to {m}", m=...)``).

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

from course.i18n import Message, message

MAX_LISTED = 3


def tolerance(dtype: Any) -> tuple[float, float]:
    """``(rtol, atol)`` that a correct implementation meets in ``dtype`` and a wrong one does not."""
    if np.dtype(dtype) == np.float32:
        return 2e-4, 2e-5
    return 1e-7, 1e-9


def _fmt(value: Any, digits: int = 4) -> str:
    return np.format_float_positional(value, precision=digits, fractional=False, trim="-") \
        if np.isfinite(value) else str(value)


def _told_apart(got: Any, expected: Any) -> tuple[str, str]:
    """``got`` and ``expected`` with 4 significant digits, more where those would print the same."""
    for digits in (4, 7, 10, 17):
        shown = _fmt(got, digits), _fmt(expected, digits)
        if shown[0] != shown[1]:
            break
    return shown


def _where(mask: np.ndarray) -> str:
    idx = [tuple(int(i) for i in ix) for ix in np.argwhere(mask)[:MAX_LISTED]]
    more = " ..." if mask.sum() > MAX_LISTED else ""
    return ", ".join(str(i) for i in idx) + more


def as_array(
    result: Any,
    name: str | Message,
    shape: tuple[int, ...] | None = None,
    dtype: Any = None,
) -> np.ndarray:
    """``result`` as a plain ndarray copy, after checking its type, shape and dtype."""
    if not issubclass(type(result), np.ndarray):
        raise AssertionError(message("{name} should be a numpy.ndarray, got {type}: build the result with "
                                     "numpy operations", name=name, type=type(result).__name__))
    arr = np.array(result, subok=False, copy=True)
    if shape is not None and arr.shape != tuple(shape):
        raise AssertionError(message("{name} has shape {shape}, expected {expected}", name=name,
                                     shape=str(arr.shape), expected=str(tuple(shape))))
    if dtype is not None and arr.dtype != np.dtype(dtype):
        said = {"name": name, "dtype": str(arr.dtype), "expected": str(np.dtype(dtype))}
        raise AssertionError(
            message("{name} has dtype {dtype}, expected {expected}: keep the input's dtype "
                    "(float32 in, float32 out)", **said)
            if np.dtype(dtype).kind == "f"
            else message("{name} has dtype {dtype}, expected {expected}", **said)
        )
    return arr


def assert_finite(arr: np.ndarray, name: str | Message) -> None:
    """No NaN and no infinity anywhere in ``arr``."""
    bad = ~np.isfinite(arr)
    if bad.any():
        raise AssertionError(message("{name} has {count} NaN or infinite entries, at {where}", name=name,
                                     count=int(bad.sum()), where=_where(bad)))


def assert_close(
    actual: np.ndarray,
    expected: np.ndarray,
    name: str | Message,
    rtol: float | None = None,
    atol: float | None = None,
) -> None:
    """``actual`` equals ``expected`` within tolerance; the message says where and by how much."""
    actual = np.array(actual, subok=False)
    expected = np.array(expected, subok=False)
    _same_shape(actual, expected, name)
    default_rtol, default_atol = tolerance(actual.dtype if actual.dtype.kind == "f" else np.float64)
    rtol, atol = default_rtol if rtol is None else rtol, default_atol if atol is None else atol
    a = np.atleast_1d(actual.astype(np.float64))
    e = np.atleast_1d(expected.astype(np.float64))
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(a - e)
        if np.isfinite(err).all() and (err <= atol + rtol * np.abs(e)).all():
            return  # the common case, all finite and close: the checks below would find nothing
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    inf_mismatch = np.isinf(a) & ~(np.isinf(e) & (a == e))
    if (nan_a & ~nan_e).any():
        raise AssertionError(message("{name} has NaN where a number was expected, at {where}", name=name,
                                     where=_where(nan_a & ~nan_e)))
    if inf_mismatch.any():
        raise AssertionError(message("{name} has infinity where a number was expected, at {where}",
                                     name=name, where=_where(inf_mismatch)))
    err[(nan_a & nan_e) | (np.isinf(a) & (a == e))] = 0.0
    err[np.isnan(err)] = np.inf
    bad = err > atol + rtol * np.abs(np.where(np.isfinite(e), e, 0.0))
    if not bad.any():
        return
    worst = np.unravel_index(int(np.argmax(err)), err.shape)
    index = tuple(int(i) for i in worst) if actual.ndim else ()
    got, wanted = _told_apart(a[worst], e[worst])
    raise AssertionError(message(
        "{name} differs from the expected value: largest error {error} at index {index} (got {got}, "
        "expected {expected}); {count} of {size} entries outside tolerance (rtol={rtol}, atol={atol})",
        name=name, error=_fmt(err[worst]), index=str(index), got=got, expected=wanted,
        count=int(bad.sum()), size=bad.size, rtol=f"{rtol:g}", atol=f"{atol:g}"))


def assert_rows_are_distributions(weights: np.ndarray, negative: Message, sums: Message) -> None:
    """``weights`` has no negative entry (else ``negative`` is the failure) and each row sums to one
    over the last axis (``sums`` names those sums), to float32's or float64's rounding."""
    if not (weights >= 0).all():
        raise AssertionError(negative)
    atol = 1e-5 if weights.dtype == np.float32 else 1e-12
    assert_close(weights.sum(axis=-1), np.ones(weights.shape[:-1]), sums, rtol=0.0, atol=atol)


def _same_shape(actual: np.ndarray, expected: np.ndarray, name: str | Message) -> None:
    if actual.shape != expected.shape:
        raise AssertionError(message("{name} has shape {shape}, expected {expected}", name=name,
                                     shape=str(actual.shape), expected=str(expected.shape)))


def assert_equal(actual: np.ndarray, expected: np.ndarray, name: str | Message) -> None:
    """Exact equality, for masks and tokens."""
    actual = np.array(actual, subok=False)
    expected = np.array(expected, subok=False)
    _same_shape(actual, expected, name)
    bad = actual != expected
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(message(
            "{name} differs at {count} of {size} entries, first at {first} (got {got}, expected "
            "{expected}); expected:\n{array}", name=name, count=int(bad.sum()), size=bad.size,
            first=str(first), got=repr(actual[first].item()), expected=repr(expected[first].item()),
            array=str(expected)))


class Advice(UserWarning):
    """Feedback that costs no points: the grader shows it to the learner as a note."""


@contextmanager
def raises_value_error(*names: str) -> Iterator[None]:
    """The block must raise ``ValueError``; a message naming none of ``names`` earns advice, not a failure."""
    try:
        yield
    except ValueError as e:
        said = str(e)
    else:
        raise AssertionError(message("no ValueError was raised: a bad {names} must raise ValueError",
                                     names=either(names)))
    if not any(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", said) for name in names):
        warnings.warn(Advice(message("your ValueError says {said}: naming the bad argument ({names}) would "
                                     "tell the caller what to fix", said=repr(said), names=either(names))),
                      stacklevel=3)


def either(names: tuple[str, ...]) -> str:
    """``a``, ``a or b``, ``a or b or c``: one of ``names``, in the learner's language."""
    said = names[0]
    for name in names[1:]:
        said = message("{one} or {other}", one=said, other=name)
    return said
