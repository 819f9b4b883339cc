"""Exercise 12: the whole Transformer and greedy decoding.

The encoder reads the source once into a memory; the decoder reads the target prefix and that
memory; a final linear layer turns each decoder vector into one score (logit) per target-vocabulary
word. The logit at position ``t`` scores the token that comes AFTER ``tgt_tokens[:, t]``:

    logits = decode(tgt_tokens, encode(src_tokens), src_tokens) W_out + b_out      [B, T_tgt, V]

Greedy decoding writes a translation: start every row with ``bos_id``; at each step run the model
on the prefix written so far, take the arg-max of the LAST position's logits and append it. A row
that has produced ``eos_id`` is finished: it gets ``pad_id`` from then on. Stop when every row has
finished or after ``max_len`` new tokens.

Rules of every exercise (inputs never changed in place, the dtype kept, ValueError for a bad
argument, the allowed imports): docs/API.md.
"""

from __future__ import annotations

import numpy as np

from course.params import TransformerParams

from .ex10_encoder import encode
from .ex11_decoder import decode


def transformer_forward(
    src_tokens: np.ndarray, tgt_tokens: np.ndarray, params: TransformerParams
) -> np.ndarray:
    """Logits of the next target token at every target position.

        memory = encode(src_tokens)                                       [B, T_src, D]
        logits = decode(tgt_tokens, memory, src_tokens) W_out + b_out     [B, T_tgt, V]

    Args:
        src_tokens: integer source ids [B, T_src] in ``0..src_vocab-1``, padding after.
        tgt_tokens: integer target ids [B, T_tgt] in ``0..tgt_vocab-1``, padding after.
        params: the whole model (``W_out`` [D, V_tgt], ``b_out`` [V_tgt]).

    Returns:
        Logits [B, T_tgt, V_tgt] (no softmax), in the dtype of the parameters.

    Raises:
        ValueError: if ``src_tokens`` or ``tgt_tokens`` is not a 2-D integer array of ids of its
            vocabulary (names it), or their batch sizes differ.
    """
    memory = encode(src_tokens, params)  # (B, T_src, D)
    out = decode(tgt_tokens, memory, src_tokens, params)  # (B, T_tgt, D)
    B, T_tgt, D = out.shape
    logits = out.reshape(B * T_tgt, D) @ params.W_out  # (B*T_tgt, V): one 2-D matrix product
    logits += params.b_out  # in place: the logits are large, and this function's own array
    return logits.reshape(B, T_tgt, -1)  # (B, T_tgt, V)


def greedy_decode(src_tokens: np.ndarray, params: TransformerParams, max_len: int) -> np.ndarray:
    """Translate by always appending the most likely next token.

        tokens_0 = [bos_id]                                     for every row
        next_b = argmax_v logits(src_tokens, tokens)[b, -1, v]  (pad_id if row b has finished)
        tokens = concat(tokens, next)                           until all rows finished or max_len steps

    Args:
        src_tokens: integer source ids [B, T_src] in ``0..src_vocab-1``, padding after.
        params: the whole model; uses ``config.bos_id``, ``config.eos_id`` and ``config.pad_id``.
        max_len: the most new tokens to generate, at least 1.

    Returns:
        int64 tokens [B, L] with ``2 <= L <= max_len + 1``: column 0 is ``bos_id``; after a row's
        first ``eos_id`` every token is ``pad_id``; ``L < max_len + 1`` only when every row holds
        ``eos_id`` and the last column is the first where every row has finished.

    Raises:
        ValueError: if ``max_len`` is not an integer >= 1 (names ``max_len``), or as ``encode``
            does for bad ``src_tokens``.
    """
    if not isinstance(max_len, int | np.integer) or max_len < 1:
        raise ValueError(f"max_len must be an integer >= 1, got {max_len!r}")
    c = params.config
    memory = encode(src_tokens, params)  # (B, T_src, D): the source is read once
    B = src_tokens.shape[0]
    tokens = np.full((B, 1), c.bos_id, dtype=np.int64)  # (B, 1)
    finished = np.zeros(B, dtype=bool)  # (B,)
    for _ in range(max_len):
        last = decode(tokens, memory, src_tokens, params)[:, -1]  # (B, D): the last position predicts
        next_token = np.argmax(last @ params.W_out + params.b_out, axis=-1)  # (B,)
        next_token = np.where(finished, c.pad_id, next_token)  # finished rows get padding
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)  # (B, T + 1)
        finished |= next_token == c.eos_id
        if finished.all():
            break
    return tokens
