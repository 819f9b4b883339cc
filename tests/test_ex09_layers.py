"""Tests of exercise 09: layer norm, the position-wise feed-forward network, add & norm.

Each test's docstring says, in one line, the property it checks; the grader shows it to the
learner when the test fails, with the counterexample and the hint below it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.i18n import message
from course.params import FeedForwardParams, LayerNormParams
from tests.support import strategies as S
from tests.support import target
from tests.support.checks import as_array, assert_close, assert_finite, raises_value_error
from tests.support.strategies import spread_rows

ex09 = target.module("ex09_layers")
ref09 = target.reference("ex09_layers")

EPS = 1e-5


def unit_norm(D: int, dtype: type) -> LayerNormParams:
    """gamma = 1, beta = 0: the plain normalisation."""
    return LayerNormParams(gamma=np.ones(D, dtype=dtype), beta=np.zeros(D, dtype=dtype))


def formula_layer_norm(x: np.ndarray, p: LayerNormParams, eps: float = EPS) -> np.ndarray:
    """The definition, in float64: gamma * (x - mean) / sqrt(var + eps) + beta over the last axis."""
    x = x.astype(np.float64)
    c = x - x.mean(axis=-1, keepdims=True)
    return p.gamma * c / np.sqrt((c**2).mean(axis=-1, keepdims=True) + eps) + p.beta


def formula_feed_forward(x: np.ndarray, p: FeedForwardParams) -> np.ndarray:
    """The definition, in float64: relu(x W_1 + b_1) W_2 + b_2."""
    f64 = {k: getattr(p, k).astype(np.float64) for k in ("W_1", "b_1", "W_2", "b_2")}
    return np.maximum(x.astype(np.float64) @ f64["W_1"] + f64["b_1"], 0.0) @ f64["W_2"] + f64["b_2"]


@st.composite
def row_shapes(draw, min_D: int = 2, max_D: int = 7):
    """``(..., D)``: zero to two leading dims and a width D >= 2."""
    return (*draw(S.batch_shapes(max_dims=2, max_side=4)), draw(st.integers(min_D, max_D)))


@st.composite
def norm_cases(draw):
    """``(x [..., D] with well-spread rows, p with random gamma and beta)`` in one float dtype."""
    dtype = draw(S.float_dtypes)
    shape = draw(row_shapes())
    return spread_rows(draw(S.seeds), shape, dtype), S.random_layer_norm(draw(S.seeds), shape[-1], dtype)


@st.composite
def ffn_cases(draw):
    """``(x [..., D], p)`` with F != D and non-zero biases, in one float dtype."""
    dtype = draw(S.float_dtypes)
    shape = draw(row_shapes(max_D=6))
    D = shape[-1]
    F = draw(S.integers_other_than(2, 9, D))
    x = S.rng(draw(S.seeds)).uniform(-3, 3, size=shape).astype(dtype)
    return x, S.random_feed_forward(draw(S.seeds), D, F, dtype)


def mean_tol(dtype) -> dict:
    """The mean of a normalised row is 0 up to rounding: float32 centring leaves errors near 1e-5."""
    return {"atol": 1e-4 if dtype == np.float32 else 1e-9}


def tol(dtype) -> dict:
    """Tolerances against a float64 oracle: float32 results carry rounding of order 1e-6."""
    return {"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32 else {}


# --- layer_norm ------------------------------------------------------------------------------------


@given(norm_cases())
@settings(max_examples=15)
def test_layer_norm_shape_and_dtype(case):
    """layer_norm returns an array of x's shape and dtype, for any leading dims (float32 stays float32).

    Hint: a float64 constant (np.array(eps), np.float64(eps)) turns float32 into float64: use eps as given.
    """
    x, p = case
    as_array(ex09.layer_norm(x, p), "layer_norm(x, p)", x.shape, x.dtype)


@given(st.sampled_from(S.FLOAT_DTYPES), row_shapes(), S.seeds)
def test_layer_norm_gives_mean_0_and_variance_1_per_row(dtype, shape, seed):
    """With gamma = 1 and beta = 0 every row (last axis) of the result has mean 0 and variance 1.

    Hint: average over the last axis (axis=-1, keepdims=True) and use the biased variance (divide by D).
    """
    x = spread_rows(seed, shape, dtype)
    y = as_array(ex09.layer_norm(x, unit_norm(shape[-1], dtype)),
                 message("layer_norm(x, unit gain)"), shape, dtype)
    y = y.astype(np.float64)
    assert_close(y.mean(axis=-1), np.zeros(shape[:-1]),
                 message("mean of each row of layer_norm(x)"),
                 **mean_tol(dtype))
    assert_close(y.var(axis=-1), np.ones(shape[:-1]),
                 message("variance of each row of layer_norm(x)"),
                 rtol=0.0, atol=1e-3)


def test_layer_norm_exact_values():
    """layer_norm of the row [1, 2, 3, 6] (mean 3, variance 3.5) with gamma = [1, 2, 1, 1], beta = 0.5.

    Hint: (x - mean) / sqrt(var + eps) * gamma + beta, with var the mean of (x - mean)^2 (np.var's default).
    """
    x = np.array([[1.0, 2.0, 3.0, 6.0]])
    p = LayerNormParams(gamma=np.array([1.0, 2.0, 1.0, 1.0]), beta=np.full(4, 0.5))
    expected = np.array([[-2.0, -1.0, 0.0, 3.0]]) * np.array([1.0, 2.0, 1.0, 1.0]) / np.sqrt(3.5 + EPS) + 0.5
    assert_close(as_array(ex09.layer_norm(x, p), "layer_norm(x, p)", (1, 4), np.float64), expected,
                 "layer_norm([[1, 2, 3, 6]], p)")


@given(norm_cases(), S.seeds)
def test_layer_norm_is_invariant_to_shifting_and_scaling_a_row(case, seed):
    """Adding a constant to a row, or multiplying it by a positive number, leaves its layer norm the same.

    Each row gets its own shift and scale, so a norm over the wrong axis fails.

    Hint: take the mean and the variance of each row over the last axis (D), so that a row's own shift and
    scale cancel; statistics over the whole array or another axis do not.
    """
    x, p = case
    g = S.rng(seed)
    shift = g.uniform(-20, 20, size=(*x.shape[:-1], 1))
    scale = g.uniform(0.5, 4, size=(*x.shape[:-1], 1))
    moved = (x.astype(np.float64) * scale + shift).astype(x.dtype)
    a = as_array(ex09.layer_norm(x, p), "layer_norm(x, p)", x.shape, x.dtype)
    b = as_array(ex09.layer_norm(moved, p), "layer_norm(x * a + c, p)", x.shape, x.dtype)
    # eps makes the invariance approximate: |error| <= eps / var(row) ~ 1e-5 for these rows
    assert_close(b, a, message("layer_norm(x * a + c) compared with layer_norm(x)"), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (2, 3, 5), (4, 2, 3)])
def test_layer_norm_normalises_the_last_axis_only(shape):
    """With T != D, each row of the last axis is normalised on its own: mean 0 and variance 1 per row.

    Hint: x.mean(axis=-1, keepdims=True) and x.var(axis=-1, keepdims=True); axis 0 or -2 mixes tokens.
    """
    x = spread_rows(7, shape, np.float64)
    y = as_array(ex09.layer_norm(x, unit_norm(shape[-1], np.float64)),
                 message("layer_norm(x of shape {shape})", shape=shape),
                 shape, np.float64)
    assert_close(y, formula_layer_norm(x, unit_norm(shape[-1], np.float64)), f"layer_norm(x, shape {shape})")


@given(norm_cases())
@settings(max_examples=15)
def test_layer_norm_rows_are_independent(case):
    """Each row is normalised on its own: a row computed alone gives the same result as in the batch.

    Hint: compute the mean and the variance of each row over the last axis only (keepdims=True); a statistic
    over the batch or the tokens makes a row depend on its neighbours.
    """
    x, p = case
    whole = as_array(ex09.layer_norm(x, p), "layer_norm(x, p)", x.shape, x.dtype)
    rows = x.reshape(-1, x.shape[-1])
    whole = whole.reshape(rows.shape)
    for r in range(min(len(rows), 4)):
        alone = as_array(ex09.layer_norm(rows[r: r + 1], p), message("layer_norm(row {r} alone)", r=r),
                         (1, x.shape[-1]), x.dtype)
        assert_close(whole[r: r + 1], alone,
                     message("row {r} of layer_norm(x) compared with that row alone", r=r))


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_layer_norm_tiny_variance_rows(dtype):
    """Rows of scale 1e-3 (variance 1e-6, below eps) are still exact: eps goes inside the square root.

    Hint: (x - mean) / np.sqrt(var + eps), not (x - mean) / (np.sqrt(var) + eps); compute var from x - mean.
    """
    offset = 1000.0 if dtype == np.float64 else 0.0  # float32 cannot hold 1e-3 details on top of 1000
    x = (offset + 1e-3 * spread_rows(3, (3, 6), np.float64)).astype(dtype)
    p = S.random_layer_norm(4, 6, dtype)
    y = as_array(ex09.layer_norm(x, p), message("layer_norm(x with variance ~1e-6, p)"), x.shape, dtype)
    assert_finite(y, message("layer_norm(x with variance ~1e-6, p)"))
    assert_close(y, formula_layer_norm(x, p),
                 message("layer_norm(x with variance ~1e-6, p)"), **tol(dtype))


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_layer_norm_constant_row_gives_beta(dtype):
    """A constant row (variance 0) gives exactly beta, with no NaN: eps keeps the division finite.

    Hint: a constant row has x - mean = 0 and variance 0: with eps inside the square root the division stays
    finite and the result is beta.
    """
    x = np.array([[2.0] * 5, [-1.0] * 5], dtype=dtype)
    p = S.random_layer_norm(5, 5, dtype)
    y = as_array(ex09.layer_norm(x, p), message("layer_norm(constant rows, p)"), x.shape, dtype)
    assert_finite(y, message("layer_norm(constant rows, p)"))
    assert_close(y, np.broadcast_to(p.beta, x.shape),
                 message("layer_norm(constant rows, p)"))


@given(norm_cases())
def test_layer_norm_applies_gamma_then_beta(case):
    """layer_norm with gain gamma and shift beta equals gamma * layer_norm(x, unit gain) + beta.

    Hint: multiply the normalised x by gamma, then add beta (not the other way round).
    """
    x, p = case
    D = x.shape[-1]
    plain = as_array(ex09.layer_norm(x, unit_norm(D, x.dtype)),
                     message("layer_norm(x, unit gain)"), x.shape, x.dtype)
    full = as_array(ex09.layer_norm(x, p), "layer_norm(x, p)", x.shape, x.dtype)
    assert_close(full, p.gamma.astype(np.float64) * plain + p.beta, "layer_norm(x, p)", **tol(x.dtype))


@given(norm_cases(), st.sampled_from([1e-5, 1e-3, 0.1]))
def test_layer_norm_matches_reference(case, eps):
    """layer_norm equals the reference for random rows, gains, shifts and values of eps.

    Hint: use the eps argument you are given (not a fixed 1e-5) inside the square root, with the biased
    variance over the last axis.
    """
    x, p = case
    got = as_array(ex09.layer_norm(x, p, eps), f"layer_norm(x, p, eps={eps:g})", x.shape, x.dtype)
    p64 = LayerNormParams(p.gamma.astype(np.float64), p.beta.astype(np.float64))
    assert_close(got, ref09.layer_norm(x.astype(np.float64), p64, eps), f"layer_norm(x, p, eps={eps:g})",
                 **tol(x.dtype))


@given(S.arrays(row_shapes(min_D=1), np.float64), S.seeds)
@settings(max_examples=15)
def test_layer_norm_matches_reference_on_any_values(x, seed):
    """layer_norm equals the reference on arbitrary float64 rows (constant rows and D = 1 included).

    Hint: compute the variance as the mean of (x - mean)^2 over the last axis, not as mean(x^2) - mean^2,
    which loses precision on large values; with D = 1 every row is constant and gives beta.
    """
    p = S.random_layer_norm(seed, x.shape[-1])
    got = as_array(ex09.layer_norm(x, p), "layer_norm(x, p)", x.shape, np.float64)
    assert_close(got, ref09.layer_norm(x, p), "layer_norm(x, p)", rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("bad", ["gamma", "beta"])
def test_layer_norm_parameter_shape_mismatch_raises(bad):
    """gamma or beta whose shape is not [D] raises ValueError, ideally naming `p` (or the field).

    Hint: compare p.gamma.shape and p.beta.shape with (D,), D = x.shape[-1], and raise ValueError naming p
    before computing: a beta of shape [1] would broadcast silently.
    """
    p = S.random_layer_norm(0, 4)
    setattr(p, bad, np.ones(3) if bad == "gamma" else np.zeros(1))  # beta [1] would broadcast silently
    with raises_value_error("p", bad):
        ex09.layer_norm(np.ones((2, 4)), p)


# --- feed_forward ----------------------------------------------------------------------------------


@given(ffn_cases())
@settings(max_examples=15)
def test_feed_forward_shape_and_dtype(case):
    """feed_forward returns x's shape and dtype for any leading dims (float32 stays float32).

    Hint: keep x's leading dims (reshape back to x.shape if you flatten the positions), and add no float64
    constant that would turn float32 into float64.
    """
    x, p = case
    as_array(ex09.feed_forward(x, p), "feed_forward(x, p)", x.shape, x.dtype)


@given(ffn_cases())
def test_feed_forward_matches_the_formula(case):
    """feed_forward(x) equals relu(x W_1 + b_1) W_2 + b_2 computed in float64.

    Hint: both biases, and ReLU between the two layers: np.maximum(x @ W_1 + b_1, 0) @ W_2 + b_2.
    """
    x, p = case
    got = as_array(ex09.feed_forward(x, p), "feed_forward(x, p)", x.shape, x.dtype)
    assert_close(got, formula_feed_forward(x, p), "feed_forward(x, p)", **tol(x.dtype))


@given(ffn_cases())
@settings(max_examples=15)
def test_feed_forward_is_position_wise(case):
    """The feed-forward acts on each position alone: one position fed alone ([1, 1, D]) gives its row.

    Hint: multiply on the last axis only, so that each position's row goes through W_1 and W_2 on its own; a
    reshape that mixes T with D, or a sum over positions, breaks this.
    """
    x, p = case
    D = x.shape[-1]
    whole = as_array(ex09.feed_forward(x, p), "feed_forward(x, p)", x.shape, x.dtype).reshape(-1, D)
    rows = x.reshape(-1, D)
    for r in range(min(len(rows), 4)):
        alone = as_array(ex09.feed_forward(rows[r][None, None], p),
                         message("feed_forward(position {r} alone)", r=r), (1, 1, D), x.dtype)
        assert_close(whole[r], alone[0, 0],
                     message("position {r} of feed_forward(x) compared with it alone", r=r))


def test_feed_forward_relu_sits_between_the_layers():
    """If every hidden unit is negative before ReLU, the hidden layer is 0 and the output is b_2 exactly.

    Hint: ReLU acts on the hidden layer x W_1 + b_1, before W_2; not on the output.
    """
    p = S.random_feed_forward(1, 4, 6)
    p.b_1 = np.full(6, -100.0)  # every pre-activation is far below zero
    x = S.rng(2).uniform(-1, 1, size=(2, 3, 4))
    got = as_array(ex09.feed_forward(x, p), message("feed_forward(x, p) with b_1 = -100"), x.shape,
                   np.float64)
    assert_close(got, np.broadcast_to(p.b_2, x.shape),
                 message("feed_forward(x, p) with every hidden unit cut"))


def test_feed_forward_of_zero_input_is_relu_b1_W2_plus_b2():
    """feed_forward(0) = relu(b_1) W_2 + b_2: the first bias goes inside the ReLU, the second after W_2.

    Hint: with x = 0 only the biases remain: b_1 is added before the ReLU, b_2 after the product with W_2 (not
    before it, and not left out).
    """
    p = S.random_feed_forward(3, 4, 6)
    p.b_1 = np.array([0.5, -0.5, 1.0, -1.0, 2.0, 0.25])
    x = np.zeros((2, 4))
    got = as_array(ex09.feed_forward(x, p), "feed_forward(zeros, p)", x.shape, np.float64)
    expected = np.maximum(p.b_1, 0) @ p.W_2 + p.b_2
    assert_close(got, np.broadcast_to(expected, x.shape), "feed_forward(zeros, p)")


@given(ffn_cases())
def test_feed_forward_matches_reference(case):
    """feed_forward equals the reference on random inputs and weights, float32 and float64.

    Hint: check relu(x W_1 + b_1) W_2 + b_2 term by term: the ReLU is max(h, 0) on the hidden layer only, and
    both biases are added.
    """
    x, p = case
    got = as_array(ex09.feed_forward(x, p), "feed_forward(x, p)", x.shape, x.dtype)
    p64 = FeedForwardParams(*(getattr(p, k).astype(np.float64) for k in ("W_1", "b_1", "W_2", "b_2")))
    assert_close(got, ref09.feed_forward(x.astype(np.float64), p64), "feed_forward(x, p)", **tol(x.dtype))


def test_feed_forward_width_mismatch_raises():
    """x whose last axis is not W_1's first axis raises ValueError, ideally naming `x`.

    Hint: compare x.shape[-1] with p.W_1.shape[0] yourself and raise ValueError naming x before any matrix
    product.
    """
    p = S.random_feed_forward(0, 4, 6)
    with raises_value_error("x"):
        ex09.feed_forward(np.ones((2, 3, 5)), p)


@pytest.mark.parametrize(("field", "shape"), [("b_1", (5,)), ("b_1", (1,)), ("W_2", (6, 1)), ("b_2", (1,))],
                         ids=["b_1 [5]", "b_1 [1]", "W_2 [F, 1]", "b_2 [1]"])
def test_feed_forward_bad_bias_shape_raises(field, shape):
    """A b_1 that is not [F], a W_2 that is not [F, D] or a b_2 that is not [D] raises ValueError, even
    when it would broadcast, ideally naming `p` (or the field).

    Hint: with D, F = p.W_1.shape, compare each shape exactly: b_1 is (F,), W_2 is (F, D), b_2 is (D,);
    broadcasting would accept a bias of shape [1] silently.
    """
    p = S.random_feed_forward(0, 4, 6)
    setattr(p, field, np.zeros(shape))
    with raises_value_error("p", field):
        ex09.feed_forward(np.ones((2, 3, 4)), p)


# --- add_and_norm ----------------------------------------------------------------------------------


@given(norm_cases(), S.seeds)
@settings(max_examples=15)
def test_add_and_norm_shape_and_dtype(case, seed):
    """add_and_norm returns x's shape and dtype (float32 stays float32).

    Hint: compute x + sublayer_out into a new array (x += ... changes the caller's x, which the contract
    forbids) and normalise it; float32 inputs then stay float32.
    """
    x, p = case
    s = spread_rows(seed, x.shape, x.dtype)
    as_array(ex09.add_and_norm(x, s, p), "add_and_norm(x, sublayer_out, p)", x.shape, x.dtype)


@given(norm_cases(), S.seeds)
def test_add_and_norm_includes_the_residual(case, seed):
    """add_and_norm(x, s) is the layer norm of the sum x + s: the residual x is added before normalising.

    Hint: return layer_norm(x + sublayer_out, p): not layer_norm(sublayer_out), not x + layer_norm(...).
    """
    x, p = case
    s = spread_rows(seed, x.shape, x.dtype)
    got = as_array(ex09.add_and_norm(x, s, p), "add_and_norm(x, sublayer_out, p)", x.shape, x.dtype)
    assert_close(got, formula_layer_norm(x.astype(np.float64) + s, p), "add_and_norm(x, sublayer_out, p)",
                 **tol(x.dtype))


@given(norm_cases(), S.seeds)
def test_add_and_norm_depends_only_on_the_sum(case, seed):
    """Only x + sublayer_out matters: swapping x and sublayer_out gives the same result.

    Hint: use x only through the sum x + sublayer_out, normalised once: a residual added after the norm, or a
    norm of sublayer_out alone, treats the two inputs differently.
    """
    x, p = case
    s = spread_rows(seed, x.shape, x.dtype)
    a = as_array(ex09.add_and_norm(x, s, p), "add_and_norm(x, s, p)", x.shape, x.dtype)
    b = as_array(ex09.add_and_norm(s, x, p), "add_and_norm(s, x, p)", x.shape, x.dtype)
    assert_close(a, b, message("add_and_norm(x, s, p) compared with add_and_norm(s, x, p)"), **tol(x.dtype))


@given(st.sampled_from(S.FLOAT_DTYPES), row_shapes(), S.seeds)
def test_add_and_norm_output_is_normalised(dtype, shape, seed):
    """With gamma = 1 and beta = 0, every row of add_and_norm's output has mean 0 and variance 1.

    Hint: the norm is the last step: nothing is added after it.
    """
    x = spread_rows(seed, shape, dtype)
    s = spread_rows(seed + 1, shape, dtype)
    y = as_array(ex09.add_and_norm(x, s, unit_norm(shape[-1], dtype)),
                 message("add_and_norm(x, s, unit gain)"),
                 shape, dtype).astype(np.float64)
    assert_close(y.mean(axis=-1), np.zeros(shape[:-1]),
                 message("mean of each row of add_and_norm(x, s)"),
                 **mean_tol(dtype))
    var_in = (x.astype(np.float64) + s).var(axis=-1)
    assert_close(y.var(axis=-1), var_in / (var_in + EPS),
                 message("variance of each row of add_and_norm(x, s)"),
                 rtol=0.0, atol=1e-3)


@given(norm_cases(), S.seeds)
def test_add_and_norm_matches_reference(case, seed):
    """add_and_norm equals the reference on random inputs, float32 and float64.

    Hint: post-norm, as the docstring says: LayerNorm(x + sublayer_out) with the given p, not x +
    LayerNorm(sublayer_out).
    """
    x, p = case
    s = spread_rows(seed, x.shape, x.dtype)
    got = as_array(ex09.add_and_norm(x, s, p), "add_and_norm(x, s, p)", x.shape, x.dtype)
    p64 = LayerNormParams(p.gamma.astype(np.float64), p.beta.astype(np.float64))
    assert_close(got, ref09.add_and_norm(x.astype(np.float64), s.astype(np.float64), p64),
                 "add_and_norm(x, s, p)", **tol(x.dtype))


@pytest.mark.parametrize("s_shape", [(2, 3, 5), (3, 4), (1, 3, 4)])
def test_add_and_norm_shape_mismatch_raises(s_shape):
    """sublayer_out of another shape than x raises ValueError, even if it broadcasts.

    Hint: compare sublayer_out.shape with x.shape before adding and raise ValueError naming sublayer_out:
    numpy would broadcast [T, D] onto [B, T, D] silently.
    """
    x = np.ones((2, 3, 4))
    with raises_value_error("sublayer_out"):
        ex09.add_and_norm(x, np.zeros(s_shape), S.random_layer_norm(0, 4))


def diagnostic_cases() -> dict[str, list[tuple]]:
    """Fixed inputs on which every catalogued mistake gives its own output."""
    g = np.random.default_rng(11)
    x3 = spread_rows(1, (2, 3, 5), np.float64)  # B=2, T=3, D=5: T != D, rows of different spread
    tiny = 1e5 + 1e-3 * spread_rows(2, (3, 4), np.float64)  # variance ~1e-6 on top of 1e5
    ffn = S.random_feed_forward(5, 4, 6)
    return {
        "layer_norm": [
            (x3, S.random_layer_norm(3, 5)),
            (tiny, S.random_layer_norm(4, 4)),
            (spread_rows(5, (3, 4), np.float32), S.random_layer_norm(6, 4, np.float32)),
        ],
        "feed_forward": [
            (g.uniform(-2, 2, size=(2, 3, 4)), ffn),
            (np.zeros((1, 2, 4)), S.random_feed_forward(6, 4, 6)),
        ],
        "add_and_norm": [
            (x3, spread_rows(8, (2, 3, 5), np.float64), S.random_layer_norm(9, 5)),
            (spread_rows(10, (3, 4), np.float64), spread_rows(12, (3, 4), np.float64),
             LayerNormParams(np.ones(4), np.zeros(4))),
            (spread_rows(13, (2, 3, 4), np.float64), spread_rows(14, (3, 4), np.float64),
             S.random_layer_norm(15, 4)),
        ],
    }
