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

# Written blind, from the docstrings alone, by a helper who never read the tests (issue 17);
# the entries that repeated a mistake above exactly were left out.


@mistake("split_heads", "blind_split_reshape_only",
         "reshaping [B, T, D] straight to [B, H, T, d_k] mixes tokens into heads: reshape to [B, T, H, "
         "d_k], then transpose to [B, H, T, d_k]")
def split_heads(X, num_heads):
    if X.ndim != 3:
        raise ValueError(f"X must have shape [B, T, D], got {X.shape}")
    B, T, D = X.shape
    if num_heads < 1 or D % num_heads != 0:
        raise ValueError(f"num_heads={num_heads} must be a positive divisor of D={D}")
    return X.reshape(B, num_heads, T, D // num_heads)  # mistake: blind_split_reshape_only


@mistake("split_heads", "blind_split_interleaved_columns",
         "you interleave the heads' columns ([B, T, d_k, H]): head h owns the contiguous columns h*d_k to "
         "(h+1)*d_k - 1, reshape to [B, T, H, d_k]")
def split_heads(X, num_heads):
    if X.ndim != 3:
        raise ValueError(f"X must have shape [B, T, D], got {X.shape}")
    B, T, D = X.shape
    if num_heads < 1 or D % num_heads != 0:
        raise ValueError(f"num_heads={num_heads} must be a positive divisor of D={D}")
    d_k = D // num_heads
    return X.reshape(B, T, d_k, num_heads).transpose(0, 3, 1, 2)  # mistake: blind_split_interleaved_columns


@mistake("split_heads", "blind_split_zero_heads",
         "num_heads = 0 raises ZeroDivisionError in D % num_heads: check num_heads >= 1 first and raise "
         "ValueError")
def split_heads(X, num_heads):
    if X.ndim != 3:
        raise ValueError(f"X must have shape [B, T, D], got {X.shape}")
    B, T, D = X.shape
    if D % num_heads != 0:  # mistake: blind_split_zero_heads
        raise ValueError(f"num_heads={num_heads} must divide D={D}")
    d_k = D // num_heads
    return X.reshape(B, T, num_heads, d_k).transpose(0, 2, 1, 3)


@mistake("merge_heads", "blind_merge_reshape_only",
         "you reshape [B, H, T, d_k] without moving the head axis: transpose(0, 2, 1, 3) first, then "
         "reshape to [B, T, D]")
def merge_heads(X):
    if X.ndim != 4:
        raise ValueError(f"X must have shape [B, H, T, d_k], got {X.shape}")
    B, H, T, d_k = X.shape
    return X.reshape(B, T, H * d_k)  # mistake: blind_merge_reshape_only


@mistake("merge_heads", "blind_merge_wrong_transpose",
         "you transpose to [B, T, d_k, H], which interleaves the heads' features: out[b, t, h*d_k + i] = "
         "X[b, h, t, i], transpose to [B, T, H, d_k]")
def merge_heads(X):
    if X.ndim != 4:
        raise ValueError(f"X must have shape [B, H, T, d_k], got {X.shape}")
    B, H, T, d_k = X.shape
    return X.transpose(0, 2, 3, 1).reshape(B, T, H * d_k)  # mistake: blind_merge_wrong_transpose


@mistake("multi_head_attention", "blind_mha_kv_from_x_q",
         "you take the keys and values from x_q: they come from x_kv (the memory in cross-attention), only "
         "the queries from x_q")
def multi_head_attention(x_q, x_kv, p, mask=None):
    H = p.num_heads
    if x_q.ndim != 3:
        raise ValueError("x_q must be [B, T_q, D]")
    D = x_q.shape[-1]
    if H < 1 or D % H != 0:
        raise ValueError(f"num_heads={H} must divide D={D}")
    if p.W_q.shape != (D, D):
        raise ValueError("p.W_q does not fit x_q")
    if x_kv.ndim != 3 or x_kv.shape[-1] != D:
        raise ValueError("x_kv must be [B, T_k, D]")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.ndim not in (2, 3):
            raise ValueError("mask must have 2 or 3 dimensions")
        mask = mask[..., None, :, :]
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_q @ p.W_k + p.b_k, H)  # mistake: blind_mha_kv_from_x_q
    V = split_heads(x_q @ p.W_v + p.b_v, H)  # mistake: blind_mha_kv_from_x_q
    heads, weights = scaled_dot_product_attention(Q, K, V, mask)
    out = merge_heads(heads) @ p.W_o + p.b_o
    return out, weights


@mistake("multi_head_attention", "blind_mha_no_output_bias",
         "your output projection has no bias: out = concat(heads) W_o + b_o")
def multi_head_attention(x_q, x_kv, p, mask=None):
    H = p.num_heads
    if x_q.ndim != 3:
        raise ValueError("x_q must be [B, T_q, D]")
    D = x_q.shape[-1]
    if H < 1 or D % H != 0:
        raise ValueError(f"num_heads={H} must divide D={D}")
    if p.W_q.shape != (D, D):
        raise ValueError("p.W_q does not fit x_q")
    if x_kv.ndim != 3 or x_kv.shape[-1] != D:
        raise ValueError("x_kv must be [B, T_k, D]")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.ndim not in (2, 3):
            raise ValueError("mask must have 2 or 3 dimensions")
        mask = mask[..., None, :, :]
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)
    heads, weights = scaled_dot_product_attention(Q, K, V, mask)
    out = merge_heads(heads) @ p.W_o  # mistake: blind_mha_no_output_bias
    return out, weights


@mistake("multi_head_attention", "blind_mha_kv_biases_forgotten",
         "only your queries get their bias: K = x_kv W_k + b_k and V = x_kv W_v + b_v too")
def multi_head_attention(x_q, x_kv, p, mask=None):
    H = p.num_heads
    if x_q.ndim != 3:
        raise ValueError("x_q must be [B, T_q, D]")
    D = x_q.shape[-1]
    if H < 1 or D % H != 0:
        raise ValueError(f"num_heads={H} must divide D={D}")
    if p.W_q.shape != (D, D):
        raise ValueError("p.W_q does not fit x_q")
    if x_kv.ndim != 3 or x_kv.shape[-1] != D:
        raise ValueError("x_kv must be [B, T_k, D]")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.ndim not in (2, 3):
            raise ValueError("mask must have 2 or 3 dimensions")
        mask = mask[..., None, :, :]
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k, H)  # mistake: blind_mha_kv_biases_forgotten
    V = split_heads(x_kv @ p.W_v, H)  # mistake: blind_mha_kv_biases_forgotten
    heads, weights = scaled_dot_product_attention(Q, K, V, mask)
    out = merge_heads(heads) @ p.W_o + p.b_o
    return out, weights


@mistake("multi_head_attention", "blind_mha_mask_without_head_axis",
         "a [B, T_q, T_k] mask without a head axis lines B up with H: add one, mask[:, None], to broadcast "
         "over [B, H, T_q, T_k]")
def multi_head_attention(x_q, x_kv, p, mask=None):
    H = p.num_heads
    if x_q.ndim != 3:
        raise ValueError("x_q must be [B, T_q, D]")
    D = x_q.shape[-1]
    if H < 1 or D % H != 0:
        raise ValueError(f"num_heads={H} must divide D={D}")
    if p.W_q.shape != (D, D):
        raise ValueError("p.W_q does not fit x_q")
    if x_kv.ndim != 3 or x_kv.shape[-1] != D:
        raise ValueError("x_kv must be [B, T_k, D]")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.ndim not in (2, 3):
            raise ValueError("mask must have 2 or 3 dimensions")
        # mistake: blind_mha_mask_without_head_axis
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)
    heads, weights = scaled_dot_product_attention(Q, K, V, mask)
    out = merge_heads(heads) @ p.W_o + p.b_o
    return out, weights


@mistake("multi_head_attention", "blind_mha_head_axis_for_3d_only",
         "mask[:, None] suits a [B, T_q, T_k] mask but puts the head axis after T_q of a [T_q, T_k] one: "
         "use mask[..., None, :, :]")
def multi_head_attention(x_q, x_kv, p, mask=None):
    H = p.num_heads
    if x_q.ndim != 3:
        raise ValueError("x_q must be [B, T_q, D]")
    D = x_q.shape[-1]
    if H < 1 or D % H != 0:
        raise ValueError(f"num_heads={H} must divide D={D}")
    if p.W_q.shape != (D, D):
        raise ValueError("p.W_q does not fit x_q")
    if x_kv.ndim != 3 or x_kv.shape[-1] != D:
        raise ValueError("x_kv must be [B, T_k, D]")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.ndim not in (2, 3):
            raise ValueError("mask must have 2 or 3 dimensions")
        mask = mask[:, None]  # mistake: blind_mha_head_axis_for_3d_only
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)
    heads, weights = scaled_dot_product_attention(Q, K, V, mask)
    out = merge_heads(heads) @ p.W_o + p.b_o
    return out, weights


@mistake("multi_head_attention", "blind_mha_heads_never_split",
         "you attend once over all D features: split Q, K, V into H heads of d_k = D / H features and "
         "attend per head, the weights are [B, H, T_q, T_k]")
def multi_head_attention(x_q, x_kv, p, mask=None):
    H = p.num_heads
    if x_q.ndim != 3:
        raise ValueError("x_q must be [B, T_q, D]")
    D = x_q.shape[-1]
    if H < 1 or D % H != 0:
        raise ValueError(f"num_heads={H} must divide D={D}")
    if p.W_q.shape != (D, D):
        raise ValueError("p.W_q does not fit x_q")
    if x_kv.ndim != 3 or x_kv.shape[-1] != D:
        raise ValueError("x_kv must be [B, T_k, D]")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.ndim not in (2, 3):
            raise ValueError("mask must have 2 or 3 dimensions")
    Q = x_q @ p.W_q + p.b_q  # mistake: blind_mha_heads_never_split
    K = x_kv @ p.W_k + p.b_k
    V = x_kv @ p.W_v + p.b_v
    heads, weights = scaled_dot_product_attention(Q, K, V, mask)  # one head of width D
    out = heads @ p.W_o + p.b_o
    return out, weights


@mistake("multi_head_attention", "blind_mha_weights_averaged_over_heads",
         "you average the weights over the heads: return every head's weights, [B, H, T_q, T_k]")
def multi_head_attention(x_q, x_kv, p, mask=None):
    H = p.num_heads
    if x_q.ndim != 3:
        raise ValueError("x_q must be [B, T_q, D]")
    D = x_q.shape[-1]
    if H < 1 or D % H != 0:
        raise ValueError(f"num_heads={H} must divide D={D}")
    if p.W_q.shape != (D, D):
        raise ValueError("p.W_q does not fit x_q")
    if x_kv.ndim != 3 or x_kv.shape[-1] != D:
        raise ValueError("x_kv must be [B, T_k, D]")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.ndim not in (2, 3):
            raise ValueError("mask must have 2 or 3 dimensions")
        mask = mask[..., None, :, :]
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)
    heads, weights = scaled_dot_product_attention(Q, K, V, mask)
    out = merge_heads(heads) @ p.W_o + p.b_o
    return out, weights.mean(axis=1)  # mistake: blind_mha_weights_averaged_over_heads
