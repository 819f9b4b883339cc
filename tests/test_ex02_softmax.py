"""Tests of exercise 02: softmax and log_softmax.

Each test's docstring says, in one line, the property it checks; the grader shows it to the
learner when the test fails, with the counterexample and the hint below it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course.i18n import message
from tests.support import strategies as S
from tests.support import target
from tests.support.checks import as_array, assert_close, assert_finite, raises_value_error

ex02 = target.module("ex02_softmax")
ref02 = target.reference("ex02_softmax")


@st.composite
def scores_and_axis(draw, bound: float = 10.0):
    """``(x, axis)``: an array of any shape and dtype and one of its axes (maybe negative)."""
    x = draw(S.arrays(S.shapes(max_dims=3), draw(S.float_dtypes), bound))
    return x, draw(st.integers(-x.ndim, x.ndim - 1))


@given(scores_and_axis())
def test_softmax_keeps_shape_and_dtype(case):
    """softmax returns an array of the input's shape and dtype (float32 stays float32).

    Hint: keep every array in x's dtype: a float64 constant or np.float64 scalar in the computation turns a
    float32 result into float64.
    """
    x, axis = case
    as_array(ex02.softmax(x, axis=axis), "softmax(x)", x.shape, x.dtype)


@given(scores_and_axis())
def test_softmax_is_a_distribution_along_axis(case):
    """softmax is non-negative and sums to one along the chosen axis (not another axis).

    Hint: reduce with axis=axis and keepdims=True, so the sum broadcasts back against x.
    """
    x, axis = case
    s = as_array(ex02.softmax(x, axis=axis), "softmax(x)", x.shape, x.dtype)
    if not (s >= 0).all():
        raise AssertionError(message("softmax(x) has negative entries at axis={axis}", axis=axis))
    atol = 1e-5 if x.dtype == np.float32 else 1e-12
    assert_close(s.sum(axis=axis), np.ones(np.delete(x.shape, axis)),
                 message("sum of softmax(x) along axis={axis}", axis=axis), rtol=0.0, atol=atol)


def test_softmax_default_axis_is_last():
    """Without an axis argument softmax normalises the last axis.

    Hint: keep the signature's default axis=-1, and use axis in every reduction (max and sum) with
    keepdims=True.
    """
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0]])
    s = as_array(ex02.softmax(x), "softmax(x)", x.shape, x.dtype)
    assert_close(s, np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True), "softmax(x)")


@given(scores_and_axis(), S.floats(bound=100.0))
def test_softmax_invariant_to_adding_a_constant(case, c):
    """Adding the same constant to every score of a row does not change softmax.

    Hint: subtract the maximum along axis before np.exp: exp of large scores overflows to inf, and the result
    must not depend on a shift of the row.
    """
    x, axis = case
    shifted = (x + x.dtype.type(c)).astype(x.dtype)
    a = as_array(ex02.softmax(x, axis=axis), "softmax(x)", x.shape, x.dtype)
    b = as_array(ex02.softmax(shifted, axis=axis), "softmax(x + c)", x.shape, x.dtype)
    rtol, atol = (1e-3, 1e-5) if x.dtype == np.float32 else (1e-9, 1e-12)
    assert_close(b, a, message("softmax(x + {c}) compared with softmax(x)", c=f"{c:g}"), rtol=rtol, atol=atol)


# Just above exp's overflow in float32 (88.7) and in float64 (709.8), and far above both.
HUGE = [100.0, 720.0, 1e4]


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
@pytest.mark.parametrize("magnitude", HUGE)
@pytest.mark.parametrize("below", [False, True], ids=["around 0", "all below 0"])
def test_softmax_is_finite_for_huge_scores(dtype, magnitude, below):
    """softmax of scores of magnitude 100 to 1e4 is finite and exact, also when every score is far below
    0: exp never overflows (float32's exp overflows above 88), and the sum never underflows to 0.

    Hint: subtract the maximum along the axis before calling np.exp, whatever the scores' size.
    """
    x = (np.linspace(-magnitude, magnitude, 4) - (2 * magnitude if below else 0.0)).astype(dtype)
    s = as_array(ex02.softmax(x), "softmax(x)", x.shape, dtype)
    assert_finite(s, message("softmax of scores up to {magnitude}", magnitude=f"{magnitude:g}"))
    expected = np.zeros(4)
    expected[-1] = 1.0
    assert_close(s, expected, message("softmax of scores up to {magnitude}", magnitude=f"{magnitude:g}"))


@given(S.arrays(st.tuples(st.integers(2, 4), st.integers(1, 4)), np.float64),
       st.lists(st.sampled_from([-1e4, -50.0, 0.0, 50.0, 1e4]), min_size=4, max_size=4),
       S.float_dtypes, st.sampled_from([0, 1]))
def test_softmax_rows_are_independent(x, offsets, dtype, axis):
    """Each row's softmax depends on that row alone, even when rows differ by 1e4.

    Hint: take the maximum along `axis` with keepdims=True, not the maximum of the whole array.
    """
    x = (x + np.array(offsets[: x.shape[0]])[:, None]).astype(dtype)
    x = x if axis == 1 else x.T
    whole = as_array(ex02.softmax(x, axis=axis), "softmax(x)", x.shape, dtype)
    assert_finite(whole, message("softmax(x, axis={axis}) of rows that differ by up to 2e4", axis=axis))
    for i in range(x.shape[1 - axis]):
        row = np.take(x, [i], axis=1 - axis)
        alone = as_array(ex02.softmax(row, axis=axis), "softmax(row)", row.shape, dtype)
        assert_close(np.take(whole, [i], axis=1 - axis), alone,
                     message("row {i} of softmax(x, axis={axis}) compared with that row computed alone", i=i,
                             axis=axis))


@given(scores_and_axis())
def test_softmax_preserves_order(case):
    """A larger score never gets a smaller weight than a smaller score in the same row.

    Hint: normalise each row by its own sum along axis (keepdims=True), so that a larger score always gets a
    larger weight within its row.
    """
    x, axis = case
    s = np.moveaxis(as_array(ex02.softmax(x, axis=axis), "softmax(x)", x.shape, x.dtype), axis, -1)
    xs = np.moveaxis(x, axis, -1)
    larger = xs[..., :, None] > xs[..., None, :]
    smaller_weight = s[..., :, None] < s[..., None, :]
    if (larger & smaller_weight).any():
        raise AssertionError(message("a larger score got a smaller softmax weight"))


@given(scores_and_axis(bound=50.0))
def test_softmax_matches_reference(case):
    """softmax equals the reference on random scores, float32 and float64.

    Hint: compute exp(x - max) / sum of exp(x - max), both reductions along axis with keepdims=True, in x's
    dtype.
    """
    x, axis = case
    s = as_array(ex02.softmax(x, axis=axis), "softmax(x)", x.shape, x.dtype)
    assert_close(s, ref02.softmax(x.astype(np.float64), axis=axis), f"softmax(x, axis={axis})")


@given(scores_and_axis())
def test_log_softmax_keeps_shape_and_dtype(case):
    """log_softmax returns an array of the input's shape and dtype.

    Hint: keep every array in x's dtype: a float64 constant or np.float64 scalar in the computation turns a
    float32 result into float64.
    """
    x, axis = case
    as_array(ex02.log_softmax(x, axis=axis), "log_softmax(x)", x.shape, x.dtype)


@given(scores_and_axis(bound=30.0))
def test_log_softmax_is_log_of_softmax(case):
    """log_softmax equals log(softmax) wherever softmax is not vanishingly small.

    Hint: log_softmax(x) is x - max - log(sum of exp(x - max)) along axis: compute it this way rather than
    np.log(softmax(x)), which gives -inf for tiny weights.
    """
    x, axis = case
    got = as_array(ex02.log_softmax(x, axis=axis), "log_softmax(x)", x.shape, x.dtype)
    assert_close(got, np.log(ref02.softmax(x.astype(np.float64), axis=axis)), f"log_softmax(x, axis={axis})")


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
@pytest.mark.parametrize("magnitude", HUGE)
def test_log_softmax_is_finite_where_softmax_underflows(dtype, magnitude):
    """log_softmax stays finite and exact where softmax underflows to 0 (log(0) = -inf), for scores of
    magnitude 100 to 1e4.

    Hint: compute (x - m) - log(sum(exp(x - m))) instead of log(softmax(x)).
    """
    # the last row lies far below the others: it needs its own maximum, not the array's
    x = np.array([[0.0, -magnitude, magnitude], [magnitude, 0.0, -magnitude],
                  [-2 * magnitude, -3 * magnitude, -2 * magnitude]], dtype=dtype)
    got = as_array(ex02.log_softmax(x), "log_softmax(x)", x.shape, dtype)
    assert_finite(got, message("log_softmax of scores up to {magnitude}", magnitude=f"{magnitude:g}"))
    expected = x.astype(np.float64) - magnitude
    expected[2] = [-np.log(2.0), -magnitude - np.log(2.0), -np.log(2.0)]
    assert_close(got, expected, message("log_softmax of scores up to {magnitude}",
                                        magnitude=f"{magnitude:g}"))


@given(scores_and_axis(bound=50.0))
def test_log_softmax_matches_reference(case):
    """log_softmax equals the reference on random scores, float32 and float64.

    Hint: subtract the maximum along axis, then subtract the log of the sum of exp along the same axis, with
    keepdims=True, in x's dtype.
    """
    x, axis = case
    got = as_array(ex02.log_softmax(x, axis=axis), "log_softmax(x)", x.shape, x.dtype)
    assert_close(got, ref02.log_softmax(x.astype(np.float64), axis=axis), f"log_softmax(x, axis={axis})",
                 atol=1e-4 if x.dtype == np.float32 else None)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_bad_axis_raises_value_error(fn):
    """An axis the input does not have raises ValueError, ideally naming `axis`.

    Hint: check at the start that -x.ndim <= axis < x.ndim and raise ValueError naming axis otherwise; every
    reduction must use that axis.
    """
    x = np.zeros((2, 3))
    with raises_value_error("axis"):
        getattr(ex02, fn)(x, axis=2)


def diagnostic_cases() -> dict[str, list[tuple]]:
    """Fixed inputs on which the grader compares a failing function with the catalogued mistakes."""
    x = np.random.default_rng(2).normal(size=(3, 4)).astype(np.float32)
    wide = np.array([[0.0, 1.0, 2.0, -1.0], [1e3, 1e3 + 1, 1e3 + 5, 990.0]], dtype=np.float64)
    underflow = np.array([[0.0, -800.0, 5.0], [1e3, 0.0, -1e3]])  # softmax rounds to 0 somewhere
    large32 = np.array([[0.0, 100.0, 50.0], [-120.0, -121.0, -130.0]], dtype=np.float32)  # exp: inf, 0
    return {
        "softmax": [(x,), (x, 0), (wide,), (large32,)],
        "log_softmax": [(x,), (x, 0), (wide,), (underflow,), (large32,)],
    }
