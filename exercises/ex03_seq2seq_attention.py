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
    raise NotImplementedError("ex03: one dot product per key: keys @ query[..., None], last axis dropped")


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
    raise NotImplementedError("ex03: tanh(query @ W_q [..., None, :] + keys @ W_k) @ v")


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
    raise NotImplementedError("ex03: softmax the scores over the last axis, then weigh the values")
