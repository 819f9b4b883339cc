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
    raise NotImplementedError("ex13: each layer gets LayerCache(zeros [B, H, 0, d_k]) in params' dtype")


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
    raise NotImplementedError("ex13: project x, append k, v on axis 2, attend q over them, then W_o")


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
    raise NotImplementedError("ex13: embed token at t = cache length, then every layer on that one position")


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
    raise NotImplementedError("ex13: greedy_decode's loop, feeding the last token to decoder_step")
