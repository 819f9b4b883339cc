"""Exercise 07: multi-head attention.

One attention compares tokens in a single way. Multi-head attention runs ``H`` smaller attentions
side by side: the model width ``D`` is cut into ``H`` slices of ``d_k = D / H`` features, each head
attends with its own slice of the projections, and the heads' outputs are put back side by side
and mixed by an output projection.

    head_h = Attention(x_q W_q^h + b_q^h, x_kv W_k^h + b_k^h, x_kv W_v^h + b_v^h)
    MultiHead(x_q, x_kv) = concat(head_1, ..., head_H) W_o + b_o

Head ``h`` owns columns ``h*d_k .. (h+1)*d_k - 1`` of ``W_q``, ``W_k``, ``W_v`` (and the matching rows
of ``W_o``). Queries come from ``x_q``, keys and values from ``x_kv``: the same array in
self-attention, the encoder's output in the decoder's cross-attention.

Rules of every exercise (inputs never changed in place, the dtype kept, ValueError for a bad
argument, the allowed imports): docs/API.md.
"""

from __future__ import annotations

import numpy as np

from course.params import MultiHeadParams

from .ex05_qkv_attention import scaled_dot_product_attention


def split_heads(X: np.ndarray, num_heads: int) -> np.ndarray:
    """Cut the features into ``num_heads`` slices and move the head axis in front of the tokens.

        out[b, h, t, i] = X[b, t, h * d_k + i],   d_k = D / H

    Args:
        X: [B, T, D], any dtype (kept).
        num_heads: H, which must divide D.

    Returns:
        [B, H, T, d_k].

    Raises:
        ValueError: if ``X`` is not 3-D, or ``num_heads`` is not a positive divisor of D.
    """
    if X.ndim != 3:
        raise ValueError(f"X must have shape [B, T, D], got {X.shape}")
    B, T, D = X.shape
    if num_heads < 1 or D % num_heads != 0:
        raise ValueError(f"num_heads={num_heads} must be a positive divisor of D={D}")
    H = num_heads
    d_k = D // H
    X = X.reshape(B, T, H, d_k)  # (B, T, H, d_k): the features of each token cut into H slices
    return X.transpose(0, 2, 1, 3)  # (B, H, T, d_k)


def merge_heads(X: np.ndarray) -> np.ndarray:
    """Inverse of :func:`split_heads`: put the heads' features back side by side.

        out[b, t, h * d_k + i] = X[b, h, t, i]

    Args:
        X: [B, H, T, d_k], any dtype (kept).

    Returns:
        [B, T, H * d_k].

    Raises:
        ValueError: if ``X`` is not 4-D.
    """
    if X.ndim != 4:
        raise ValueError(f"X must have shape [B, H, T, d_k], got {X.shape}")
    B, H, T, d_k = X.shape
    X = X.transpose(0, 2, 1, 3)  # (B, T, H, d_k)
    return X.reshape(B, T, H * d_k)  # (B, T, D)


def multi_head_attention(
    x_q: np.ndarray,
    x_kv: np.ndarray,
    p: MultiHeadParams,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Multi-head attention of the queries ``x_q`` over the keys and values ``x_kv``.

        Q = x_q W_q + b_q,  K = x_kv W_k + b_k,  V = x_kv W_v + b_v      each [B, T, D]
        head_h = softmax(Q_h K_h^T / sqrt(d_k)) V_h                      d_k = D / H
        out = concat_h(head_h) W_o + b_o

    Args:
        x_q: queries' inputs [B, T_q, D], float32 or float64 (kept, with parameters of that dtype).
        x_kv: keys' and values' inputs [B, T_k, D] (``x_kv is x_q`` for self-attention).
        p: the projections ``W_q, W_k, W_v, W_o`` [D, D], biases ``b_q, b_k, b_v, b_o`` [D] and
            ``num_heads`` H.
        mask: optional boolean [B or 1, T_q or 1, T_k] (a [T_q, T_k] mask is accepted too),
            True = may attend, shared by all heads.

    Returns:
        ``(out, weights)``: out [B, T_q, D], weights [B, H, T_q, T_k].

    Raises:
        ValueError: if ``num_heads`` does not divide D, if ``x_q`` or ``x_kv`` is not 3-D or does
            not have width D, or if ``mask`` does not have 2 or 3 dimensions.
    """
    H = p.num_heads
    if x_q.ndim != 3:
        raise ValueError(f"x_q must have shape [B, T_q, D], got {x_q.shape}")
    D = x_q.shape[-1]
    if H < 1 or D % H != 0:
        raise ValueError(f"num_heads={H} must be a positive divisor of D={D}")
    if p.W_q.shape != (D, D):
        raise ValueError(f"x_q has width {D} but p.W_q has shape {p.W_q.shape}")
    if x_kv.ndim != 3 or x_kv.shape[-1] != D:
        raise ValueError(f"x_kv must have shape [B, T_k, D={D}], got {x_kv.shape}")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.ndim not in (2, 3):
            raise ValueError(f"mask must have shape [B or 1, T_q or 1, T_k], got {mask.shape}")
        mask = mask[..., None, :, :]  # (B or 1, 1, T_q or 1, T_k): one mask for every head

    Q = split_heads(_linear(x_q, p.W_q, p.b_q), H)  # (B, H, T_q, d_k)
    K = split_heads(_linear(x_kv, p.W_k, p.b_k), H)  # (B, H, T_k, d_k)
    V = split_heads(_linear(x_kv, p.W_v, p.b_v), H)  # (B, H, T_k, d_k)
    heads, weights = scaled_dot_product_attention(Q, K, V, mask)  # (B, H, T_q, d_k), (B, H, T_q, T_k)
    out = _linear(merge_heads(heads), p.W_o, p.b_o)  # (B, T_q, D)
    return out, weights


def _linear(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``x W + b`` for x [B, T, D]: every token a row of one 2-D matrix product (B*T, D) @ (D, D)."""
    B, T, D = x.shape
    rows = x.reshape(B * T, D) @ W + b  # (B*T, D)
    return rows.reshape(B, T, W.shape[1])  # (B, T, D)
