"""Correct implementations of exercise 13 written differently from the reference.

An entry runs inside a copy of ``solutions/ex13_kv_cache.py``: it uses that module's names,
imported here from it only so that the file reads (and lints) like the module it is appended to.
"""

import math

import numpy as np

from catalogue import alternative
from solutions.ex13_kv_cache import (
    LayerCache,
    _check_decoder_step_inputs,
    _check_step_inputs,
    add_and_norm,
    decoder_step,
    encode,
    feed_forward,
    merge_heads,
    multi_head_attention,
    split_heads,
)


@alternative("empty_cache", "split_an_empty_sequence")
def empty_cache(params, batch_size):
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    D = params.tgt_embed.shape[1]
    nothing = np.zeros((batch_size, 0, D), dtype=params.tgt_embed.dtype)  # no position yet
    return [LayerCache(split_heads(nothing, layer.self_attn.num_heads),
                       split_heads(nothing.copy(), layer.self_attn.num_heads))
            for layer in params.decoder]


@alternative("self_attention_step", "merged_cache_then_split")
def self_attention_step(x, p, cache):
    _check_step_inputs(x, p, cache)
    H = p.num_heads
    K_all = np.concatenate([merge_heads(cache.keys), x @ p.W_k + p.b_k], axis=1)  # (B, t + 1, D)
    V_all = np.concatenate([merge_heads(cache.values), x @ p.W_v + p.b_v], axis=1)
    q = split_heads(x @ p.W_q + p.b_q, H)
    K, V = split_heads(K_all, H), split_heads(V_all, H)
    scores = q @ np.swapaxes(K, -1, -2) / math.sqrt(q.shape[-1])
    w = np.exp(scores - scores.max(axis=-1, keepdims=True))
    w /= w.sum(axis=-1, keepdims=True)
    return merge_heads(w @ V) @ p.W_o + p.b_o, LayerCache(K, V)


@alternative("self_attention_step", "einsum_loop_over_heads")
def self_attention_step(x, p, cache):
    _check_step_inputs(x, p, cache)
    D = x.shape[-1]
    H = p.num_heads
    d_k = D // H
    q, k, v = x[:, 0] @ p.W_q + p.b_q, x[:, 0] @ p.W_k + p.b_k, x[:, 0] @ p.W_v + p.b_v  # (B, D) each
    keys, values, heads = [], [], []
    for h in range(H):
        cols = slice(h * d_k, (h + 1) * d_k)
        K_h = np.concatenate([cache.keys[:, h], k[:, None, cols]], axis=1)  # (B, t + 1, d_k)
        V_h = np.concatenate([cache.values[:, h], v[:, None, cols]], axis=1)
        s = np.einsum("bd,btd->bt", q[:, cols], K_h) / np.sqrt(d_k).astype(x.dtype)
        w = np.exp(s - s.max(axis=1, keepdims=True))
        w = w / w.sum(axis=1, keepdims=True)
        heads.append(np.einsum("bt,btd->bd", w, V_h))
        keys.append(K_h)
        values.append(V_h)
    out = np.concatenate(heads, axis=-1) @ p.W_o + p.b_o  # (B, D)
    return out[:, None, :], LayerCache(np.stack(keys, axis=1), np.stack(values, axis=1))


@alternative("decoder_step", "position_encoding_written_out")
def decoder_step(token, memory, src_tokens, params, cache):
    _check_decoder_step_inputs(token, memory, src_tokens, params, cache)
    D = params.tgt_embed.shape[1]
    t = cache[0].keys.shape[2]
    i = np.arange(D // 2)
    angle = t / 10000.0 ** (2 * i / D)
    pe = np.stack([np.sin(angle), np.cos(angle)], axis=-1).reshape(D)  # sin, cos interleaved
    y = params.tgt_embed[token][:, None, :] * np.sqrt(D).astype(params.tgt_embed.dtype) \
        + pe.astype(params.tgt_embed.dtype)
    keep = (src_tokens != params.config.pad_id)[:, None, :]
    grown_all = []
    for i_layer, layer in enumerate(params.decoder):
        a, grown = self_attention_step(y, layer.self_attn, cache[i_layer])
        y = add_and_norm(y, a, layer.norm1)
        y = add_and_norm(y, multi_head_attention(y, memory, layer.cross_attn, keep)[0], layer.norm2)
        y = add_and_norm(y, feed_forward(y, layer.ffn), layer.norm3)
        grown_all = [*grown_all, grown]
    return np.einsum("bd,dv->bv", y[:, 0], params.W_out) + params.b_out, grown_all


@alternative("cached_greedy_decode", "preallocated_tokens")
def cached_greedy_decode(src_tokens, params, max_len):
    if int(max_len) != max_len or max_len < 1:
        raise ValueError(f"max_len must be a positive integer, got {max_len}")
    c = params.config
    memory = encode(src_tokens, params)
    B = src_tokens.shape[0]
    cache = empty_cache(params, B)
    tokens = np.full((B, max_len + 1), c.pad_id, dtype=np.int64)
    tokens[:, 0] = c.bos_id
    done = np.zeros(B, dtype=bool)
    for t in range(1, max_len + 1):
        logits, cache = decoder_step(tokens[:, t - 1], memory, src_tokens, params, cache)
        best = logits.argmax(axis=-1)
        tokens[~done, t] = best[~done]
        done = done | (best == c.eos_id)
        if done.all():
            return tokens[:, : t + 1]
    return tokens
