"""Realistic mistakes in exercise 05 (queries, keys, values).

Each replaces the reference function of its name.
"""

import math

import numpy as np

from catalogue import base, mistake, variant
from solutions.ex02_softmax import softmax  # in scope in the reference module too
from solutions.ex05_qkv_attention import _broadcast_mask  # in scope in the reference module too


@mistake("project_qkv", "transposed_weights",
         "you multiply by W.T: with the row-vector convention a weight [D, d_k] is used as X @ W")
def project_qkv(X, W_q, W_k, W_v):
    return X @ W_q.T, X @ W_k.T, X @ W_v.T  # mistake: transposed_weights


@mistake("project_qkv", "shared_weight",
         "all three projections use W_q: keys come from X @ W_k and values from X @ W_v")
def project_qkv(X, W_q, W_k, W_v):
    for name, W in (("W_q", W_q), ("W_k", W_k), ("W_v", W_v)):
        if W.shape[0] != X.shape[-1]:  # mistake: shared_weight
            raise ValueError(f"{name} does not fit X")
    return X @ W_q, X @ W_q, X @ W_v


# The correct function that the variants below change.
@base("scaled_dot_product_attention")
def scaled_dot_product_attention(Q, K, V, mask=None):
    scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(Q.shape[-1])
    if mask is not None:
        allowed = np.broadcast_to(mask, scores.shape)
        scores = np.where(allowed.any(-1, keepdims=True), np.where(allowed, scores, -np.inf), 0)
        weights = np.where(allowed, softmax(scores, axis=-1), 0)
    else:
        weights = softmax(scores, axis=-1)
    return weights @ V, weights


variant("scaled_dot_product_attention", "no_scaling",
        "the scores are not divided by sqrt(d_k): with wide keys the softmax saturates on one key; "
        "use softmax(Q K^T / sqrt(d_k))",
        {"scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(Q.shape[-1])":
         "scores = Q @ np.swapaxes(K, -1, -2)  # mistake: no_scaling"})


variant("scaled_dot_product_attention", "divide_by_d_k",
        "you divide the scores by d_k: the paper divides by sqrt(d_k), the standard deviation of q.k",
        {"scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(Q.shape[-1])":
         "d_k = Q.shape[-1]\n"
         "scores = Q @ np.swapaxes(K, -1, -2) / d_k  # mistake: divide_by_d_k"})


variant("scaled_dot_product_attention", "sqrt_of_value_width",
        "you scale by the square root of V's width d_v: d_k is the width of the queries and keys, "
        "Q.shape[-1]",
        {"scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(Q.shape[-1])":
         "d = V.shape[-1]  # mistake: sqrt_of_value_width\n"
         "scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(d)"})


variant("scaled_dot_product_attention", "softmax_over_queries",
        "your softmax normalises over the queries (axis=-2): each query's weights over the keys "
        "(axis=-1) must sum to one",
        {"scores = np.where(allowed.any(-1, keepdims=True), np.where(allowed, scores, -np.inf), 0)\n"
         "weights = np.where(allowed, softmax(scores, axis=-1), 0)":
         "# mistake: softmax_over_queries\n"
         "scores = np.where(allowed.any(-2, keepdims=True), np.where(allowed, scores, -np.inf), 0)\n"
         "weights = np.where(allowed, softmax(scores, axis=-2), 0)",
         "weights = softmax(scores, axis=-1)":
         "weights = softmax(scores, axis=-2)  # mistake: softmax_over_queries"})


@mistake("scaled_dot_product_attention", "mask_after_softmax",
         "you zero the masked weights after the softmax, so the rows no longer sum to one: "
         "exclude the masked scores (-inf or np.where) before the softmax")
def scaled_dot_product_attention(Q, K, V, mask=None):
    scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(Q.shape[-1])
    weights = softmax(scores, axis=-1)
    if mask is not None:
        weights = weights * mask  # mistake: mask_after_softmax
    return weights @ V, weights


variant("scaled_dot_product_attention", "mask_inverted",
        "your mask is inverted: True means 'may attend', so exclude the keys where the mask is False",
        {"allowed = np.broadcast_to(mask, scores.shape)\n"
         "scores = np.where(allowed.any(-1, keepdims=True), np.where(allowed, scores, -np.inf), 0)\n"
         "weights = np.where(allowed, softmax(scores, axis=-1), 0)":
         "blocked = np.broadcast_to(mask, scores.shape)  # mistake: mask_inverted\n"
         "scores = np.where(blocked.all(-1, keepdims=True), 0, np.where(blocked, -np.inf, scores))\n"
         "weights = np.where(blocked, 0, softmax(scores, axis=-1))"})


@mistake("scaled_dot_product_attention", "masked_scores_set_to_zero",
         "you set the masked scores to 0, which still gives those keys weight exp(0): set them to -inf "
         "(or drop them with np.where) before the softmax")
def scaled_dot_product_attention(Q, K, V, mask=None):
    scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(Q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, 0)  # mistake: masked_scores_set_to_zero
    weights = softmax(scores, axis=-1)
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "fully_masked_row_nan",
         "a query whose keys are all masked gets NaN (exp(-inf - (-inf)) = 0/0): detect rows with no "
         "allowed key (mask.any(axis=-1)) and give them zero weights")
def scaled_dot_product_attention(Q, K, V, mask=None):
    scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(Q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)  # mistake: fully_masked_row_nan
    with np.errstate(invalid="ignore"):
        weights = softmax(scores, axis=-1)
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "large_negative_fill",
         "filling masked scores with -1e9 spreads a fully masked query uniformly over its masked keys: "
         "such a query must get all-zero weights and a zero output")
def scaled_dot_product_attention(Q, K, V, mask=None):
    scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(Q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -1e9).astype(scores.dtype)  # mistake: large_negative_fill
    weights = softmax(scores, axis=-1)
    return weights @ V, weights


variant("scaled_dot_product_attention", "float64_upcast",
        "float32 inputs give float64 results: np.sqrt(d_k) is a float64 numpy scalar that upcasts the "
        "array; divide by math.sqrt(d_k) or cast the factor to Q.dtype",
        {"scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(Q.shape[-1])":
         "d_k = Q.shape[-1]\n"
         "scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(d_k)  # mistake: float64_upcast"})


variant("scaled_dot_product_attention", "K_dot_T",
        "K.T reverses ALL the axes of a batched K, batch axes included: transpose only the last two "
        "with np.swapaxes(K, -1, -2)",
        {"scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(Q.shape[-1])":
         "scores = Q @ K.T / math.sqrt(Q.shape[-1])  # mistake: K_dot_T"})

# Written blind, from the docstrings alone, by a helper who never read the tests (issue 17);
# the entries that repeated a mistake above exactly were left out.


@mistake("project_qkv", "blind_project_transposed_weights",
         "you transpose the weights: with row vectors, Q = X @ W_q where W_q is [D, d_k]")
def project_qkv(X, W_q, W_k, W_v):
    D = X.shape[-1]
    for name, W in (("W_q", W_q), ("W_k", W_k), ("W_v", W_v)):
        if W.ndim != 2 or W.shape[0] != D:
            raise ValueError(f"{name} has shape {W.shape}, expected ({D}, width)")
    if W_q.shape[1] != W_k.shape[1]:
        raise ValueError(f"W_q {W_q.shape} and W_k {W_k.shape} must have the same width d_k")
    return X @ W_q.T, X @ W_k.T, X @ W_v.T  # mistake: blind_project_transposed_weights


@mistake("project_qkv", "blind_project_widths_not_compared",
         "you accept W_q and W_k of different widths: Q and K meet in a dot product, so raise ValueError "
         "unless both have the same d_k")
def project_qkv(X, W_q, W_k, W_v):
    D = X.shape[-1]
    for name, W in (("W_q", W_q), ("W_k", W_k), ("W_v", W_v)):
        if W.ndim != 2 or W.shape[0] != D:
            raise ValueError(f"{name} has shape {W.shape}, expected ({D}, width)")
    # mistake: blind_project_widths_not_compared
    return X @ W_q, X @ W_k, X @ W_v


@mistake("project_qkv", "blind_project_k_and_v_swapped",
         "you return K and V in the wrong order: return Q, K, V with K = X W_k and V = X W_v")
def project_qkv(X, W_q, W_k, W_v):
    D = X.shape[-1]
    for name, W in (("W_q", W_q), ("W_k", W_k), ("W_v", W_v)):
        if W.ndim != 2 or W.shape[0] != D:
            raise ValueError(f"{name} has shape {W.shape}, expected ({D}, width)")
    if W_q.shape[1] != W_k.shape[1]:
        raise ValueError(f"W_q {W_q.shape} and W_k {W_k.shape} must have the same width d_k")
    return X @ W_q, X @ W_v, X @ W_k  # mistake: blind_project_k_and_v_swapped


@mistake("scaled_dot_product_attention", "blind_sdpa_no_scaling",
         "your scores are not divided by sqrt(d_k), so the softmax saturates as d_k grows: divide them "
         "before the softmax")
def scaled_dot_product_attention(Q, K, V, mask=None):
    d_k = Q.shape[-1]
    if K.shape[-1] != d_k:
        raise ValueError("K must have Q's d_k")
    if V.shape[-2] != K.shape[-2]:
        raise ValueError("V must have K's T_k")
    scores = Q @ np.swapaxes(K, -1, -2)  # mistake: blind_sdpa_no_scaling
    if mask is None:
        weights = softmax(scores, axis=-1)
    else:
        allowed = _broadcast_mask(mask, scores.shape)
        scores = np.where(allowed, scores, -np.inf)
        any_allowed = allowed.any(axis=-1, keepdims=True)
        scores = np.where(any_allowed, scores, 0)
        weights = np.where(allowed, softmax(scores, axis=-1), 0)
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "blind_sdpa_divide_by_d_k",
         "you divide the scores by d_k: the factor is 1/sqrt(d_k)")
def scaled_dot_product_attention(Q, K, V, mask=None):
    d_k = Q.shape[-1]
    if K.shape[-1] != d_k:
        raise ValueError("K must have Q's d_k")
    if V.shape[-2] != K.shape[-2]:
        raise ValueError("V must have K's T_k")
    scores = Q @ np.swapaxes(K, -1, -2) / d_k  # mistake: blind_sdpa_divide_by_d_k
    if mask is None:
        weights = softmax(scores, axis=-1)
    else:
        allowed = _broadcast_mask(mask, scores.shape)
        scores = np.where(allowed, scores, -np.inf)
        any_allowed = allowed.any(axis=-1, keepdims=True)
        scores = np.where(any_allowed, scores, 0)
        weights = np.where(allowed, softmax(scores, axis=-1), 0)
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "blind_sdpa_np_sqrt_float64",
         "np.sqrt(d_k) is a float64 numpy scalar that turns float32 scores into float64: use math.sqrt(d_k)")
def scaled_dot_product_attention(Q, K, V, mask=None):
    d_k = Q.shape[-1]
    if K.shape[-1] != d_k:
        raise ValueError("K must have Q's d_k")
    if V.shape[-2] != K.shape[-2]:
        raise ValueError("V must have K's T_k")
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(d_k)  # mistake: blind_sdpa_np_sqrt_float64
    if mask is None:
        weights = softmax(scores, axis=-1)
    else:
        allowed = _broadcast_mask(mask, scores.shape)
        scores = np.where(allowed, scores, -np.inf)
        any_allowed = allowed.any(axis=-1, keepdims=True)
        scores = np.where(any_allowed, scores, 0)
        weights = np.where(allowed, softmax(scores, axis=-1), 0)
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "blind_sdpa_scale_by_d_v",
         "you scale by the values' width: d_k is the width of the queries and keys, Q.shape[-1]")
def scaled_dot_product_attention(Q, K, V, mask=None):
    d_k = Q.shape[-1]
    if K.shape[-1] != d_k:
        raise ValueError("K must have Q's d_k")
    if V.shape[-2] != K.shape[-2]:
        raise ValueError("V must have K's T_k")
    scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(V.shape[-1])  # mistake: blind_sdpa_scale_by_d_v
    if mask is None:
        weights = softmax(scores, axis=-1)
    else:
        allowed = _broadcast_mask(mask, scores.shape)
        scores = np.where(allowed, scores, -np.inf)
        any_allowed = allowed.any(axis=-1, keepdims=True)
        scores = np.where(any_allowed, scores, 0)
        weights = np.where(allowed, softmax(scores, axis=-1), 0)
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "blind_sdpa_mask_after_softmax",
         "you zero the masked weights after the softmax, so the rows no longer sum to one: exclude the "
         "masked scores before the softmax")
def scaled_dot_product_attention(Q, K, V, mask=None):
    d_k = Q.shape[-1]
    if K.shape[-1] != d_k:
        raise ValueError("K must have Q's d_k")
    if V.shape[-2] != K.shape[-2]:
        raise ValueError("V must have K's T_k")
    scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(d_k)
    weights = softmax(scores, axis=-1)
    if mask is not None:
        allowed = _broadcast_mask(mask, scores.shape)
        weights = np.where(allowed, weights, 0)  # mistake: blind_sdpa_mask_after_softmax
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "blind_sdpa_mask_inverted",
         "you exclude the keys where the mask is True: True means 'may attend', so keep those scores and "
         "exclude the others")
def scaled_dot_product_attention(Q, K, V, mask=None):
    d_k = Q.shape[-1]
    if K.shape[-1] != d_k:
        raise ValueError("K must have Q's d_k")
    if V.shape[-2] != K.shape[-2]:
        raise ValueError("V must have K's T_k")
    scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(d_k)
    if mask is None:
        weights = softmax(scores, axis=-1)
    else:
        allowed = ~_broadcast_mask(mask, scores.shape)  # mistake: blind_sdpa_mask_inverted
        scores = np.where(allowed, scores, -np.inf)
        any_allowed = allowed.any(axis=-1, keepdims=True)
        scores = np.where(any_allowed, scores, 0)
        weights = np.where(allowed, softmax(scores, axis=-1), 0)
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "blind_sdpa_fully_masked_nan",
         "a query whose keys are all masked gets 0/0 = NaN weights: give such rows zero weights explicitly")
def scaled_dot_product_attention(Q, K, V, mask=None):
    d_k = Q.shape[-1]
    if K.shape[-1] != d_k:
        raise ValueError("K must have Q's d_k")
    if V.shape[-2] != K.shape[-2]:
        raise ValueError("V must have K's T_k")
    scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(d_k)
    if mask is not None:
        allowed = _broadcast_mask(mask, scores.shape)
        scores = np.where(allowed, scores, -np.inf)  # mistake: blind_sdpa_fully_masked_nan
    weights = softmax(scores, axis=-1)
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "blind_sdpa_mask_large_negative",
         "filling masked scores with -1e9 spreads a fully masked row evenly over its masked keys: such a "
         "row must get zero weights")
def scaled_dot_product_attention(Q, K, V, mask=None):
    d_k = Q.shape[-1]
    if K.shape[-1] != d_k:
        raise ValueError("K must have Q's d_k")
    if V.shape[-2] != K.shape[-2]:
        raise ValueError("V must have K's T_k")
    scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(d_k)
    if mask is not None:
        allowed = _broadcast_mask(mask, scores.shape)
        scores = np.where(allowed, scores, -1e9)  # mistake: blind_sdpa_mask_large_negative
    weights = softmax(scores, axis=-1)
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "blind_sdpa_mask_dtype_not_checked",
         "you accept an integer 0/1 mask: the mask must be boolean, raise ValueError for any other dtype")
def scaled_dot_product_attention(Q, K, V, mask=None):
    d_k = Q.shape[-1]
    if K.shape[-1] != d_k:
        raise ValueError("K must have Q's d_k")
    if V.shape[-2] != K.shape[-2]:
        raise ValueError("V must have K's T_k")
    scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(d_k)
    if mask is None:
        weights = softmax(scores, axis=-1)
    else:
        # mistake: blind_sdpa_mask_dtype_not_checked
        allowed = np.broadcast_to(np.asarray(mask).astype(bool), scores.shape)
        scores = np.where(allowed, scores, -np.inf)
        any_allowed = allowed.any(axis=-1, keepdims=True)
        scores = np.where(any_allowed, scores, 0)
        weights = np.where(allowed, softmax(scores, axis=-1), 0)
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "blind_sdpa_K_dot_T",
         "K.T reverses every axis of a batched K: transpose only the last two, np.swapaxes(K, -1, -2)")
def scaled_dot_product_attention(Q, K, V, mask=None):
    d_k = Q.shape[-1]
    if K.shape[-1] != d_k:
        raise ValueError("K must have Q's d_k")
    if V.shape[-2] != K.shape[-2]:
        raise ValueError("V must have K's T_k")
    scores = Q @ K.T / math.sqrt(d_k)  # mistake: blind_sdpa_K_dot_T
    if mask is None:
        weights = softmax(scores, axis=-1)
    else:
        allowed = _broadcast_mask(mask, scores.shape)
        scores = np.where(allowed, scores, -np.inf)
        any_allowed = allowed.any(axis=-1, keepdims=True)
        scores = np.where(any_allowed, scores, 0)
        weights = np.where(allowed, softmax(scores, axis=-1), 0)
    return weights @ V, weights


@mistake("scaled_dot_product_attention", "blind_sdpa_no_shape_check",
         "you compute with a V whose T_k differs from K's: V needs one row per key, raise ValueError "
         "otherwise")
def scaled_dot_product_attention(Q, K, V, mask=None):
    d_k = Q.shape[-1]
    if K.shape[-1] != d_k:
        raise ValueError("K must have Q's d_k")
    # mistake: blind_sdpa_no_shape_check
    scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(d_k)
    if mask is None:
        weights = softmax(scores, axis=-1)
    else:
        allowed = _broadcast_mask(mask, scores.shape)
        scores = np.where(allowed, scores, -np.inf)
        any_allowed = allowed.any(axis=-1, keepdims=True)
        scores = np.where(any_allowed, scores, 0)
        weights = np.where(allowed, softmax(scores, axis=-1), 0)
    out = (weights[..., :, :, None] * V[..., None, :, :]).sum(axis=-2)  # broadcasts a one-row V
    return out, weights
