"""Tests of exercise 15: gradients by hand.

Each test's docstring says, in one line, the property it checks; the grader shows it to the
learner when the test fails, with the counterexample and the hint below it.

Every backward function is judged three ways: against central finite differences of the reference
forward function (float64, small arrays: two forward calls per element), against the reference
backward on float32 and float64 inputs with leading batch dimensions, and by properties that hold
whatever the inputs (a softmax gradient sums to zero along its axis, a dead ReLU unit gets no
gradient, an ignored target contributes nothing...).

A backward function is checked through the scalar ``f(x) = sum(forward(x) * g)`` with a fixed random
``g``: its gradient is exactly what ``backward(g, x)`` must return.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from course.gradcheck import numerical_gradient, relative_error
from course.i18n import joined, message
from course.params import FeedForwardParams, LayerNormParams
from tests.support import strategies as S
from tests.support import target
from tests.support.checks import as_array, assert_close, assert_equal, assert_finite, raises_value_error
from tests.support.strategies import make_qkv, seeded_masks, spread_rows

ex15 = target.module("ex15_backward")
ref15 = target.reference("ex15_backward")
ref02 = target.reference("ex02_softmax")
ref05 = target.reference("ex05_qkv_attention")
ref09 = target.reference("ex09_layers")

FD_TOL = 1e-6  # relative error of a right gradient against central differences: about 1e-9
FD_ATOL = 1e-8  # ... or an absolute error below the differences' own rounding (gradients near 0)
MAX_FD = 60  # elements per array checked by finite differences (two forward calls each)
F64 = np.float64


# --- helpers ---------------------------------------------------------------------------------------


def tol(dtype: Any) -> dict[str, float]:
    """Tolerances against a float64 oracle: float32 results carry rounding of order 1e-6."""
    return {"rtol": 1e-4, "atol": 1e-4} if np.dtype(dtype) == np.float32 else {}


def loss_tol(dtype: Any) -> dict[str, float]:
    """Tolerances of a loss against its float64 definition."""
    return {"rtol": 1e-5, "atol": 1e-6} if np.dtype(dtype) == np.float32 else {"rtol": 1e-9, "atol": 1e-12}


def size(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def assert_gradient(analytic: np.ndarray, numeric: np.ndarray, name: str) -> None:
    """``analytic`` equals the central finite differences ``numeric`` (relative error below 1e-6)."""
    err = relative_error(analytic, numeric)
    diff = np.abs(analytic.astype(F64) - numeric)
    diff[np.isnan(diff)] = np.inf
    if err < FD_TOL or diff.max(initial=0.0) < FD_ATOL:
        return
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
    index = tuple(int(i) for i in worst)
    raise AssertionError(
        message("{name} differs from the central finite differences (the numerical gradient): relative "
                "error {err} (a right gradient gives about 1e-9); largest difference at index {index}: got "
                "{analytic}, finite differences give {numeric}", name=name, err=f"{err:.3g}", index=index,
                analytic=f"{float(analytic[worst]):.6g}", numeric=f"{float(numeric[worst]):.6g}")
    )


def scalarised(forward: Callable[[np.ndarray], np.ndarray], g: np.ndarray) -> Callable[[np.ndarray], float]:
    """``x -> sum(forward(x) * g)``: its gradient is the backward function's answer for ``g``."""
    return lambda x: float((forward(x) * g).sum())


def read_tuple(result: Any, name: str, n: int) -> tuple:
    if not isinstance(result, tuple) or len(result) != n:
        raise AssertionError(
            message("{name} should return a tuple of {n} items, got {type} of length {length}", name=name,
                    n=n, type=type(result).__name__, length=len(result)) if isinstance(result, tuple)
            else message("{name} should return a tuple of {n} items, got {type}", name=name, n=n,
                         type=type(result).__name__))
    return result


def read_params(obj: Any, cls: type, name: str, shapes: dict[str, tuple[int, ...]], dtype: Any) -> dict:
    """The arrays of a returned parameter dataclass, checked: its class, each field's shape and dtype."""
    if not isinstance(obj, cls):
        raise AssertionError(message("{name} should be a {type} holding the gradients, got {type2}",
                                     name=name, type=cls.__name__, type2=type(obj).__name__))
    return {k: as_array(getattr(obj, k), joined("", [name, f".{k}"]), shape, dtype)
            for k, shape in shapes.items()}


def ln_grads(g, x, p, eps=1e-5, what="layer_norm_backward"):
    """The target's ``(dx, {"gamma": dgamma, "beta": dbeta})``, checked for type, shape and dtype."""
    dx, grads = read_tuple(ex15.layer_norm_backward(g, x, p, eps=eps), what, 2)
    D = x.shape[-1]
    dx = as_array(dx, message("dx of {what}", what=what), x.shape, x.dtype)
    return dx, read_params(grads, LayerNormParams,
                           message("parameter gradients of {what}", what=what),
                           {"gamma": (D,), "beta": (D,)}, x.dtype)


def ffn_grads(g, x, p, what="feed_forward_backward"):
    """The target's ``(dx, {"W_1": .., "b_1": .., "W_2": .., "b_2": ..})``, checked."""
    dx, grads = read_tuple(ex15.feed_forward_backward(g, x, p), what, 2)
    dx = as_array(dx, message("dx of {what}", what=what), x.shape, x.dtype)
    shapes = {k: getattr(p, k).shape for k in ("W_1", "b_1", "W_2", "b_2")}
    return dx, read_params(grads, FeedForwardParams,
                           message("parameter gradients of {what}", what=what), shapes, x.dtype)


def attention_grads(g, Q, K, V, mask=None, what="scaled_dot_product_attention_backward"):
    """The target's ``(dQ, dK, dV)``, checked: shaped like Q, K, V in their dtype."""
    dQ, dK, dV = read_tuple(ex15.scaled_dot_product_attention_backward(g, Q, K, V, mask), what, 3)
    return (as_array(dQ, message("dQ of {what}", what=what), Q.shape, Q.dtype),
            as_array(dK, message("dK of {what}", what=what), K.shape, K.dtype),
            as_array(dV, message("dV of {what}", what=what), V.shape, V.dtype))


def read_loss(loss: Any, what: str = message("the loss of cross_entropy")) -> float:
    """A real scalar (a Python float, a numpy float or a 0-d float array) as a Python float."""
    if isinstance(loss, bool) or not isinstance(loss, float | int | np.floating | np.integer | np.ndarray) \
            or np.ndim(loss) != 0 or np.asarray(loss).dtype.kind not in "fiu":
        raise AssertionError(message("{what} should be a real number (a Python float), got {type} of shape "
                                     "{shape}: return float(loss)", what=what, type=type(loss).__name__,
                                     shape=np.shape(loss)))
    return float(loss)


def ce(logits, targets, ignore_id=None, what="cross_entropy"):
    """The target's ``(loss, dlogits)``, checked: a real scalar and an array shaped like logits."""
    loss, dlogits = read_tuple(ex15.cross_entropy(logits, targets, ignore_id), what, 2)
    return (read_loss(loss, message("the loss of {what}", what=what)),
            as_array(dlogits, message("dlogits of {what}", what=what), logits.shape, logits.dtype))


def nll(logits: np.ndarray, targets: np.ndarray, ignore_id: int | None = None) -> float:
    """The definition in float64: the mean over counted positions of -log softmax(logits)[target]."""
    z = logits.astype(F64)
    m = z.max(axis=-1, keepdims=True)
    log_p = z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))  # (..., V)
    counted = np.ones(targets.shape, bool) if ignore_id is None else targets != ignore_id
    if not counted.any():
        return 0.0
    picked = np.take_along_axis(log_p, np.where(counted, targets, 0)[..., None], axis=-1)[..., 0]
    return float(-picked[counted].sum() / counted.sum())


# --- strategies ------------------------------------------------------------------------------------


@functools.cache
def shapes_of_at_most(max_size: int | None) -> st.SearchStrategy[tuple[int, ...]]:
    """Shapes of 1 to 3 dims, sides up to 4, at most ``max_size`` elements (built once: see S.floats)."""
    return S.shapes(max_dims=3, max_side=4).filter(lambda s: max_size is None or size(s) <= max_size)


@functools.cache
def batch_shapes_of_at_least(min_dims: int, max_dims: int) -> st.SearchStrategy[tuple[int, ...]]:
    """Leading batch dims, ``min_dims`` to ``max_dims`` of them, sides up to 3 (built once)."""
    return S.batch_shapes(max_dims=max_dims, max_side=3).filter(lambda s: len(s) >= min_dims)


@st.composite
def softmax_cases(draw, dtype: Any = None, max_size: int | None = None):
    """``(x, g, axis)``: scores in [-5, 5] of 1 to 3 dims, a random upstream gradient, one axis."""
    dtype = dtype or draw(S.float_dtypes)
    shape = draw(shapes_of_at_most(max_size))
    x = draw(S.arrays(shape, dtype, bound=5.0))
    g = S.rng(draw(S.seeds)).standard_normal(shape).astype(dtype)
    return x, g, draw(st.integers(-len(shape), len(shape) - 1))


@st.composite
def attention_cases(draw, dtype: Any = None, small: bool = False, masked: bool | None = None):
    """``(g, Q, K, V, mask)``: 0-2 leading dims, T_q and T_k in 1..4 drawn apart, d_k and d_v apart.

    The mask, when there is one, is full [..., T_q, T_k], shared [T_q, T_k] or a key mask
    [..., 1, T_k]; sparse ones leave some query rows fully masked. ``small`` keeps every array at
    most 24 numbers, for finite differences.
    """
    dtype = dtype or draw(S.float_dtypes)
    lead = draw(S.batch_shapes(max_dims=1 if small else 2, max_side=2))
    T_q, T_k = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    d_k, d_v = draw(st.integers(1, 3 if small else 4)), draw(st.integers(1, 3))
    Q, K, V = make_qkv(draw(S.seeds), lead, T_q, T_k, d_k, d_v, dtype, scale=1.5)
    g = S.rng(draw(S.seeds)).standard_normal((*lead, T_q, d_v)).astype(dtype)
    if masked is None:
        masked = draw(st.booleans())
    mask = None
    if masked:
        shape = draw(st.sampled_from([(*lead, T_q, T_k), (T_q, T_k), (*lead, 1, T_k)]))
        mask = draw(seeded_masks(shape))
    return g, Q, K, V, mask


@st.composite
def row_shapes(draw, min_dims: int = 0, max_dims: int = 2, min_D: int = 2, max_D: int = 6,
               max_size: int | None = None):
    """``(..., D)`` with ``min_D <= D <= max_D`` and at most ``max_size`` elements."""
    lead = draw(batch_shapes_of_at_least(min_dims, max_dims))
    D = draw(st.integers(min_D, max_D))
    shape = (*lead, D)
    assume(max_size is None or size(shape) <= max_size)
    return shape


@st.composite
def norm_cases(draw, dtype: Any = None, max_size: int | None = None, min_dims: int = 0, min_D: int = 2):
    """``(g, x, p, eps)``: well-spread rows [..., D], random gamma and beta, eps 1e-5 or larger.

    (With D = 2 a row normalises to about [-1, 1] whatever its values: dx is almost zero.)
    """
    dtype = dtype or draw(S.float_dtypes)
    shape = draw(row_shapes(min_dims=min_dims, min_D=min_D, max_size=max_size))
    x = spread_rows(draw(S.seeds), shape, dtype)
    p = S.random_layer_norm(draw(S.seeds), shape[-1], dtype)
    g = S.rng(draw(S.seeds)).standard_normal(shape).astype(dtype)
    return g, x, p, draw(st.sampled_from([1e-5, 0.3]))


def random_ffn(seed: int, D: int, F: int, dtype: Any) -> FeedForwardParams:
    """Feed-forward weights whose b_1 is large enough (std 0.5) to flip the ReLU of some positions."""
    p = S.random_feed_forward(seed, D, F, dtype)
    return dataclasses.replace(p, b_1=(p.b_1 * 5).astype(dtype))


@st.composite
def ffn_cases(draw, dtype: Any = None, max_size: int | None = None, min_dims: int = 0, max_F: int = 7):
    """``(g, x, p)``: x [..., D] in [-2, 2], F != D, non-zero biases."""
    dtype = dtype or draw(S.float_dtypes)
    shape = draw(row_shapes(min_dims=min_dims, max_D=5, max_size=max_size))
    D = shape[-1]
    F = draw(S.integers_other_than(2, max_F, D))
    r = S.rng(draw(S.seeds))
    x = r.uniform(-2, 2, size=shape).astype(dtype)
    g = r.standard_normal(shape).astype(dtype)
    return g, x, random_ffn(draw(S.seeds), D, F, dtype)


@st.composite
def ce_cases(draw, dtype: Any = None, max_size: int | None = None, ignore: bool | None = None):
    """``(logits [..., V], targets [...], ignore_id)``: rows with different padding, one counted at least.

    ``ignore_id`` is None, 0 (a pad id inside the vocabulary) or -100 (outside it).
    """
    dtype = dtype or draw(S.float_dtypes)
    lead = draw(st.sampled_from([(4,), (2, 3), (3, 2), (2, 2, 2), (1,)]))
    V = draw(st.integers(2, 6))
    assume(max_size is None or size(lead) * V <= max_size)
    r = S.rng(draw(S.seeds))
    logits = (r.standard_normal((*lead, V)) * draw(st.sampled_from([1.0, 4.0]))).astype(dtype)
    targets = r.integers(0, V, size=lead)
    if ignore is None:
        ignore = draw(st.booleans())
    ignore_id = draw(st.sampled_from([0, -100])) if ignore else None
    if ignore_id is not None:
        T = lead[-1]
        lengths = np.array([draw(st.integers(0, T)) for _ in range(size(lead[:-1]))]).reshape(lead[:-1])
        pad = np.arange(T) >= lengths[..., None]  # (..., T): each row its own length
        pad.flat[draw(st.integers(0, pad.size - 1))] = False
        targets = np.where(pad, ignore_id, targets)
        assume(ignore_id != 0 or (targets != 0).any())
    return logits, targets.astype(np.int64), ignore_id


# --- softmax_backward ------------------------------------------------------------------------------


@given(softmax_cases())
@settings(max_examples=10)
def test_softmax_backward_keeps_shape_and_dtype(case):
    """softmax_backward returns an array of probs' shape and dtype (float32 stays float32).

    Hint: compute y * (g - sum(g * y, axis)) with keepdims=True so that the sum broadcasts back to probs'
    shape, and add no float64 constant that would turn float32 into float64.
    """
    x, g, axis = case
    probs = ref02.softmax(x, axis=axis)
    as_array(ex15.softmax_backward(g, probs, axis=axis), "softmax_backward(g, probs)", x.shape, x.dtype)


@given(softmax_cases(dtype=F64, max_size=MAX_FD))
def test_softmax_backward_matches_finite_differences(case):
    """softmax_backward(g, softmax(x, axis), axis) is the gradient of sum(softmax(x, axis) * g).

    Hint: dx = y * (g - sum(g * y, axis=axis, keepdims=True)): the sum term comes from the
    off-diagonal entries -y_i y_j of the Jacobian.
    """
    x, g, axis = case
    got = as_array(ex15.softmax_backward(g, ref02.softmax(x, axis=axis), axis=axis),
                   "softmax_backward(g, probs)", x.shape, F64)
    numeric = numerical_gradient(scalarised(lambda z: ref02.softmax(z, axis=axis), g), x)
    assert_gradient(got, numeric, f"softmax_backward(g, probs, axis={axis})")


@pytest.mark.parametrize("axis", [0, 1, 2, -2])
def test_softmax_backward_on_each_axis_of_a_3d_array(axis):
    """softmax_backward follows `axis` on a [2, 3, 4] array (axis 0, 1, 2, -2): finite differences agree.

    Hint: pass axis to the sum (with keepdims=True), do not assume the last axis.
    """
    r = S.rng(15)
    x, g = r.uniform(-3, 3, (2, 3, 4)), r.standard_normal((2, 3, 4))
    got = as_array(ex15.softmax_backward(g, ref02.softmax(x, axis=axis), axis=axis),
                   f"softmax_backward(g, probs, axis={axis})", x.shape, F64)
    numeric = numerical_gradient(scalarised(lambda z: ref02.softmax(z, axis=axis), g), x)
    assert_gradient(got, numeric,
                    message("softmax_backward(g, probs, axis={axis}) on a [2, 3, 4] array", axis=axis))


@given(softmax_cases())
def test_softmax_backward_matches_reference(case):
    """softmax_backward equals the reference on random scores and gradients, float32 and float64.

    Hint: dL/dx = y * (g - sum(g * y, axis)) with y = probs: both the product with y outside and the sum over
    the softmax's axis inside are needed.
    """
    x, g, axis = case
    probs = ref02.softmax(x, axis=axis)
    got = as_array(ex15.softmax_backward(g, probs, axis=axis), "softmax_backward(g, probs)", x.shape, x.dtype)
    expected = ref15.softmax_backward(g.astype(F64), probs.astype(F64), axis=axis)
    assert_close(got, expected, f"softmax_backward(g, probs, axis={axis})", **tol(x.dtype))


@given(softmax_cases())
def test_softmax_backward_sums_to_zero_along_axis(case):
    """The gradient of the scores sums to zero along the softmax's axis (adding a constant changes nothing).

    Hint: the term -y * sum(g * y) cancels the sum of y * g; without it the sums are not zero.
    """
    x, g, axis = case
    dx = as_array(ex15.softmax_backward(g, ref02.softmax(x, axis=axis), axis=axis),
                  "softmax_backward(g, probs)", x.shape, x.dtype)
    atol = 1e-5 if x.dtype == np.float32 else 1e-12
    assert_close(dx.astype(F64).sum(axis=axis), np.zeros(np.delete(x.shape, axis)),
                 message("sum of softmax_backward(g, probs) along axis={axis}", axis=axis),
                 rtol=0.0, atol=atol)


@given(softmax_cases(), S.floats(bound=5.0))
@settings(max_examples=10)
def test_softmax_backward_of_a_constant_gradient_is_zero(case, c):
    """A constant upstream gradient g = c gives a zero gradient: sum(c * softmax(x)) = c never changes.

    Hint: with g = c the sum over the axis is c * sum(y) = c, so g - sum(g * y) is zero; if it is not, the sum
    runs over the wrong axis or misses keepdims.
    """
    x, _, axis = case
    g = np.full(x.shape, c, dtype=x.dtype)
    dx = as_array(ex15.softmax_backward(g, ref02.softmax(x, axis=axis), axis=axis),
                  f"softmax_backward({c:g} everywhere, probs)", x.shape, x.dtype)
    assert_close(dx, np.zeros(x.shape), f"softmax_backward({c:g} everywhere, probs, axis={axis})",
                 rtol=0.0, atol=1e-5 if x.dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_softmax_backward_of_a_fully_masked_row_is_zero(dtype):
    """A row of probs that is all zero (a fully masked query) gets a zero gradient and no NaN.

    Hint: work from probs alone, as the formula does: y * (g - sum(g * y)) is already zero where y is zero, so
    do not recompute a softmax or divide by sum(y).
    """
    probs = np.array([[0.2, 0.5, 0.3], [0.0, 0.0, 0.0]], dtype=dtype)
    g = np.array([[1.0, -2.0, 0.5], [3.0, 1.0, -1.0]], dtype=dtype)
    dx = as_array(ex15.softmax_backward(g, probs), "softmax_backward(g, probs)", probs.shape, dtype)
    assert_finite(dx, message("softmax_backward(g, probs with a zero row)"))
    assert_equal(dx[1], np.zeros(3), message("row 1 (all-zero probs) of softmax_backward(g, probs)"))


@pytest.mark.parametrize("shape", [(2, 4), (3, 4, 1), (4, 3), (1, 4), (4,)])
def test_softmax_backward_rejects_grad_out_of_another_shape(shape):
    """grad_out not shaped like probs raises ValueError, even when it would broadcast, ideally naming
    `grad_out`.

    Hint: compare grad_out.shape with probs.shape exactly before computing and raise ValueError naming
    grad_out; numpy would broadcast a shape [1] or [..., 1] silently.
    """
    probs = ref02.softmax(np.zeros((3, 4)))
    with raises_value_error("grad_out"):
        ex15.softmax_backward(np.ones(shape), probs)


# --- scaled_dot_product_attention_backward ---------------------------------------------------------


@given(attention_cases())
@settings(max_examples=10)
def test_attention_backward_shapes_and_dtype(case):
    """The gradients (dQ, dK, dV) are shaped like Q, K, V in their dtype, with any leading dims.

    Hint: dQ, dK and dV take Q's, K's and V's shapes: dV = P^T g and dK = dS^T Q / sqrt(d_k) need P and dS
    transposed on their last two axes (np.swapaxes(..., -1, -2)), which keeps any leading dims.
    """
    attention_grads(*case)


@given(attention_cases(dtype=F64, small=True))
def test_attention_backward_matches_finite_differences(case):
    """dQ, dK, dV are the gradients of sum(attention(Q, K, V, mask) * g), with or without a mask.

    Hint: dV = P^T g, dP = g V^T, dS = softmax_backward(dP, P), dQ = dS K / sqrt(d_k),
    dK = dS^T Q / sqrt(d_k) (P the attention weights, ^T swapping the last two axes).
    """
    g, Q, K, V, mask = case
    dQ, dK, dV = attention_grads(g, Q, K, V, mask)

    def out(Q, K, V):
        return ref05.scaled_dot_product_attention(Q, K, V, mask)[0]

    assert_gradient(dQ, numerical_gradient(scalarised(lambda z: out(z, K, V), g), Q), "dQ")
    assert_gradient(dK, numerical_gradient(scalarised(lambda z: out(Q, z, V), g), K), "dK")
    assert_gradient(dV, numerical_gradient(scalarised(lambda z: out(Q, K, z), g), V), "dV")


@given(attention_cases())
def test_attention_backward_matches_reference(case):
    """dQ, dK, dV equal the reference: leading dims, T_q != T_k, d_v != d_k, masks, float32 and float64.

    Hint: recompute the masked weights P of the forward pass, then dV = P^T g, dP = g V^T, dS =
    softmax_backward(dP, P), dQ = dS K / sqrt(d_k) and dK = dS^T Q / sqrt(d_k).
    """
    g, Q, K, V, mask = case
    got = attention_grads(g, Q, K, V, mask)
    expected = ref15.scaled_dot_product_attention_backward(g.astype(F64), Q.astype(F64), K.astype(F64),
                                                           V.astype(F64), mask)
    for name, a, e in zip(("dQ", "dK", "dV"), got, expected, strict=True):
        assert_close(a, e, name, **tol(Q.dtype))


@pytest.mark.parametrize(("T_q", "T_k", "d_k", "d_v"), [(3, 5, 4, 2), (4, 4, 4, 3), (4, 4, 9, 2)])
def test_attention_backward_example(T_q, T_k, d_k, d_v):
    """A batch of two with T_q, T_k, d_k, d_v as given and a causal-like mask: the reference's gradients.

    Hint: with T_q == T_k a missing transpose runs without error: dV = P^T g and dK = dS^T Q.
    """
    Q, K, V = make_qkv(4, (2,), T_q, T_k, d_k, d_v, scale=1.5)
    g = S.rng(5).standard_normal((2, T_q, d_v))
    mask = np.tril(np.ones((T_q, T_k), dtype=bool), k=T_k - T_q)
    got = attention_grads(g, Q, K, V, mask)
    expected = ref15.scaled_dot_product_attention_backward(g, Q, K, V, mask)
    for name, a, e in zip(("dQ", "dK", "dV"), got, expected, strict=True):
        assert_close(a, e, message("{name} with T_q={T_q}, T_k={T_k}, d_k={d_k}, d_v={d_v}", name=name,
                                   T_q=T_q, T_k=T_k, d_k=d_k, d_v=d_v))


@given(attention_cases(masked=False), st.data())
def test_attention_backward_masked_keys_get_zero_gradient(case, data):
    """A key that no query may attend to gets exactly zero dK and dV rows.

    Hint: use the masked weights P (zero at masked keys) in dV = P^T g and dS = softmax_backward(dP, P).
    """
    g, Q, K, V, _ = case
    lead, T_k = Q.shape[:-2], K.shape[-2]
    keys = S.rng(data.draw(S.seeds)).random((*lead, 1, T_k)) < 0.5  # (..., 1, T_k): a padding mask
    dQ, dK, dV = attention_grads(g, Q, K, V, keys)
    assert_finite(dQ, "dQ")
    gone = ~keys[..., 0, :]  # (..., T_k)
    assert_equal(dK[gone], np.zeros_like(dK[gone]),
                 message("dK at the masked keys"))
    assert_equal(dV[gone], np.zeros_like(dV[gone]),
                 message("dV at the masked keys"))


@given(attention_cases(masked=True), S.seeds)
def test_attention_backward_fully_masked_query_gets_zero_gradient(case, seed):
    """A query with no allowed key gets a zero dQ row, no NaN anywhere, and its grad_out changes nothing.

    Hint: take the weights P from the forward pass (zero rows there), not a softmax of scores set to -inf.
    """
    g, Q, K, V, mask = case
    lead = np.broadcast_shapes(Q.shape[:-2], mask.shape[:-2])
    full = np.broadcast_to(mask, (*lead, Q.shape[-2], K.shape[-2]))  # (..., T_q, T_k)
    blank = ~full.any(axis=-1)  # (..., T_q): queries with no allowed key
    assume(blank.any())
    dQ, dK, dV = attention_grads(g, Q, K, V, mask)
    for name, arr in (("dQ", dQ), ("dK", dK), ("dV", dV)):
        assert_finite(arr, message("{name} with a fully masked query", name=name))
    assert_equal(dQ[blank], np.zeros_like(dQ[blank]),
                 message("dQ at the fully masked queries"))
    g2 = g.copy()
    g2[blank] = S.rng(seed).standard_normal(g2[blank].shape) * 10
    _, dK2, dV2 = attention_grads(g2, Q, K, V, mask,
                                  message("attention backward, other grad_out at masked queries"))
    assert_close(dK2, dK, message("dK after changing grad_out at the fully masked queries"),
                 rtol=1e-6, atol=1e-6)
    assert_close(dV2, dV, message("dV after changing grad_out at the fully masked queries"),
                 rtol=1e-6, atol=1e-6)


@given(attention_cases())
def test_attention_backward_dK_sums_to_zero_over_keys(case):
    """dK sums to zero over the keys: adding one vector to every key shifts each score row by a constant.

    Hint: dK = dS^T Q / sqrt(d_k) with dS the gradient of the scores, whose rows sum to zero.
    """
    g, Q, K, V, mask = case
    _, dK, _ = attention_grads(g, Q, K, V, mask)
    lead = np.broadcast_shapes(Q.shape[:-2], () if mask is None else mask.shape[:-2])
    atol = 1e-4 if Q.dtype == np.float32 else 1e-10
    assert_close(dK.astype(F64).sum(axis=-2), np.zeros((*lead, K.shape[-1])),
                 message("dK summed over the keys"),
                 rtol=0.0, atol=atol)


@given(attention_cases())
def test_attention_backward_dV_sums_to_grad_out_over_keys(case):
    """dV summed over the keys equals grad_out summed over the queries that attend (weights sum to one).

    Hint: dV = P^T g (the weights transposed), not P g.
    """
    g, Q, K, V, mask = case
    _, _, dV = attention_grads(g, Q, K, V, mask)
    T_q, T_k = Q.shape[-2], K.shape[-2]
    allowed = np.ones((T_q, T_k), bool) if mask is None else np.broadcast_to(
        mask, (*np.broadcast_shapes(Q.shape[:-2], mask.shape[:-2]), T_q, T_k))
    attends = allowed.any(axis=-1, keepdims=True)  # (..., T_q, 1)
    expected = (g.astype(F64) * attends).sum(axis=-2)  # (..., d_v)
    assert_close(dV.astype(F64).sum(axis=-2), expected,
                 message("dV summed over the keys"), **tol(Q.dtype))


def test_attention_backward_rejects_grad_out_of_another_shape():
    """grad_out not shaped like the attention output [..., T_q, d_v] raises ValueError.

    Hint: grad_out must be [..., T_q, d_v], the shape of the forward output P V: compare it exactly before
    computing and raise ValueError naming grad_out.
    """
    Q, K, V = make_qkv(1, (2,), 3, 5, 4, 2)
    for bad in [(2, 3, 4), (2, 5, 2), (3, 2)]:
        with raises_value_error("grad_out"):
            ex15.scaled_dot_product_attention_backward(np.ones(bad), Q, K, V)


# --- layer_norm_backward ---------------------------------------------------------------------------


@given(norm_cases())
@settings(max_examples=10)
def test_layer_norm_backward_shapes_and_dtype(case):
    """dx is shaped like x, dgamma and dbeta like gamma [D], all in x's dtype, for any leading dims.

    Hint: dgamma and dbeta sum over every leading axis to reach [D], dx keeps x's shape, and everything stays
    in x's dtype.
    """
    g, x, p, eps = case
    ln_grads(g, x, p, eps)


@given(norm_cases(dtype=F64, max_size=MAX_FD, min_D=3))
def test_layer_norm_backward_matches_finite_differences(case):
    """dx, dgamma, dbeta are the gradients of sum(layer_norm(x, p, eps) * g), for the eps given.

    Hint: dx = (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)) / sigma with dx_hat = g * gamma,
    both means over the last axis, sigma = sqrt(var + eps) (biased variance).
    """
    g, x, p, eps = case
    dx, grads = ln_grads(g, x, p, eps)

    def norm(x, gamma, beta):
        return ref09.layer_norm(x, LayerNormParams(gamma=gamma, beta=beta), eps=eps)

    assert_gradient(dx, numerical_gradient(scalarised(lambda z: norm(z, p.gamma, p.beta), g), x), "dx")
    assert_gradient(grads["gamma"], numerical_gradient(scalarised(lambda z: norm(x, z, p.beta), g), p.gamma),
                    "dgamma")
    assert_gradient(grads["beta"], numerical_gradient(scalarised(lambda z: norm(x, p.gamma, z), g), p.beta),
                    "dbeta")


def test_layer_norm_backward_default_eps():
    """Without eps, layer_norm_backward uses eps = 1e-5, the default of layer_norm.

    Hint: give eps the same default as layer_norm, 1e-5, and use it in sigma = sqrt(var + eps).
    """
    g0 = S.rng(70)
    g, x = g0.standard_normal((2, 3, 4)), g0.standard_normal((2, 3, 4))
    p = LayerNormParams(gamma=g0.standard_normal(4), beta=g0.standard_normal(4))
    dx, _ = read_tuple(ex15.layer_norm_backward(g, x, p), "layer_norm_backward(grad_out, x, p)", 2)
    e_dx, _ = ref15.layer_norm_backward(g, x, p, eps=1e-5)
    assert_close(as_array(dx, "dx", x.shape, F64), e_dx, message("dx of layer_norm_backward without eps"))


@given(norm_cases())
def test_layer_norm_backward_matches_reference(case):
    """dx, dgamma, dbeta equal the reference, float32 and float64, with 0 to 2 leading dims.

    Hint: x_hat and sigma are those of the forward pass (biased variance, eps inside the square root); dx =
    (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)) / sigma with dx_hat = g * gamma.
    """
    g, x, p, eps = case
    dx, grads = ln_grads(g, x, p, eps)
    p64 = LayerNormParams(gamma=p.gamma.astype(F64), beta=p.beta.astype(F64))
    e_dx, e_grads = ref15.layer_norm_backward(g.astype(F64), x.astype(F64), p64, eps=eps)
    assert_close(dx, e_dx, "dx", **tol(x.dtype))
    assert_close(grads["gamma"], e_grads.gamma, "dgamma", **tol(x.dtype))
    assert_close(grads["beta"], e_grads.beta, "dbeta", **tol(x.dtype))


@given(norm_cases())
def test_layer_norm_backward_dx_sums_to_zero_per_row(case):
    """dx sums to zero over the last axis of every row (adding a constant to a row changes nothing).

    Hint: subtract mean(dx_hat) over the last axis; dx = g * gamma / sigma alone is not the gradient.
    """
    g, x, p, eps = case
    dx, _ = ln_grads(g, x, p, eps)
    assert_close(dx.astype(F64).sum(axis=-1), np.zeros(x.shape[:-1]),
                 message("dx summed over the last axis"),
                 rtol=0.0, atol=1e-4 if x.dtype == np.float32 else 1e-10)


@given(norm_cases(dtype=F64))
def test_layer_norm_backward_dx_is_orthogonal_to_x_hat(case):
    """With eps = 1e-12, dx is orthogonal to each row's x_hat (scaling a row does not change its norm).

    Hint: the term -x_hat * mean(dx_hat * x_hat) comes from the variance's dependence on x.
    """
    g, x, p, _ = case
    dx, _ = ln_grads(g, x, p, 1e-12)
    x_hat = (x - x.mean(axis=-1, keepdims=True)) / x.std(axis=-1, keepdims=True)
    assert_close((dx * x_hat).sum(axis=-1), np.zeros(x.shape[:-1]),
                 message("sum of dx * x_hat over the last axis"),
                 rtol=0.0, atol=1e-8)


@given(norm_cases(min_dims=2))
def test_layer_norm_backward_sums_parameter_gradients_over_all_leading_axes(case):
    """On [B, T, D] (and deeper) inputs dbeta = sum of g and dgamma = sum of g * x_hat over ALL leading axes.

    Hint: sum over axis=tuple(range(x.ndim - 1)), not over axis 0 only.
    """
    g, x, p, eps = case
    _, grads = ln_grads(g, x, p, eps)
    x64 = x.astype(F64)
    x_hat = (x64 - x64.mean(axis=-1, keepdims=True)) / np.sqrt(x64.var(axis=-1, keepdims=True) + eps)
    leading = tuple(range(x.ndim - 1))
    assert_close(grads["beta"], g.astype(F64).sum(axis=leading), "dbeta", **tol(x.dtype))
    assert_close(grads["gamma"], (g * x_hat).sum(axis=leading), "dgamma", **tol(x.dtype))


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_layer_norm_backward_tiny_variance_rows(dtype):
    """Rows of scale 1e-3 (variance 1e-6, below eps) still get the right gradients: eps inside the sqrt.

    Hint: sigma = np.sqrt(var + eps), the same sigma as the forward pass.
    """
    x = (1e-3 * spread_rows(3, (3, 6), F64)).astype(dtype)
    p = S.random_layer_norm(4, 6, dtype)
    g = S.rng(5).standard_normal((3, 6)).astype(dtype)
    dx, grads = ln_grads(g, x, p)
    e_dx, e_grads = ref15.layer_norm_backward(g.astype(F64), x.astype(F64),
                                              LayerNormParams(p.gamma.astype(F64), p.beta.astype(F64)))
    assert_finite(dx, message("dx for rows of variance ~1e-6"))
    scale = float(np.abs(e_dx).max())
    assert_close(dx, e_dx, message("dx for rows of variance ~1e-6"), rtol=1e-4, atol=1e-5 * scale)
    assert_close(grads["gamma"], e_grads.gamma,
                 message("dgamma for rows of variance ~1e-6"), **tol(dtype))


@given(norm_cases(dtype=F64, min_dims=1))
@settings(max_examples=10)
def test_layer_norm_backward_parameter_gradients_add_up_over_rows(case):
    """dgamma and dbeta of a batch equal the sums of those of its first row and of the other rows.

    Hint: dgamma = sum g * x_hat and dbeta = sum g are sums over every leading axis, not means and not over
    axis 0 only.
    """
    g, x, p, eps = case
    assume(x.shape[0] >= 2)
    _, whole = ln_grads(g, x, p, eps)
    _, first = ln_grads(g[:1], x[:1], p, eps,
                        message("layer_norm_backward on the first row"))
    _, rest = ln_grads(g[1:], x[1:], p, eps,
                       message("layer_norm_backward on the other rows"))
    for k in ("gamma", "beta"):
        assert_close(whole[k], first[k] + rest[k],
                     message("d{k} of the batch compared with the sum of its parts", k=k))


def test_layer_norm_backward_rejects_grad_out_of_another_shape():
    """grad_out not shaped like x raises ValueError, ideally naming `grad_out`.

    Hint: compare grad_out.shape with x.shape exactly before computing and raise ValueError naming grad_out.
    """
    x = spread_rows(1, (2, 3, 4), F64)
    p = S.random_layer_norm(2, 4)
    for bad in [(2, 3), (3, 4), (2, 3, 5), (2, 4, 3)]:
        with raises_value_error("grad_out"):
            ex15.layer_norm_backward(np.ones(bad), x, p)


# --- feed_forward_backward -------------------------------------------------------------------------


@given(ffn_cases())
@settings(max_examples=10)
def test_feed_forward_backward_shapes_and_dtype(case):
    """dx is shaped like x and each parameter gradient like its parameter, all in x's dtype.

    Hint: each gradient has its parameter's shape: flatten the positions to rows first, so that dW_1 = x^T da
    is [D, F] and the bias gradients sum over every position.
    """
    ffn_grads(*case)


@given(ffn_cases(dtype=F64, max_size=20, max_F=5))
@settings(max_examples=15)
def test_feed_forward_backward_matches_finite_differences(case):
    """dx, dW_1, db_1, dW_2, db_2 are the gradients of sum(feed_forward(x, p) * g).

    Hint: a = x W_1 + b_1, h = relu(a); dW_2 = h^T g, db_2 = sum g, da = (g W_2^T) * (a > 0),
    dW_1 = x^T da, db_1 = sum da, dx = da W_1^T (sums over every position).
    """
    g, x, p = case
    assume(np.abs(x @ p.W_1 + p.b_1).min() > 1e-4)  # away from the ReLU's kink
    dx, grads = ffn_grads(g, x, p)
    assert_gradient(dx, numerical_gradient(scalarised(lambda z: ref09.feed_forward(z, p), g), x), "dx")
    for k in ("W_1", "b_1", "W_2", "b_2"):
        def f(z, k=k):
            return ref09.feed_forward(x, dataclasses.replace(p, **{k: z}))

        assert_gradient(grads[k], numerical_gradient(scalarised(f, g), getattr(p, k)), f"d{k}")


@given(ffn_cases())
def test_feed_forward_backward_matches_reference(case):
    """dx and the parameter gradients equal the reference, float32 and float64, with 0 to 2 leading dims.

    Hint: recompute a = x W_1 + b_1 and h = relu(a); dW_2 = h^T g, db_2 = sum g, da = (g W_2^T) * (a > 0),
    dW_1 = x^T da, db_1 = sum da, dx = da W_1^T.
    """
    g, x, p = case
    dx, grads = ffn_grads(g, x, p)
    p64 = FeedForwardParams(**{k: getattr(p, k).astype(F64) for k in ("W_1", "b_1", "W_2", "b_2")})
    e_dx, e_grads = ref15.feed_forward_backward(g.astype(F64), x.astype(F64), p64)
    assert_close(dx, e_dx, "dx", **tol(x.dtype))
    for k in ("W_1", "b_1", "W_2", "b_2"):
        assert_close(grads[k], getattr(e_grads, k), f"d{k}", **tol(x.dtype))


@given(ffn_cases(), st.data())
def test_feed_forward_backward_dead_units_get_no_gradient(case, data):
    """A hidden unit whose pre-activation is negative everywhere gets no gradient: zero dW_1, db_1, dW_2.

    Hint: gate the gradient with (a > 0), a = x W_1 + b_1 the pre-activation, before dW_1, db_1 and dx.
    """
    g, x, p = case
    F = p.b_1.shape[0]
    dead = S.rng(data.draw(S.seeds)).random(F) < 0.5
    b_1 = np.where(dead, -100.0, p.b_1).astype(x.dtype)
    q = dataclasses.replace(p, b_1=b_1)
    _, grads = ffn_grads(g, x, q)
    zeros = np.zeros((x.shape[-1], int(dead.sum())))
    assert_equal(grads["W_1"][:, dead], zeros,
                 message("dW_1 of the dead units (columns)"))
    assert_equal(grads["b_1"][dead], zeros[0],
                 message("db_1 of the dead units"))
    assert_equal(grads["W_2"][dead], zeros.T,
                 message("dW_2 of the dead units (rows)"))
    _, e_grads = ref15.feed_forward_backward(g, x, q)
    assert_close(grads["b_1"], e_grads.b_1, "db_1", **tol(x.dtype))


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_feed_forward_backward_relu_gradient_at_zero_is_zero(dtype):
    """A unit whose pre-activation is exactly 0 gets no gradient: the ReLU's gradient at 0 is 0.

    Hint: use (a > 0), not (a >= 0).
    """
    p = random_ffn(3, 4, 5, dtype)
    W_1, b_1 = p.W_1.copy(), p.b_1.copy()
    W_1[:, [1, 3]] = 0
    b_1[[1, 3, 4]] = 0  # a[..., 1] = a[..., 3] = 0 everywhere, a[0, 0, 4] = 0 below
    b_1[[0, 2]] = np.abs(b_1[[0, 2]]) + 0.5
    q = dataclasses.replace(p, W_1=W_1, b_1=b_1)
    x = S.rng(4).uniform(-2, 2, (2, 3, 4)).astype(dtype)
    x[0, 0] = 0  # a zero position: its pre-activation is b_1, exactly 0 at unit 4
    g = S.rng(5).standard_normal((2, 3, 4)).astype(dtype)
    dx, grads = ffn_grads(g, x, q)
    assert_equal(grads["b_1"][[1, 3]], np.zeros(2),
                 message("db_1 of the units whose pre-activation is exactly 0"))
    e_dx, e_grads = ref15.feed_forward_backward(g, x, q)
    assert_close(dx, e_dx, "dx", **tol(dtype))
    assert_close(grads["b_1"], e_grads.b_1, "db_1", **tol(dtype))


@given(ffn_cases(dtype=F64, min_dims=1))
@settings(max_examples=10)
def test_feed_forward_backward_parameter_gradients_add_up_over_positions(case):
    """The parameter gradients of a batch equal the sums of those of its first row and of the other rows.

    Hint: the parameter gradients are sums over every position of the batch, not means: flatten the leading
    axes and sum, or use matrix products over the flattened rows.
    """
    g, x, p = case
    assume(x.shape[0] >= 2)
    _, whole = ffn_grads(g, x, p)
    _, first = ffn_grads(g[:1], x[:1], p,
                         message("feed_forward_backward on the first row"))
    _, rest = ffn_grads(g[1:], x[1:], p, message("feed_forward_backward on the other rows"))
    for k in ("W_1", "b_1", "W_2", "b_2"):
        assert_close(whole[k], first[k] + rest[k],
                     message("d{k} of the batch compared with the sum of its parts", k=k))


def test_feed_forward_backward_rejects_grad_out_of_another_shape():
    """grad_out not shaped like x raises ValueError, ideally naming `grad_out`.

    Hint: compare grad_out.shape with x.shape exactly before computing and raise ValueError naming grad_out.
    """
    p = random_ffn(1, 4, 6, F64)
    x = S.rng(2).standard_normal((2, 3, 4))
    for bad in [(2, 3), (2, 3, 6), (3, 4), (2, 4, 3)]:
        with raises_value_error("grad_out"):
            ex15.feed_forward_backward(np.ones(bad), x, p)


# --- cross_entropy ---------------------------------------------------------------------------------


@given(ce_cases())
@settings(max_examples=10)
def test_cross_entropy_returns_a_float_and_a_gradient_like_logits(case):
    """cross_entropy returns (loss, dlogits): a real number and an array of logits' shape and dtype.

    Hint: return the loss as a Python float (float(...), not a numpy array) and dlogits in logits' shape and
    dtype.
    """
    ce(*case)


@given(ce_cases())
def test_cross_entropy_loss_is_mean_negative_log_likelihood(case):
    """The loss is the mean over counted positions of -log softmax(logits)[target], in float32 and float64.

    Hint: divide by the number of positions whose target is not ignore_id, not by all positions.
    """
    logits, targets, ignore_id = case
    loss, _ = ce(logits, targets, ignore_id)
    assert_close(np.array(loss), np.array(nll(logits, targets, ignore_id)),
                 message("the loss (ignore_id={ignore_id})", ignore_id=ignore_id), **loss_tol(logits.dtype))


@given(ce_cases(dtype=F64, max_size=MAX_FD))
def test_cross_entropy_gradient_matches_finite_differences(case):
    """dlogits is the loss's gradient: (softmax - onehot(target)) / N at counted positions, 0 elsewhere.

    Hint: dlogits = (softmax(logits) - onehot(targets)) / N at the counted positions and 0 at the ignored
    ones, with N the number of counted positions.
    """
    logits, targets, ignore_id = case
    _, dlogits = ce(logits, targets, ignore_id)
    numeric = numerical_gradient(lambda z: nll(z, targets, ignore_id), logits)
    assert_gradient(dlogits, numeric, f"dlogits (ignore_id={ignore_id})")


@given(ce_cases())
def test_cross_entropy_matches_reference(case):
    """The loss and dlogits equal the reference, float32 and float64, with and without ignore_id.

    Hint: loss = -(1/N) sum of log softmax(logits)[target] over the counted positions, N = how many targets
    are not ignore_id; the same N divides the gradient.
    """
    logits, targets, ignore_id = case
    loss, dlogits = ce(logits, targets, ignore_id)
    e_loss, e_dlogits = ref15.cross_entropy(logits.astype(F64), targets, ignore_id)
    assert_close(dlogits, e_dlogits, f"dlogits (ignore_id={ignore_id})", **tol(logits.dtype))
    assert_close(np.array(loss), np.array(e_loss),
                 message("the loss (ignore_id={ignore_id})", ignore_id=ignore_id), **tol(logits.dtype))


@given(ce_cases(ignore=True), S.seeds)
def test_cross_entropy_ignored_positions_change_nothing(case, seed):
    """Changing the logits at ignored positions changes neither the loss nor dlogits; dlogits is 0 there.

    Hint: multiply the gradient by the counted mask (targets != ignore_id) as well as the loss.
    """
    logits, targets, ignore_id = case
    ignored = targets == ignore_id
    loss, dlogits = ce(logits, targets, ignore_id)
    assert_equal(dlogits[ignored], np.zeros_like(dlogits[ignored]),
                 message("dlogits at the ignored positions"))
    other = logits.copy()
    other[ignored] = (S.rng(seed).standard_normal(other[ignored].shape) * 50).astype(logits.dtype)
    loss2, dlogits2 = ce(other, targets, ignore_id,
                          message("cross_entropy with other logits at ignored positions"))
    assert_close(np.array(loss2), np.array(loss),
                 message("the loss after changing the logits at ignored positions"),
                 **loss_tol(logits.dtype))
    assert_close(dlogits2, dlogits, message("dlogits after changing the logits at ignored positions"))


@given(ce_cases(ignore=True))
def test_cross_entropy_equals_that_of_the_counted_positions_alone(case):
    """The loss equals that of the counted positions alone (flattened, nothing ignored): a mean over N.

    Hint: N = (targets != ignore_id).sum(), for the loss and for the gradient.
    """
    logits, targets, ignore_id = case
    counted = targets != ignore_id
    loss, dlogits = ce(logits, targets, ignore_id)
    alone, d_alone = ce(logits[counted], targets[counted], None,
                          message("cross_entropy on the counted positions"))
    assert_close(np.array(loss), np.array(alone),
                 message("the loss compared with that of the counted positions"),
                 **tol(logits.dtype))
    assert_close(dlogits[counted], d_alone,
                 message("dlogits at the counted positions"), **tol(logits.dtype))


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
@pytest.mark.parametrize("ignore_id", [0, -100])
def test_cross_entropy_with_every_position_ignored_is_zero(dtype, ignore_id):
    """With every target equal to ignore_id the loss is 0 and dlogits is 0 (no division by zero, no NaN).

    Hint: when N = 0 return 0.0 and a zero gradient at once instead of dividing by N.
    """
    logits = S.rng(1).standard_normal((2, 3, 4)).astype(dtype)
    targets = np.full((2, 3), ignore_id, dtype=np.int64)
    loss, dlogits = ce(logits, targets, ignore_id)
    if loss != 0.0:
        raise AssertionError(message("the loss with every position ignored should be 0.0, got {loss}",
                                     loss=loss))
    assert_equal(dlogits, np.zeros(logits.shape),
                 message("dlogits with every position ignored"))


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_cross_entropy_of_one_position(dtype):
    """logits [V] with a 0-d target (no leading axes) give -log softmax(logits)[target] and
    softmax(logits) - onehot(target).

    Hint: index with the leading axes, whatever their number (none here): for example take logits along the
    last axis with np.take_along_axis and targets[..., None].
    """
    logits, target = np.array([1.0, -0.5, 2.0, 0.25], dtype=dtype), np.array(2)
    loss, dlogits = ce(logits, target, None, "cross_entropy(logits [4], targets of shape ())")
    p = np.exp(logits.astype(F64) - logits.max()) / np.exp(logits.astype(F64) - logits.max()).sum()
    assert_close(dlogits, p - np.eye(4)[2], message("dlogits of one position"), **tol(dtype))
    assert_close(np.array(loss), np.array(-np.log(p[2])), message("the loss of one position"), **tol(dtype))


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_cross_entropy_without_ignore_id_counts_every_position(dtype):
    """With ignore_id=None every position counts, those whose target is 0 included (N = all positions).

    Hint: with ignore_id=None every position is counted, a target 0 included: build the counted mask only when
    ignore_id is not None.
    """
    logits = S.rng(2).standard_normal((2, 3, 5)).astype(dtype)
    targets = np.array([[0, 3, 0], [4, 0, 1]])
    loss, dlogits = ce(logits, targets)
    assert_close(np.array(loss), np.array(nll(logits, targets)),
                 message("the loss with ignore_id=None"), **tol(dtype))
    _, e_dlogits = ref15.cross_entropy(logits.astype(F64), targets)
    assert_close(dlogits, e_dlogits, message("dlogits with ignore_id=None"), **tol(dtype))


@given(ce_cases())
def test_cross_entropy_gradient_rows_sum_to_zero(case):
    """Every row of dlogits sums to zero (softmax sums to 1, the one-hot too).

    Hint: each row of the gradient is softmax minus a one-hot, both summing to 1: subtract 1 at the target's
    index, not elsewhere, and use the same softmax for every entry of the row.
    """
    logits, targets, ignore_id = case
    _, dlogits = ce(logits, targets, ignore_id)
    assert_close(dlogits.astype(F64).sum(axis=-1), np.zeros(targets.shape),
                 message("dlogits summed over the vocabulary"), rtol=0.0,
                 atol=1e-6 if logits.dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
@pytest.mark.parametrize("magnitude", [1e3, 1e4])
def test_cross_entropy_is_finite_for_huge_logits(dtype, magnitude):
    """Logits of magnitude 1e4 give a finite, exact loss and gradient (a stable log-softmax).

    Hint: use log_softmax (x - max - log(sum(exp(x - max)))), not np.log(softmax(x)), which is -inf.
    """
    m = magnitude
    logits = np.array([[0.0, m, -m], [m, 0.0, -m], [0.0, 0.0, 0.0]], dtype=dtype)
    targets = np.array([0, 0, 2])
    loss, dlogits = ce(logits, targets)
    expected_loss = (m + 0.0 + math.log(3)) / 3  # -log p: m (row 0), 0 (row 1), log 3 (row 2)
    if not math.isfinite(loss):
        raise AssertionError(message("the loss for logits of magnitude {m} is {loss}", m=f"{m:g}", loss=loss))
    assert_close(np.array(loss), np.array(expected_loss),
                 message("the loss, logits of magnitude {m}", m=f"{m:g}"), rtol=1e-6)
    assert_finite(dlogits, message("dlogits for logits of magnitude {m}", m=f"{m:g}"))
    expected = np.array([[-1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1 / 3, 1 / 3, -2 / 3]]) / 3
    assert_close(dlogits, expected, message("dlogits for logits of magnitude {m}", m=f"{m:g}"))


@pytest.mark.parametrize("bad", [(2, 4), (3,), (2, 3, 1), (3, 2)])
def test_cross_entropy_rejects_targets_of_another_shape(bad):
    """targets not shaped like logits without its last axis raises ValueError, ideally naming `targets`.

    Hint: compare targets.shape with logits.shape[:-1] exactly before computing and raise ValueError naming
    targets; also reject targets that are not integers.
    """
    logits = np.zeros((2, 3, 4))
    with raises_value_error("targets"):
        ex15.cross_entropy(logits, np.zeros(bad, dtype=np.int64))


@pytest.mark.parametrize(("bad", "ignore_id"), [(4, None), (-1, None), (7, 0), (-1, -100), (4, -100)])
def test_cross_entropy_rejects_targets_out_of_range(bad, ignore_id):
    """A counted target outside 0..V-1 raises ValueError, ideally naming `targets` (V = 4 here).

    Hint: check the counted targets only (those that are not ignore_id) against 0..V-1 and raise ValueError
    naming targets; a negative index would wrap silently.
    """
    logits = np.zeros((2, 3, 4))
    targets = np.array([[1, 2, 3], [0, 1, bad]])
    with raises_value_error("targets"):
        ex15.cross_entropy(logits, targets, ignore_id)


def _softmax_cases(r: np.random.Generator) -> list[tuple]:
    """A 3-D array on axis 1 (axis bugs), a square 2-D one (a missing keepdims broadcasts wrongly
    without an error), float32 on the last axis (probabilities drawn from a Dirichlet: no softmax
    code in a file that ships to students)."""
    p3, g3 = np.moveaxis(r.dirichlet(np.ones(3), size=(2, 4)), -1, 1), r.standard_normal((2, 3, 4))
    p2, g2 = r.dirichlet(np.ones(4), size=4), r.standard_normal((4, 4))
    pf, gf = r.dirichlet(np.ones(5), size=2).astype(np.float32), r.standard_normal((2, 5)).astype(np.float32)
    return [(g3, p3, 1), (g2, p2), (gf, pf)]


def _attention_cases(r: np.random.Generator) -> list[tuple]:
    """B=2 with T_q != T_k and a mask with one fully masked query, then T_q == T_k (transposes
    run), d_k = 4 (the scaling matters), d_v != d_k."""
    Qa, Ka, Va = (r.standard_normal(s) * 1.5 for s in [(2, 3, 4), (2, 5, 4), (2, 5, 2)])
    ga = r.standard_normal((2, 3, 2))
    mask_a = np.ones((2, 3, 5), bool)
    mask_a[0, :, 3:] = False  # batch row 0: keys 3, 4 are padding
    mask_a[1, 2] = False  # batch row 1: query 2 sees nothing
    Qs, Ks, Vs = (r.standard_normal(s) * 1.5 for s in [(2, 4, 4), (2, 4, 4), (2, 4, 3)])
    gs = r.standard_normal((2, 4, 3))
    causal = np.tril(np.ones((4, 4), bool))
    return [(ga, Qa, Ka, Va, mask_a), (gs, Qs, Ks, Vs, causal), (gs, Qs, Ks, Vs)]


def _norm_cases(r: np.random.Generator) -> list[tuple]:
    """[2, 3, 4] (B != T != D), tiny-variance rows, eps = 0.5, float32."""
    xl = r.standard_normal((2, 3, 4)) * 2 + 1
    pl = LayerNormParams(gamma=1 + 0.3 * r.standard_normal(4), beta=0.2 * r.standard_normal(4))
    gl = r.standard_normal((2, 3, 4))
    xt = 1e-3 * r.standard_normal((3, 5))
    pt = LayerNormParams(gamma=1 + 0.3 * r.standard_normal(5), beta=0.2 * r.standard_normal(5))
    gt = r.standard_normal((3, 5))
    p32 = LayerNormParams(pl.gamma.astype(np.float32), pl.beta.astype(np.float32))
    return [(gl, xl, pl), (gt, xt, pt), (gl, xl, pl, 0.5),
            (gl[0].astype(np.float32), xl[0].astype(np.float32), p32)]


def _ffn_cases(r: np.random.Generator) -> list[tuple]:
    """[2, 3, 4] with F = 5, biases large enough to flip some ReLUs; a pre-activation of 0."""
    pf = FeedForwardParams(W_1=r.uniform(-0.8, 0.8, (4, 5)), b_1=r.normal(0, 0.5, 5),
                           W_2=r.uniform(-0.8, 0.8, (5, 4)), b_2=r.normal(0, 0.3, 4))
    xf3, gf3 = r.uniform(-2, 2, (2, 3, 4)), r.standard_normal((2, 3, 4))
    pz = dataclasses.replace(pf, b_1=pf.b_1.copy())
    pz.b_1[2] = 0
    xz = xf3[0].copy()
    xz[1] = 0  # position 1: pre-activation exactly 0 at unit 2
    return [(gf3, xf3, pf), (gf3[0], xz, pz)]


def _cross_entropy_cases(r: np.random.Generator) -> list[tuple]:
    """[2, 4, 5] rows with different padding (pad 0), huge logits, ignore_id=None, everything
    ignored, a negative target."""
    lc = r.standard_normal((2, 4, 5)) * 2
    tc = np.array([[3, 1, 4, 0], [2, 0, 0, 0]])
    huge = np.array([[0.0, 1e4, -1e4], [1e4, 0.0, -1e4]])
    return [(lc, tc, 0), (huge, np.array([0, 1])), (lc[0], np.array([4, 1, 0, 2])),
            (lc[1, :2], np.array([-100, -100]), -100), (lc[0], np.array([4, 1, -1, 2]))]


def diagnostic_cases() -> dict[str, list[tuple]]:
    """Fixed inputs on which the grader compares a failing function with the catalogued mistakes.

    One generator draws them all, in this order: the cases of each function depend on the ones before.
    """
    r = np.random.default_rng(15)
    return {
        "softmax_backward": _softmax_cases(r),
        "scaled_dot_product_attention_backward": _attention_cases(r),
        "layer_norm_backward": _norm_cases(r),
        "feed_forward_backward": _ffn_cases(r),
        "cross_entropy": _cross_entropy_cases(r),
    }
