"""Tests of exercise 05: project_qkv and scaled_dot_product_attention.

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
    assert_equal,
    assert_finite,
    assert_rows_are_distributions,
    raises_value_error,
)
from tests.support.pictures import picture
from tests.support.strategies import make_qkv, seeded_masks

ex05 = target.module("ex05_qkv_attention")
ref05 = target.reference("ex05_qkv_attention")


# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------


@st.composite
def attention_inputs(draw, masked: bool | None = None, lead_dims: int = 2):
    """``(Q, K, V, mask)``: leading batch dims, T_q and T_k, d_k and d_v, dtype, maybe a mask.

    The mask, when there is one, has one of the shapes the contract allows to broadcast:
    the full [..., T_q, T_k], a shared [T_q, T_k], or a key mask [..., 1, T_k].
    """
    z = draw(S.attention_sizes())
    lead = draw(S.batch_shapes(max_dims=lead_dims))
    dtype = draw(S.float_dtypes)
    Q, K, V = make_qkv(draw(S.seeds), lead, z.T_q, z.T_k, z.d_k, z.d_v, dtype)
    if masked is None:
        masked = draw(st.booleans())
    if not masked:
        return Q, K, V, None
    shape = draw(st.sampled_from([(*lead, z.T_q, z.T_k), (z.T_q, z.T_k), (*lead, 1, z.T_k)]))
    return Q, K, V, draw(seeded_masks(shape))


def with_one_key_per_row(mask: np.ndarray) -> np.ndarray:
    """``mask`` with key 0 allowed in every row that allowed no key."""
    mask = mask.copy()
    mask[..., 0] |= ~mask.any(axis=-1)
    return mask


def attend(Q, K, V, mask=None):
    """The target's ``(out, weights)``, checked for type, shape and dtype."""
    out, weights = ex05.scaled_dot_product_attention(Q, K, V, mask)
    lead = np.broadcast_shapes(Q.shape[:-2], K.shape[:-2], V.shape[:-2],
                               () if mask is None else np.shape(mask)[:-2])
    out = as_array(out, "out", (*lead, Q.shape[-2], V.shape[-1]), Q.dtype)
    weights = as_array(weights, "weights", (*lead, Q.shape[-2], K.shape[-2]), Q.dtype)
    return out, weights


def reference(Q, K, V, mask=None):
    """The reference's ``(out, weights)`` in float64."""
    f = np.float64
    return ref05.scaled_dot_product_attention(Q.astype(f), K.astype(f), V.astype(f), mask)


def drawn(weights, Q, K, V, mask=None):
    """Draw ``weights`` beside the reference's when a check in the block fails."""
    return picture("weights", weights, lambda: reference(Q, K, V, mask)[1])


def softmax_rows(x):
    z = np.exp(x - x.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------------------------------------
# project_qkv
# ---------------------------------------------------------------------------------------------

@given(S.batch_shapes(), st.integers(1, 5), st.integers(1, 5), st.integers(1, 4), st.integers(1, 4),
       S.float_dtypes, S.seeds)
def test_project_qkv_shapes_and_dtype(lead, T, D, d_k, d_v, dtype, seed):
    """project_qkv returns Q, K [..., T, d_k] and V [..., T, d_v] in the input's dtype.

    Hint: multiply X on the right (X @ W_q, etc.): the weights are [D, d_k] and [D, d_v], so the leading
    dimensions and T of X are kept.
    """
    g = S.rng(seed)
    X = g.standard_normal((*lead, T, D)).astype(dtype)
    W_q, W_k = g.standard_normal((2, D, d_k)).astype(dtype)
    W_v = g.standard_normal((D, d_v)).astype(dtype)
    Q, K, V = ex05.project_qkv(X, W_q, W_k, W_v)
    as_array(Q, "Q", (*lead, T, d_k), dtype)
    as_array(K, "K", (*lead, T, d_k), dtype)
    as_array(V, "V", (*lead, T, d_v), dtype)


@given(S.batch_shapes(), st.integers(1, 5), S.float_dtypes, S.seeds)
def test_project_qkv_multiplies_by_each_matrix(lead, T, dtype, seed):
    """Q = X W_q, K = X W_k, V = X W_v, each row of X times the matrix (no bias, no transpose).

    Hint: row-vector convention: X @ W_q, where W_q has shape (D, d_k).
    """
    D, d_k, d_v = 4, 3, 2
    g = S.rng(seed)
    X = g.standard_normal((*lead, T, D)).astype(dtype)
    W_q, W_k = g.standard_normal((2, D, d_k)).astype(dtype)
    W_v = g.standard_normal((D, d_v)).astype(dtype)
    Q, K, V = ex05.project_qkv(X, W_q, W_k, W_v)
    x = X.astype(np.float64)
    for name, got, W in (("Q", Q, W_q), ("K", K, W_k), ("V", V, W_v)):
        got = as_array(got, name, (*lead, T, W.shape[1]), dtype)
        assert_close(got, x @ W.astype(np.float64), f"{name} = X @ W_{name.lower()}")


@pytest.mark.parametrize(("bad", "shape", "names"), [
    ("W_q", (5, 3), ["W_q"]), ("W_k", (5, 3), ["W_k"]), ("W_v", (5, 2), ["W_v"]),
    ("W_q", (4,), ["W_q"]), ("W_k", (4,), ["W_k"]), ("W_v", (4,), ["W_v"]),
    ("W_k", (4, 2), ["W_k", "W_q"]),
], ids=["W_q height", "W_k height", "W_v height", "W_q 1-D", "W_k 1-D", "W_v 1-D", "W_k width"])
def test_project_qkv_rejects_a_weight_of_the_wrong_height(bad, shape, names):
    """A weight that is not 2-D with X's width D as its number of rows, or a W_k whose width differs from
    W_q's, raises ValueError, ideally naming it.

    Hint: check each weight before multiplying: 2-D with D = X.shape[-1] rows, and W_q and W_k of the same
    width; name the wrong weight.
    """
    g = S.rng(0)
    X = g.standard_normal((2, 3, 4))
    weights = {"W_q": g.standard_normal((4, 3)), "W_k": g.standard_normal((4, 3)),
               "W_v": g.standard_normal((4, 2))}
    weights[bad] = g.standard_normal(shape)
    with raises_value_error(*names):
        ex05.project_qkv(X, weights["W_q"], weights["W_k"], weights["W_v"])


# ---------------------------------------------------------------------------------------------
# scaled_dot_product_attention: shapes, the formula, the reference
# ---------------------------------------------------------------------------------------------

@given(attention_inputs())
def test_attention_shapes_and_dtype(case):
    """out is [..., T_q, d_v] and weights [..., T_q, T_k], in the inputs' dtype (float32 stays float32).

    Hint: np.sqrt(d_k) is a float64 scalar that turns a float32 array into float64 in numpy 2;
    divide by math.sqrt(d_k) (a Python float) instead.
    """
    Q, K, V, mask = case
    attend(Q, K, V, mask)


def test_attention_small_example_by_hand():
    """A two-key example worked by hand: weights = softmax(q.k / sqrt(d_k)), out = weights @ V.

    Hint: scale Q K^T by 1 / sqrt(d_k) with d_k = Q.shape[-1], take the softmax over the keys (axis=-1), then
    multiply by V.
    """
    Q = np.array([[2.0, 0.0]])  # d_k = 2
    K = np.array([[1.0, 0.0], [0.0, 1.0]])
    V = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    out, weights = attend(Q, K, V)
    s = 2.0 / np.sqrt(2.0)  # the first key's scaled score; the second one's is 0
    w = np.array([[np.exp(s), 1.0]]) / (np.exp(s) + 1.0)
    with picture("weights", weights, w):
        assert_close(weights, w, message("weights of the query [2, 0] over the keys [1, 0] and [0, 1]"))
    assert_close(out, np.array([[w[0, 0], w[0, 1], 0.0]]), "out = weights @ V")


@given(attention_inputs())
def test_attention_matches_reference(case):
    """scaled_dot_product_attention equals the reference, with and without masks, float32 and float64.

    Hint: follow the docstring's equations: divide Q K^T by sqrt(d_k), exclude masked keys before the softmax
    over axis=-1, then weights @ V.
    """
    Q, K, V, mask = case
    out, weights = attend(Q, K, V, mask)
    ref_out, ref_weights = reference(Q, K, V, mask)
    with picture("weights", weights, ref_weights):
        assert_close(weights, ref_weights, "weights")
    assert_close(out, ref_out, "out")


@given(attention_inputs(masked=False))
def test_weights_are_row_stochastic(case):
    """Without a mask every row of the weights is non-negative and sums to one over the keys.

    Hint: the softmax runs over the keys, the last axis (axis=-1), not over the queries.
    """
    Q, K, V, _ = case
    _, weights = attend(Q, K, V)
    with drawn(weights, Q, K, V):
        assert_rows_are_distributions(weights, message("weights has negative entries"),
                                      message("sum of each row of weights"))


@pytest.mark.parametrize("d_k", [1, 4, 16, 256])
def test_scores_are_divided_by_sqrt_d_k(d_k):
    """The scores are divided by sqrt(d_k) (d_k = Q.shape[-1]): q.k = sqrt(d_k) s gives softmax(s).

    Hint: divide Q K^T by sqrt(d_k), not by d_k and not by the width of V.
    """
    s = np.array([0.0, 1.0, 2.0])
    Q = np.full((1, d_k), 1.0 / np.sqrt(d_k))  # |q| = 1
    K = np.full((3, d_k), 1.0 / np.sqrt(d_k)) * (np.sqrt(d_k) * s)[:, None]  # q.k_j = sqrt(d_k) s_j
    V = np.eye(3, 5)  # d_v = 5, different from d_k
    _, weights = attend(Q, K, V)
    with picture("weights", weights, softmax_rows(s)[None]):
        assert_close(weights[0], softmax_rows(s),
                     message("weights with d_k={d_k} and q.k = sqrt(d_k) * {s}", d_k=d_k, s=s))


def test_unscaled_scores_would_saturate():
    """With d_k = 512 and unit-variance queries and keys the scaled weights stay spread out.

    Unscaled dot products have variance d_k = 512 (standard deviation 22.6), so their softmax puts
    almost all the weight on one key: the reason for the paper's 1/sqrt(d_k).

    Hint: divide the scores by sqrt(d_k) before the softmax.
    """
    Q, K, V = make_qkv(7, (2,), 6, 8, 512, 3)
    _, weights = attend(Q, K, V)
    largest = weights.max(axis=-1)
    if not (largest.mean() < 0.6):
        raise AssertionError(message("the largest weight of each row is {mean} on average: the "
                                     "softmax saturates, as it does when the scores are not divided by "
                                     "sqrt(d_k)", mean=f"{largest.mean():.3f}"))
    q, k = Q.astype(np.float64), K.astype(np.float64)
    assert_close(weights, softmax_rows(q @ np.swapaxes(k, -1, -2) / np.sqrt(512)),
                 message("weights with d_k=512"))


# ---------------------------------------------------------------------------------------------
# Symmetries and independence
# ---------------------------------------------------------------------------------------------

@given(attention_inputs(), st.randoms(use_true_random=False))
def test_permuting_queries_permutes_output(case, random):
    """Permuting the queries permutes the rows of out and weights the same way, and nothing else.

    Hint: use no position-dependent term: each row of the scores comes from its own query and the softmax runs
    over the keys, axis=-1.
    """
    Q, K, V, mask = case
    T_q = Q.shape[-2]
    perm = np.array(random.sample(range(T_q), T_q))
    pmask = mask if mask is None or mask.shape[-2] == 1 else np.take(mask, perm, axis=-2)
    out, weights = attend(Q, K, V, mask)
    p_out, p_weights = attend(np.take(Q, perm, axis=-2), K, V, pmask)
    assert_close(p_weights, np.take(weights, perm, axis=-2),
                 message("weights with the queries permuted by {perm}", perm=perm))
    assert_close(p_out, np.take(out, perm, axis=-2),
                 message("out with the queries permuted by {perm}", perm=perm))


@given(attention_inputs(), st.randoms(use_true_random=False))
def test_permuting_keys_and_values_together_changes_nothing(case, random):
    """Permuting the keys and values together (and the mask's columns) leaves out unchanged.

    The weights' columns are permuted the same way: attention treats the keys as a set.

    Hint: the weights of key j must multiply V[j]: use the same key order for K, V and the mask's columns.
    """
    Q, K, V, mask = case
    T_k = K.shape[-2]
    perm = np.array(random.sample(range(T_k), T_k))
    pmask = None if mask is None else np.take(mask, perm, axis=-1)
    out, weights = attend(Q, K, V, mask)
    p_out, p_weights = attend(Q, np.take(K, perm, axis=-2), np.take(V, perm, axis=-2), pmask)
    assert_close(p_weights, np.take(weights, perm, axis=-1),
                 message("weights with the keys permuted by {perm}", perm=perm))
    assert_close(p_out, out, message("out with the keys and values permuted by {perm}", perm=perm))


@given(st.integers(1, 5), S.float_dtypes, S.seeds, st.randoms(use_true_random=False))
def test_self_attention_is_permutation_equivariant(T, dtype, seed, random):
    """Self-attention of projected tokens: permuting the tokens permutes the output rows.

    Hint: project_qkv and the attention must treat the tokens alike: X @ W for each projection, with no term
    that depends on a position.
    """
    g = S.rng(seed)
    X = g.standard_normal((T, 4)).astype(dtype)
    W_q, W_k, W_v = g.standard_normal((3, 4, 4)).astype(dtype)
    perm = np.array(random.sample(range(T), T))
    out, _ = attend(*ex05.project_qkv(X, W_q, W_k, W_v))
    p_out, _ = attend(*ex05.project_qkv(X[perm], W_q, W_k, W_v))
    assert_close(p_out, out[perm], message("self-attention output with the tokens permuted by {perm}",
                                           perm=perm))


@given(attention_inputs(lead_dims=0), st.integers(2, 3), S.seeds)
def test_batch_rows_are_independent(case, B, seed):
    """Each batch row of a batch gives what it gives computed alone: rows do not mix.

    Hint: transpose K with np.swapaxes(K, -1, -2); K.T also reverses the batch axes.
    """
    Q0, K0, V0, mask0 = case
    g = S.rng(seed)
    Q = np.stack([Q0] + [g.standard_normal(Q0.shape).astype(Q0.dtype) for _ in range(B - 1)])
    K = np.stack([K0] + [g.standard_normal(K0.shape).astype(K0.dtype) for _ in range(B - 1)])
    V = np.stack([V0] + [g.standard_normal(V0.shape).astype(V0.dtype) for _ in range(B - 1)])
    mask = None if mask0 is None else np.stack([mask0] + [g.random(mask0.shape) < 0.7 for _ in range(B - 1)])
    out, weights = attend(Q, K, V, mask)
    for b in range(B):
        o, w = attend(Q[b], K[b], V[b], None if mask is None else mask[b])
        assert_close(weights[b], w, message("weights of batch row {b} compared with that row computed alone",
                                            b=b))
        assert_close(out[b], o, message("out of batch row {b} compared with that row computed alone", b=b))


# ---------------------------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------------------------

@given(attention_inputs(masked=True))
def test_masked_keys_get_exactly_zero_weight(case):
    """Wherever the mask is False the weight is exactly 0 (True = may attend).

    Hint: set the masked scores to -inf (or use np.where) BEFORE the softmax; True means allowed.
    """
    Q, K, V, mask = case
    _, weights = attend(Q, K, V, mask)
    blocked = ~np.broadcast_to(mask, weights.shape)
    if blocked.any():
        with drawn(weights, Q, K, V, mask):
            assert_equal(weights[blocked], np.zeros(int(blocked.sum()), weights.dtype),
                         message("weights of masked keys"))


@given(attention_inputs(masked=True))
def test_weights_sum_to_one_over_allowed_keys(case):
    """A row with at least one allowed key has weights that sum to one over the allowed keys.

    Hint: exclude the masked keys before the softmax; zeroing weights after it leaves rows that
    sum to less than one.
    """
    Q, K, V, mask = case
    mask = with_one_key_per_row(mask)
    _, weights = attend(Q, K, V, mask)
    atol = 1e-5 if Q.dtype == np.float32 else 1e-12
    with drawn(weights, Q, K, V, mask):
        assert_close(weights.sum(axis=-1), np.ones(weights.shape[:-1]), message("sum of each row of weights"),
                     rtol=0.0, atol=atol)


@given(attention_inputs(masked=True), S.seeds, st.sampled_from([1.0, 100.0]))
def test_masked_keys_and_values_do_not_change_the_output(case, seed, size):
    """Changing the keys and values of masked keys (here to other, larger numbers) leaves out unchanged.

    Hint: exclude the masked scores before the softmax (True means allowed), so masked keys get weight exactly
    0 and their values are never used.
    """
    Q, K, V, mask = case
    key_mask = with_one_key_per_row(mask[..., :1, :])  # the same keys hidden from every query
    hidden = ~np.broadcast_to(key_mask, (*np.broadcast_shapes(Q.shape[:-2], key_mask.shape[:-2]),
                                         1, K.shape[-2]))[..., 0, :]  # (..., T_k)
    g = S.rng(seed)
    K2 = np.broadcast_to(K, (*hidden.shape, K.shape[-1])).copy()
    V2 = np.broadcast_to(V, (*hidden.shape, V.shape[-1])).copy()
    K2[hidden] = (g.standard_normal(K2[hidden].shape) * size).astype(K.dtype)
    V2[hidden] = (g.standard_normal(V2[hidden].shape) * size).astype(V.dtype)
    out, weights = attend(Q, K, V, key_mask)
    out2, weights2 = attend(Q, K2, V2, key_mask)
    assert_close(weights2, np.broadcast_to(weights, weights2.shape),
                 message("weights after changing masked keys"))
    assert_close(out2, np.broadcast_to(out, out2.shape),
                 message("out after changing the masked keys and values"))


@given(attention_inputs(masked=True), st.data())
def test_fully_masked_row_gives_zeros_not_nan(case, data):
    """A query whose keys are all masked gets all-zero weights and an all-zero output, never NaN.

    The other rows are unaffected.

    Hint: exp(-inf - (-inf)) is NaN; find rows with no allowed key (mask.any(axis=-1)) and give them zeros.
    """
    Q, K, V, mask = case
    T_q = Q.shape[-2]
    mask = np.broadcast_to(mask, (*mask.shape[:-2], T_q, mask.shape[-1])).copy()
    row = data.draw(st.integers(0, T_q - 1), label="fully masked query")
    mask[..., row, :] = False
    out, weights = attend(Q, K, V, mask)
    with drawn(weights, Q, K, V, mask):
        assert_finite(weights, message("weights with a fully masked query"))
        assert_finite(out, message("out with a fully masked query"))
        assert_equal(weights[..., row, :], np.zeros_like(weights[..., row, :]),
                     message("weights of the fully masked query {row}", row=row))
    assert_equal(out[..., row, :], np.zeros_like(out[..., row, :]),
                 message("out of the fully masked query {row}", row=row))
    ref_out, ref_weights = reference(Q, K, V, mask)
    assert_close(weights, ref_weights, message("weights with a fully masked query"))
    assert_close(out, ref_out, message("out with a fully masked query"))


def test_fully_masked_example():
    """Fixed example: the second query may see no key, so its weights and output are zeros (no NaN).

    Hint: a query with no allowed key must get all-zero weights and output: detect such rows with the mask and
    set their weights to 0, avoiding NaN.
    """
    Q, K, V = make_qkv(3, (2,), 3, 4, 2, 3)
    mask = np.array([[[True, True, False, False], [False] * 4, [True] * 4],
                     [[True, False, False, False], [False] * 4, [False, True, True, False]]])
    out, weights = attend(Q, K, V, mask)
    assert_finite(weights, "weights")
    assert_finite(out, "out")
    assert_equal(weights[:, 1], np.zeros((2, 4)),
                 message("weights of the fully masked query 1"))
    assert_equal(out[:, 1], np.zeros((2, 3)),
                 message("out of the fully masked query 1"))


@given(attention_inputs(masked=False), st.data())
def test_a_single_allowed_key_copies_its_value(case, data):
    """When the mask allows exactly one key j to a query, that query's output is V[j] and its weight 1.

    Hint: exclude the masked keys before the softmax, so the only allowed key gets weight 1 and the output is
    its value.
    """
    Q, K, V, _ = case
    T_q, T_k = Q.shape[-2], K.shape[-2]
    j = np.array(data.draw(st.lists(st.integers(0, T_k - 1), min_size=T_q, max_size=T_q), label="keys"))
    mask = np.arange(T_k)[None, :] == j[:, None]  # (T_q, T_k): query i sees key j[i] only
    out, weights = attend(Q, K, V, mask)
    with picture("weights", weights, mask.astype(np.float64)):
        assert_close(weights, np.broadcast_to(mask.astype(Q.dtype), weights.shape), "weights")
    assert_close(out, np.take(V, j, axis=-2), message("out when query i sees key {j}[i] only", j=j.tolist()))


@given(attention_inputs(masked=True), st.data())
def test_mask_broadcasts_like_its_full_version(case, data):
    """A mask that broadcasts ([T_q, T_k] or [..., 1, T_k]) acts like its full [..., T_q, T_k] copy.

    Hint: broadcast the mask against the scores [..., T_q, T_k] (e.g. with np.where or np.broadcast_to) rather
    than indexing with it.
    """
    Q, K, V, _ = case
    lead = Q.shape[:-2]
    T_q, T_k = Q.shape[-2], K.shape[-2]
    shape = data.draw(st.sampled_from([(T_q, T_k), (1, T_k), (*lead, 1, T_k)]), label="mask shape")
    small = data.draw(seeded_masks(shape), label="mask")
    full = np.broadcast_to(small, (*lead, T_q, T_k)).copy()
    out, weights = attend(Q, K, V, small)
    out_full, weights_full = attend(Q, K, V, full)
    assert_close(weights, weights_full, message("weights with a {shape} mask vs its full copy", shape=shape))
    assert_close(out, out_full, message("out with a {shape} mask vs its full copy", shape=shape))


# ---------------------------------------------------------------------------------------------
# Large values and edge sizes
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("magnitude", [1e3, 1e4])
def test_huge_logits_are_still_right(dtype, magnitude):
    """Scores of size 1e4 give exact one-hot weights, no overflow, and a masked huge key is ignored.

    Hint: subtract the row maximum before np.exp (use the softmax of exercise 02), and exclude the
    masked keys before taking that maximum.
    """
    d_k = 4
    Q = np.full((2, d_k), np.sqrt(d_k) * magnitude / d_k, dtype=dtype)  # q.k / sqrt(d_k) = magnitude * k_sum
    Q[1] *= -1
    K = np.array([[1, 1, 1, 1], [0, 0, 0, 0], [-1, -1, -1, -1]], dtype=dtype) / d_k
    V = np.array([[1, 2], [3, 4], [5, 6]], dtype=dtype)
    out, weights = attend(Q, K, V)
    assert_finite(weights, message("weights for scores of size {magnitude}", magnitude=f"{magnitude:g}"))
    assert_close(weights, np.array([[1.0, 0, 0], [0, 0, 1.0]]),
                 message("weights for scores +-{magnitude}", magnitude=f"{magnitude:g}"))
    assert_close(out, np.array([[1.0, 2], [5, 6]]),
                 message("out for scores +-{magnitude}", magnitude=f"{magnitude:g}"))
    mask = np.array([[False, True, True], [True, True, False]])  # hides each query's best key
    out, weights = attend(Q, K, V, mask)
    assert_finite(weights, message("masked weights for scores of size {magnitude}",
                                   magnitude=f"{magnitude:g}"))
    assert_close(weights, np.array([[0, 1.0, 0], [0, 1.0, 0]]),
                 message("weights for scores +-{magnitude} with each query's best key masked",
                         magnitude=f"{magnitude:g}"))
    assert_close(out, np.array([[3.0, 4], [3, 4]]),
                 message("out with each query's best key masked"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_query_one_key(dtype):
    """With T_q = T_k = 1 the weight is 1 and the output is the value (or 0 and 0 when masked).

    Hint: with T_q = T_k = 1 the weight is 1 when allowed and 0 when masked; keep the shapes [..., 1, 1] and
    [..., 1, d_v].
    """
    Q, K, V = make_qkv(1, (2,), 1, 1, 3, 2, dtype)
    out, weights = attend(Q, K, V)
    assert_close(weights, np.ones((2, 1, 1)),
                 message("weights with one key"))
    assert_close(out, V, message("out with one key"))
    mask = np.array([[[True]], [[False]]])
    out, weights = attend(Q, K, V, mask)
    assert_close(weights, np.array([[[1.0]], [[0.0]]]),
                 message("weights with one key, masked in row 1"))
    assert_close(out, np.stack([V[0], np.zeros_like(V[1])]),
                 message("out with one key, masked in row 1"))


# ---------------------------------------------------------------------------------------------
# Bad arguments
# ---------------------------------------------------------------------------------------------

def test_mismatched_shapes_raise_value_error():
    """K with another d_k than Q, V with another T_k than K (even a single row), or a mask that does not
    fit or is not boolean raise ValueError.

    Hint: check K.shape[-1] == Q.shape[-1] and V.shape[-2] == K.shape[-2] and name the argument.
    """
    Q, K, V = make_qkv(0, (2,), 3, 5, 4, 2)
    with raises_value_error("K"):
        ex05.scaled_dot_product_attention(Q, K[..., :3], V)
    with raises_value_error("V"):
        ex05.scaled_dot_product_attention(Q, K, V[:, :4])
    with raises_value_error("V"):
        ex05.scaled_dot_product_attention(Q, K, V[:, :1])
    with raises_value_error("mask"):
        ex05.scaled_dot_product_attention(Q, K, V, np.ones((2, 3, 4), dtype=bool))
    with raises_value_error("mask"):
        ex05.scaled_dot_product_attention(Q, K, V, np.ones((2, 3, 5), dtype=np.int64))


# ---------------------------------------------------------------------------------------------
# For the grader: fixed inputs that tell the catalogued mistakes apart
# ---------------------------------------------------------------------------------------------

def diagnostic_cases() -> dict[str, list[tuple]]:
    """Positional arguments, from fixed seeds, on which every catalogued mistake differs."""
    g = np.random.default_rng(5)
    X = g.standard_normal((2, 3, 4))
    W_q, W_k = g.standard_normal((2, 4, 3))
    W_v = g.standard_normal((4, 2))
    Q, K, V = make_qkv(11, (2,), 3, 5, 4, 3, scale=1.5)  # B=2, T_q=3, T_k=5, d_k=4, d_v=3
    mask = np.array([
        [[True, True, True, False, False], [True, False, False, False, False], [False] * 5],
        [[True, True, True, True, False], [False, True, True, True, True], [True] * 5],
    ])  # different padding per row, one fully masked query
    Q32, K32, V32 = (a.astype(np.float32) for a in make_qkv(12, (2,), 2, 3, 2, 4))
    return {
        "project_qkv": [(X, W_q, W_k, W_v), (X[0].astype(np.float32), W_q.astype(np.float32),
                                             W_k.astype(np.float32), W_v.astype(np.float32))],
        "scaled_dot_product_attention": [(Q, K, V, mask), (Q32, K32, V32, None)],
    }
