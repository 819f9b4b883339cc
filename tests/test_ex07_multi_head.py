"""Tests of exercise 07: split_heads, merge_heads and multi_head_attention.

Each test's docstring says, in one line, the property it checks; the grader shows it to the
learner when the test fails, with the counterexample and the hint below it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.i18n import message
from tests.support import strategies as S
from tests.support import target
from tests.support.checks import as_array, assert_close, assert_equal, assert_finite, raises_value_error
from tests.support.pictures import picture

ex07 = target.module("ex07_multi_head")
ref07 = target.reference("ex07_multi_head")
ref05 = target.reference("ex05_qkv_attention")


# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Case:
    """One multi-head attention call: inputs, parameters and mask (None or [B or 1, T_q or 1, T_k])."""

    x_q: np.ndarray
    x_kv: np.ndarray
    p: object
    mask: np.ndarray | None

    B = property(lambda self: self.x_q.shape[0])
    H = property(lambda self: self.p.num_heads)
    T_q = property(lambda self: self.x_q.shape[1])
    T_k = property(lambda self: self.x_kv.shape[1])
    D = property(lambda self: self.x_q.shape[2])


@st.composite
def seeded_masks(draw, shape):
    """Boolean masks of ``shape`` (True = may attend) from a seed and a density: quick to draw."""
    density = draw(st.sampled_from([0.8, 0.5, 0.2]))
    return S.rng(draw(S.seeds)).random(shape) < density


@st.composite
def mha_cases(draw, masked: bool | None = None, self_attention: bool = False, min_batch: int = 1,
              full_mask: bool = False, min_heads: int = 1, max_heads: int = 3):
    """A multi-head attention case: B, H, T_q != T_k often, d_k >= 1, either dtype, maybe a mask."""
    z = draw(S.attention_sizes(max_heads=max_heads, max_dk=3, max_len=5, self_attention=self_attention))
    B, H = max(z.B, min_batch), max(z.H, min_heads)
    D = H * z.d_k
    dtype = draw(S.float_dtypes)
    seed = draw(S.seeds)
    g = S.rng(seed + 1)
    x_q = g.standard_normal((B, z.T_q, D)).astype(dtype)
    x_kv = x_q if self_attention else g.standard_normal((B, z.T_k, D)).astype(dtype)
    p = S.random_multi_head(seed, D, H, dtype)
    if masked is None:
        masked = draw(st.booleans())
    mask = None
    if masked:
        shapes = [(B, z.T_q, z.T_k)] if full_mask else [(B, z.T_q, z.T_k), (B, 1, z.T_k), (1, z.T_q, z.T_k)]
        mask = draw(seeded_masks(draw(st.sampled_from(shapes))))
    return Case(x_q, x_kv, p, mask)


def mha(x_q, x_kv, p, mask=None):
    """The target's ``(out, weights)``, checked for type, shape and dtype."""
    out, weights = ex07.multi_head_attention(x_q, x_kv, p, mask)
    B, T_q, D = x_q.shape
    out = as_array(out, "out", (B, T_q, D), x_q.dtype)
    weights = as_array(weights, "weights", (B, p.num_heads, T_q, x_kv.shape[1]), x_q.dtype)
    return out, weights


def as64(p):
    """The parameters in float64."""
    return dataclasses.replace(p, **{f.name: getattr(p, f.name).astype(np.float64)
                                     for f in dataclasses.fields(p) if f.name != "num_heads"})


def heads_by_definition(x_q, x_kv, p, mask=None):
    """Per-head outputs [B, H, T_q, d_k] and weights from the reference scaled attention, in float64."""
    p = as64(p)
    x_q, x_kv = x_q.astype(np.float64), x_kv.astype(np.float64)
    H, D = p.num_heads, x_q.shape[-1]
    d_k = D // H
    Q, K, V = x_q @ p.W_q + p.b_q, x_kv @ p.W_k + p.b_k, x_kv @ p.W_v + p.b_v
    outs, weights = [], []
    for h in range(H):
        cols = slice(h * d_k, (h + 1) * d_k)  # head h owns these columns
        o, w = ref05.scaled_dot_product_attention(Q[..., cols], K[..., cols], V[..., cols], mask)
        outs.append(o)
        weights.append(w)
    return np.stack(outs, axis=1), np.stack(weights, axis=1)


def split_by_definition(X, H):
    """out[b, h, t, i] = X[b, t, h * d_k + i], by index arithmetic."""
    B, T, D = X.shape
    d_k = D // H
    b, h, t, i = np.indices((B, H, T, d_k))
    return X[b, t, h * d_k + i]


# ---------------------------------------------------------------------------------------------
# split_heads and merge_heads
# ---------------------------------------------------------------------------------------------

def test_split_heads_by_hand():
    """Two tokens [0 1 2 3] and [4 5 6 7] in two heads: head 0 gets [[0 1] [4 5]], head 1 [[2 3] [6 7]].

    Hint: reshape to [B, T, H, d_k] first (each token's features cut in slices), then move the head
    axis in front of the tokens with transpose(0, 2, 1, 3). A reshape to [B, H, T, d_k] alone mixes
    tokens into heads.
    """
    X = np.arange(8.0).reshape(1, 2, 4)
    expected = np.array([[[[0.0, 1], [4, 5]], [[2, 3], [6, 7]]]])
    got = as_array(ex07.split_heads(X, 2), "split_heads(X, 2)", (1, 2, 2, 2), X.dtype)
    assert_equal(got, expected, "split_heads([[[0 1 2 3] [4 5 6 7]]], 2)")


@given(S.attention_sizes(max_len=5, max_dk=4), S.float_dtypes)
def test_split_heads_exact_values(z, dtype):
    """split_heads(X, H)[b, h, t, i] = X[b, t, h * d_k + i]: head h takes the h-th slice of each token.

    Hint: reshape [B, T, D] to [B, T, H, d_k] and then move the head axis before T; reshaping straight to [B,
    H, T, d_k] mixes tokens.
    """
    X = np.arange(z.B * z.T_q * z.D).reshape(z.B, z.T_q, z.D).astype(dtype)
    got = as_array(ex07.split_heads(X, z.H), f"split_heads(X, {z.H})", (z.B, z.H, z.T_q, z.d_k), dtype)
    assert_equal(got, split_by_definition(X, z.H),
                 message("split_heads(X, {H}) with X = arange, shape {shape}", H=z.H, shape=X.shape))


def test_merge_heads_by_hand():
    """merge_heads puts the heads side by side: [[0 1] [4 5]] and [[2 3] [6 7]] give [0 1 2 3], [4 5 6 7].

    Hint: transpose [B, H, T, d_k] to [B, T, H, d_k] first, then reshape to [B, T, D].
    """
    heads = np.array([[[[0.0, 1], [4, 5]], [[2, 3], [6, 7]]]])
    got = as_array(ex07.merge_heads(heads), "merge_heads(heads)", (1, 2, 4), heads.dtype)
    assert_equal(got, np.arange(8.0).reshape(1, 2, 4),
                 message("merge_heads of two heads of two tokens"))


@given(S.attention_sizes(max_len=5, max_dk=4), S.float_dtypes)
def test_merge_heads_exact_values(z, dtype):
    """merge_heads(Y)[b, t, h * d_k + i] = Y[b, h, t, i] for Y of shape [B, H, T, d_k].

    Hint: move the head axis back after T ([B, T, H, d_k]) before reshaping to [B, T, H * d_k].
    """
    Y = np.arange(z.B * z.H * z.T_q * z.d_k).reshape(z.B, z.H, z.T_q, z.d_k).astype(dtype)
    got = as_array(ex07.merge_heads(Y), "merge_heads(Y)", (z.B, z.T_q, z.D), dtype)
    expected = np.empty((z.B, z.T_q, z.D), dtype)
    for h in range(z.H):
        expected[:, :, h * z.d_k:(h + 1) * z.d_k] = Y[:, h]
    assert_equal(got, expected, message("merge_heads(Y) with Y = arange, shape {shape}", shape=Y.shape))


@given(S.attention_sizes(max_len=5, max_dk=4), S.float_dtypes, S.seeds)
def test_merge_heads_inverts_split_heads(z, dtype, seed):
    """merge_heads(split_heads(X, H)) == X and split_heads(merge_heads(Y), H) == Y, exactly.

    Hint: merge_heads must undo split_heads exactly: swap the same two axes back (H and T) and reshape, in X's
    dtype.
    """
    g = S.rng(seed)
    X = g.standard_normal((z.B, z.T_q, z.D)).astype(dtype)
    split = as_array(ex07.split_heads(X, z.H), "split_heads(X)", (z.B, z.H, z.T_q, z.d_k), dtype)
    back = as_array(ex07.merge_heads(split), "merge_heads(split_heads(X))", X.shape, dtype)
    assert_equal(back, X, f"merge_heads(split_heads(X, {z.H}))")
    Y = g.standard_normal((z.B, z.H, z.T_q, z.d_k)).astype(dtype)
    merged = as_array(ex07.merge_heads(Y), "merge_heads(Y)", (z.B, z.T_q, z.D), dtype)
    again = as_array(ex07.split_heads(merged, z.H), "split_heads(merge_heads(Y))", Y.shape, dtype)
    assert_equal(again, Y, f"split_heads(merge_heads(Y), {z.H})")


@pytest.mark.parametrize(("D", "H"), [(8, 3), (6, 4), (5, 2), (6, 0)])
def test_split_heads_rejects_num_heads_not_dividing_D(D, H):
    """split_heads with a num_heads that is not a positive divisor of D (0 included) raises ValueError,
    ideally naming num_heads.

    Hint: check num_heads before reshaping: an integer >= 1 that divides D, else raise ValueError naming
    num_heads.
    """
    with raises_value_error("num_heads"):
        ex07.split_heads(np.zeros((2, 3, D)), H)


# ---------------------------------------------------------------------------------------------
# multi_head_attention: shapes, definition, reference
# ---------------------------------------------------------------------------------------------

@given(mha_cases())
def test_mha_shapes_and_dtype(c):
    """out is [B, T_q, D] and weights [B, H, T_q, T_k], in the inputs' dtype (float32 stays float32).

    Hint: keep the dtype of x_q: a float64 constant such as np.sqrt(d_k) turns float32 into float64; divide by
    a Python float instead.
    """
    mha(c.x_q, c.x_kv, c.p, c.mask)


@given(mha_cases())
def test_mha_matches_reference(c):
    """multi_head_attention equals the reference (cross- and self-attention, masks, float32 and float64).

    Hint: follow the docstring's equations: biases on each projection, d_k = D / H for the scale, the mask
    shared by all heads, and merge before W_o and b_o.
    """
    out, weights = mha(c.x_q, c.x_kv, c.p, c.mask)
    ref_out, ref_weights = ref07.multi_head_attention(c.x_q.astype(np.float64), c.x_kv.astype(np.float64),
                                                      as64(c.p), c.mask)
    with picture("weights", weights, ref_weights):
        assert_close(weights, ref_weights, "weights")
    assert_close(out, ref_out, "out")


@given(mha_cases(max_heads=1))
def test_one_head_equals_scaled_attention(c):
    """With one head, multi-head attention is scaled attention of the projections, then W_o and b_o.

    Hint: Q = x_q W_q + b_q, K = x_kv W_k + b_k, V = x_kv W_v + b_v, out = attention @ W_o + b_o.
    """
    p = dataclasses.replace(c.p, num_heads=1)
    out, weights = mha(c.x_q, c.x_kv, p, c.mask)
    heads, ref_weights = heads_by_definition(c.x_q, c.x_kv, p, c.mask)
    p64 = as64(p)
    with picture("weights", weights, ref_weights):
        assert_close(weights, ref_weights, message("weights of the single head"))
    assert_close(out, heads[:, 0] @ p64.W_o + p64.b_o, message("out with one head"))


@given(mha_cases())
def test_each_head_attends_with_its_own_slice(c):
    """Head h is scaled attention of columns h*d_k..(h+1)*d_k of Q, K and V, with 1/sqrt(d_k), d_k = D/H.

    Hint: the scale is sqrt(d_k) of one head, d_k = D // H, not sqrt(D).
    """
    out, weights = mha(c.x_q, c.x_kv, c.p, c.mask)
    heads, ref_weights = heads_by_definition(c.x_q, c.x_kv, c.p, c.mask)
    p64 = as64(c.p)
    with picture("weights", weights, ref_weights):
        for h in range(c.p.num_heads):
            assert_close(weights[:, h], ref_weights[:, h], message("weights of head {h}", h=h))
    concat = np.concatenate(list(np.moveaxis(heads, 1, 0)), axis=-1)  # heads side by side, in order
    assert_close(out, concat @ p64.W_o + p64.b_o, "out = concat(head_0, ..., head_H-1) @ W_o + b_o")


@given(mha_cases(min_heads=2), st.data(), st.sampled_from(["W_q", "W_k"]))
@settings(max_examples=15)
def test_each_head_depends_only_on_its_own_slice(c, data, which):
    """Changing head h's columns of W_q (or W_k) changes head h's weights and no other head's.

    Hint: head h owns columns h*d_k..(h+1)*d_k - 1 of each projection: reshape to [B, T, H, d_k]
    and transpose, rather than reshaping to [B, T, d_k, H].
    """
    H = c.H
    T_k = c.T_k
    D = c.D
    d_k = D // H
    h = data.draw(st.integers(0, H - 1), label="head")
    cols = slice(h * d_k, (h + 1) * d_k)
    W = getattr(c.p, which).copy()
    W[:, cols] += S.rng(h).standard_normal((D, d_k)).astype(W.dtype) * 2
    changed = dataclasses.replace(c.p, **{which: W})
    _, weights = mha(c.x_q, c.x_kv, c.p, None)
    _, weights2 = mha(c.x_q, c.x_kv, changed, None)
    for other in range(H):
        if other != h:
            assert_close(weights2[:, other], weights[:, other],
                         message("weights of head {other} after changing columns "
                                 "{first}..{last} (head {h}) of {which}",
                                 other=other, first=h * d_k,
                                 last=(h + 1) * d_k - 1, h=h, which=which))
    if T_k > 1 and not (np.abs(weights2[:, h] - weights[:, h]).max() > 1e-6):
        raise AssertionError(message("changing columns {first}..{last} of "
                                     "{which} did not change head {h}'s weights", first=h * d_k,
                                     last=(h + 1) * d_k - 1, which=which, h=h))


# ---------------------------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------------------------

@given(mha_cases(masked=True, min_batch=2, full_mask=True))
def test_mask_is_shared_by_all_heads(c):
    """A mask [B, T_q, T_k] applies to every head: each head's masked weights are exactly 0.

    Hint: give the mask a head axis, mask[:, None], so it broadcasts over [B, H, T_q, T_k].
    """
    H = c.H
    _, weights = mha(c.x_q, c.x_kv, c.p, c.mask)
    with picture("weights", weights, lambda: heads_by_definition(c.x_q, c.x_kv, c.p, c.mask)[1]):
        for h in range(H):
            blocked = ~c.mask
            if blocked.any():
                assert_equal(weights[:, h][blocked], np.zeros(int(blocked.sum()), weights.dtype),
                             message("weights of head {h} where the mask is False", h=h))
            live = c.mask.any(axis=-1)
            atol = 1e-5 if weights.dtype == np.float32 else 1e-12
            assert_close(weights[:, h].sum(axis=-1)[live], np.ones(int(live.sum())),
                         message("sums of head {h}'s rows that may attend some key", h=h),
                         rtol=0.0, atol=atol)


@given(mha_cases(masked=True, min_batch=2, full_mask=True))
def test_a_2d_mask_is_shared_by_every_batch_row(c):
    """A mask [T_q, T_k] without a batch axis applies to every batch row and every head.

    Hint: put the head axis in front of the last two axes, mask[..., None, :, :]: mask[:, None] is
    right for a [B, T_q, T_k] mask only.
    """
    mask = c.mask[0]  # (T_q, T_k)
    out, weights = mha(c.x_q, c.x_kv, c.p, mask)
    ref_out, ref_weights = ref07.multi_head_attention(c.x_q.astype(np.float64), c.x_kv.astype(np.float64),
                                                      as64(c.p), mask[None])
    assert_close(weights, ref_weights, message("weights with a mask of shape {shape}", shape=mask.shape))
    assert_close(out, ref_out, message("out with a mask of shape {shape}", shape=mask.shape))


@given(mha_cases(masked=True, min_batch=2), st.data())
def test_fully_masked_query_outputs_the_output_bias(c, data):
    """A query that may attend no key gets zero weights in every head, so its output is exactly b_o.

    Hint: a query with no allowed key gets zero weights in each head, so its merged heads are 0 and its output
    is b_o: avoid NaN in the softmax.
    """
    B = c.B
    H = c.H
    T_q = c.T_q
    T_k = c.T_k
    mask = np.broadcast_to(c.mask, (B, T_q, T_k)).copy()
    b = data.draw(st.integers(0, B - 1), label="row")
    i = data.draw(st.integers(0, T_q - 1), label="query")
    mask[b, i] = False
    out, weights = mha(c.x_q, c.x_kv, c.p, mask)
    assert_finite(out, "out")
    assert_equal(weights[b, :, i], np.zeros((H, T_k), weights.dtype),
                 message("weights of the fully masked query {i} of row {b}", i=i, b=b))
    assert_close(out[b, i], c.p.b_o, message("out of the fully masked query {i} of row {b} (expected b_o)",
                                             i=i, b=b))


@given(st.integers(1, 3), st.sampled_from([(2, 4), (3, 6), (2, 6)]), S.float_dtypes, S.seeds, st.data())
def test_padding_keys_do_not_change_the_output(T_q, heads_width, dtype, seed, data):
    """Padding mask from tokens of different lengths: changing x_kv at padding positions changes nothing.

    Hint: give the mask a head axis (it is [B, T_q, T_k], the heads are [B, H, T_q, T_k]) and exclude masked
    keys before the softmax.
    """
    H, D = heads_width
    tokens = data.draw(S.token_batches(min_batch=2, max_batch=3, min_len=2, max_len=5), label="tokens")
    B, T_k = tokens.shape
    mask = (tokens != 0)[:, None, :]  # [B, 1, T_k]
    g = S.rng(seed)
    x_q = g.standard_normal((B, T_q, D)).astype(dtype)
    x_kv = g.standard_normal((B, T_k, D)).astype(dtype)
    p = S.random_multi_head(seed, D, H, dtype)
    x_kv2 = x_kv.copy()
    x_kv2[tokens == 0] = (g.standard_normal((int((tokens == 0).sum()), D)) * 10).astype(dtype)
    out, weights = mha(x_q, x_kv, p, mask)
    out2, weights2 = mha(x_q, x_kv2, p, mask)
    assert_close(weights2, weights, message("weights after changing x_kv at padding positions"))
    assert_close(out2, out, message("out after changing x_kv at padding positions"))


# ---------------------------------------------------------------------------------------------
# Where queries, keys and values come from; symmetries
# ---------------------------------------------------------------------------------------------

@given(mha_cases(), st.randoms(use_true_random=False))
def test_keys_and_values_come_from_x_kv(c, random):
    """Permuting the tokens of x_kv (and the mask's columns) permutes the weights' columns; out is unchanged.

    Hint: in cross-attention, queries come from x_q but keys AND values from x_kv.
    """
    T_k = c.T_k
    perm = np.array(random.sample(range(T_k), T_k))
    pmask = None if c.mask is None else c.mask[..., perm]
    out, weights = mha(c.x_q, c.x_kv, c.p, c.mask)
    out2, weights2 = mha(c.x_q, c.x_kv[:, perm], c.p, pmask)
    assert_close(weights2, weights[..., perm],
                 message("weights with the tokens of x_kv permuted by {perm}", perm=perm))
    assert_close(out2, out, message("out with the tokens of x_kv permuted by {perm}", perm=perm))


@given(mha_cases(), st.data())
def test_each_query_row_depends_on_its_own_x_q_row_only(c, data):
    """Changing one token of x_q changes that query's output row only (keys and values come from x_kv).

    Hint: Q comes from x_q and K, V from x_kv: do not swap them, and split and merge the heads without mixing
    tokens.
    """
    T_q = c.T_q
    i = data.draw(st.integers(0, T_q - 1), label="query")
    x_q2 = c.x_q.copy()
    x_q2[:, i] = -2 * x_q2[:, i] + 1
    out, weights = mha(c.x_q, c.x_kv, c.p, c.mask)
    out2, weights2 = mha(x_q2, c.x_kv, c.p, c.mask)
    others = np.arange(T_q) != i
    assert_close(weights2[:, :, others], weights[:, :, others],
                 message("weights of the queries other than {i}", i=i))
    assert_close(out2[:, others], out[:, others],
                 message("out of the queries other than {i}", i=i))


@given(mha_cases(self_attention=True), st.randoms(use_true_random=False))
def test_self_attention_is_permutation_equivariant(c, random):
    """Self-attention (x_q = x_kv = x, no mask): permuting the tokens permutes the output rows.

    Hint: use no position-dependent term, and split and merge the heads along the feature axis only, never
    across tokens.
    """
    T = c.T_q
    perm = np.array(random.sample(range(T), T))
    x = c.x_q
    out, weights = mha(x, x, c.p)
    out2, weights2 = mha(x[:, perm], x[:, perm], c.p)
    assert_close(out2, out[:, perm], message("out with the tokens permuted by {perm}", perm=perm))
    assert_close(weights2, weights[:, :, perm][..., perm],
                 message("weights with the tokens permuted by {perm}", perm=perm))


@given(mha_cases(min_batch=2))
def test_batch_rows_are_independent(c):
    """Each batch row gives what it gives computed alone: rows never mix.

    Hint: split heads by reshaping the last axis only and take the softmax per row over the keys, so batch
    rows never mix.
    """
    B = c.x_q.shape[0]
    out, weights = mha(c.x_q, c.x_kv, c.p, c.mask)
    for b in range(B):
        m = None if c.mask is None else c.mask[min(b, c.mask.shape[0] - 1)][None]
        o, w = mha(c.x_q[b:b + 1], c.x_kv[b:b + 1], c.p, m)
        assert_close(weights[b:b + 1], w,
                     message("weights of batch row {b} compared with that row computed alone", b=b))
        assert_close(out[b:b + 1], o, message("out of batch row {b} compared with that row computed alone",
                                              b=b))


def test_cross_attention_example():
    """A fixed cross-attention case (B=2, H=2, T_q=3, T_k=5, D=4, different padding) equals the reference.

    Hint: T_q and T_k differ here: the queries come from x_q and the keys and values from x_kv, and the mask
    is [B, 1, T_k] or [B, T_q, T_k].
    """
    x_q, x_kv, p, mask = diagnostic_cases()["multi_head_attention"][0]
    out, weights = mha(x_q, x_kv, p, mask)
    ref_out, ref_weights = ref07.multi_head_attention(x_q, x_kv, p, mask)
    assert_close(weights, ref_weights, "weights")
    assert_close(out, ref_out, "out")


@pytest.mark.parametrize(("D", "H"), [(8, 3), (6, 4), (6, 0)])
def test_mha_rejects_num_heads_not_dividing_D(D, H):
    """multi_head_attention with a num_heads that is not a positive divisor of D (0 included) raises
    ValueError, ideally naming num_heads.

    Hint: check num_heads before splitting: an integer >= 1 that divides D, else raise ValueError naming
    num_heads.
    """
    p = dataclasses.replace(S.random_multi_head(0, D, 1), num_heads=H)
    x = np.zeros((2, 3, D))
    with raises_value_error("num_heads"):
        ex07.multi_head_attention(x, x, p)


@pytest.mark.parametrize("bad", ["split_2d", "split_4d", "merge_3d", "merge_5d", "x_q_2d", "x_kv_width",
                                 "mask_1d", "mask_4d"])
def test_multi_head_rejects_bad_shapes(bad):
    """split_heads of an X that is not 3-D, merge_heads of an X that is not 4-D, multi_head_attention
    with x_q or x_kv not [B, T, D] or a mask of neither 2 nor 3 dimensions: ValueError, ideally
    naming the argument.

    Hint: check the number of dimensions before reshaping: X 3-D for split_heads, 4-D for merge_heads, x_q and
    x_kv [B, T, D], the mask 2-D or 3-D.
    """
    p, x = S.random_multi_head(0, 4, 2), np.zeros((2, 3, 4))
    calls = {
        "split_2d": ("X", lambda: ex07.split_heads(np.zeros((3, 4)), 2)),
        "split_4d": ("X", lambda: ex07.split_heads(np.zeros((1, 2, 3, 4)), 2)),
        "merge_3d": ("X", lambda: ex07.merge_heads(np.zeros((2, 3, 4)))),
        "merge_5d": ("X", lambda: ex07.merge_heads(np.zeros((1, 2, 2, 3, 2)))),
        "x_q_2d": ("x_q", lambda: ex07.multi_head_attention(x[0], x, p)),
        "x_kv_width": ("x_kv", lambda: ex07.multi_head_attention(x, np.zeros((2, 3, 6)), p)),
        "mask_1d": ("mask", lambda: ex07.multi_head_attention(x, x, p, np.ones(3, dtype=bool))),
        "mask_4d": ("mask", lambda: ex07.multi_head_attention(x, x, p, np.ones((2, 1, 3, 3), dtype=bool))),
    }
    name, call = calls[bad]
    with raises_value_error(name):
        call()


# ---------------------------------------------------------------------------------------------
# For the grader: fixed inputs that tell the catalogued mistakes apart
# ---------------------------------------------------------------------------------------------

def diagnostic_cases() -> dict[str, list[tuple]]:
    """Positional arguments, from fixed seeds, on which every catalogued mistake differs."""
    g = np.random.default_rng(7)
    X = g.standard_normal((2, 3, 6))  # B=2, T=3, D=6
    Y = g.standard_normal((2, 3, 4, 2))  # B=2, H=3, T=4, d_k=2
    x_q = g.standard_normal((2, 3, 4))  # B=2, T_q=3, D=4
    x_kv = g.standard_normal((2, 5, 4))  # T_k=5
    p = S.random_multi_head(70, 4, 2)  # H=2, d_k=2, non-zero biases
    mask = np.array([
        [[True, True, True, False, False], [True, False, False, False, False], [False] * 5],
        [[True, True, True, True, False], [False, True, True, True, True], [True] * 5],
    ])  # [B, T_q, T_k]: different padding per row, one fully masked query
    x32 = g.standard_normal((2, 4, 6)).astype(np.float32)  # self-attention, B=2, T=4, D=6
    p32 = S.random_multi_head(71, 6, 3, np.float32)  # H=3, d_k=2
    causal = np.tril(np.ones((4, 4), dtype=bool))
    mask32 = causal & np.array([[True] * 4, [True, True, False, False]])[:, None, :]  # [B, T, T]
    return {
        "split_heads": [(X, 3), (X, 2)],
        "merge_heads": [(Y,)],
        "multi_head_attention": [(x_q, x_kv, p, mask), (x32, x32, p32, mask32)],
    }

