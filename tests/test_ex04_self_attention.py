"""Tests of exercise 04: the seed's unscaled self-attention, softmax(X X^T) X.

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
from tests.support.checks import (
    as_array,
    assert_close,
    assert_finite,
    assert_rows_are_distributions,
    raises_value_error,
)
from tests.support.pictures import picture

ex04 = target.module("ex04_self_attention")
ref04 = target.reference("ex04_self_attention")


def _call(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(out, weights)`` of the target, checked for type, shape and dtype."""
    out, weights = ex04.self_attention(X)
    T = X.shape[-2]
    return (as_array(out, "out", X.shape, X.dtype),
            as_array(weights, "weights", (*X.shape[:-1], T), X.dtype))


def drawn(weights: np.ndarray, X: np.ndarray):
    """Draw ``weights`` beside the reference's when a check in the block fails."""
    return picture("weights", weights, lambda: ref04.self_attention(X.astype(np.float64))[1])


@st.composite
def tokens(draw, bound: float = 3.0, dtypes=S.float_dtypes, max_batch_dims: int = 2):
    """``X [..., T, d]`` with up to two leading batch dimensions, T and d in 1..5."""
    dtype = draw(dtypes)
    shape = (*draw(S.batch_shapes(max_dims=max_batch_dims)), draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    return draw(S.arrays(shape, dtype, bound))


# ---------------------------------------------------------------- examples

def test_self_attention_example():
    """self_attention([[1, 0], [0, 1], [1, 1]]) has weights softmax(X X^T) row by row, unscaled, and
    out = weights X.

    Hint: the seed's version has no 1/sqrt(d): weights = softmax(X @ X^T) over each row.
    """
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    scores = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 2.0]])
    expected_w = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    out, weights = _call(X)
    with picture("weights", weights, expected_w):
        assert_close(weights, expected_w, message("weights of self_attention([[1, 0], [0, 1], [1, 1]])"))
    assert_close(out, expected_w @ X, message("out of self_attention([[1, 0], [0, 1], [1, 1]])"))


def test_self_attention_batched_example():
    """A batch of two sequences (B = 2, T = 3, d = 4) is attended row by row, each sequence with itself.

    Hint: np.swapaxes(X, -1, -2) transposes each sequence; X.T would also reverse the batch axis.
    """
    X = np.random.default_rng(0).normal(size=(2, 3, 4))
    out, weights = _call(X)
    for b in range(2):
        s = X[b] @ X[b].T
        w = np.exp(s - s.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        assert_close(weights[b], w, message("weights of sequence {b}", b=b))
        assert_close(out[b], w @ X[b], message("out of sequence {b}", b=b))


# ---------------------------------------------------------------- properties

@given(tokens())
def test_self_attention_matches_reference(X):
    """self_attention equals the reference for any leading batch dimensions, float32 and float64.

    Hint: scores = X X^T over the last axis d, softmax over the keys (axis=-1), then weights @ X; transpose
    only the last two axes of X.
    """
    out, weights = _call(X)
    ref_out, ref_w = ref04.self_attention(X.astype(np.float64))
    with picture("weights", weights, ref_w):
        assert_close(weights, ref_w, "weights")
    atol = 1e-4 if X.dtype == np.float32 else None
    assert_close(out, ref_out, "out", atol=atol)


@given(tokens())
def test_weights_are_row_stochastic(X):
    """Every row of the weights (one query) is non-negative and sums to one over the keys.

    Hint: normalise over the keys, the last axis; X X^T is symmetric, so normalising axis -2 gives its
    transpose.
    """
    _, weights = _call(X)
    with drawn(weights, X):
        assert_rows_are_distributions(weights, message("self_attention gave negative weights"),
                                      message("sum of each row of the weights"))


@given(tokens(bound=2.0, dtypes=st.just(np.float64)))
def test_weights_are_unscaled_dot_products(X):
    """log(weights[i, j]) - log(weights[i, 0]) = x_i . x_j - x_i . x_0: the scores are the plain dot
    products, with no 1/sqrt(d) scaling.

    Hint: the seed's self-attention is softmax(X X^T); the scaling comes in exercise 05.
    """
    _, weights = _call(X)
    scores = X @ np.swapaxes(X, -1, -2)
    with np.errstate(divide="ignore"):
        log_w = np.log(weights)
    with drawn(weights, X):
        assert_close(log_w - log_w[..., :1], scores - scores[..., :1],
                     message("log weight differences versus dot-product differences"), rtol=1e-9, atol=1e-9)


@given(tokens())
def test_out_is_weights_times_tokens(X):
    """out = weights @ X with the weights returned: output i is the weighted average of the tokens.

    Hint: compute out with the same weights you return: out = weights @ X, the weights' rows running over the
    keys.
    """
    out, weights = _call(X)
    expected = weights.astype(np.float64) @ X.astype(np.float64)
    atol = 1e-4 if X.dtype == np.float32 else None
    assert_close(out, expected, message("out versus weights @ X"), atol=atol)


@given(tokens(max_batch_dims=1), st.data())
def test_permuting_tokens_permutes_the_output(X, data):
    """Self-attention is permutation equivariant: permuting the tokens permutes the rows of out, and the
    rows and columns of the weights, the same way.

    Hint: use only operations that treat tokens alike: X X^T, a softmax over the last axis and weights @ X,
    with no position-dependent term.
    """
    T = X.shape[-2]
    perm = np.array(data.draw(st.permutations(range(T)), label="permutation"))
    out, weights = _call(X)
    out_p, weights_p = _call(X[..., perm, :])
    assert_close(out_p, out[..., perm, :],
                 message("out of the permuted tokens versus out permuted"))
    assert_close(weights_p, weights[..., perm, :][..., :, perm],
                 message("weights of the permuted tokens versus weights permuted"))


@given(st.integers(2, 3), st.integers(1, 5), st.integers(1, 5), S.seeds)
def test_sequences_of_a_batch_are_independent(B, T, d, seed):
    """Each sequence of a batch [B, T, d] is attended alone: computed by itself it gives the same result,
    even when the sequences' scales differ.

    Hint: take the softmax maximum per row (axis=-1, keepdims=True) and transpose only the last two axes, so
    sequences never mix.
    """
    X = S.rng(seed).normal(size=(B, T, d)) * np.array([1.0, 0.3, 2.0])[:B, None, None]
    out, weights = _call(X)
    for b in range(B):
        out_b, weights_b = _call(X[b])
        assert_close(weights[b], weights_b,
                     message("weights of sequence {b} versus that sequence alone", b=b))
        assert_close(out[b], out_b, message("out of sequence {b} versus that sequence alone", b=b))


@given(S.float_dtypes, S.batch_shapes(), st.integers(1, 5), S.seeds)
def test_a_single_token_attends_to_itself(dtype, batch, d, seed):
    """With one token (T = 1) the weight is 1 and the output is the token itself.

    Hint: with T = 1 the softmax over one key is 1: out is X itself and weights has shape [..., 1, 1].
    """
    X = S.rng(seed).normal(size=(*batch, 1, d)).astype(dtype)
    out, weights = _call(X)
    assert_close(weights, np.ones((*batch, 1, 1)),
                 message("weights for T = 1"))
    assert_close(out, X, message("out for T = 1"))


@given(S.float_dtypes, st.sampled_from([30.0, 100.0]))
def test_self_attention_is_exact_for_large_tokens(dtype, s):
    """Tokens of size 30-100 (scores up to 2e4) give finite, exact weights: the stable softmax never
    overflows.

    Hint: use the softmax of exercise 02, which subtracts the row maximum before np.exp.
    """
    X = (s * np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])).astype(dtype)
    out, weights = _call(X)
    expected = np.array([[0.5, 0.0, 0.5], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]])
    with picture("weights", weights, expected):
        assert_finite(weights, message("weights for tokens of size {s}", s=f"{s:g}"))
        assert_close(weights, expected, message("weights for tokens of size {s}", s=f"{s:g}"))
    assert_close(out, s * np.array([[1.0, 0.5], [0.5, 1.0], [1.0, 1.0]]),
                 message("out for tokens of size {s}", s=f"{s:g}"))


@pytest.mark.parametrize("X", [np.ones(3), np.float64(1.0)], ids=["1-D", "scalar"])
def test_self_attention_needs_a_sequence(X):
    """self_attention raises ValueError, ideally naming `X` when X has fewer than 2 dimensions.

    Hint: check X.ndim >= 2 before computing and raise ValueError naming X.
    """
    with raises_value_error("X"):
        ex04.self_attention(np.asarray(X))


# ---------------------------------------------------------------- diagnostics

def diagnostic_cases() -> dict[str, list[tuple]]:
    """Fixed inputs on which every catalogued mistake gives its own output."""
    g = np.random.default_rng
    return {
        "self_attention": [
            (g(0).normal(size=(2, 3, 4)).astype(np.float32),),
            (g(1).normal(size=(4, 2)),),
            (8 * g(2).normal(size=(2, 3, 4)).astype(np.float32),),
        ],
    }
