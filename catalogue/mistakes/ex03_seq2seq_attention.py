"""Realistic mistakes in exercise 03 (seq2seq attention). Each replaces the reference function of its name."""

import numpy as np

from catalogue import mistake
from solutions.ex02_softmax import softmax  # the reference module's name; only the defs are appended


@mistake("dot_scores", "keys_dot_T",
         "keys.T reverses EVERY axis of a batched array: it only works without a batch; use "
         "keys @ query[..., None] (or np.swapaxes(keys, -1, -2))")
def dot_scores(query, keys):
    if keys.ndim < 2 or keys.shape[-1] != query.shape[-1]:
        raise ValueError("keys must have shape [..., T, d]")
    return query @ keys.T  # mistake: keys_dot_T


@mistake("dot_scores", "query_not_broadcast_over_keys",
         "query * keys lines the query's batch axis up with the keys' T axis: give the query an axis for "
         "the keys, query[..., None, :] * keys, before summing over d")
def dot_scores(query, keys):
    if keys.ndim < 2 or keys.shape[-1] != query.shape[-1]:
        raise ValueError("keys must have shape [..., T, d]")
    return (query * keys).sum(axis=-1)  # mistake: query_not_broadcast_over_keys


@mistake("dot_scores", "scaled_by_sqrt_d",
         "the seq2seq dot score is the plain dot product query . key: the 1/sqrt(d) scaling belongs to "
         "exercise 05's scaled attention")
def dot_scores(query, keys):
    if keys.ndim < 2 or keys.shape[-1] != query.shape[-1]:
        raise ValueError("keys must have shape [..., T, d]")
    return (keys @ query[..., None])[..., 0] / np.sqrt(query.shape[-1])  # mistake: scaled_by_sqrt_d


@mistake("additive_scores", "projections_swapped",
         "you multiply the query by W_k and the keys by W_q: the query goes through W_q [d_q, A], "
         "the keys through W_k [d_k, A]")
def additive_scores(query, keys, W_q, W_k, v):
    if W_q.shape[0] != query.shape[-1] or W_k.shape[0] != keys.shape[-1] or v.shape != (W_q.shape[1],):
        raise ValueError("W_q, W_k or v has the wrong shape")
    return np.tanh((query @ W_k)[..., None, :] + keys @ W_q) @ v  # mistake: projections_swapped


@mistake("additive_scores", "no_tanh",
         "without tanh the score is linear, v . (query W_q) + v . (key W_k), and unbounded: "
         "apply np.tanh to the sum before the dot product with v")
def additive_scores(query, keys, W_q, W_k, v):
    if W_q.shape[0] != query.shape[-1] or W_k.shape[0] != keys.shape[-1] or v.shape != (W_q.shape[1],):
        raise ValueError("W_q, W_k or v has the wrong shape")
    return ((query @ W_q)[..., None, :] + keys @ W_k) @ v  # mistake: no_tanh


@mistake("additive_scores", "relu_instead_of_tanh",
         "Bahdanau attention uses tanh, not ReLU: score = v . tanh(query W_q + key W_k)")
def additive_scores(query, keys, W_q, W_k, v):
    if W_q.shape[0] != query.shape[-1] or W_k.shape[0] != keys.shape[-1] or v.shape != (W_q.shape[1],):
        raise ValueError("W_q, W_k or v has the wrong shape")
    return np.maximum((query @ W_q)[..., None, :] + keys @ W_k, 0) @ v  # mistake: relu_instead_of_tanh


@mistake("additive_scores", "query_not_broadcast_over_keys",
         "query @ W_q has shape [..., A] and lines up with the keys' T axis instead of its batch: "
         "add an axis, (query @ W_q)[..., None, :], so it broadcasts over the T keys")
def additive_scores(query, keys, W_q, W_k, v):
    if W_q.shape[0] != query.shape[-1] or W_k.shape[0] != keys.shape[-1] or v.shape != (W_q.shape[1],):
        raise ValueError("W_q, W_k or v has the wrong shape")
    return np.tanh(query @ W_q + keys @ W_k) @ v  # mistake: query_not_broadcast_over_keys


@mistake("additive_scores", "tanh_after_v",
         "you apply tanh after the dot product with v: the hidden units are tanh(query W_q + key W_k), "
         "and v weighs them afterwards")
def additive_scores(query, keys, W_q, W_k, v):
    if W_q.shape[0] != query.shape[-1] or W_k.shape[0] != keys.shape[-1] or v.shape != (W_q.shape[1],):
        raise ValueError("W_q, W_k or v has the wrong shape")
    return np.tanh(((query @ W_q)[..., None, :] + keys @ W_k) @ v)  # mistake: tanh_after_v


@mistake("attend", "softmax_over_batch_axis",
         "your softmax normalises axis 0, which is the batch when there is one: the weights of each query "
         "must sum to one over its keys, axis=-1")
def attend(scores, values):
    if values.ndim < 2 or values.shape[-2] != scores.shape[-1]:
        raise ValueError("values must have shape [..., T, d_v]")
    weights = softmax(scores, axis=0)  # mistake: softmax_over_batch_axis
    return (weights[..., None, :] @ values)[..., 0, :], weights


@mistake("attend", "unweighted_mean",
         "your context is the plain mean of the values, ignoring the weights: "
         "context = sum_t weights_t values_t")
def attend(scores, values):
    if values.ndim < 2 or values.shape[-2] != scores.shape[-1]:
        raise ValueError("values must have shape [..., T, d_v]")
    return values.mean(axis=-2), softmax(scores, axis=-1)  # mistake: unweighted_mean


@mistake("attend", "context_from_raw_scores",
         "your context weighs the values by the raw scores: use the softmax weights, which are positive "
         "and sum to one")
def attend(scores, values):
    if values.ndim < 2 or values.shape[-2] != scores.shape[-1]:
        raise ValueError("values must have shape [..., T, d_v]")
    # mistake: context_from_raw_scores
    return (scores[..., None, :] @ values)[..., 0, :], softmax(scores, axis=-1)


@mistake("attend", "unstable_softmax",
         "np.exp of large scores overflows (inf / inf = NaN): use the stable softmax of exercise 02")
def attend(scores, values):
    if values.ndim < 2 or values.shape[-2] != scores.shape[-1]:
        raise ValueError("values must have shape [..., T, d_v]")
    e = np.exp(scores)  # mistake: unstable_softmax
    weights = e / e.sum(axis=-1, keepdims=True)
    return (weights[..., None, :] @ values)[..., 0, :], weights
