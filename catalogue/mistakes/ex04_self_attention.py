"""Realistic mistakes in exercise 04 (self-attention). Each replaces the reference function of its name."""

import numpy as np

from catalogue import base, mistake, variant
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

# Written blind, from the docstrings alone, by a helper who never read the tests (issue 17);
# the entries that repeated a mistake above exactly were left out.


@mistake("self_attention", "blind_self_attention_X_dot_T",
         "X.T reverses EVERY axis of a batch: transpose only the last two, np.swapaxes(X, -1, -2)")
def self_attention(X):
    if X.ndim < 2:
        raise ValueError(f"X must have shape [..., T, d], got {X.shape}")
    scores = X @ X.T  # mistake: blind_self_attention_X_dot_T
    weights = softmax(scores, axis=-1)
    out = weights @ X
    return out, weights


@mistake("self_attention", "blind_self_attention_scaled",
         "you divide the scores by sqrt(d): this exercise's attention is the unscaled softmax(X X^T)")
def self_attention(X):
    if X.ndim < 2:
        raise ValueError(f"X must have shape [..., T, d], got {X.shape}")
    scores = X @ np.swapaxes(X, -1, -2) / np.sqrt(X.shape[-1])  # mistake: blind_self_attention_scaled
    weights = softmax(scores, axis=-1)
    out = weights @ X
    return out, weights


@mistake("self_attention", "blind_self_attention_softmax_over_queries",
         "you take the softmax along axis -2, over the queries: each query's row is a distribution over the "
         "keys, the last axis")
def self_attention(X):
    if X.ndim < 2:
        raise ValueError(f"X must have shape [..., T, d], got {X.shape}")
    scores = X @ np.swapaxes(X, -1, -2)
    weights = softmax(scores, axis=-2)  # mistake: blind_self_attention_softmax_over_queries
    out = weights @ X
    return out, weights


@mistake("self_attention", "blind_self_attention_naive_exp",
         "np.exp of the raw scores X X^T overflows for large inputs: use the stable softmax of exercise 02")
def self_attention(X):
    if X.ndim < 2:
        raise ValueError(f"X must have shape [..., T, d], got {X.shape}")
    scores = X @ np.swapaxes(X, -1, -2)
    e = np.exp(scores)  # mistake: blind_self_attention_naive_exp
    weights = e / e.sum(axis=-1, keepdims=True)
    out = weights @ X
    return out, weights


@mistake("self_attention", "blind_self_attention_transposed_weights",
         "you multiply by the transposed weights: out_i = sum_j weights_ij x_j is weights @ X")
def self_attention(X):
    if X.ndim < 2:
        raise ValueError(f"X must have shape [..., T, d], got {X.shape}")
    scores = X @ np.swapaxes(X, -1, -2)
    weights = softmax(scores, axis=-1)
    out = np.swapaxes(weights, -1, -2) @ X  # mistake: blind_self_attention_transposed_weights
    return out, weights


@mistake("self_attention", "blind_self_attention_accepts_vector",
         "you accept a single vector [d], which is not a sequence: raise ValueError when X has fewer than 2 "
         "dimensions")
def self_attention(X):
    X2 = np.atleast_2d(X)  # mistake: blind_self_attention_accepts_vector
    scores = X2 @ np.swapaxes(X2, -1, -2)
    weights = softmax(scores, axis=-1)
    out = weights @ X2
    return out, weights
