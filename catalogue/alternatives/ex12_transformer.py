"""Correct implementations of exercise 12 written differently from the reference.

An entry runs inside a copy of ``solutions/ex12_transformer.py``: it uses that module's names,
imported here from it only so that the file reads (and lints) like the module it is appended to.
"""

import numpy as np

from catalogue import alternative
from solutions.ex12_transformer import decode, encode, transformer_forward


@alternative("transformer_forward", "einsum_projection")
def transformer_forward(src_tokens, tgt_tokens, params):
    out = decode(tgt_tokens, encode(src_tokens, params), src_tokens, params)
    return np.einsum("btd,dv->btv", out, params.W_out) + params.b_out


@alternative("greedy_decode", "one_row_at_a_time")
def greedy_decode(src_tokens, params, max_len):
    if int(max_len) != max_len or max_len < 1:
        raise ValueError(f"max_len must be a positive integer, got {max_len}")
    c = params.config
    rows = []
    for b in range(len(src_tokens)):
        src = src_tokens[b:b + 1]
        src = src[:, : max(1, int((src != c.pad_id).sum()))]  # the row without its padding
        row = [c.bos_id]
        while len(row) <= max_len and row[-1] != c.eos_id:
            logits = transformer_forward(src, np.array([row]), params)
            row.append(int(np.argmax(logits[0, -1])))
        rows.append(row)
    L = max(len(row) for row in rows)
    return np.array([row + [c.pad_id] * (L - len(row)) for row in rows], dtype=np.int64)


@alternative("greedy_decode", "transformer_forward_each_step")
def greedy_decode(src_tokens, params, max_len):
    if max_len < 1:
        raise ValueError("max_len must be at least 1")
    c = params.config
    B = src_tokens.shape[0]
    tokens = np.full((B, max_len + 1), c.pad_id, dtype=np.int64)
    tokens[:, 0] = c.bos_id
    done = np.zeros(B, dtype=bool)
    for t in range(1, max_len + 1):
        best = transformer_forward(src_tokens, tokens[:, :t], params)[:, t - 1].argmax(axis=-1)
        tokens[~done, t] = best[~done]
        done = done | (best == c.eos_id)
        if done.all():
            return tokens[:, : t + 1]
    return tokens
