"""Correct implementations of exercise 07 written differently from the reference."""

import numpy as np

from catalogue import alternative
from solutions.ex05_qkv_attention import scaled_dot_product_attention  # in scope in the reference module


@alternative("split_heads", "stack_of_slices")
def split_heads(X, num_heads):
    if X.ndim != 3:
        raise ValueError(f"X must be [B, T, D], got {X.shape}")
    if num_heads < 1 or X.shape[-1] % num_heads:
        raise ValueError(f"num_heads={num_heads} does not divide D={X.shape[-1]}")
    return np.stack(np.split(X, num_heads, axis=-1), axis=1)  # H arrays [B, T, d_k] -> [B, H, T, d_k]


@alternative("merge_heads", "concatenate_heads")
def merge_heads(X):
    if X.ndim != 4:
        raise ValueError(f"X must be [B, H, T, d_k], got {X.shape}")
    return np.concatenate([X[:, h] for h in range(X.shape[1])], axis=-1)


@alternative("multi_head_attention", "loop_over_heads")
def multi_head_attention(x_q, x_kv, p, mask=None):
    H, D = p.num_heads, x_q.shape[-1]
    if H < 1 or D % H:
        raise ValueError(f"num_heads={H} must divide D={D}")
    if x_q.ndim != 3 or x_kv.ndim != 3 or x_kv.shape[-1] != D \
            or (mask is not None and np.ndim(mask) not in (2, 3)):
        raise ValueError("x_q and x_kv must be [B, T, D] and a mask [T_q, T_k] or [B or 1, T_q or 1, T_k]")
    d_k = D // H
    Q = x_q @ p.W_q + p.b_q
    K = x_kv @ p.W_k + p.b_k
    V = x_kv @ p.W_v + p.b_v
    outs, weights = [], []
    for h in range(H):
        cols = slice(h * d_k, (h + 1) * d_k)
        o, w = scaled_dot_product_attention(Q[..., cols], K[..., cols], V[..., cols], mask)
        outs.append(o)
        weights.append(w)
    return np.concatenate(outs, axis=-1) @ p.W_o + p.b_o, np.stack(weights, axis=1)


@alternative("multi_head_attention", "einsum_per_head_weights")
def multi_head_attention(x_q, x_kv, p, mask=None):
    H, D = p.num_heads, x_q.shape[-1]
    if H < 1 or D % H:
        raise ValueError(f"num_heads={H} must divide D={D}")
    d_k = D // H
    # project straight into heads: W [D, D] seen as [D, H, d_k]
    Q = np.einsum("btd,dhk->bhtk", x_q, p.W_q.reshape(D, H, d_k)) + p.b_q.reshape(H, 1, d_k)
    K = np.einsum("btd,dhk->bhtk", x_kv, p.W_k.reshape(D, H, d_k)) + p.b_k.reshape(H, 1, d_k)
    V = np.einsum("btd,dhk->bhtk", x_kv, p.W_v.reshape(D, H, d_k)) + p.b_v.reshape(H, 1, d_k)
    heads, weights = scaled_dot_product_attention(Q, K, V, None if mask is None else np.expand_dims(mask, -3))
    out = np.einsum("bhtk,hkd->btd", heads, p.W_o.reshape(H, d_k, D)) + p.b_o
    return out, weights
