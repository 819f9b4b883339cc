"""Correct implementations of exercise 16 written differently from the reference.

An entry runs inside a copy of ``solutions/ex16_training.py``: it uses that module's names,
imported here from it only so that the file reads (and lints) like the module it is appended to.
"""

import math

import numpy as np

from catalogue import alternative
from solutions.ex16_training import (
    AdamState,
    DecoderLayerParams,
    MultiHeadParams,
    TransformerParams,
    adam_step,
    cross_entropy,
    decoder_layer,
    decoder_layer_backward,
    decoder_self_mask,
    embed,
    encoder_layer,
    encoder_layer_backward,
    feed_forward,
    feed_forward_backward,
    layer_norm,
    layer_norm_backward,
    loss_and_grads,
    multi_head_attention,
    multi_head_attention_backward,
    padding_mask,
)


@alternative("multi_head_attention_backward", "per_head_loop_einsum")
def multi_head_attention_backward(grad_out, x_q, x_kv, p, mask=None):
    out, _ = multi_head_attention(x_q, x_kv, p, mask)
    if np.shape(grad_out) != out.shape:
        raise ValueError(f"grad_out must have shape {out.shape}, got {np.shape(grad_out)}")
    H, D = p.num_heads, x_q.shape[-1]
    d_k = D // H
    Q, K, V = x_q @ p.W_q + p.b_q, x_kv @ p.W_k + p.b_k, x_kv @ p.W_v + p.b_v
    allowed = None if mask is None else np.broadcast_to(
        np.asarray(mask), (x_q.shape[0], x_q.shape[1], x_kv.shape[1]))
    dconcat = np.einsum("bte,de->btd", grad_out, p.W_o)
    concat, dQ, dK, dV = (np.zeros_like(Q), np.zeros_like(Q), np.zeros_like(K), np.zeros_like(V))
    for h in range(H):
        cols = slice(h * d_k, (h + 1) * d_k)
        q, k, v = Q[..., cols], K[..., cols], V[..., cols]
        scores = np.einsum("bqd,bkd->bqk", q, k) / math.sqrt(d_k)
        if allowed is not None:
            scores = np.where(allowed, scores, -np.inf)
        top = np.max(scores, axis=-1, keepdims=True)
        e = np.exp(scores - np.where(np.isfinite(top), top, 0))
        total = e.sum(axis=-1, keepdims=True)
        P = np.divide(e, total, out=np.zeros_like(e), where=total > 0)
        concat[..., cols] = np.einsum("bqk,bkd->bqd", P, v)
        g = dconcat[..., cols]
        dP = np.einsum("bqd,bkd->bqk", g, v)
        dS = P * (dP - (dP * P).sum(axis=-1, keepdims=True)) / math.sqrt(d_k)
        dQ[..., cols] = np.einsum("bqk,bkd->bqd", dS, k)
        dK[..., cols] = np.einsum("bqk,bqd->bkd", dS, q)
        dV[..., cols] = np.einsum("bqk,bqd->bkd", P, g)
    grads = MultiHeadParams(
        W_q=np.einsum("btd,bte->de", x_q, dQ), W_k=np.einsum("btd,bte->de", x_kv, dK),
        W_v=np.einsum("btd,bte->de", x_kv, dV), W_o=np.einsum("btd,bte->de", concat, grad_out),
        b_q=dQ.sum(axis=(0, 1)), b_k=dK.sum(axis=(0, 1)), b_v=dV.sum(axis=(0, 1)),
        b_o=grad_out.sum(axis=(0, 1)), num_heads=H)
    dx_q = np.einsum("bte,de->btd", dQ, p.W_q)
    dx_kv = np.einsum("bte,de->btd", dK, p.W_k) + np.einsum("bte,de->btd", dV, p.W_v)
    return dx_q, dx_kv, grads


@alternative("decoder_layer_backward", "add_norm_backward_helper")
def decoder_layer_backward(grad_out, y, memory, p, self_mask=None, memory_mask=None):
    def add_norm_backward(g, x, sub, norm):
        """Through LayerNorm(x + sub): the gradient reaching x + sub (both summands get it)."""
        return layer_norm_backward(g, x + sub, norm)

    a = multi_head_attention(y, y, p.self_attn, self_mask)[0]
    h1 = layer_norm(y + a, p.norm1)
    c = multi_head_attention(h1, memory, p.cross_attn, memory_mask)[0]
    h2 = layer_norm(h1 + c, p.norm2)
    g3, n3 = add_norm_backward(grad_out, h2, feed_forward(h2, p.ffn), p.norm3)
    g_h2, f = feed_forward_backward(g3, h2, p.ffn)
    g2, n2 = add_norm_backward(g3 + g_h2, h1, c, p.norm2)
    g_h1, dmemory, cross = multi_head_attention_backward(g2, h1, memory, p.cross_attn, memory_mask)
    g1, n1 = add_norm_backward(g2 + g_h1, y, a, p.norm1)
    g_q, g_kv, self_attn = multi_head_attention_backward(g1, y, y, p.self_attn, self_mask)
    dy = g1 + g_q + g_kv
    return dy, dmemory, DecoderLayerParams(self_attn=self_attn, norm1=n1, cross_attn=cross, norm2=n2,
                                           ffn=f, norm3=n3)


@alternative("loss_and_grads", "cached_dicts_and_one_hot_embedding")
def loss_and_grads(src_tokens, tgt_tokens, params):
    if not isinstance(tgt_tokens, np.ndarray) or tgt_tokens.ndim != 2 or tgt_tokens.shape[1] < 2:
        raise ValueError("tgt_tokens needs at least 2 columns (read [:, :-1], predict [:, 1:])")
    c = params.config
    read, predict = tgt_tokens[:, :-1], tgt_tokens[:, 1:]
    masks = {"src": padding_mask(src_tokens, c.pad_id), "tgt": decoder_self_mask(read, c.pad_id)}
    cache = {"enc_in": {}, "dec_in": {}}
    x = embed(src_tokens, params.src_embed)
    for i, layer in enumerate(params.encoder):
        cache["enc_in"][i] = x
        x = encoder_layer(x, layer, masks["src"])
    memory = x
    y = embed(read, params.tgt_embed)
    for i, layer in enumerate(params.decoder):
        cache["dec_in"][i] = y
        y = decoder_layer(y, memory, layer, masks["tgt"], masks["src"])
    loss, dlogits = cross_entropy(y @ params.W_out + params.b_out, predict, c.pad_id)
    V, D = c.tgt_vocab, c.d_model
    dW_out = np.einsum("btd,btv->dv", y, dlogits)
    db_out = dlogits.sum(axis=(0, 1))
    dy = dlogits @ params.W_out.T
    dmemory = 0 * memory
    dec_grads = [None] * len(params.decoder)
    for i in reversed(range(len(params.decoder))):
        dy, dm, dec_grads[i] = decoder_layer_backward(dy, cache["dec_in"][i], memory, params.decoder[i],
                                                      masks["tgt"], masks["src"])
        dmemory = dmemory + dm
    dx, enc_grads = dmemory, [None] * len(params.encoder)
    for i in reversed(range(len(params.encoder))):
        dx, enc_grads[i] = encoder_layer_backward(dx, cache["enc_in"][i], params.encoder[i], masks["src"])
    scale = np.asarray(math.sqrt(D), dtype=params.src_embed.dtype)
    one_hot_src = (src_tokens[..., None] == np.arange(c.src_vocab)).astype(params.src_embed.dtype)
    one_hot_tgt = (read[..., None] == np.arange(V)).astype(params.tgt_embed.dtype)
    d_src = np.einsum("btv,btd->vd", one_hot_src, dx) * scale
    d_tgt = np.einsum("btv,btd->vd", one_hot_tgt, dy) * scale
    return loss, TransformerParams(config=c, src_embed=d_src, tgt_embed=d_tgt, encoder=enc_grads,
                                   decoder=dec_grads, W_out=dW_out, b_out=db_out)


@alternative("adam_init", "explicit_recursion")
def adam_init(params):
    import dataclasses

    def zeros(tree):
        if isinstance(tree, np.ndarray):
            return np.zeros(tree.shape, dtype=tree.dtype)
        if isinstance(tree, list | tuple):
            return type(tree)(zeros(t) for t in tree)
        sizes_only = all(isinstance(getattr(tree, f.name), int | float | str)
                         for f in dataclasses.fields(tree)) if dataclasses.is_dataclass(tree) else True
        if not sizes_only:  # a parameter dataclass, not a config
            return dataclasses.replace(tree, **{f.name: zeros(getattr(tree, f.name))
                                                for f in dataclasses.fields(tree)})
        return tree

    return AdamState(0, zeros(params), zeros(params))


@alternative("adam_step", "explicit_recursion_over_fields")
def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.98, eps=1e-9):
    import dataclasses

    if not (lr >= 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be >= 0 and finite, got {lr}")
    t = state.step + 1
    c1, c2 = 1.0 - beta1**t, 1.0 - beta2**t

    def step(theta, g, m, v):
        """New (theta, m, v) trees, walking the dataclass fields and lists by hand."""
        if isinstance(theta, np.ndarray):
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * np.square(g)
            m_hat, v_hat = m / c1, v / c2
            return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
        if isinstance(theta, list | tuple):
            parts = [step(*xs) for xs in zip(theta, g, m, v, strict=True)]
            return tuple(type(theta)(p[i] for p in parts) for i in range(3))
        if dataclasses.is_dataclass(theta) and not all(  # a config holds sizes only: kept as it is
                isinstance(getattr(theta, f.name), int | float | str) for f in dataclasses.fields(theta)):
            out = [{}, {}, {}]
            for f in dataclasses.fields(theta):
                parts = step(*(getattr(tree, f.name) for tree in (theta, g, m, v)))
                for i in range(3):
                    out[i][f.name] = parts[i]
            return tuple(dataclasses.replace(theta, **o) for o in out)
        return theta, theta, theta

    new, m, v = step(params, grads, state.m, state.v)
    return new, AdamState(step=t, m=m, v=v)


@alternative("train_step", "keyword_calls")
def train_step(params, state, src_tokens, tgt_tokens, lr):
    before, grads = loss_and_grads(src_tokens=src_tokens, tgt_tokens=tgt_tokens, params=params)
    new_params, new_state = adam_step(params=params, grads=grads, state=state, lr=lr)
    return new_params, new_state, float(before)
