"""Correct implementations of exercise 04 written differently from the reference."""

import numpy as np

from catalogue import alternative
from solutions.ex02_softmax import softmax  # the reference module's name; only the defs are appended


@alternative("self_attention", "einsum")
def self_attention(X):
    if X.ndim < 2:
        raise ValueError(f"X needs at least 2 dimensions, got {X.ndim}")
    scores = np.einsum("...id,...jd->...ij", X, X)
    weights = softmax(scores)
    return np.einsum("...ij,...jd->...id", weights, X), weights


@alternative("self_attention", "loop_over_queries")
def self_attention(X):
    if X.ndim < 2:
        raise ValueError("X must be [..., T, d]")
    T = X.shape[-2]
    weights = np.empty((*X.shape[:-1], T), dtype=X.dtype)
    out = np.empty_like(X)
    for i in range(T):
        s = np.sum(X[..., i:i + 1, :] * X, axis=-1)
        w = np.exp(s - s.max(axis=-1, keepdims=True))
        w = w / w.sum(axis=-1, keepdims=True)
        weights[..., i, :] = w
        out[..., i, :] = np.sum(w[..., :, None] * X, axis=-2)
    return out, weights
