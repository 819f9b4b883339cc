"""Realistic mistakes in exercise 04 (self-attention). Each replaces the reference function of its name."""

import numpy as np

from catalogue import base, variant
from solutions.ex02_softmax import softmax  # the reference module's name; only the defs are appended


# The correct function that the variants below change.
@base("self_attention")
def self_attention(X):
    if X.ndim < 2:
        raise ValueError("X must be [..., T, d]")
    weights = softmax(X @ np.swapaxes(X, -1, -2), axis=-1)
    return weights @ X, weights


variant("self_attention", "softmax_over_queries",
        "your softmax normalises axis -2, the queries: each ROW (one query) must sum to one over the "
        "keys, softmax(scores, axis=-1); X X^T is symmetric, so the wrong axis gives the transposed "
        "weights",
        {"weights = softmax(X @ np.swapaxes(X, -1, -2), axis=-1)":
         "weights = softmax(X @ np.swapaxes(X, -1, -2), axis=-2)  # mistake: softmax_over_queries"})


variant("self_attention", "X_dot_T_on_a_batch",
        "X.T reverses EVERY axis, so a batch [B, T, d] becomes [d, T, B]: transpose only the last two "
        "axes, np.swapaxes(X, -1, -2)",
        {"weights = softmax(X @ np.swapaxes(X, -1, -2), axis=-1)":
         "weights = softmax(X @ X.T, axis=-1)  # mistake: X_dot_T_on_a_batch"})


variant("self_attention", "output_uses_transposed_weights",
        "your output uses the transposed weights: output i averages the tokens with row i of the "
        "weights, out = weights @ X",
        {"return weights @ X, weights":
         "return np.swapaxes(weights, -1, -2) @ X, weights  # mistake: output_uses_transposed_weights"})


variant("self_attention", "scaled_by_sqrt_d",
        "the seed's self-attention is unscaled, softmax(X X^T): the 1/sqrt(d_k) factor comes in "
        "exercise 05 with the projections",
        {"weights = softmax(X @ np.swapaxes(X, -1, -2), axis=-1)":
         "weights = softmax(X @ np.swapaxes(X, -1, -2) / np.sqrt(X.shape[-1]), axis=-1)  # mistake: "
         "scaled_by_sqrt_d"})


variant("self_attention", "unstable_softmax",
        "np.exp of the raw scores overflows for large tokens (inf / inf = NaN): use the stable "
        "softmax of exercise 02",
        {"weights = softmax(X @ np.swapaxes(X, -1, -2), axis=-1)":
         "e = np.exp(X @ np.swapaxes(X, -1, -2))  # mistake: unstable_softmax\n"
         "weights = e / e.sum(axis=-1, keepdims=True)"})


variant("self_attention", "output_from_scores",
        "your output multiplies the raw scores X X^T with X: use the softmax weights, out = weights @ "
        "X",
        {"weights = softmax(X @ np.swapaxes(X, -1, -2), axis=-1)\n"
         "return weights @ X, weights":
         "scores = X @ np.swapaxes(X, -1, -2)  # mistake: output_from_scores\n"
         "return scores @ X, softmax(scores, axis=-1)"})


variant("self_attention", "float64_result",
        "you convert X to float64 (np.asarray(X, dtype=float)): keep the input's dtype, float32 in, "
        "float32 out",
        {"def self_attention(X):":
         "def self_attention(X):\n"
         "    X = np.asarray(X, dtype=float)  # mistake: float64_result"})
