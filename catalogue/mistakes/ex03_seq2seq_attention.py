"""Realistic mistakes in exercise 03 (seq2seq attention). Each replaces the reference function of its name."""

import numpy as np

from catalogue import mistake
from solutions.ex02_softmax import softmax  # the reference module's name; only the defs are appended
from solutions.ex03_seq2seq_attention import _check_keys  # in scope in the reference module too


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

# Written blind, from the docstrings alone, by a helper who never read the tests (issue 17);
# the entries that repeated a mistake above exactly were left out.


@mistake("dot_scores", "blind_dot_matmul_without_batch_axis",
         "keys @ query only works for one query: with batch axes, make the query a column, keys @ "
         "query[..., None], then drop that axis")
def dot_scores(query, keys):
    _check_keys(query, keys)
    if keys.shape[-1] != query.shape[-1]:
        raise ValueError(f"keys have d={keys.shape[-1]} but the query has d={query.shape[-1]}")
    return keys @ query  # mistake: blind_dot_matmul_without_batch_axis


@mistake("dot_scores", "blind_dot_sum_over_keys",
         "you sum over the T keys: the dot product sums over the feature axis d, the last one")
def dot_scores(query, keys):
    _check_keys(query, keys)
    if keys.shape[-1] != query.shape[-1]:
        raise ValueError(f"keys have d={keys.shape[-1]} but the query has d={query.shape[-1]}")
    return (keys * query[..., None, :]).sum(axis=-2)  # mistake: blind_dot_sum_over_keys


@mistake("additive_scores", "blind_additive_no_tanh",
         "your additive score has no tanh: Bahdanau's score is v . tanh(query W_q + key W_k)")
def additive_scores(query, keys, W_q, W_k, v):
    _check_keys(query, keys)
    if W_q.ndim != 2 or W_q.shape[0] != query.shape[-1]:
        raise ValueError(f"W_q must have shape [d_q={query.shape[-1]}, A], got {W_q.shape}")
    A = W_q.shape[1]
    if W_k.shape != (keys.shape[-1], A):
        raise ValueError(f"W_k must have shape [d_k={keys.shape[-1]}, A={A}], got {W_k.shape}")
    if v.shape != (A,):
        raise ValueError(f"v must have shape [A={A}], got {v.shape}")
    q = (query @ W_q)[..., None, :]
    k = keys @ W_k
    return (q + k) @ v  # mistake: blind_additive_no_tanh


@mistake("additive_scores", "blind_additive_swapped_projections",
         "you project the query with W_k and the keys with W_q: the query goes through W_q and the keys "
         "through W_k")
def additive_scores(query, keys, W_q, W_k, v):
    _check_keys(query, keys)
    if W_q.ndim != 2 or W_q.shape[0] != query.shape[-1]:
        raise ValueError(f"W_q must have shape [d_q={query.shape[-1]}, A], got {W_q.shape}")
    A = W_q.shape[1]
    if W_k.shape != (keys.shape[-1], A):
        raise ValueError(f"W_k must have shape [d_k={keys.shape[-1]}, A={A}], got {W_k.shape}")
    if v.shape != (A,):
        raise ValueError(f"v must have shape [A={A}], got {v.shape}")
    q = (query @ W_k)[..., None, :]  # mistake: blind_additive_swapped_projections
    k = keys @ W_q  # mistake: blind_additive_swapped_projections
    return np.tanh(q + k) @ v


@mistake("additive_scores", "blind_additive_tanh_after_v",
         "you apply tanh after the dot product with v: the hidden layer is tanh(query W_q + key W_k), and v "
         "weighs it afterwards")
def additive_scores(query, keys, W_q, W_k, v):
    _check_keys(query, keys)
    if W_q.ndim != 2 or W_q.shape[0] != query.shape[-1]:
        raise ValueError(f"W_q must have shape [d_q={query.shape[-1]}, A], got {W_q.shape}")
    A = W_q.shape[1]
    if W_k.shape != (keys.shape[-1], A):
        raise ValueError(f"W_k must have shape [d_k={keys.shape[-1]}, A={A}], got {W_k.shape}")
    if v.shape != (A,):
        raise ValueError(f"v must have shape [A={A}], got {v.shape}")
    q = (query @ W_q)[..., None, :]
    k = keys @ W_k
    return np.tanh((q + k) @ v)  # mistake: blind_additive_tanh_after_v


@mistake("additive_scores", "blind_additive_v_not_checked",
         "you accept a v of the wrong length: check that v has shape [A] and raise ValueError otherwise")
def additive_scores(query, keys, W_q, W_k, v):
    _check_keys(query, keys)
    if W_q.ndim != 2 or W_q.shape[0] != query.shape[-1]:
        raise ValueError(f"W_q must have shape [d_q={query.shape[-1]}, A], got {W_q.shape}")
    A = W_q.shape[1]
    if W_k.shape != (keys.shape[-1], A):
        raise ValueError(f"W_k must have shape [d_k={keys.shape[-1]}, A={A}], got {W_k.shape}")
    # mistake: blind_additive_v_not_checked
    q = (query @ W_q)[..., None, :]
    k = keys @ W_k
    return (np.tanh(q + k) * v).sum(axis=-1)


@mistake("attend", "blind_attend_softmax_first_axis",
         "you take the softmax along the first axis: the weights are a distribution over the keys, the LAST "
         "axis of the scores, softmax(scores, axis=-1)")
def attend(scores, values):
    if values.ndim < 2 or scores.ndim < 1 or values.shape[-2] != scores.shape[-1]:
        raise ValueError(f"values must have shape [..., T, d_v], got {values.shape}")
    weights = softmax(scores, axis=0)  # mistake: blind_attend_softmax_first_axis
    context = (weights[..., None, :] @ values)[..., 0, :]
    return context, weights


@mistake("attend", "blind_attend_normalise_by_sum",
         "you divide the scores by their sum, which can be negative or zero: the weights are "
         "softmax(scores)")
def attend(scores, values):
    if values.ndim < 2 or scores.ndim < 1 or values.shape[-2] != scores.shape[-1]:
        raise ValueError(f"values must have shape [..., T, d_v], got {values.shape}")
    weights = scores / scores.sum(axis=-1, keepdims=True)  # mistake: blind_attend_normalise_by_sum
    context = (weights[..., None, :] @ values)[..., 0, :]
    return context, weights


@mistake("attend", "blind_attend_matmul_without_batch_axis",
         "weights @ values treats batched weights [B, T] as one matrix: use weights[..., None, :] @ values "
         "(or einsum) so each row averages its own values")
def attend(scores, values):
    if values.ndim < 2 or scores.ndim < 1 or values.shape[-2] != scores.shape[-1]:
        raise ValueError(f"values must have shape [..., T, d_v], got {values.shape}")
    weights = softmax(scores, axis=-1)
    context = weights @ values  # mistake: blind_attend_matmul_without_batch_axis
    return context, weights
