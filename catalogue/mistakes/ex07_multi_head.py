"""Realistic mistakes in exercise 07 (multi-head attention).

Each replaces the reference function of its name.
"""

import numpy as np

from catalogue import base, mistake, variant
from solutions.ex05_qkv_attention import scaled_dot_product_attention  # in scope in the reference module
from solutions.ex07_multi_head import merge_heads, split_heads  # in scope in the reference module


@mistake("split_heads", "reshape_without_transpose",
         "reshaping [B, T, D] straight to [B, H, T, d_k] mixes tokens into heads: reshape to "
         "[B, T, H, d_k], then transpose(0, 2, 1, 3)")
def split_heads(X, num_heads):
    B, T, D = X.shape
    if D % num_heads:
        raise ValueError("num_heads must divide D")
    return X.reshape(B, num_heads, T, D // num_heads)  # mistake: reshape_without_transpose


@mistake("split_heads", "interleaved_heads",
         "reshaping to [B, T, d_k, H] gives head h the columns h, h+H, h+2H, ...: head h owns the "
         "contiguous slice h*d_k..(h+1)*d_k, so reshape to [B, T, H, d_k]")
def split_heads(X, num_heads):
    B, T, D = X.shape
    if D % num_heads:
        raise ValueError("num_heads must divide D")
    return X.reshape(B, T, D // num_heads, num_heads).transpose(0, 3, 1, 2)  # mistake: interleaved_heads


@mistake("merge_heads", "reshape_without_transpose",
         "reshaping [B, H, T, d_k] straight to [B, T, D] mixes heads into tokens: transpose to "
         "[B, T, H, d_k] first")
def merge_heads(X):
    B, H, T, d_k = X.shape
    return X.reshape(B, T, H * d_k)  # mistake: reshape_without_transpose


@mistake("merge_heads", "interleaved_heads",
         "transposing to [B, T, d_k, H] interleaves the heads' features: put the heads side by side, "
         "transpose(0, 2, 1, 3) to [B, T, H, d_k], then reshape")
def merge_heads(X):
    B, H, T, d_k = X.shape
    return X.transpose(0, 2, 3, 1).reshape(B, T, H * d_k)  # mistake: interleaved_heads


# The correct function that the variants below change.
@base("multi_head_attention")
def multi_head_attention(x_q, x_kv, p, mask=None):
    H = p.num_heads
    if x_q.shape[-1] % H:
        raise ValueError("num_heads must divide D")
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)
    heads, weights = scaled_dot_product_attention(Q, K, V, None if mask is None else mask[:, None])
    return merge_heads(heads) @ p.W_o + p.b_o, weights


variant("multi_head_attention", "keys_from_queries",
        "keys and values are projected from x_q: they come from x_kv (the encoder memory in "
        "cross-attention), only the queries come from x_q",
        {"K = split_heads(x_kv @ p.W_k + p.b_k, H)\n"
         "V = split_heads(x_kv @ p.W_v + p.b_v, H)":
         "K = split_heads(x_q @ p.W_k + p.b_k, H)  # mistake: keys_from_queries\n"
         "V = split_heads(x_q @ p.W_v + p.b_v, H)"})


variant("multi_head_attention", "no_output_projection",
        "you return the merged heads without the output projection: out = merge_heads(heads) @ W_o + "
        "b_o",
        {"return merge_heads(heads) @ p.W_o + p.b_o, weights":
         "return merge_heads(heads), weights  # mistake: no_output_projection"})


variant("multi_head_attention", "no_output_bias",
        "you forgot the output bias: out = merge_heads(heads) @ W_o + b_o",
        {"return merge_heads(heads) @ p.W_o + p.b_o, weights":
         "return merge_heads(heads) @ p.W_o, weights  # mistake: no_output_bias"})


variant("multi_head_attention", "no_projection_biases",
        "you forgot the biases of the projections: Q = x_q W_q + b_q, K = x_kv W_k + b_k, V = x_kv "
        "W_v + b_v",
        {"Q = split_heads(x_q @ p.W_q + p.b_q, H)\n"
         "K = split_heads(x_kv @ p.W_k + p.b_k, H)\n"
         "V = split_heads(x_kv @ p.W_v + p.b_v, H)":
         "Q = split_heads(x_q @ p.W_q, H)  # mistake: no_projection_biases\n"
         "K = split_heads(x_kv @ p.W_k, H)\n"
         "V = split_heads(x_kv @ p.W_v, H)"})


variant("multi_head_attention", "mask_without_head_axis",
        "the mask [B, T_q, T_k] is passed as it is, so broadcasting lines its batch axis up with the "
        "heads: give it a head axis, mask[:, None]",
        {"heads, weights = scaled_dot_product_attention(Q, K, V, None if mask is None else mask[:, None])":
         "heads, weights = scaled_dot_product_attention(Q, K, V, mask)  # mistake: mask_without_head_axis"})


variant("multi_head_attention", "mask_head_axis_misplaced",
        "mask[:, :, None] puts the new axis between the queries and the keys: the head axis goes "
        "right after the batch, mask[:, None] gives [B, 1, T_q, T_k]",
        {"heads, weights = scaled_dot_product_attention(Q, K, V, None if mask is None else mask[:, None])":
         "# mistake: mask_head_axis_misplaced\n"
         "heads, weights = scaled_dot_product_attention(Q, K, V, None if mask is None else mask[:, :, "
         "None])"})


@mistake("multi_head_attention", "scaled_by_sqrt_D",
         "each head divides its scores by sqrt(D), the model width: a head's keys have d_k = D / H "
         "features, so divide by sqrt(d_k)")
def multi_head_attention(x_q, x_kv, p, mask=None):
    import math

    from .ex02_softmax import softmax

    H = p.num_heads
    D = x_q.shape[-1]
    if D % H:
        raise ValueError("num_heads must divide D")
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)
    scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(D)  # mistake: scaled_by_sqrt_D
    if mask is not None:
        allowed = np.broadcast_to(mask[:, None], scores.shape)
        scores = np.where(allowed.any(-1, keepdims=True), np.where(allowed, scores, -np.inf), 0)
        weights = np.where(allowed, softmax(scores), 0)
    else:
        weights = softmax(scores)
    return merge_heads(weights @ V) @ p.W_o + p.b_o, weights


@mistake("multi_head_attention", "heads_interleaved",
         "your heads take every H-th column (reshape to [B, T, d_k, H]): head h owns the contiguous "
         "columns h*d_k..(h+1)*d_k - 1 of each projection, so reshape to [B, T, H, d_k]")
def multi_head_attention(x_q, x_kv, p, mask=None):
    H = p.num_heads
    B, T_q, D = x_q.shape
    if D % H:
        raise ValueError("num_heads must divide D")
    d_k = D // H

    def split(x):
        return x.reshape(x.shape[0], x.shape[1], d_k, H).transpose(0, 3, 1, 2)  # mistake: heads_interleaved

    Q = split(x_q @ p.W_q + p.b_q)
    K = split(x_kv @ p.W_k + p.b_k)
    V = split(x_kv @ p.W_v + p.b_v)
    heads, weights = scaled_dot_product_attention(Q, K, V, None if mask is None else mask[:, None])
    merged = heads.transpose(0, 2, 3, 1).reshape(B, T_q, D)  # mistake: heads_interleaved
    return merged @ p.W_o + p.b_o, weights


variant("multi_head_attention", "heads_in_reverse_order",
        "you concatenate the heads last to first: head h's output belongs in columns h*d_k..(h+1)*d_k "
        "of the merged array, in head order",
        {"return merge_heads(heads) @ p.W_o + p.b_o, weights":
         "return merge_heads(heads[:, ::-1]) @ p.W_o + p.b_o, weights  # mistake: heads_in_reverse_order"})


@mistake("multi_head_attention", "one_big_head",
         "you attend once over all D features, ignoring num_heads: split the projections into H heads "
         "of d_k = D / H features, attend per head, then merge")
def multi_head_attention(x_q, x_kv, p, mask=None):
    if x_q.shape[-1] % p.num_heads:
        raise ValueError("num_heads must divide D")
    Q = x_q @ p.W_q + p.b_q
    K = x_kv @ p.W_k + p.b_k
    V = x_kv @ p.W_v + p.b_v
    out, weights = scaled_dot_product_attention(Q, K, V, mask)  # mistake: one_big_head
    return out @ p.W_o + p.b_o, weights
