"""Exercise 03: attention over the encoder's hidden states, as in seq2seq translation.

A seq2seq decoder no longer squeezes the whole source sentence into one vector: at every step
its state (the query) scores each encoder hidden state (the keys), softmax turns the scores into
weights, and the weighted average of the values is the context it reads. Two classic scores:

    dot (Luong):        score_t = query . key_t
    additive (Bahdanau): score_t = v . tanh(query W_q + key_t W_k)

    weights = softmax(scores),   context = sum_t weights_t value_t

Rules of every exercise (inputs never changed in place, the dtype kept, ValueError for a bad
argument, the allowed imports): docs/API.md.
"""

from __future__ import annotations

import numpy as np

from .ex02_softmax import softmax


def _check_keys(query: np.ndarray, keys: np.ndarray) -> None:
    if query.ndim < 1:
        raise ValueError(f"query must have at least 1 dimension [..., d], got shape {query.shape}")
    if keys.ndim < 2:
        raise ValueError(f"keys must have at least 2 dimensions [..., T, d], got shape {keys.shape}")


def dot_scores(query: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Dot-product scores of one query against T keys.

        score_t = query . key_t = sum_i query_i key_{t,i}

    Args:
        query: [..., d], float32 or float64.
        keys: [..., T, d], the same leading dimensions ``...`` as ``query``.

    Returns:
        scores [..., T], in the inputs' dtype.

    Raises:
        ValueError: naming ``keys`` if its last dimension differs from the query's d, or naming
            ``query`` / ``keys`` if they have too few dimensions.
    """
    _check_keys(query, keys)
    if keys.shape[-1] != query.shape[-1]:
        raise ValueError(f"keys have d={keys.shape[-1]} but the query has d={query.shape[-1]}")
    # score_t = key_t . query: a matrix-vector product per batch entry
    return (keys @ query[..., :, None])[..., 0]  # (..., T, 1) -> (..., T)


def additive_scores(
    query: np.ndarray,
    keys: np.ndarray,
    W_q: np.ndarray,
    W_k: np.ndarray,
    v: np.ndarray,
) -> np.ndarray:
    """Additive (Bahdanau) scores: a one-hidden-layer network applied to each (query, key) pair.

        score_t = v . tanh(query W_q + key_t W_k)

    Args:
        query: [..., d_q], float32 or float64.
        keys: [..., T, d_k], the same leading dimensions as ``query``.
        W_q: [d_q, A], projects the query to the attention width A.
        W_k: [d_k, A], projects each key to A.
        v: [A], weighs the A hidden units.

    Returns:
        scores [..., T], in the inputs' dtype.

    Raises:
        ValueError: naming ``W_q``, ``W_k`` or ``v`` when its shape does not fit the query, the keys
            or the attention width A (or ``query`` / ``keys`` when they have too few dimensions).
    """
    _check_keys(query, keys)
    if W_q.ndim != 2 or W_q.shape[0] != query.shape[-1]:
        raise ValueError(f"W_q must have shape [d_q={query.shape[-1]}, A], got {W_q.shape}")
    A = W_q.shape[1]
    if W_k.shape != (keys.shape[-1], A):
        raise ValueError(f"W_k must have shape [d_k={keys.shape[-1]}, A={A}], got {W_k.shape}")
    if v.shape != (A,):
        raise ValueError(f"v must have shape [A={A}], got {v.shape}")
    q = (query @ W_q)[..., None, :]  # (..., 1, A): one projected query, broadcast over the keys
    k = keys @ W_k  # (..., T, A)
    # score_t = v . tanh(q + k_t)
    return np.tanh(q + k) @ v  # (..., T)


def attend(scores: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Turn scores into weights and average the values with them.

        weights_t = softmax(scores)_t = exp(score_t) / sum_s exp(score_s)
        context = sum_t weights_t value_t

    Args:
        scores: [..., T], float32 or float64, any finite values.
        values: [..., T, d_v], the same leading dimensions as ``scores``.

    Returns:
        ``(context [..., d_v], weights [..., T])`` in the inputs' dtype; every row of ``weights`` is
        non-negative and sums to 1 over the T positions.

    Raises:
        ValueError: naming ``values`` if it has fewer than 2 dimensions or its T differs from the
            scores' T.
    """
    if values.ndim < 2 or scores.ndim < 1 or values.shape[-2] != scores.shape[-1]:
        raise ValueError(f"values must have shape [..., T={scores.shape[-1:]}, d_v], got {values.shape}")
    weights = softmax(scores, axis=-1)  # (..., T)
    # context = sum_t weights_t value_t
    context = (weights[..., None, :] @ values)[..., 0, :]  # (..., 1, T) @ (..., T, d_v) -> (..., d_v)
    return context, weights
