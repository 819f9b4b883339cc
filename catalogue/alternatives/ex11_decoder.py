"""Correct implementations of exercise 11 written differently from the reference.

An entry runs inside a copy of ``solutions/ex11_decoder.py``: it uses that module's names, imported
here from it only so that the file reads (and lints) like the module it is appended to.
"""

import numpy as np

from catalogue import alternative
from solutions.ex11_decoder import decoder_layer, embed, feed_forward


@alternative("decoder_layer", "attention_per_head_loop")
def decoder_layer(y, memory, p, self_mask=None, memory_mask=None):
    from .ex09_layers import layer_norm

    D = p.self_attn.W_q.shape[0]
    if y.ndim != 3 or y.shape[-1] != D:
        raise ValueError(f"y must be [B, T_tgt, {D}]")
    if memory.ndim != 3 or memory.shape[-1] != D or len(memory) != len(y):
        raise ValueError(f"memory must be [B, T_src, {D}]")

    def attention(xq, xkv, a, mask):
        d_k = D // a.num_heads
        q, k, v = xq @ a.W_q + a.b_q, xkv @ a.W_k + a.b_k, xkv @ a.W_v + a.b_v
        allowed = np.ones((1, 1, xkv.shape[1]), dtype=bool) if mask is None else mask
        heads = []
        for h in range(a.num_heads):
            cols = slice(h * d_k, (h + 1) * d_k)
            s = q[..., cols] @ np.swapaxes(k[..., cols], 1, 2) / np.sqrt(d_k).astype(xq.dtype)
            s = np.where(allowed, s, -np.inf)
            m = s.max(axis=-1, keepdims=True)
            e = np.exp(s - np.where(np.isfinite(m), m, 0))
            z = e.sum(axis=-1, keepdims=True)
            heads.append(np.divide(e, z, out=np.zeros_like(e), where=z > 0) @ v[..., cols])
        return np.concatenate(heads, axis=-1) @ a.W_o + a.b_o

    y = layer_norm(y + attention(y, y, p.self_attn, self_mask), p.norm1)
    y = layer_norm(y + attention(y, memory, p.cross_attn, memory_mask), p.norm2)
    return layer_norm(y + feed_forward(y, p.ffn), p.norm3)


@alternative("decode", "masks_by_hand")
def decode(tgt_tokens, memory, src_tokens, params):
    for name, t in (("tgt_tokens", tgt_tokens), ("src_tokens", src_tokens)):
        if not isinstance(t, np.ndarray) or t.ndim != 2 or t.dtype.kind not in "iu" or t.size == 0:
            raise ValueError(f"{name} must be a non-empty integer array [B, T]")
    V, D = params.tgt_embed.shape
    if tgt_tokens.min() < 0 or tgt_tokens.max() >= V:
        raise ValueError("tgt_tokens holds an id outside the target vocabulary")
    if memory.shape != (*src_tokens.shape, D) or len(tgt_tokens) != len(src_tokens):
        raise ValueError(f"memory has shape {memory.shape}, which does not fit src_tokens and D={D}")
    pad = params.config.pad_id
    T = tgt_tokens.shape[1]
    i, j = np.indices((T, T))
    self_mask = (j <= i)[None] & (tgt_tokens != pad)[:, None, :]
    memory_mask = np.expand_dims(src_tokens != pad, 1)
    y = embed(tgt_tokens, params.tgt_embed)
    for layer in params.decoder:
        y = decoder_layer(y, memory, layer, self_mask, memory_mask)
    return y
