"""Realistic mistakes in exercise 13 (the key/value cache). Each replaces the reference function of its
name.

An entry runs inside a copy of ``solutions/ex13_kv_cache.py``: it uses that module's names,
imported here from it only so that the file reads (and lints) like the module it is appended to.
"""

import math

import numpy as np

from catalogue import base, mistake, variant
from solutions.ex13_kv_cache import (
    LayerCache,
    _check_decoder_step_inputs,
    _check_step_inputs,
    add_and_norm,
    decoder_step,
    empty_cache,
    encode,
    feed_forward,
    merge_heads,
    multi_head_attention,
    padding_mask,
    scaled_dot_product_attention,
    self_attention_step,
    sinusoidal_encoding,
    split_heads,
)

# --- empty_cache -----------------------------------------------------------------------------------


@mistake("empty_cache", "zero_batch",
         "your empty cache has no rows (shape [0, H, 0, d_k]): 'empty' means no POSITION yet, every "
         "one of the B rows is there: np.zeros((batch_size, H, 0, d_k))")
def empty_cache(params, batch_size):
    c = params.config
    shape = (0, c.num_heads, 0, c.d_model // c.num_heads)  # mistake: zero_batch
    return [LayerCache(np.zeros(shape, params.W_out.dtype), np.zeros(shape, params.W_out.dtype))
            for _ in params.decoder]


@mistake("empty_cache", "float64_cache",
         "your empty cache is float64 whatever the parameters' dtype (np.zeros defaults to float64), so a "
         "float32 model's keys are upcast: pass dtype=params.W_out.dtype")
def empty_cache(params, batch_size):
    c = params.config
    shape = (batch_size, c.num_heads, 0, c.d_model // c.num_heads)
    return [LayerCache(np.zeros(shape), np.zeros(shape)) for _ in params.decoder]  # mistake: float64_cache


@mistake("empty_cache", "width_D_not_d_k",
         "your cached keys have D features per head: after split_heads each head holds d_k = D / H, the "
         "cache is [B, H, 0, d_k]")
def empty_cache(params, batch_size):
    c = params.config
    shape = (batch_size, c.num_heads, 0, c.d_model)  # mistake: width_D_not_d_k
    return [LayerCache(np.zeros(shape, params.W_out.dtype), np.zeros(shape, params.W_out.dtype))
            for _ in params.decoder]


@mistake("empty_cache", "one_cache_for_all_layers",
         "you return one LayerCache for the whole decoder: every decoder layer has its own keys and "
         "values, return a list with one LayerCache per layer of params.decoder")
def empty_cache(params, batch_size):
    c = params.config
    shape = (batch_size, c.num_heads, 0, c.d_model // c.num_heads)
    # mistake: one_cache_for_all_layers
    return [LayerCache(np.zeros(shape, params.W_out.dtype), np.zeros(shape, params.W_out.dtype))]


# --- self_attention_step ---------------------------------------------------------------------------


# The correct function that the variants below change.
@base("self_attention_step")
def self_attention_step(x, p, cache):
    H = p.num_heads
    q = split_heads(x @ p.W_q + p.b_q, H)
    K = np.concatenate([cache.keys, split_heads(x @ p.W_k + p.b_k, H)], axis=2)
    V = np.concatenate([cache.values, split_heads(x @ p.W_v + p.b_v, H)], axis=2)
    heads, _ = scaled_dot_product_attention(q, K, V)
    return merge_heads(heads) @ p.W_o + p.b_o, LayerCache(K, V)


@mistake("self_attention_step", "attends_before_appending",
         "you attend over the old cache and append the new k, v afterwards, so the new position never "
         "sees itself (and the first step has no key at all): concatenate first, then attend")
def self_attention_step(x, p, cache):
    H = p.num_heads
    q = split_heads(x @ p.W_q + p.b_q, H)
    k = split_heads(x @ p.W_k + p.b_k, H)
    v = split_heads(x @ p.W_v + p.b_v, H)
    heads, _ = scaled_dot_product_attention(q, cache.keys, cache.values)
    out = merge_heads(heads) @ p.W_o + p.b_o
    # mistake: attends_before_appending
    return out, LayerCache(np.concatenate([cache.keys, k], axis=2), np.concatenate([cache.values, v], axis=2))


variant("self_attention_step", "append_on_heads_axis",
        "you concatenate the new key and value along axis 1, the heads: the cache is [B, H, t, d_k] "
        "and positions are axis 2, np.concatenate([cache.keys, k], axis=2)",
        {"K = np.concatenate([cache.keys, split_heads(x @ p.W_k + p.b_k, H)], axis=2)\n"
         "V = np.concatenate([cache.values, split_heads(x @ p.W_v + p.b_v, H)], axis=2)":
         "# mistake: append_on_heads_axis\n"
         "K = np.concatenate([cache.keys, split_heads(x @ p.W_k + p.b_k, H)], axis=1)\n"
         "V = np.concatenate([cache.values, split_heads(x @ p.W_v + p.b_v, H)], axis=1)"})


variant("self_attention_step", "keys_values_swapped",
        "you append the new value to the keys and the new key to the values: keys = "
        "concat(cache.keys, k), values = concat(cache.values, v)",
        {"K = np.concatenate([cache.keys, split_heads(x @ p.W_k + p.b_k, H)], axis=2)\n"
         "V = np.concatenate([cache.values, split_heads(x @ p.W_v + p.b_v, H)], axis=2)":
         "k = split_heads(x @ p.W_k + p.b_k, H)\n"
         "v = split_heads(x @ p.W_v + p.b_v, H)\n"
         "K = np.concatenate([cache.keys, v], axis=2)  # mistake: keys_values_swapped\n"
         "V = np.concatenate([cache.values, k], axis=2)"})


@mistake("self_attention_step", "caches_inputs_not_projections",
         "you cache the layer's inputs x and project the whole cache again at every step: the cache holds "
         "the PROJECTED keys and values split into heads (x W_k + b_k, x W_v + b_v), so a step projects "
         "only its own position")
def self_attention_step(x, p, cache):
    H = p.num_heads
    xs = np.concatenate([cache.keys, split_heads(x, H)], axis=2)  # mistake: caches_inputs_not_projections
    past = merge_heads(xs)
    q = split_heads(x @ p.W_q + p.b_q, H)
    K = split_heads(past @ p.W_k + p.b_k, H)  # mistake: caches_inputs_not_projections
    V = split_heads(past @ p.W_v + p.b_v, H)
    heads, _ = scaled_dot_product_attention(q, K, V)
    return merge_heads(heads) @ p.W_o + p.b_o, LayerCache(xs, xs.copy())


variant("self_attention_step", "caches_the_output",
        "you append the attention OUTPUT to the cache: the cache must hold this position's key k and "
        "value v, which later positions attend to",
        {"return merge_heads(heads) @ p.W_o + p.b_o, LayerCache(K, V)":
         "out = merge_heads(heads) @ p.W_o + p.b_o\n"
         "o = split_heads(out, H)  # mistake: caches_the_output\n"
         "return out, LayerCache(np.concatenate([cache.keys, o], axis=2), np.concatenate([cache.values, "
         "o], axis=2))"})


variant("self_attention_step", "new_position_first",
        "you put the new position in FRONT of the cache: append it last (np.concatenate([cache.keys, "
        "k], axis=2)), so that cache position i is target position i",
        {"K = np.concatenate([cache.keys, split_heads(x @ p.W_k + p.b_k, H)], axis=2)\n"
         "V = np.concatenate([cache.values, split_heads(x @ p.W_v + p.b_v, H)], axis=2)":
         "K = np.concatenate([split_heads(x @ p.W_k + p.b_k, H), cache.keys], axis=2)  # mistake: "
         "new_position_first\n"
         "V = np.concatenate([split_heads(x @ p.W_v + p.b_v, H), cache.values], axis=2)"})


variant("self_attention_step", "no_output_projection",
        "you return the merged heads without the output projection: out = merge_heads(heads) @ W_o + "
        "b_o",
        {"return merge_heads(heads) @ p.W_o + p.b_o, LayerCache(K, V)":
         "return merge_heads(heads), LayerCache(K, V)  # mistake: no_output_projection"})


variant("self_attention_step", "unscaled_scores",
        "your scores q K^T are not divided by sqrt(d_k): use scaled_dot_product_attention, or divide "
        "the scores by sqrt(d_k) before the softmax",
        {"heads, _ = scaled_dot_product_attention(q, K, V)\n"
         "return merge_heads(heads) @ p.W_o + p.b_o, LayerCache(K, V)":
         "scores = q @ np.swapaxes(K, -1, -2)  # mistake: unscaled_scores\n"
         "w = np.exp(scores - scores.max(axis=-1, keepdims=True))\n"
         "w = w / w.sum(axis=-1, keepdims=True)\n"
         "return merge_heads(w @ V) @ p.W_o + p.b_o, LayerCache(K, V)"})


@mistake("self_attention_step", "cache_changed_in_place",
         "you assign the grown arrays to the cache you were given (cache.keys = ...): the caller's cache "
         "changes behind its back; return a NEW LayerCache and leave the old one as it was")
def self_attention_step(x, p, cache):
    H = p.num_heads
    q = split_heads(x @ p.W_q + p.b_q, H)
    # mistake: cache_changed_in_place
    cache.keys = np.concatenate([cache.keys, split_heads(x @ p.W_k + p.b_k, H)], axis=2)
    cache.values = np.concatenate([cache.values, split_heads(x @ p.W_v + p.b_v, H)], axis=2)
    heads, _ = scaled_dot_product_attention(q, cache.keys, cache.values)
    return merge_heads(heads) @ p.W_o + p.b_o, cache  # mistake: cache_changed_in_place


# --- decoder_step ----------------------------------------------------------------------------------


# The correct function that the variants below change.
@base("decoder_step")
def decoder_step(token, memory, src_tokens, params, cache):
    D = params.tgt_embed.shape[1]
    t = cache[0].keys.shape[2]
    PE_t = sinusoidal_encoding(t + 1, D)[t].astype(params.tgt_embed.dtype)
    y = (params.tgt_embed[token] * math.sqrt(D) + PE_t)[:, None, :]
    mask = padding_mask(src_tokens, params.config.pad_id)
    new = []
    for layer, c in zip(params.decoder, cache, strict=True):
        a, grown = self_attention_step(y, layer.self_attn, c)
        y = add_and_norm(y, a, layer.norm1)
        y = add_and_norm(y, multi_head_attention(y, memory, layer.cross_attn, mask)[0], layer.norm2)
        y = add_and_norm(y, feed_forward(y, layer.ffn), layer.norm3)
        new.append(grown)
    return y[:, 0] @ params.W_out + params.b_out, new


variant("decoder_step", "position_always_zero",
        "you embed the token with embed(token[:, None], tgt_embed), which adds PE[0] whatever the "
        "step: the token sits at position t = cache[0].keys.shape[2], add PE[t]",
        {"D = params.tgt_embed.shape[1]\n"
         "t = cache[0].keys.shape[2]\n"
         "PE_t = sinusoidal_encoding(t + 1, D)[t].astype(params.tgt_embed.dtype)\n"
         "y = (params.tgt_embed[token] * math.sqrt(D) + PE_t)[:, None, :]":
         "from .ex08_positional_encoding import embed  # mistake: position_always_zero\n"
         "\n"
         "y = embed(token[:, None], params.tgt_embed)  # mistake: position_always_zero"})


variant("decoder_step", "position_one_ahead",
        "you add PE[t + 1]: positions count from 0 (bos is at position 0), and the cache holds t "
        "positions, so the new token is at position t = cache[0].keys.shape[2]",
        {"t = cache[0].keys.shape[2]": "t = cache[0].keys.shape[2] + 1  # mistake: position_one_ahead"})


variant("decoder_step", "position_from_heads_axis",
        "you read the position from axis 1 of the cache, the heads: the cache is [B, H, t, d_k], the "
        "position is t = cache[0].keys.shape[2]",
        {"t = cache[0].keys.shape[2]": "t = cache[0].keys.shape[1]  # mistake: position_from_heads_axis"})


variant("decoder_step", "no_sqrt_d_scale",
        "you add PE[t] to tgt_embed[token] without multiplying the embedding by sqrt(D), as embed "
        "does: y = tgt_embed[token] * sqrt(D) + PE[t]",
        {"y = (params.tgt_embed[token] * math.sqrt(D) + PE_t)[:, None, :]":
         "y = (params.tgt_embed[token] + PE_t)[:, None, :]  # mistake: no_sqrt_d_scale"})


variant("decoder_step", "cross_attention_unmasked",
        "your cross-attention reads the memory at padded source positions: pass the source padding "
        "mask padding_mask(src_tokens, pad_id) to the cross-attention",
        {"mask = padding_mask(src_tokens, params.config.pad_id)": "",
         "y = add_and_norm(y, multi_head_attention(y, memory, layer.cross_attn, mask)[0], layer.norm2)":
         "# mistake: cross_attention_unmasked\n"
         "y = add_and_norm(y, multi_head_attention(y, memory, layer.cross_attn)[0], layer.norm2)"})


variant("decoder_step", "cross_attention_over_decoder",
        "your cross-attention takes its keys and values from the decoder's own position: they come "
        "from the encoder's memory, multi_head_attention(y, memory, cross_attn, source mask)",
        {"mask = padding_mask(src_tokens, params.config.pad_id)": "",
         "y = add_and_norm(y, multi_head_attention(y, memory, layer.cross_attn, mask)[0], layer.norm2)":
         "# mistake: cross_attention_over_decoder\n"
         "y = add_and_norm(y, multi_head_attention(y, y, layer.cross_attn)[0], layer.norm2)"})


variant("decoder_step", "first_layer_cache_everywhere",
        "every layer attends over cache[0]: each decoder layer has its own keys and values, use "
        "cache[l] in layer l (zip(params.decoder, cache))",
        {"for layer, c in zip(params.decoder, cache, strict=True):\n"
         "a, grown = self_attention_step(y, layer.self_attn, c)":
         "for layer in params.decoder:  # mistake: first_layer_cache_everywhere\n"
         "    a, grown = self_attention_step(y, layer.self_attn, cache[0])"})


@mistake("decoder_step", "cache_list_changed_in_place",
         "you store the grown caches in the list you were given (cache[l] = ...): the caller's cache "
         "changes behind its back; build and return a new list")
def decoder_step(token, memory, src_tokens, params, cache):
    D = params.tgt_embed.shape[1]
    t = cache[0].keys.shape[2]
    PE_t = sinusoidal_encoding(t + 1, D)[t].astype(params.tgt_embed.dtype)
    y = (params.tgt_embed[token] * math.sqrt(D) + PE_t)[:, None, :]
    mask = padding_mask(src_tokens, params.config.pad_id)
    for i, layer in enumerate(params.decoder):  # mistake: cache_list_changed_in_place
        a, cache[i] = self_attention_step(y, layer.self_attn, cache[i])
        y = add_and_norm(y, a, layer.norm1)
        y = add_and_norm(y, multi_head_attention(y, memory, layer.cross_attn, mask)[0], layer.norm2)
        y = add_and_norm(y, feed_forward(y, layer.ffn), layer.norm3)
    return y[:, 0] @ params.W_out + params.b_out, cache  # mistake: cache_list_changed_in_place


# --- cached_greedy_decode --------------------------------------------------------------------------


# The correct function that the variants below change.
@base("cached_greedy_decode")
def cached_greedy_decode(src_tokens, params, max_len):
    if max_len < 1:
        raise ValueError("max_len must be at least 1")
    c = params.config
    memory = encode(src_tokens, params)
    cache = empty_cache(params, src_tokens.shape[0])
    tokens = np.full((src_tokens.shape[0], 1), c.bos_id, dtype=np.int64)
    finished = np.zeros(src_tokens.shape[0], dtype=bool)
    for _ in range(max_len):
        logits, cache = decoder_step(tokens[:, -1], memory, src_tokens, params, cache)
        next_token = np.where(finished, c.pad_id, np.argmax(logits, axis=-1))
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
        finished |= next_token == c.eos_id
        if finished.all():
            break
    return tokens


variant("cached_greedy_decode", "finished_rows_not_padded",
        "a row that produced eos_id keeps generating: once a row has finished, append pad_id to it "
        "(keep a boolean `finished` per row)",
        {"finished = np.zeros(src_tokens.shape[0], dtype=bool)": "",
         "next_token = np.where(finished, c.pad_id, np.argmax(logits, axis=-1))": "",
         "tokens = np.concatenate([tokens, next_token[:, None]], axis=1)\n"
         "finished |= next_token == c.eos_id\n"
         "if finished.all():":
         "# mistake: finished_rows_not_padded\n"
         "tokens = np.concatenate([tokens, np.argmax(logits, axis=-1)[:, None]], axis=1)\n"
         "if (tokens == c.eos_id).any(axis=1).all():"})


variant("cached_greedy_decode", "never_stops_early",
        "your loop always runs max_len steps: stop as soon as every row has produced eos_id",
        {"finished |= next_token == c.eos_id\n"
         "if finished.all():\n"
         "break": "finished |= next_token == c.eos_id  # mistake: never_stops_early"})


variant("cached_greedy_decode", "pad_finishes_a_row",
        "a row that writes pad_id has not finished: only eos_id ends a row (finished |= next_token == "
        "eos_id); until then pad_id is a token like any other",
        {"finished |= next_token == c.eos_id":
         "# mistake: pad_finishes_a_row\nfinished |= (next_token == c.eos_id) | (next_token == c.pad_id)"})


variant("cached_greedy_decode", "feeds_bos_every_step",
        "you feed tokens[:, 0] (bos) to decoder_step at every step: feed the token written LAST, "
        "tokens[:, -1], whose key and value are not in the cache yet",
        {"logits, cache = decoder_step(tokens[:, -1], memory, src_tokens, params, cache)":
         "# mistake: feeds_bos_every_step\n"
         "logits, cache = decoder_step(tokens[:, 0], memory, src_tokens, params, cache)"})


variant("cached_greedy_decode", "cache_not_kept",
        "you throw away the cache decoder_step returns (logits, _ = ...), so every step starts from an "
        "empty cache at position 0: keep it, logits, cache = decoder_step(..., cache)",
        {"logits, cache = decoder_step(tokens[:, -1], memory, src_tokens, params, cache)":
         "# mistake: cache_not_kept\n"
         "logits, _ = decoder_step(tokens[:, -1], memory, src_tokens, params, cache)"})


variant("cached_greedy_decode", "one_step_short",
        "you generate max_len - 1 new tokens (the bos column counted as one of them): run up to "
        "max_len steps, the result has up to max_len + 1 columns",
        {"for _ in range(max_len):": "while tokens.shape[1] < max_len:  # mistake: one_step_short"})

# Written blind, from the docstrings alone, by a helper who never read the tests (issue 17);
# the entries that repeated a mistake above exactly were left out.


@mistake("empty_cache", "blind_cache_width_D",
         "your cache has D features per head: each head caches d_k = D / H, the cache is [B, H, 0, d_k]")
def empty_cache(params, batch_size):
    if not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    caches = []
    for layer in params.decoder:
        p = layer.self_attn
        # mistake: blind_cache_width_D
        empty = np.zeros((batch_size, p.num_heads, 0, p.W_k.shape[1]), dtype=p.W_k.dtype)
        caches.append(LayerCache(keys=empty, values=empty.copy()))
    return caches


@mistake("empty_cache", "blind_cache_float64",
         "your empty cache is float64 whatever the parameters' dtype: pass dtype=W.dtype to np.zeros")
def empty_cache(params, batch_size):
    if not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    caches = []
    for layer in params.decoder:
        p = layer.self_attn
        H = p.num_heads
        empty = np.zeros((batch_size, H, 0, p.W_k.shape[1] // H))  # mistake: blind_cache_float64
        caches.append(LayerCache(keys=empty, values=empty.copy()))
    return caches


@mistake("empty_cache", "blind_cache_one_for_all_layers",
         "you return one LayerCache: each decoder layer needs its own, return len(params.decoder) of them")
def empty_cache(params, batch_size):
    if not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    p = params.decoder[0].self_attn
    H = p.num_heads
    empty = np.zeros((batch_size, H, 0, p.W_k.shape[1] // H), dtype=p.W_k.dtype)
    return [LayerCache(keys=empty, values=empty.copy())]  # mistake: blind_cache_one_for_all_layers


@mistake("empty_cache", "blind_cache_zero_batch_accepted",
         "you accept batch_size = 0: it must be at least 1, raise ValueError")
def empty_cache(params, batch_size):
    # mistake: blind_cache_zero_batch_accepted
    if not isinstance(batch_size, int | np.integer) or batch_size < 0:
        raise ValueError(f"batch_size must be an integer >= 0, got {batch_size!r}")
    caches = []
    for layer in params.decoder:
        p = layer.self_attn
        H = p.num_heads
        empty = np.zeros((batch_size, H, 0, p.W_k.shape[1] // H), dtype=p.W_k.dtype)
        caches.append(LayerCache(keys=empty, values=empty.copy()))
    return caches


@mistake("self_attention_step", "blind_step_attends_before_appending",
         "you attend before appending the new key and value, so position t never sees itself: append first, "
         "then attend")
def self_attention_step(x, p, cache):
    _check_step_inputs(x, p, cache)
    H = p.num_heads
    q = split_heads(x @ p.W_q + p.b_q, H)
    k = split_heads(x @ p.W_k + p.b_k, H)
    v = split_heads(x @ p.W_v + p.b_v, H)
    # mistake: blind_step_attends_before_appending
    heads, _ = scaled_dot_product_attention(q, cache.keys, cache.values)
    K = np.concatenate([cache.keys, k], axis=2)
    V = np.concatenate([cache.values, v], axis=2)
    out = merge_heads(heads) @ p.W_o + p.b_o
    return out, LayerCache(keys=K, values=V)


@mistake("self_attention_step", "blind_step_cache_not_grown",
         "you return the old cache: return one with this position's key and value appended")
def self_attention_step(x, p, cache):
    _check_step_inputs(x, p, cache)
    H = p.num_heads
    q = split_heads(x @ p.W_q + p.b_q, H)
    k = split_heads(x @ p.W_k + p.b_k, H)
    v = split_heads(x @ p.W_v + p.b_v, H)
    K = np.concatenate([cache.keys, k], axis=2)
    V = np.concatenate([cache.values, v], axis=2)
    heads, _ = scaled_dot_product_attention(q, K, V)
    out = merge_heads(heads) @ p.W_o + p.b_o
    return out, LayerCache(keys=cache.keys, values=cache.values)  # mistake: blind_step_cache_not_grown


@mistake("self_attention_step", "blind_step_values_from_keys",
         "you append the new key to the values: append k to the cached keys and v to the cached values")
def self_attention_step(x, p, cache):
    _check_step_inputs(x, p, cache)
    H = p.num_heads
    q = split_heads(x @ p.W_q + p.b_q, H)
    k = split_heads(x @ p.W_k + p.b_k, H)
    K = np.concatenate([cache.keys, k], axis=2)
    V = np.concatenate([cache.values, k], axis=2)  # mistake: blind_step_values_from_keys
    heads, _ = scaled_dot_product_attention(q, K, V)
    out = merge_heads(heads) @ p.W_o + p.b_o
    return out, LayerCache(keys=K, values=V)


@mistake("self_attention_step", "blind_step_mutates_cache",
         "you assign cache.keys and cache.values, which changes the cache you were given: build a NEW "
         "LayerCache")
def self_attention_step(x, p, cache):
    _check_step_inputs(x, p, cache)
    H = p.num_heads
    q = split_heads(x @ p.W_q + p.b_q, H)
    k = split_heads(x @ p.W_k + p.b_k, H)
    v = split_heads(x @ p.W_v + p.b_v, H)
    cache.keys = np.concatenate([cache.keys, k], axis=2)  # mistake: blind_step_mutates_cache
    cache.values = np.concatenate([cache.values, v], axis=2)
    heads, _ = scaled_dot_product_attention(q, cache.keys, cache.values)
    out = merge_heads(heads) @ p.W_o + p.b_o
    return out, cache


@mistake("self_attention_step", "blind_step_unprojected_cache",
         "you cache the raw input: cache the PROJECTED keys and values (x W_k + b_k, x W_v + b_v), split "
         "into heads")
def self_attention_step(x, p, cache):
    _check_step_inputs(x, p, cache)
    H = p.num_heads
    q = split_heads(x @ p.W_q + p.b_q, H)
    raw = split_heads(x, H)  # mistake: blind_step_unprojected_cache
    K = np.concatenate([cache.keys, raw], axis=2)
    V = np.concatenate([cache.values, raw], axis=2)
    Kp = split_heads(merge_heads(K) @ p.W_k + p.b_k, H)
    Vp = split_heads(merge_heads(V) @ p.W_v + p.b_v, H)
    heads, _ = scaled_dot_product_attention(q, Kp, Vp)
    out = merge_heads(heads) @ p.W_o + p.b_o
    return out, LayerCache(keys=K, values=V)


@mistake("decoder_step", "blind_dstep_position_off_by_one",
         "you add PE[t + 1]: the token fed at step t sits at position t, the cache's length, so add PE[t]")
def decoder_step(token, memory, src_tokens, params, cache):
    _check_decoder_step_inputs(token, memory, src_tokens, params, cache)
    D = params.tgt_embed.shape[1]
    t = cache[0].keys.shape[2]
    # mistake: blind_dstep_position_off_by_one
    PE_t = sinusoidal_encoding(t + 2, D)[t + 1].astype(params.tgt_embed.dtype)
    y = (params.tgt_embed[token] * math.sqrt(D) + PE_t)[:, None, :]
    memory_mask = padding_mask(src_tokens, params.config.pad_id)
    new_cache = []
    for layer, layer_cache in zip(params.decoder, cache, strict=True):
        attn, grown = self_attention_step(y, layer.self_attn, layer_cache)
        y = add_and_norm(y, attn, layer.norm1)
        cross, _ = multi_head_attention(y, memory, layer.cross_attn, memory_mask)
        y = add_and_norm(y, cross, layer.norm2)
        y = add_and_norm(y, feed_forward(y, layer.ffn), layer.norm3)
        new_cache.append(grown)
    return y[:, 0] @ params.W_out + params.b_out, new_cache


@mistake("decoder_step", "blind_dstep_no_sqrt_scale",
         "you embed the token without the factor sqrt(D): tgt_embed[token] * sqrt(D) + PE[t], as embed() "
         "does")
def decoder_step(token, memory, src_tokens, params, cache):
    _check_decoder_step_inputs(token, memory, src_tokens, params, cache)
    D = params.tgt_embed.shape[1]
    t = cache[0].keys.shape[2]
    PE_t = sinusoidal_encoding(t + 1, D)[t].astype(params.tgt_embed.dtype)
    y = (params.tgt_embed[token] + PE_t)[:, None, :]  # mistake: blind_dstep_no_sqrt_scale
    memory_mask = padding_mask(src_tokens, params.config.pad_id)
    new_cache = []
    for layer, layer_cache in zip(params.decoder, cache, strict=True):
        attn, grown = self_attention_step(y, layer.self_attn, layer_cache)
        y = add_and_norm(y, attn, layer.norm1)
        cross, _ = multi_head_attention(y, memory, layer.cross_attn, memory_mask)
        y = add_and_norm(y, cross, layer.norm2)
        y = add_and_norm(y, feed_forward(y, layer.ffn), layer.norm3)
        new_cache.append(grown)
    return y[:, 0] @ params.W_out + params.b_out, new_cache


@mistake("decoder_step", "blind_dstep_no_memory_mask",
         "your cross-attention reads the source padding: mask it with padding_mask(src_tokens, pad_id)")
def decoder_step(token, memory, src_tokens, params, cache):
    _check_decoder_step_inputs(token, memory, src_tokens, params, cache)
    D = params.tgt_embed.shape[1]
    t = cache[0].keys.shape[2]
    PE_t = sinusoidal_encoding(t + 1, D)[t].astype(params.tgt_embed.dtype)
    y = (params.tgt_embed[token] * math.sqrt(D) + PE_t)[:, None, :]
    new_cache = []
    for layer, layer_cache in zip(params.decoder, cache, strict=True):
        attn, grown = self_attention_step(y, layer.self_attn, layer_cache)
        y = add_and_norm(y, attn, layer.norm1)
        cross, _ = multi_head_attention(y, memory, layer.cross_attn)  # mistake: blind_dstep_no_memory_mask
        y = add_and_norm(y, cross, layer.norm2)
        y = add_and_norm(y, feed_forward(y, layer.ffn), layer.norm3)
        new_cache.append(grown)
    return y[:, 0] @ params.W_out + params.b_out, new_cache


@mistake("decoder_step", "blind_dstep_first_layer_cache_everywhere",
         "you give every layer the cache of layer 0: layer l reads and grows cache[l]")
def decoder_step(token, memory, src_tokens, params, cache):
    _check_decoder_step_inputs(token, memory, src_tokens, params, cache)
    D = params.tgt_embed.shape[1]
    t = cache[0].keys.shape[2]
    PE_t = sinusoidal_encoding(t + 1, D)[t].astype(params.tgt_embed.dtype)
    y = (params.tgt_embed[token] * math.sqrt(D) + PE_t)[:, None, :]
    memory_mask = padding_mask(src_tokens, params.config.pad_id)
    new_cache = []
    for layer in params.decoder:
        # mistake: blind_dstep_first_layer_cache_everywhere
        attn, grown = self_attention_step(y, layer.self_attn, cache[0])
        y = add_and_norm(y, attn, layer.norm1)
        cross, _ = multi_head_attention(y, memory, layer.cross_attn, memory_mask)
        y = add_and_norm(y, cross, layer.norm2)
        y = add_and_norm(y, feed_forward(y, layer.ffn), layer.norm3)
        new_cache.append(grown)
    return y[:, 0] @ params.W_out + params.b_out, new_cache


@mistake("decoder_step", "blind_dstep_returns_old_cache",
         "you return the caches you received: return the NEW ones self_attention_step gave back")
def decoder_step(token, memory, src_tokens, params, cache):
    _check_decoder_step_inputs(token, memory, src_tokens, params, cache)
    D = params.tgt_embed.shape[1]
    t = cache[0].keys.shape[2]
    PE_t = sinusoidal_encoding(t + 1, D)[t].astype(params.tgt_embed.dtype)
    y = (params.tgt_embed[token] * math.sqrt(D) + PE_t)[:, None, :]
    memory_mask = padding_mask(src_tokens, params.config.pad_id)
    for layer, layer_cache in zip(params.decoder, cache, strict=True):
        attn, _ = self_attention_step(y, layer.self_attn, layer_cache)
        y = add_and_norm(y, attn, layer.norm1)
        cross, _ = multi_head_attention(y, memory, layer.cross_attn, memory_mask)
        y = add_and_norm(y, cross, layer.norm2)
        y = add_and_norm(y, feed_forward(y, layer.ffn), layer.norm3)
    return y[:, 0] @ params.W_out + params.b_out, cache  # mistake: blind_dstep_returns_old_cache


@mistake("cached_greedy_decode", "blind_cgreedy_feeds_bos_every_step",
         "you feed the first token at every step: feed the LAST token written, tokens[:, -1]")
def cached_greedy_decode(src_tokens, params, max_len):
    if not isinstance(max_len, int | np.integer) or max_len < 1:
        raise ValueError(f"max_len must be an integer >= 1, got {max_len!r}")
    c = params.config
    memory = encode(src_tokens, params)
    B = src_tokens.shape[0]
    cache = empty_cache(params, B)
    tokens = np.full((B, 1), c.bos_id, dtype=np.int64)
    finished = np.zeros(B, dtype=bool)
    for _ in range(max_len):
        # mistake: blind_cgreedy_feeds_bos_every_step
        logits, cache = decoder_step(tokens[:, 0], memory, src_tokens, params, cache)
        next_token = np.where(finished, c.pad_id, np.argmax(logits, axis=-1))
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
        finished |= next_token == c.eos_id
        if finished.all():
            break
    return tokens


@mistake("cached_greedy_decode", "blind_cgreedy_cache_not_kept",
         "you drop the cache decoder_step returns, so every step is decoded at position 0 without its past: "
         "keep it for the next step")
def cached_greedy_decode(src_tokens, params, max_len):
    if not isinstance(max_len, int | np.integer) or max_len < 1:
        raise ValueError(f"max_len must be an integer >= 1, got {max_len!r}")
    c = params.config
    memory = encode(src_tokens, params)
    B = src_tokens.shape[0]
    cache = empty_cache(params, B)
    tokens = np.full((B, 1), c.bos_id, dtype=np.int64)
    finished = np.zeros(B, dtype=bool)
    for _ in range(max_len):
        # mistake: blind_cgreedy_cache_not_kept
        logits, _ = decoder_step(tokens[:, -1], memory, src_tokens, params, cache)
        next_token = np.where(finished, c.pad_id, np.argmax(logits, axis=-1))
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
        finished |= next_token == c.eos_id
        if finished.all():
            break
    return tokens


@mistake("cached_greedy_decode", "blind_cgreedy_no_padding",
         "a row that produced eos_id keeps generating: finished rows get pad_id from then on, as in "
         "greedy_decode")
def cached_greedy_decode(src_tokens, params, max_len):
    if not isinstance(max_len, int | np.integer) or max_len < 1:
        raise ValueError(f"max_len must be an integer >= 1, got {max_len!r}")
    c = params.config
    memory = encode(src_tokens, params)
    B = src_tokens.shape[0]
    cache = empty_cache(params, B)
    tokens = np.full((B, 1), c.bos_id, dtype=np.int64)
    finished = np.zeros(B, dtype=bool)
    for _ in range(max_len):
        logits, cache = decoder_step(tokens[:, -1], memory, src_tokens, params, cache)
        next_token = np.argmax(logits, axis=-1)  # mistake: blind_cgreedy_no_padding
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
        finished |= next_token == c.eos_id
        if finished.all():
            break
    return tokens


@mistake("cached_greedy_decode", "blind_cgreedy_never_stops_early",
         "your loop always runs max_len steps: stop once every row has produced eos_id")
def cached_greedy_decode(src_tokens, params, max_len):
    if not isinstance(max_len, int | np.integer) or max_len < 1:
        raise ValueError(f"max_len must be an integer >= 1, got {max_len!r}")
    c = params.config
    memory = encode(src_tokens, params)
    B = src_tokens.shape[0]
    cache = empty_cache(params, B)
    tokens = np.full((B, 1), c.bos_id, dtype=np.int64)
    finished = np.zeros(B, dtype=bool)
    for _ in range(max_len):
        logits, cache = decoder_step(tokens[:, -1], memory, src_tokens, params, cache)
        next_token = np.where(finished, c.pad_id, np.argmax(logits, axis=-1))
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
        finished |= next_token == c.eos_id  # mistake: blind_cgreedy_never_stops_early
    return tokens
