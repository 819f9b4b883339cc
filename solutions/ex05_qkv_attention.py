"""Exercise 05: queries, keys, values and scaled dot-product attention.

Self-attention compared every token with every other token directly. Here each token plays three
roles through three learned projections: a query ``Q = X W_q`` (what it looks for), a key
``K = X W_k`` (what it offers to be found by) and a value ``V = X W_v`` (what it hands over).

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V

The paper divides the scores by ``sqrt(d_k)``: a dot product of two random d_k-dimensional vectors
has variance ``d_k``, so without the factor the scores grow with the width, the softmax saturates
on one key and its gradients vanish. A boolean ``mask`` (True = may attend) removes keys before
the softmax, so the remaining weights still sum to one; a query with no allowed key at all gets
zero weights and a zero output.

Rules of every exercise (inputs never changed in place, the dtype kept, ValueError for a bad
argument, the allowed imports): docs/API.md.
"""

from __future__ import annotations

import math

import numpy as np

from .ex02_softmax import softmax


def project_qkv(
    X: np.ndarray, W_q: np.ndarray, W_k: np.ndarray, W_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Queries, keys and values of the tokens ``X``: ``Q = X W_q``, ``K = X W_k``, ``V = X W_v``.

    Args:
        X: tokens [..., T, D], float32 or float64.
        W_q: query projection [D, d_k].
        W_k: key projection [D, d_k].
        W_v: value projection [D, d_v].

    Returns:
        ``(Q, K, V)`` with shapes [..., T, d_k], [..., T, d_k], [..., T, d_v], in ``X``'s dtype
        (when the weights share it). No biases.

    Raises:
        ValueError: if a weight is not 2-D with ``D`` rows (the message names it), or if ``W_q``
            and ``W_k`` have different widths.
    """
    D = X.shape[-1]
    for name, W in (("W_q", W_q), ("W_k", W_k), ("W_v", W_v)):
        if W.ndim != 2 or W.shape[0] != D:
            raise ValueError(f"{name} has shape {W.shape}, expected ({D}, width) for X of width D={D}")
    if W_q.shape[1] != W_k.shape[1]:
        raise ValueError(f"W_q {W_q.shape} and W_k {W_k.shape} must have the same width d_k")
    return X @ W_q, X @ W_k, X @ W_v


def scaled_dot_product_attention(
    Q: np.ndarray, K: np.ndarray, V: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``softmax(Q K^T / sqrt(d_k))`` over the allowed keys, then the weighted sum of the values.

        scores = Q K^T / sqrt(d_k)            with d_k = Q.shape[-1]
        weights[i, j] = exp(scores[i, j]) / sum_{j' allowed} exp(scores[i, j'])   if mask[i, j]
        weights[i, j] = 0                                                         otherwise
        out = weights V

    Args:
        Q: queries [..., T_q, d_k], float32 or float64.
        K: keys [..., T_k, d_k].
        V: values [..., T_k, d_v].
        mask: optional boolean array broadcastable to [..., T_q, T_k]; True = the query may attend
            to the key. Masked scores are excluded BEFORE the softmax. A query row with no allowed
            key gets all-zero weights and an all-zero output (never NaN).

    Returns:
        ``(out, weights)``: out [..., T_q, d_v], weights [..., T_q, T_k] (each row sums to 1, or
        is all zero when fully masked), in the dtype of ``Q``, ``K``, ``V``.

    Raises:
        ValueError: if ``K`` does not have ``Q``'s last size d_k, if ``V`` does not have ``K``'s
            number of keys T_k, or if ``mask`` is not boolean or not broadcastable to the scores.
    """
    d_k = Q.shape[-1]
    if K.shape[-1] != d_k:
        raise ValueError(f"K has shape {K.shape}: its last size must be d_k={d_k}, as in Q {Q.shape}")
    if V.shape[-2] != K.shape[-2]:
        raise ValueError(f"V has shape {V.shape}: it needs one row per key, T_k={K.shape[-2]}")

    # scores = Q K^T / sqrt(d_k); math.sqrt is a Python float, so float32 stays float32
    scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(d_k)  # (..., T_q, T_k)
    if mask is None:
        weights = softmax(scores, axis=-1)
    else:
        allowed = _broadcast_mask(mask, scores.shape)  # (..., T_q, T_k)
        scores = np.where(allowed, scores, -np.inf)  # exp(-inf) = 0: masked keys get no weight
        # A fully masked row has no finite score; give it placeholder zeros so softmax stays finite.
        any_allowed = allowed.any(axis=-1, keepdims=True)  # (..., T_q, 1)
        scores = np.where(any_allowed, scores, 0)
        weights = np.where(allowed, softmax(scores, axis=-1), 0)  # fully masked rows -> all zero
    return weights @ V, weights  # (..., T_q, d_v), (..., T_q, T_k)


def _broadcast_mask(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``mask`` checked to be boolean and broadcast to the scores' ``shape``."""
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise ValueError(f"mask must be boolean (True = may attend), got dtype {mask.dtype}")
    try:
        np.broadcast_shapes(mask.shape, shape)
    except ValueError:
        raise ValueError(f"mask of shape {mask.shape} does not broadcast to the scores {shape}") from None
    return mask
