"""Correct implementations of exercise 05 written differently from the reference."""

import numpy as np

from catalogue import alternative


@alternative("project_qkv", "fused_projection")
def project_qkv(X, W_q, W_k, W_v):
    for name, W in (("W_q", W_q), ("W_k", W_k), ("W_v", W_v)):
        if W.ndim != 2 or W.shape[0] != X.shape[-1]:
            raise ValueError(f"{name} must have X's width as its number of rows")
    d_k = W_q.shape[1]
    if W_k.shape[1] != d_k:
        raise ValueError("W_k must have W_q's width d_k")
    QKV = X @ np.concatenate([W_q, W_k, W_v], axis=1)  # one matrix product for all three
    return QKV[..., :d_k], QKV[..., d_k:2 * d_k], QKV[..., 2 * d_k:]


@alternative("scaled_dot_product_attention", "einsum_manual_softmax")
def scaled_dot_product_attention(Q, K, V, mask=None):
    d_k = Q.shape[-1]
    if K.shape[-1] != d_k:
        raise ValueError("K must have the width d_k of Q")
    if V.shape[-2] != K.shape[-2]:
        raise ValueError("V needs one row per key of K")
    scores = np.einsum("...qd,...kd->...qk", Q, K) * Q.dtype.type(1.0 / np.sqrt(d_k))
    if mask is None:
        mask = np.ones(scores.shape, dtype=bool)
    if np.asarray(mask).dtype != bool:
        raise ValueError("mask must be boolean")
    try:
        allowed = np.broadcast_to(mask, np.broadcast_shapes(np.shape(mask), scores.shape))
    except ValueError:
        raise ValueError("mask does not broadcast to the scores") from None
    scores = np.broadcast_to(scores, allowed.shape)
    # the largest allowed score of each row (the dtype's lowest value when there is none)
    m = np.max(np.where(allowed, scores, np.finfo(scores.dtype).min), axis=-1, keepdims=True)
    e = np.where(allowed, np.exp(np.where(allowed, scores - m, 0)), 0)
    total = e.sum(axis=-1, keepdims=True)
    weights = e / np.where(total > 0, total, 1)
    return np.einsum("...qk,...kv->...qv", weights, V), weights


@alternative("scaled_dot_product_attention", "loop_over_batch_and_queries")
def scaled_dot_product_attention(Q, K, V, mask=None):
    import math

    d_k = Q.shape[-1]
    if K.shape[-1] != d_k:
        raise ValueError("K has the wrong width")
    if V.shape[-2] != K.shape[-2]:
        raise ValueError("V has the wrong number of rows")
    T_q, T_k = Q.shape[-2], K.shape[-2]
    mask = np.ones((T_q, T_k), dtype=bool) if mask is None else np.asarray(mask)
    if mask.dtype != bool:
        raise ValueError("the mask must be boolean")
    try:
        lead = np.broadcast_shapes(Q.shape[:-2], K.shape[:-2], V.shape[:-2], mask.shape[:-2])
        mask = np.broadcast_to(mask, (*lead, T_q, T_k))
    except ValueError:
        raise ValueError("the mask does not fit the scores") from None
    Q, K, V = (np.broadcast_to(a, (*lead, *a.shape[-2:])) for a in (Q, K, V))
    out = np.zeros((*lead, T_q, V.shape[-1]), dtype=Q.dtype)
    weights = np.zeros((*lead, T_q, T_k), dtype=Q.dtype)
    for b in np.ndindex(*lead):
        for i in range(T_q):
            keep = np.flatnonzero(mask[b][i])
            if keep.size == 0:
                continue  # no allowed key: zero weights, zero output
            s = K[b][keep] @ Q[b][i] / math.sqrt(d_k)
            w = np.exp(s - s.max())
            w = w / w.sum()
            weights[(*b, i, keep)] = w
            out[(*b, i)] = w @ V[b][keep]
    return out, weights
