"""Tests of exercise 03: dot and additive attention scores, and attending to the values.

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
    tolerance,
)
from tests.support.pictures import picture

ex03 = target.module("ex03_seq2seq_attention")
ref03 = target.reference("ex03_seq2seq_attention")


def _f64(*arrays: np.ndarray) -> list[np.ndarray]:
    return [a.astype(np.float64) for a in arrays]


def _additive_weights(seed: int, d_q: int, d_k: int, A: int, dtype) -> tuple[np.ndarray, ...]:
    """``(W_q [d_q, A], W_k [d_k, A], v [A])`` drawn from ``seed``."""
    g = S.rng(seed)
    return tuple(g.normal(0.0, 1.0, size).astype(dtype) for size in ((d_q, A), (d_k, A), (A,)))


# ---------------------------------------------------------------- strategies

@st.composite
def query_and_keys(draw, bound: float = 5.0, same_d: bool = True):
    """``(query [..., d_q], keys [..., T, d_k])`` with up to two leading batch dimensions."""
    dtype = draw(S.float_dtypes)
    batch = draw(S.batch_shapes())
    T = draw(st.integers(1, 5))
    d_q = draw(st.integers(1, 4))
    d_k = d_q if same_d else draw(st.integers(1, 4))
    query = draw(S.arrays((*batch, d_q), dtype, bound))
    keys = draw(S.arrays((*batch, T, d_k), dtype, bound))
    return query, keys


@st.composite
def scores_and_values(draw, bound: float = 10.0):
    """``(scores [..., T], values [..., T, d_v])`` with up to two leading batch dimensions."""
    dtype = draw(S.float_dtypes)
    batch = draw(S.batch_shapes())
    T = draw(st.integers(1, 5))
    d_v = draw(st.integers(1, 4))
    return (draw(S.arrays((*batch, T), dtype, bound)),
            draw(S.arrays((*batch, T, d_v), dtype, bound)))


# ---------------------------------------------------------------- dot_scores

def test_dot_scores_example():
    """dot_scores gives one score per key: the dot product of the query with that key.

    Hint: each score is the dot product of the whole query with one key: multiply along d, the last axis, and
    sum over it, giving T scores.
    """
    query = np.array([1.0, 2.0])
    keys = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.5]])
    s = as_array(ex03.dot_scores(query, keys), "dot_scores(query, keys)", (4,), np.float64)
    assert_close(s, np.array([1.0, 2.0, 3.0, 0.0]), "dot_scores([1, 2], keys)")


def test_dot_scores_batched_example():
    """With a batch (B = T = d = 3) query b is compared with the keys of row b only.

    Hint: keys @ query[..., None] pairs each batch row's query with that row's keys; X.T reverses every axis.
    """
    g = np.random.default_rng(3)
    query, keys = g.normal(size=(3, 3)), g.normal(size=(3, 3, 3))
    s = as_array(ex03.dot_scores(query, keys), "dot_scores(query [3, 3], keys [3, 3, 3])", (3, 3), np.float64)
    assert_close(s, np.einsum("bd,btd->bt", query, keys),
                 message("dot_scores of a batch"))


@given(query_and_keys())
def test_dot_scores_matches_definition(case):
    """dot_scores(query, keys)[..., t] = sum_i query[..., i] keys[..., t, i], in the inputs' dtype, with any
    leading batch dimensions.

    Hint: sum over d, the last axis of both, keep the leading batch dimensions and T; e.g. put the query's d
    against the keys' last axis with a matmul or einsum.
    """
    query, keys = case
    s = as_array(ex03.dot_scores(query, keys), "dot_scores(query, keys)", keys.shape[:-1], query.dtype)
    q, k = _f64(query, keys)
    assert_close(s, np.einsum("...d,...td->...t", q, k), "dot_scores(query, keys)")


@pytest.mark.parametrize(("query", "keys", "name"), [
    (np.ones(3), np.ones((4, 2)), "keys"),
    (np.ones((2, 3)), np.ones((2, 4, 2)), "keys"),
    (np.ones(3), np.ones(3), "keys"),
], ids=["d differs", "d differs, batched", "keys 1-D"])
def test_dot_scores_bad_shapes_raise(query, keys, name):
    """dot_scores raises ValueError when the keys' d differs from the query's or keys is 1-D.

    Hint: check the shapes before computing: keys needs at least 2 dimensions and a last size equal to the
    query's d; raise ValueError naming keys.
    """
    with raises_value_error(name):
        ex03.dot_scores(query, keys)


# ---------------------------------------------------------------- additive_scores

def test_additive_scores_example():
    """additive_scores is v . tanh(query W_q + key_t W_k) for each key t (d_q = 3, d_k = 2, A = 4, B = 2).

    Hint: project the query with W_q and every key with W_k, add them (the query broadcasts over the T keys),
    apply tanh, then take the dot product with v.
    """
    B, T, d_q, d_k, A = 2, 5, 3, 2, 4
    g = np.random.default_rng(0)
    query, keys = g.normal(size=(B, d_q)), g.normal(size=(B, T, d_k))
    W_q, W_k, v = _additive_weights(1, d_q, d_k, A, np.float64)
    s = as_array(ex03.additive_scores(query, keys, W_q, W_k, v), "additive_scores", (B, T), np.float64)
    expected = np.array([[v @ np.tanh(query[b] @ W_q + keys[b, t] @ W_k) for t in range(T)]
                         for b in range(B)])
    assert_close(s, expected, "additive_scores(query [2, 3], keys [2, 5, 2], W_q [3, 4], W_k [2, 4], v [4])")


@given(query_and_keys(same_d=False), st.integers(1, 4), S.seeds)
def test_additive_scores_matches_reference(case, A, seed):
    """additive_scores equals the reference for any d_q, d_k, A and leading batch dimensions, in the inputs'
    dtype.

    Hint: add the projected query to each projected key by giving it an axis of length 1 before the T axis, so
    batch dimensions and T broadcast.
    """
    query, keys = case
    W_q, W_k, v = _additive_weights(seed, query.shape[-1], keys.shape[-1], A, query.dtype)
    s = as_array(ex03.additive_scores(query, keys, W_q, W_k, v), "additive_scores", keys.shape[:-1],
                 query.dtype)
    assert_close(s, ref03.additive_scores(*_f64(query, keys, W_q, W_k, v)), "additive_scores")


@given(query_and_keys(bound=1e3, same_d=False), st.integers(1, 4), S.seeds)
def test_additive_scores_are_bounded_by_v(case, A, seed):
    """Every additive score lies within +-sum|v|, however large the inputs: tanh bounds each hidden unit.

    Hint: apply np.tanh to query W_q + key W_k before the dot product with v.
    """
    query, keys = case
    W_q, W_k, v = _additive_weights(seed, query.shape[-1], keys.shape[-1], A, query.dtype)
    s = as_array(ex03.additive_scores(query, keys, W_q, W_k, v), "additive_scores", keys.shape[:-1],
                 query.dtype)
    assert_finite(s, "additive_scores")
    bound = np.abs(v.astype(np.float64)).sum() * (1 + 1e-5)
    if not (np.abs(s) <= bound).all():
        raise AssertionError(message("additive_scores reach {largest} > sum|v| = {bound}",
                                     largest=f"{np.abs(s).max():.4g}", bound=f"{bound:.4g}"))


@given(st.integers(1, 3), st.integers(2, 5), st.integers(1, 4), S.seeds)
def test_additive_scores_query_goes_through_W_q_only(B, T, A, seed):
    """With W_k = 0 all keys get the same score v . tanh(query W_q); with W_q = 0 the score ignores the
    query (d_q = d_k = 3, so swapping W_q and W_k would not raise).

    Hint: the query is multiplied by W_q and the keys by W_k, never the other way round.
    """
    g = S.rng(seed)
    query, keys = g.normal(size=(B, 3)), g.normal(size=(B, T, 3))
    W_q, W_k, v = _additive_weights(seed + 1, 3, 3, A, np.float64)
    zero = np.zeros_like(W_q)
    s = as_array(ex03.additive_scores(query, keys, W_q, zero, v),
                 message("additive_scores with W_k = 0"), (B, T),
                 np.float64)
    expected = np.repeat((np.tanh(query @ W_q) @ v)[:, None], T, axis=1)
    assert_close(s, expected, message("additive_scores with W_k = 0 (every key scores v . tanh(query W_q))"))
    a = as_array(ex03.additive_scores(query, keys, zero, W_k, v), "additive_scores", (B, T), np.float64)
    b = as_array(ex03.additive_scores(-query, keys, zero, W_k, v), "additive_scores", (B, T), np.float64)
    assert_close(b, a, message("additive_scores with W_q = 0, query negated versus not"))


@pytest.mark.parametrize(("shapes", "name"), [
    (((4, 2), (2, 2), (2,)), "W_q"),
    (((3, 2), (3, 2), (2,)), "W_k"),
    (((3, 2), (2, 2), (3,)), "v"),
    (((3, 2), (2, 2), (1,)), "v"),
], ids=["W_q rows", "W_k rows", "v size", "v size 1"])
def test_additive_scores_bad_shapes_raise(shapes, name):
    """additive_scores raises ValueError, ideally naming `W_q`, `W_k` or `v` when its shape does not fit
    (query [3], keys [5, 2]).

    Hint: check W_q against d_q, W_k against d_k, and that both have the same width A as v, before computing;
    name the mismatched argument.
    """
    query, keys = np.ones(3), np.ones((5, 2))
    with raises_value_error(name):
        ex03.additive_scores(query, keys, *(np.ones(s) for s in shapes))


# ---------------------------------------------------------------- attend

def test_attend_example():
    """attend turns scores [0, ln 3] into weights [1/4, 3/4] and the context into the weighted values.

    Hint: weights = softmax(scores) over the last axis, T; context = the sum over T of weights times values.
    """
    scores = np.array([0.0, np.log(3.0)])
    values = np.array([[1.0, 0.0], [0.0, 4.0]])
    context, weights = ex03.attend(scores, values)
    assert_close(as_array(weights, "weights", (2,), np.float64), np.array([0.25, 0.75]), "weights")
    assert_close(as_array(context, "context", (2,), np.float64), np.array([0.25, 3.0]), "context")


@given(scores_and_values())
def test_attend_weights_are_a_distribution_over_keys(case):
    """attend's weights are non-negative and sum to one over the keys (the last axis), for every batch row.

    Hint: softmax over axis=-1; axis 0 is the batch when there is one.
    """
    scores, values = case
    _, weights = ex03.attend(scores, values)
    w = as_array(weights, "weights", scores.shape, scores.dtype)
    with picture("weights", w, lambda: ref03.attend(*_f64(scores, values))[1]):
        assert_rows_are_distributions(w, message("attend gave negative weights"),
                                      message("sum of the weights over the keys"))


@given(scores_and_values())
def test_attend_matches_reference(case):
    """attend returns (context [..., d_v], weights [..., T]) equal to the reference, in the inputs' dtype.

    Hint: return (context, weights) in this order, with the softmax over the last axis of scores and the
    context summed over values' T axis, in the inputs' dtype.
    """
    scores, values = case
    context, weights = ex03.attend(scores, values)
    ref_context, ref_weights = ref03.attend(*_f64(scores, values))
    w = as_array(weights, "weights", scores.shape, scores.dtype)
    c = as_array(context, "context", values.shape[:-2] + values.shape[-1:], scores.dtype)
    with picture("weights", w, ref_weights):
        assert_close(w, ref_weights, "weights")
    rtol, atol = tolerance(scores.dtype)
    assert_close(c, ref_context, "context", rtol=rtol, atol=atol * 10)


@given(scores_and_values(), S.seeds)
def test_attend_context_lies_in_the_convex_hull_of_the_values(case, seed):
    """The context is a weighted average of the values: along any direction it never goes beyond the
    extreme value.

    Hint: the weights must be non-negative and sum to 1 over T: use the softmax over the last axis, not raw or
    squared scores.
    """
    scores, values = case
    context, _ = ex03.attend(scores, values)
    c = as_array(context, "context", values.shape[:-2] + values.shape[-1:], scores.dtype).astype(np.float64)
    d_v = values.shape[-1]
    directions = np.concatenate([np.eye(d_v), -np.eye(d_v), S.rng(seed).normal(size=(4, d_v))])
    along_values = values.astype(np.float64) @ directions.T  # (..., T, n_dir)
    along_context = c @ directions.T  # (..., n_dir)
    slack = 1e-4 * (1 + np.abs(along_values).max(axis=-2))
    over = along_context > along_values.max(axis=-2) + slack
    under = along_context < along_values.min(axis=-2) - slack
    if (over | under).any():
        raise AssertionError(message("the context lies outside the convex hull of the values"))


@given(st.integers(2, 6), st.integers(2, 4), st.integers(0, 5), S.seeds, S.float_dtypes)
def test_a_matching_key_takes_nearly_all_the_weight(T, d, j, seed, dtype):
    """A key far more similar to the query than the others (dot_scores) takes nearly all the weight, and the
    context is nearly its value.

    Hint: a large score must give a large weight: use exp(score), not exp(-score), and the stable softmax so
    large scores do not overflow.
    """
    j = j % T
    g = S.rng(seed)
    query = g.normal(size=d)
    query = 3 * query / np.linalg.norm(query)
    keys = g.uniform(-0.5, 0.5, size=(T, d))
    keys[j] = 4 * query
    values = g.normal(size=(T, 3))
    q, k, v = (a.astype(dtype) for a in (query, keys, values))
    scores = as_array(ex03.dot_scores(q, k), "dot_scores", (T,), dtype)
    context, weights = ex03.attend(scores, v)
    w = as_array(weights, "weights", (T,), dtype)
    if not (w[j] > 0.999):
        raise AssertionError(message("key {j} matches the query best (score {scores}) but gets weight {w}",
                                     j=j, scores=f"{scores[j]:.3g}", w=f"{w[j]:.4g}"))
    assert_close(as_array(context, "context", (3,), dtype), values[j],
                 message("context versus values[{j}]", j=j),
                 rtol=0.0, atol=1e-2)


@given(S.float_dtypes, st.sampled_from([1e3, 1e4]))
def test_attend_is_exact_for_huge_scores(dtype, magnitude):
    """attend stays finite for scores of magnitude 1e4: the largest score takes all the weight.

    Hint: use the stable softmax of exercise 02 (it subtracts the maximum).
    """
    scores = np.array([[magnitude, 0.0, -magnitude], [-magnitude, 0.5 * magnitude, magnitude]], dtype=dtype)
    values = np.arange(12, dtype=dtype).reshape(2, 3, 2)
    context, weights = ex03.attend(scores, values)
    w = as_array(weights, "weights", (2, 3), dtype)
    assert_finite(w, message("weights for scores up to {magnitude}", magnitude=f"{magnitude:g}"))
    assert_close(w, np.array([[1.0, 0, 0], [0, 0, 1.0]]),
                 message("weights for scores up to {magnitude}", magnitude=f"{magnitude:g}"))
    assert_close(as_array(context, "context", (2, 2), dtype), np.array([[0.0, 1.0], [10.0, 11.0]]), "context")


@given(S.float_dtypes, S.batch_shapes(), st.integers(1, 4), S.seeds)
def test_attend_with_one_key_copies_its_value(dtype, batch, d_v, seed):
    """With a single key (T = 1) the weight is 1 and the context is that key's value.

    Hint: with T = 1 the softmax is 1: the context is that key's value, of shape [..., d_v], not a scalar or
    [..., 1, d_v].
    """
    g = S.rng(seed)
    scores = g.normal(size=(*batch, 1)).astype(dtype)
    values = g.normal(size=(*batch, 1, d_v)).astype(dtype)
    context, weights = ex03.attend(scores, values)
    w = as_array(weights, "weights", (*batch, 1), dtype)
    assert_close(w, np.ones((*batch, 1)),
                 message("weights for T = 1"))
    assert_close(as_array(context, "context", (*batch, d_v), dtype), values[..., 0, :],
                 message("context for T = 1"))


@given(st.integers(2, 4), st.integers(1, 5), st.integers(1, 3), S.seeds)
def test_attend_rows_are_independent(B, T, d_v, seed):
    """Each batch row of attend depends on that row alone: computed alone it gives the same result, even when
    the rows' scores differ by 1e3.

    Hint: subtract the maximum of each row (axis=-1, keepdims=True), not the maximum of the whole array,
    before np.exp.
    """
    g = S.rng(seed)
    scores = g.normal(size=(B, T)) + 1e3 * np.arange(B)[:, None]
    values = g.normal(size=(B, T, d_v))
    context, weights = ex03.attend(scores, values)
    c = as_array(context, "context", (B, d_v), np.float64)
    w = as_array(weights, "weights", (B, T), np.float64)
    for b in range(B):
        c_b, w_b = ex03.attend(scores[b], values[b])
        w_b = as_array(w_b, "weights", (T,), np.float64)
        assert_close(w[b], w_b, message("weights of row {b} versus that row alone", b=b))
        assert_close(c[b], as_array(c_b, "context", (d_v,), np.float64),
                     message("context of row {b} versus alone", b=b))


@pytest.mark.parametrize(("scores", "values", "names"), [
    (np.zeros(3), np.zeros((4, 2)), ("values",)),
    (np.zeros((2, 3)), np.zeros((2, 2, 3)), ("values",)),
    (np.zeros(3), np.zeros(3), ("values",)),
], ids=["T differs", "T differs, batched", "values 1-D"])
def test_attend_bad_shapes_raise(scores, values, names):
    """attend raises ValueError, ideally naming `values` when its T differs from the scores' or it is 1-D.

    Hint: check values before computing: it needs at least 2 dimensions, and its T (values.shape[-2]) must
    equal the scores' T; name values.
    """
    with raises_value_error(*names):
        ex03.attend(scores, values)


# ---------------------------------------------------------------- diagnostics

def diagnostic_cases() -> dict[str, list[tuple]]:
    """Fixed inputs on which every catalogued mistake of a function gives its own output."""
    g = np.random.default_rng
    W = _additive_weights
    return {
        "dot_scores": [
            (g(0).normal(size=(2, 3)), g(1).normal(size=(2, 4, 3))),
            (g(2).normal(size=(3, 3)), g(3).normal(size=(3, 3, 3))),
            (g(4).normal(size=4).astype(np.float32), g(5).normal(size=(5, 4)).astype(np.float32)),
        ],
        "additive_scores": [
            (g(6).normal(size=(2, 3)), g(7).normal(size=(2, 5, 2)), *W(8, 3, 2, 4, np.float64)),
            (g(9).normal(size=(3, 3)), g(10).normal(size=(3, 3, 3)), *W(11, 3, 3, 2, np.float64)),
            (10 * g(12).normal(size=3), 10 * g(13).normal(size=(4, 3)), *W(14, 3, 3, 5, np.float64)),
        ],
        "attend": [
            (g(15).normal(size=(2, 5)), g(16).normal(size=(2, 5, 3))),
            (g(17).normal(size=3).astype(np.float32), g(18).normal(size=(3, 2)).astype(np.float32)),
            (1e3 * g(19).normal(size=(2, 4)), g(20).normal(size=(2, 4, 2))),
        ],
    }
