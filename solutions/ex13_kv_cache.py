"""Exercise 13: a key/value cache, decoding without recomputing the past.

Greedy decoding (exercise 12) runs the decoder on the whole prefix at every step, although the
causal mask makes position ``i`` read only positions ``0..i``: appending token ``t`` changes
nothing at the earlier positions. In particular the self-attention keys and values of positions
``0..t-1`` are the same at every later step. So keep them, one cache per decoder layer, and at step
``t`` run the decoder on the one new position only:

    q_t = x_t W_q + b_q,   k_t = x_t W_k + b_k,   v_t = x_t W_v + b_v         each split into H heads
    K = concat(K_cache, k_t),   V = concat(V_cache, v_t)                      [B, H, t + 1, d_k]
    out_t = concat_h(softmax(q_t K^T / sqrt(d_k)) V) W_o + b_o                no mask: all is past

The new query needs no mask: every cached position is in its past, and its own key is appended
BEFORE it attends (position ``t`` may attend to itself). The new token is embedded at its own
position, ``tgt_embed[token] * sqrt(D) + PE[t]`` with ``t`` the length of the cache.

The cost: without a cache, step ``t`` pushes ``t + 1`` positions through every layer, so a sequence
of ``T`` tokens costs ``1 + 2 + ... + T = O(T^2)`` position-passes (and ``O(T^3)`` attention
scores); with the cache, step ``t`` pushes one position, so ``O(T)`` position-passes per sequence
(and ``O(T^2)`` scores, the new query against the ``t + 1`` cached keys). The price is memory: two
arrays [B, H, t, d_k] per layer. (The cross-attention's keys and values, projections of the memory,
never change either; here each step recomputes them, ``O(T_src)`` work per step, for simplicity.)

Rules of every exercise (inputs never changed in place, the dtype kept, ValueError for a bad
argument, the allowed imports): docs/API.md.
"""

from __future__ import annotations

import math

import numpy as np

from course.params import LayerCache, MultiHeadParams, TransformerParams

from .ex05_qkv_attention import scaled_dot_product_attention
from .ex06_masking import padding_mask
from .ex07_multi_head import merge_heads, multi_head_attention, split_heads
from .ex08_positional_encoding import sinusoidal_encoding
from .ex09_layers import add_and_norm, feed_forward
from .ex10_encoder import encode


def empty_cache(params: TransformerParams, batch_size: int) -> list[LayerCache]:
    """The cache before the first decoding step: no position seen yet, in every decoder layer.

        keys = values = zeros [B, H, 0, d_k]          d_k = D / H, one LayerCache per decoder layer

    Args:
        params: the model; uses ``decoder`` (one cache per layer), ``d_model`` D, ``num_heads`` H.
        batch_size: B, the number of sequences decoded together, at least 1.

    Returns:
        A list of ``len(params.decoder)`` LayerCache, each ``keys`` and ``values`` of shape
        [B, H, 0, d_k] in the dtype of the parameters (float32 parameters, float32 cache).

    Raises:
        ValueError: if ``batch_size`` is not an integer >= 1 (names ``batch_size``).
    """
    if not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    caches = []
    for layer in params.decoder:
        p = layer.self_attn
        H = p.num_heads
        d_k = p.W_k.shape[1] // H
        empty = np.zeros((batch_size, H, 0, d_k), dtype=p.W_k.dtype)  # (B, H, 0, d_k)
        caches.append(LayerCache(keys=empty, values=empty.copy()))
    return caches


def self_attention_step(
    x: np.ndarray, p: MultiHeadParams, cache: LayerCache
) -> tuple[np.ndarray, LayerCache]:
    """Multi-head self-attention of one new position over itself and the cached past.

        q, k, v = split_heads(x W_q + b_q), split_heads(x W_k + b_k), split_heads(x W_v + b_v)
        K = concat(cache.keys, k),  V = concat(cache.values, v)          along the time axis (2)
        out = merge_heads(softmax(q K^T / sqrt(d_k)) V) W_o + b_o        no mask

    Equals row ``t`` of ``multi_head_attention(y, y, p, causal_mask(t + 1))`` when ``cache`` holds
    the keys and values of ``y[:, :t]`` and ``x = y[:, t:t+1]``.

    Args:
        x: the new position's input [B, 1, D], float32 or float64 (kept, with ``p`` and ``cache``
            of that dtype).
        p: the projections ``W_q, W_k, W_v, W_o`` [D, D], biases [D], ``num_heads`` H.
        cache: the keys and values of the ``t`` earlier positions, each [B, H, t, d_k] (``t`` may
            be 0). Not changed.

    Returns:
        ``(out, new_cache)``: out [B, 1, D]; a new LayerCache whose keys and values [B, H, t + 1, d_k]
        are the old ones with this position's appended last.

    Raises:
        ValueError: if ``x`` is not [B, 1, D] with ``D`` the width of ``p`` (names ``x``), or the
            cache's keys and values are not both [B, H, t, d_k] for this B, H and d_k (names
            ``cache``).
    """
    _check_step_inputs(x, p, cache)
    H = p.num_heads
    q = split_heads(x @ p.W_q + p.b_q, H)  # (B, H, 1, d_k)
    k = split_heads(x @ p.W_k + p.b_k, H)  # (B, H, 1, d_k)
    v = split_heads(x @ p.W_v + p.b_v, H)  # (B, H, 1, d_k)
    # K = concat(K_cache, k), V = concat(V_cache, v): append BEFORE attending, the query sees itself
    K = np.concatenate([cache.keys, k], axis=2)  # (B, H, t + 1, d_k)
    V = np.concatenate([cache.values, v], axis=2)  # (B, H, t + 1, d_k)
    heads, _ = scaled_dot_product_attention(q, K, V)  # (B, H, 1, d_k): every key is in the past
    out = merge_heads(heads) @ p.W_o + p.b_o  # (B, 1, D)
    return out, LayerCache(keys=K, values=V)


def decoder_step(
    token: np.ndarray,
    memory: np.ndarray,
    src_tokens: np.ndarray,
    params: TransformerParams,
    cache: list[LayerCache],
) -> tuple[np.ndarray, list[LayerCache]]:
    """One decoding step: the next-token logits after ``token``, from the cache of the earlier ones.

        t = cache[0].keys.shape[2]                         the position of ``token``
        y = tgt_embed[token] * sqrt(D) + PE[t]             [B, 1, D]
        for every decoder layer l:
            a, cache_l = self_attention_step(y, self_attn_l, cache[l])
            y = LayerNorm_1(y + a)
            y = LayerNorm_2(y + MultiHead(y, memory, memory, padding_mask(src_tokens)))
            y = LayerNorm_3(y + FFN(y))
        logits = y W_out + b_out                           [B, V_tgt]

    Equals ``transformer_forward(src_tokens, tokens[:, :t+1], params)[:, t]`` when ``cache`` came
    from feeding ``tokens[:, 0], ..., tokens[:, t-1]`` and ``token = tokens[:, t]``. Every fed token
    counts as a real token: target padding is never masked.

    Args:
        token: integer ids [B] in ``0..tgt_vocab-1``, the target token at position ``t`` of each row.
        memory: the encoder's output ``encode(src_tokens, params)`` [B, T_src, D].
        src_tokens: the source ids [B, T_src]; their padding is masked in the cross-attention.
        params: the model; uses ``tgt_embed``, ``decoder``, ``W_out``, ``b_out``, ``config.pad_id``.
        cache: one LayerCache per decoder layer, each [B, H, t, d_k], all of the same ``t``. Not
            changed.

    Returns:
        ``(logits, new_cache)``: logits [B, V_tgt] in the dtype of the parameters; a new list of
        new LayerCache, each [B, H, t + 1, d_k].

    Raises:
        ValueError: if ``token`` is not a 1-D integer array of B ids of the target vocabulary
            (names ``token``), if ``cache`` does not hold one LayerCache per decoder layer of shape
            [B, H, t, d_k] with one ``t`` (names ``cache``), if ``src_tokens`` is not an integer
            array [B, T_src] (names it), or if ``memory`` is not [B, T_src, D] for them (names it).
    """
    _check_decoder_step_inputs(token, memory, src_tokens, params, cache)
    D = params.tgt_embed.shape[1]
    t = cache[0].keys.shape[2]  # the new position: how many positions the cache already holds
    # y = tgt_embed[token] * sqrt(D) + PE[t]
    PE_t = sinusoidal_encoding(t + 1, D)[t].astype(params.tgt_embed.dtype)  # (D,)
    y = (params.tgt_embed[token] * math.sqrt(D) + PE_t)[:, None, :]  # (B, 1, D)
    memory_mask = padding_mask(src_tokens, params.config.pad_id)  # (B, 1, T_src)
    new_cache = []
    for layer, layer_cache in zip(params.decoder, cache, strict=True):
        attn, grown = self_attention_step(y, layer.self_attn, layer_cache)  # (B, 1, D)
        y = add_and_norm(y, attn, layer.norm1)
        cross, _ = multi_head_attention(y, memory, layer.cross_attn, memory_mask)  # (B, 1, D)
        y = add_and_norm(y, cross, layer.norm2)
        y = add_and_norm(y, feed_forward(y, layer.ffn), layer.norm3)
        new_cache.append(grown)
    return y[:, 0] @ params.W_out + params.b_out, new_cache  # (B, V_tgt)


def cached_greedy_decode(src_tokens: np.ndarray, params: TransformerParams, max_len: int) -> np.ndarray:
    """Greedy decoding with a key/value cache: the tokens of ``greedy_decode``, one position per step.

        memory = encode(src_tokens);  cache = empty_cache(params, B);  tokens = [[bos_id]] * B
        repeat at most max_len times:
            logits, cache = decoder_step(tokens[:, -1], memory, src_tokens, params, cache)
            next = argmax(logits)  (pad_id for rows that have finished);  append next
            stop when every row has produced eos_id

    Args:
        src_tokens: integer source ids [B, T_src] in ``0..src_vocab-1``, padding after.
        params: the whole model; uses ``config.bos_id``, ``config.eos_id`` and ``config.pad_id``.
        max_len: the most new tokens to generate, at least 1.

    Returns:
        int64 tokens [B, L], ``2 <= L <= max_len + 1``, exactly those of ``greedy_decode`` (for a
        model that never writes ``pad_id`` in an unfinished row: ``greedy_decode`` would mask such a
        token, a cached step cannot): column 0 is ``bos_id``; after a row's first ``eos_id`` every
        token is ``pad_id``; ``L < max_len + 1`` only when every row has finished.

    Raises:
        ValueError: if ``max_len`` is not an integer >= 1 (names ``max_len``), or as ``encode``
            does for bad ``src_tokens``.
    """
    if not isinstance(max_len, int | np.integer) or max_len < 1:
        raise ValueError(f"max_len must be an integer >= 1, got {max_len!r}")
    c = params.config
    memory = encode(src_tokens, params)  # (B, T_src, D): the source is read once
    B = src_tokens.shape[0]
    cache = empty_cache(params, B)
    tokens = np.full((B, 1), c.bos_id, dtype=np.int64)  # (B, 1)
    finished = np.zeros(B, dtype=bool)  # (B,)
    for _ in range(max_len):
        logits, cache = decoder_step(tokens[:, -1], memory, src_tokens, params, cache)  # (B, V)
        next_token = np.where(finished, c.pad_id, np.argmax(logits, axis=-1))  # (B,)
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)  # (B, T + 1)
        finished |= next_token == c.eos_id
        if finished.all():
            break
    return tokens


def _check_cache_shape(cache: LayerCache, B: int, H: int, d_k: int) -> None:
    """Raise ValueError naming ``cache`` unless its keys and values are both [B, H, t, d_k]."""
    keys, values = getattr(cache, "keys", None), getattr(cache, "values", None)
    if not isinstance(keys, np.ndarray) or not isinstance(values, np.ndarray) or keys.ndim != 4 \
            or keys.shape[:2] != (B, H) or keys.shape[3] != d_k or values.shape != keys.shape:
        raise ValueError(f"cache must hold keys and values of shape [B={B}, H={H}, t, d_k={d_k}], got "
                         f"{np.shape(keys)} and {np.shape(values)}")


def _check_step_inputs(x: np.ndarray, p: MultiHeadParams, cache: LayerCache) -> None:
    """Raise ValueError naming ``x`` or ``cache`` unless they fit each other and ``p``."""
    D = p.W_q.shape[0]
    if not isinstance(x, np.ndarray) or x.ndim != 3 or x.shape[1:] != (1, D):
        raise ValueError(f"x must have shape [B, 1, D={D}] (one new position), got {np.shape(x)}")
    _check_cache_shape(cache, x.shape[0], p.num_heads, D // p.num_heads)


def _check_decoder_step_inputs(
    token: np.ndarray, memory: np.ndarray, src_tokens: np.ndarray, params: TransformerParams,
    cache: list[LayerCache],
) -> None:
    """Raise ValueError naming the argument that does not fit the others or the model."""
    if not isinstance(src_tokens, np.ndarray) or src_tokens.dtype.kind not in "iu" or src_tokens.ndim != 2:
        raise ValueError(f"src_tokens must be an integer array [B, T_src], got {np.shape(src_tokens)}")
    B, T_src = src_tokens.shape
    V, D = params.tgt_embed.shape
    if not isinstance(token, np.ndarray) or token.dtype.kind not in "iu" or token.shape != (B,):
        raise ValueError(f"token must be an integer array [B={B}] (one id per row), got "
                         f"{getattr(token, 'dtype', type(token).__name__)} {np.shape(token)}")
    if token.min() < 0 or token.max() >= V:
        raise ValueError(f"token must hold ids in 0..{V - 1}, got {token.min()}..{token.max()}")
    if not isinstance(memory, np.ndarray) or memory.shape != (B, T_src, D):
        raise ValueError(f"memory must have shape [B, T_src, D] = {(B, T_src, D)}, got {np.shape(memory)}")
    if not isinstance(cache, list | tuple) or len(cache) != len(params.decoder):
        raise ValueError(f"cache must be a list of {len(params.decoder)} LayerCache (one per decoder "
                         f"layer), got {type(cache).__name__} of length {len(cache)}")
    for layer, layer_cache in zip(params.decoder, cache, strict=True):
        H = layer.self_attn.num_heads
        _check_cache_shape(layer_cache, B, H, D // H)
    lengths = {layer_cache.keys.shape[2] for layer_cache in cache}
    if len(lengths) != 1:
        raise ValueError(f"cache must hold as many positions in every layer, got {sorted(lengths)}")
