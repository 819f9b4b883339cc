"""Realistic mistakes in exercise 16 (backpropagation through the model, Adam, a training step). Each
replaces the reference function of its name.

An entry runs inside a copy of ``solutions/ex16_training.py``: it uses that module's names,
imported here from it only so that the file reads (and lints) like the module it is appended to.
"""

import math

import numpy as np

from catalogue import base, mistake, variant
from solutions.ex16_training import (
    AdamState,
    DecoderLayerParams,
    EncoderLayerParams,
    MultiHeadParams,
    TransformerParams,
    _embed_backward,
    _linear_backward,
    adam_init,
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
    merge_heads,
    multi_head_attention,
    multi_head_attention_backward,
    padding_mask,
    scaled_dot_product_attention,
    scaled_dot_product_attention_backward,
    split_heads,
    tree_map,
)

# --- multi_head_attention_backward -----------------------------------------------------------------


@mistake("multi_head_attention_backward", "dx_kv_without_values",
         "x_kv feeds the keys AND the values: dx_kv = dK W_k^T + dV W_v^T, you left out the values' term")
def multi_head_attention_backward(grad_out, x_q, x_kv, p, mask=None):
    out, _ = multi_head_attention(x_q, x_kv, p, mask)
    if np.shape(grad_out) != out.shape:
        raise ValueError(f"grad_out must have the shape of the output {out.shape}")
    H = p.num_heads
    if mask is not None:
        mask = np.asarray(mask)[..., None, :, :]
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)
    concat = merge_heads(scaled_dot_product_attention(Q, K, V, mask)[0])
    dconcat, dW_o, db_o = _linear_backward(grad_out, concat, p.W_o)
    dQ, dK, dV = scaled_dot_product_attention_backward(split_heads(dconcat, H), Q, K, V, mask)
    dx_q, dW_q, db_q = _linear_backward(merge_heads(dQ), x_q, p.W_q)
    dx_k, dW_k, db_k = _linear_backward(merge_heads(dK), x_kv, p.W_k)
    _, dW_v, db_v = _linear_backward(merge_heads(dV), x_kv, p.W_v)  # mistake: dx_kv_without_values
    return dx_q, dx_k, MultiHeadParams(dW_q, dW_k, dW_v, dW_o, db_q, db_k, db_v, db_o, H)


@mistake("multi_head_attention_backward", "mask_dropped_in_backward",
         "the backward pass must use the forward pass's mask: pass `mask` (with a head axis) to "
         "scaled_dot_product_attention_backward, or masked keys get gradients")
def multi_head_attention_backward(grad_out, x_q, x_kv, p, mask=None):
    out, _ = multi_head_attention(x_q, x_kv, p, mask)
    if np.shape(grad_out) != out.shape:
        raise ValueError(f"grad_out must have the shape of the output {out.shape}")
    H = p.num_heads
    if mask is not None:
        mask = np.asarray(mask)[..., None, :, :]
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)
    concat = merge_heads(scaled_dot_product_attention(Q, K, V, mask)[0])
    dconcat, dW_o, db_o = _linear_backward(grad_out, concat, p.W_o)
    # mistake: mask_dropped_in_backward
    dQ, dK, dV = scaled_dot_product_attention_backward(split_heads(dconcat, H), Q, K, V)
    dx_q, dW_q, db_q = _linear_backward(merge_heads(dQ), x_q, p.W_q)
    dx_k, dW_k, db_k = _linear_backward(merge_heads(dK), x_kv, p.W_k)
    dx_v, dW_v, db_v = _linear_backward(merge_heads(dV), x_kv, p.W_v)
    return dx_q, dx_k + dx_v, MultiHeadParams(dW_q, dW_k, dW_v, dW_o, db_q, db_k, db_v, db_o, H)


@mistake("multi_head_attention_backward", "bias_gradient_mean",
         "a bias is added at every position of every row, so its gradient is the SUM of g over batch and "
         "positions, not the mean")
def multi_head_attention_backward(grad_out, x_q, x_kv, p, mask=None):
    out, _ = multi_head_attention(x_q, x_kv, p, mask)
    if np.shape(grad_out) != out.shape:
        raise ValueError(f"grad_out must have the shape of the output {out.shape}")
    def linear_backward(g, x, W):
        x2, g2 = x.reshape(-1, W.shape[0]), g.reshape(-1, W.shape[1])
        return g @ W.T, x2.T @ g2, g2.mean(axis=0)  # mistake: bias_gradient_mean

    H = p.num_heads
    if mask is not None:
        mask = np.asarray(mask)[..., None, :, :]
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)
    concat = merge_heads(scaled_dot_product_attention(Q, K, V, mask)[0])
    dconcat, dW_o, db_o = linear_backward(grad_out, concat, p.W_o)
    dQ, dK, dV = scaled_dot_product_attention_backward(split_heads(dconcat, H), Q, K, V, mask)
    dx_q, dW_q, db_q = linear_backward(merge_heads(dQ), x_q, p.W_q)
    dx_k, dW_k, db_k = linear_backward(merge_heads(dK), x_kv, p.W_k)
    dx_v, dW_v, db_v = linear_backward(merge_heads(dV), x_kv, p.W_v)
    return dx_q, dx_k + dx_v, MultiHeadParams(dW_q, dW_k, dW_v, dW_o, db_q, db_k, db_v, db_o, H)


@mistake("multi_head_attention_backward", "weight_gradient_transposed",
         "dW = x^T g (shape [d_in, d_out], like W), not g^T x: the weights are square, so the shape "
         "did not warn you")
def multi_head_attention_backward(grad_out, x_q, x_kv, p, mask=None):
    out, _ = multi_head_attention(x_q, x_kv, p, mask)
    if np.shape(grad_out) != out.shape:
        raise ValueError(f"grad_out must have the shape of the output {out.shape}")
    def linear_backward(g, x, W):
        x2, g2 = x.reshape(-1, W.shape[0]), g.reshape(-1, W.shape[1])
        return g @ W.T, g2.T @ x2, g2.sum(axis=0)  # mistake: weight_gradient_transposed

    H = p.num_heads
    if mask is not None:
        mask = np.asarray(mask)[..., None, :, :]
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)
    concat = merge_heads(scaled_dot_product_attention(Q, K, V, mask)[0])
    dconcat, dW_o, db_o = linear_backward(grad_out, concat, p.W_o)
    dQ, dK, dV = scaled_dot_product_attention_backward(split_heads(dconcat, H), Q, K, V, mask)
    dx_q, dW_q, db_q = linear_backward(merge_heads(dQ), x_q, p.W_q)
    dx_k, dW_k, db_k = linear_backward(merge_heads(dK), x_kv, p.W_k)
    dx_v, dW_v, db_v = linear_backward(merge_heads(dV), x_kv, p.W_v)
    return dx_q, dx_k + dx_v, MultiHeadParams(dW_q, dW_k, dW_v, dW_o, db_q, db_k, db_v, db_o, H)


@mistake("multi_head_attention_backward", "heads_split_by_reshape",
         "you split dconcat into heads with a plain reshape to (B, H, T, d_k): that mixes positions and "
         "heads; split it exactly as the forward pass split Q (split_heads: reshape, then transpose)")
def multi_head_attention_backward(grad_out, x_q, x_kv, p, mask=None):
    out, _ = multi_head_attention(x_q, x_kv, p, mask)
    if np.shape(grad_out) != out.shape:
        raise ValueError(f"grad_out must have the shape of the output {out.shape}")
    H = p.num_heads
    B, T_q, D = grad_out.shape  # mistake: heads_split_by_reshape
    if mask is not None:
        mask = np.asarray(mask)[..., None, :, :]
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)
    concat = merge_heads(scaled_dot_product_attention(Q, K, V, mask)[0])
    dconcat, dW_o, db_o = _linear_backward(grad_out, concat, p.W_o)
    dheads = dconcat.reshape(B, H, T_q, D // H)  # mistake: heads_split_by_reshape
    dQ, dK, dV = scaled_dot_product_attention_backward(dheads, Q, K, V, mask)
    dx_q, dW_q, db_q = _linear_backward(merge_heads(dQ), x_q, p.W_q)
    dx_k, dW_k, db_k = _linear_backward(merge_heads(dK), x_kv, p.W_k)
    dx_v, dW_v, db_v = _linear_backward(merge_heads(dV), x_kv, p.W_v)
    return dx_q, dx_k + dx_v, MultiHeadParams(dW_q, dW_k, dW_v, dW_o, db_q, db_k, db_v, db_o, H)


@mistake("multi_head_attention_backward", "output_projection_skipped",
         "the gradient reaches the heads through the output projection: dconcat = g W_o^T, not g itself")
def multi_head_attention_backward(grad_out, x_q, x_kv, p, mask=None):
    out, _ = multi_head_attention(x_q, x_kv, p, mask)
    if np.shape(grad_out) != out.shape:
        raise ValueError(f"grad_out must have the shape of the output {out.shape}")
    H = p.num_heads
    if mask is not None:
        mask = np.asarray(mask)[..., None, :, :]
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)
    concat = merge_heads(scaled_dot_product_attention(Q, K, V, mask)[0])
    _, dW_o, db_o = _linear_backward(grad_out, concat, p.W_o)  # mistake: output_projection_skipped
    dQ, dK, dV = scaled_dot_product_attention_backward(split_heads(grad_out, H), Q, K, V, mask)
    dx_q, dW_q, db_q = _linear_backward(merge_heads(dQ), x_q, p.W_q)
    dx_k, dW_k, db_k = _linear_backward(merge_heads(dK), x_kv, p.W_k)
    dx_v, dW_v, db_v = _linear_backward(merge_heads(dV), x_kv, p.W_v)
    return dx_q, dx_k + dx_v, MultiHeadParams(dW_q, dW_k, dW_v, dW_o, db_q, db_k, db_v, db_o, H)


# --- encoder_layer_backward ------------------------------------------------------------------------


@mistake("encoder_layer_backward", "self_attention_counted_once",
         "in self-attention x is the queries AND the keys and values: dx = ds + dx_q + dx_kv, you kept "
         "only dx_q")
def encoder_layer_backward(grad_out, x, p, mask=None):
    a, _ = multi_head_attention(x, x, p.self_attn, mask)
    h = layer_norm(x + a, p.norm1)
    dr, d_norm2 = layer_norm_backward(grad_out, h + feed_forward(h, p.ffn), p.norm2)
    dh_ffn, d_ffn = feed_forward_backward(dr, h, p.ffn)
    ds, d_norm1 = layer_norm_backward(dr + dh_ffn, x + a, p.norm1)
    # mistake: self_attention_counted_once
    dx_q, _, d_attn = multi_head_attention_backward(ds, x, x, p.self_attn, mask)
    return ds + dx_q, EncoderLayerParams(d_attn, d_norm1, d_ffn, d_norm2)


@mistake("encoder_layer_backward", "residual_forgotten",
         "the residual x + MultiHead(x) passes ds straight to x too: dx = ds + dx_q + dx_kv")
def encoder_layer_backward(grad_out, x, p, mask=None):
    a, _ = multi_head_attention(x, x, p.self_attn, mask)
    h = layer_norm(x + a, p.norm1)
    dr, d_norm2 = layer_norm_backward(grad_out, h + feed_forward(h, p.ffn), p.norm2)
    dh_ffn, d_ffn = feed_forward_backward(dr, h, p.ffn)
    ds, d_norm1 = layer_norm_backward(dr + dh_ffn, x + a, p.norm1)
    dx_q, dx_kv, d_attn = multi_head_attention_backward(ds, x, x, p.self_attn, mask)
    return dx_q + dx_kv, EncoderLayerParams(d_attn, d_norm1, d_ffn, d_norm2)  # mistake: residual_forgotten


@mistake("encoder_layer_backward", "ffn_residual_forgotten",
         "h feeds the feed-forward AND the residual h + FFN(h): its gradient is dr + FFN'(dr), not FFN'(dr)")
def encoder_layer_backward(grad_out, x, p, mask=None):
    a, _ = multi_head_attention(x, x, p.self_attn, mask)
    h = layer_norm(x + a, p.norm1)
    dr, d_norm2 = layer_norm_backward(grad_out, h + feed_forward(h, p.ffn), p.norm2)
    dh_ffn, d_ffn = feed_forward_backward(dr, h, p.ffn)
    ds, d_norm1 = layer_norm_backward(dh_ffn, x + a, p.norm1)  # mistake: ffn_residual_forgotten
    dx_q, dx_kv, d_attn = multi_head_attention_backward(ds, x, x, p.self_attn, mask)
    return ds + dx_q + dx_kv, EncoderLayerParams(d_attn, d_norm1, d_ffn, d_norm2)


@mistake("encoder_layer_backward", "norm_backward_at_its_output",
         "layer_norm_backward needs the layer norm's INPUT: norm1 normalised x + a, not its output h")
def encoder_layer_backward(grad_out, x, p, mask=None):
    a, _ = multi_head_attention(x, x, p.self_attn, mask)
    h = layer_norm(x + a, p.norm1)
    dr, d_norm2 = layer_norm_backward(grad_out, h + feed_forward(h, p.ffn), p.norm2)
    dh_ffn, d_ffn = feed_forward_backward(dr, h, p.ffn)
    ds, d_norm1 = layer_norm_backward(dr + dh_ffn, h, p.norm1)  # mistake: norm_backward_at_its_output
    dx_q, dx_kv, d_attn = multi_head_attention_backward(ds, x, x, p.self_attn, mask)
    return ds + dx_q + dx_kv, EncoderLayerParams(d_attn, d_norm1, d_ffn, d_norm2)


# --- decoder_layer_backward ------------------------------------------------------------------------


@mistake("decoder_layer_backward", "cross_query_gradient_forgotten",
         "h_1 feeds the cross-attention's queries AND the residual: its gradient is dr2 + dh1_q, not dr2")
def decoder_layer_backward(grad_out, y, memory, p, self_mask=None, memory_mask=None):
    a, _ = multi_head_attention(y, y, p.self_attn, self_mask)
    h1 = layer_norm(y + a, p.norm1)
    c, _ = multi_head_attention(h1, memory, p.cross_attn, memory_mask)
    h2 = layer_norm(h1 + c, p.norm2)
    dr3, d_norm3 = layer_norm_backward(grad_out, h2 + feed_forward(h2, p.ffn), p.norm3)
    dh2_ffn, d_ffn = feed_forward_backward(dr3, h2, p.ffn)
    dr2, d_norm2 = layer_norm_backward(dr3 + dh2_ffn, h1 + c, p.norm2)
    # mistake: cross_query_gradient_forgotten
    _, dmemory, d_cross = multi_head_attention_backward(dr2, h1, memory, p.cross_attn, memory_mask)
    dr1, d_norm1 = layer_norm_backward(dr2, y + a, p.norm1)
    dy_q, dy_kv, d_self = multi_head_attention_backward(dr1, y, y, p.self_attn, self_mask)
    return dr1 + dy_q + dy_kv, dmemory, DecoderLayerParams(d_self, d_norm1, d_cross, d_norm2, d_ffn, d_norm3)


@mistake("decoder_layer_backward", "self_mask_dropped_in_backward",
         "the backward of the masked self-attention needs the same causal mask as its forward pass: pass "
         "self_mask to multi_head_attention_backward")
def decoder_layer_backward(grad_out, y, memory, p, self_mask=None, memory_mask=None):
    a, _ = multi_head_attention(y, y, p.self_attn, self_mask)
    h1 = layer_norm(y + a, p.norm1)
    c, _ = multi_head_attention(h1, memory, p.cross_attn, memory_mask)
    h2 = layer_norm(h1 + c, p.norm2)
    dr3, d_norm3 = layer_norm_backward(grad_out, h2 + feed_forward(h2, p.ffn), p.norm3)
    dh2_ffn, d_ffn = feed_forward_backward(dr3, h2, p.ffn)
    dr2, d_norm2 = layer_norm_backward(dr3 + dh2_ffn, h1 + c, p.norm2)
    dh1_q, dmemory, d_cross = multi_head_attention_backward(dr2, h1, memory, p.cross_attn, memory_mask)
    dr1, d_norm1 = layer_norm_backward(dr2 + dh1_q, y + a, p.norm1)
    # mistake: self_mask_dropped_in_backward
    dy_q, dy_kv, d_self = multi_head_attention_backward(dr1, y, y, p.self_attn)
    return dr1 + dy_q + dy_kv, dmemory, DecoderLayerParams(d_self, d_norm1, d_cross, d_norm2, d_ffn, d_norm3)


@mistake("decoder_layer_backward", "last_norm_at_wrong_input",
         "norm3 normalised h_2 + FFN(h_2): call layer_norm_backward at that sum, not at h_2")
def decoder_layer_backward(grad_out, y, memory, p, self_mask=None, memory_mask=None):
    a, _ = multi_head_attention(y, y, p.self_attn, self_mask)
    h1 = layer_norm(y + a, p.norm1)
    c, _ = multi_head_attention(h1, memory, p.cross_attn, memory_mask)
    h2 = layer_norm(h1 + c, p.norm2)
    dr3, d_norm3 = layer_norm_backward(grad_out, h2, p.norm3)  # mistake: last_norm_at_wrong_input
    dh2_ffn, d_ffn = feed_forward_backward(dr3, h2, p.ffn)
    dr2, d_norm2 = layer_norm_backward(dr3 + dh2_ffn, h1 + c, p.norm2)
    dh1_q, dmemory, d_cross = multi_head_attention_backward(dr2, h1, memory, p.cross_attn, memory_mask)
    dr1, d_norm1 = layer_norm_backward(dr2 + dh1_q, y + a, p.norm1)
    dy_q, dy_kv, d_self = multi_head_attention_backward(dr1, y, y, p.self_attn, self_mask)
    return dr1 + dy_q + dy_kv, dmemory, DecoderLayerParams(d_self, d_norm1, d_cross, d_norm2, d_ffn, d_norm3)


# --- loss_and_grads --------------------------------------------------------------------------------


# The mistakes of loss_and_grads are this correct version with a line or two changed.
@base("loss_and_grads")
def loss_and_grads(src_tokens, tgt_tokens, params):
    if not isinstance(tgt_tokens, np.ndarray) or tgt_tokens.ndim != 2 or tgt_tokens.shape[1] < 2:
        raise ValueError(f"tgt_tokens must be [B, T_tgt] with T_tgt >= 2, got {np.shape(tgt_tokens)}")
    c = params.config
    tgt_in, tgt_out = tgt_tokens[:, :-1], tgt_tokens[:, 1:]
    src_mask = padding_mask(src_tokens, c.pad_id)
    tgt_mask = decoder_self_mask(tgt_in, c.pad_id)
    xs = [embed(src_tokens, params.src_embed)]
    for layer in params.encoder:
        xs.append(encoder_layer(xs[-1], layer, src_mask))
    memory = xs.pop()
    ys = [embed(tgt_in, params.tgt_embed)]
    for layer in params.decoder:
        ys.append(decoder_layer(ys[-1], memory, layer, tgt_mask, src_mask))
    loss, dlogits = cross_entropy(ys[-1] @ params.W_out + params.b_out, tgt_out, c.pad_id)
    dy, dW_out, db_out = _linear_backward(dlogits, ys.pop(), params.W_out)
    dmemory = np.zeros_like(memory)
    decoder = []
    for layer, y in zip(reversed(params.decoder), reversed(ys), strict=True):
        dy, dmem, d_layer = decoder_layer_backward(dy, y, memory, layer, tgt_mask, src_mask)
        dmemory += dmem
        decoder.insert(0, d_layer)
    dx, encoder = dmemory, []
    for layer, x in zip(reversed(params.encoder), reversed(xs), strict=True):
        dx, d_layer = encoder_layer_backward(dx, x, layer, src_mask)
        encoder.insert(0, d_layer)
    return loss, TransformerParams(c, _embed_backward(dx, src_tokens, params.src_embed),
                                   _embed_backward(dy, tgt_in, params.tgt_embed), encoder, decoder,
                                   dW_out, db_out)


variant("loss_and_grads", "no_teacher_forcing_shift",
        "teacher forcing: the decoder reads tgt[:, :-1] and predicts tgt[:, 1:], the NEXT token; reading "
        "and predicting tgt itself only teaches it to copy",
        {"tgt_in, tgt_out = tgt_tokens[:, :-1], tgt_tokens[:, 1:]": "# mistake: no_teacher_forcing_shift",
         "tgt_mask = decoder_self_mask(tgt_in, c.pad_id)":
         "tgt_mask = decoder_self_mask(tgt_tokens, c.pad_id)",
         "ys = [embed(tgt_in, params.tgt_embed)]": "ys = [embed(tgt_tokens, params.tgt_embed)]",
         "loss, dlogits = cross_entropy(ys[-1] @ params.W_out + params.b_out, tgt_out, c.pad_id)":
         "loss, dlogits = cross_entropy(ys[-1] @ params.W_out + params.b_out, tgt_tokens, c.pad_id)",
         "_embed_backward(dy, tgt_in, params.tgt_embed), encoder, decoder,":
         "_embed_backward(dy, tgt_tokens, params.tgt_embed), encoder, decoder,"})


variant("loss_and_grads", "padding_scored",
        "positions whose target is padding must not count: cross_entropy(..., ignore_id=pad_id)",
        {"loss, dlogits = cross_entropy(ys[-1] @ params.W_out + params.b_out, tgt_out, c.pad_id)":
         "# mistake: padding_scored\n"
         "loss, dlogits = cross_entropy(ys[-1] @ params.W_out + params.b_out, tgt_out)"})


variant("loss_and_grads", "embedding_gradient_without_sqrt_D",
        "the embedding is table[tokens] * sqrt(D) + PE, so its gradient is dx * sqrt(D) added into the rows",
        {"return loss, TransformerParams(c, _embed_backward(dx, src_tokens, params.src_embed),\n"
         "_embed_backward(dy, tgt_in, params.tgt_embed), encoder, decoder,\n"
         "dW_out, db_out)":
         "d_src, d_tgt = np.zeros_like(params.src_embed), np.zeros_like(params.tgt_embed)\n"
         "# mistake: embedding_gradient_without_sqrt_D\n"
         "np.add.at(d_src, src_tokens, dx)\n"
         "np.add.at(d_tgt, tgt_in, dy)\n"
         "return loss, TransformerParams(c, d_src, d_tgt, encoder, decoder, dW_out, db_out)"})


variant("loss_and_grads", "embedding_gradient_fancy_index",
        "grad[tokens] += dx keeps only ONE of the updates of a token that occurs twice: use "
        "np.add.at(grad, tokens, dx * sqrt(D)), which adds them all",
        {"return loss, TransformerParams(c, _embed_backward(dx, src_tokens, params.src_embed),\n"
         "_embed_backward(dy, tgt_in, params.tgt_embed), encoder, decoder,\n"
         "dW_out, db_out)":
         "d_src, d_tgt = np.zeros_like(params.src_embed), np.zeros_like(params.tgt_embed)\n"
         "# mistake: embedding_gradient_fancy_index\n"
         "d_src[src_tokens] += dx * math.sqrt(c.d_model)\n"
         "d_tgt[tgt_in] += dy * math.sqrt(c.d_model)\n"
         "return loss, TransformerParams(c, d_src, d_tgt, encoder, decoder, dW_out, db_out)"})


variant("loss_and_grads", "memory_gradient_overwritten",
        "every decoder layer reads the memory: dmemory is the SUM of their gradients (dmemory += dmem), "
        "you kept only one layer's",
        {"dmemory += dmem": "dmemory = dmem  # mistake: memory_gradient_overwritten"})


variant("loss_and_grads", "encoder_backward_at_layer_outputs",
        "each encoder layer's backward needs that layer's INPUT (the previous layer's output, the "
        "embedding for the first), not its output: keep the inputs in the forward pass",
        {"memory = xs.pop()": "memory = xs[-1]  # mistake: encoder_backward_at_layer_outputs",
         "for layer, x in zip(reversed(params.encoder), reversed(xs), strict=True):":
         "for layer, x in zip(reversed(params.encoder), reversed(xs[1:]), strict=True):"})


variant("loss_and_grads", "source_mask_dropped_in_backward",
        "the encoder's backward needs the source padding mask of its forward pass: pass src_mask to "
        "encoder_layer_backward",
        {"dx, d_layer = encoder_layer_backward(dx, x, layer, src_mask)":
         "dx, d_layer = encoder_layer_backward(dx, x, layer)  # mistake: source_mask_dropped_in_backward"})


variant("loss_and_grads", "target_embedding_rows_of_the_outputs",
        "the decoder embedded tgt[:, :-1] (what it reads): add its input gradient into those rows, not "
        "into the rows of tgt[:, 1:]",
        {"_embed_backward(dy, tgt_in, params.tgt_embed), encoder, decoder,":
         "# mistake: target_embedding_rows_of_the_outputs\n"
         "_embed_backward(dy, tgt_out, params.tgt_embed), encoder, decoder,"})


# --- adam_init -------------------------------------------------------------------------------------


@mistake("adam_init", "step_starts_at_one",
         "adam_init is the state BEFORE any update: step = 0 (adam_step uses t = step + 1)")
def adam_init(params):
    # mistake: step_starts_at_one
    return AdamState(step=1, m=tree_map(np.zeros_like, params), v=tree_map(np.zeros_like, params))


@mistake("adam_init", "float64_moments",
         "np.zeros(p.shape) is float64: use np.zeros_like(p) so the moments keep the parameters' dtype")
def adam_init(params):
    return AdamState(step=0, m=tree_map(lambda p: np.zeros(p.shape), params),  # mistake: float64_moments
                     v=tree_map(lambda p: np.zeros(p.shape), params))


# --- adam_step -------------------------------------------------------------------------------------


# The correct function that the variants below change.
@base("adam_step")
def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.98, eps=1e-9):
    if not math.isfinite(lr) or lr < 0:
        raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
    t = state.step + 1
    m = tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, state.m, grads)
    v = tree_map(lambda v, g: beta2 * v + (1 - beta2) * g * g, state.v, grads)
    c1, c2 = 1 - beta1**t, 1 - beta2**t
    new = tree_map(lambda theta, m, v: theta - lr * (m / c1) / (np.sqrt(v / c2) + eps), params, m, v)
    return new, AdamState(step=t, m=m, v=v)


variant("adam_step", "no_bias_correction",
        "m and v start at zero, so early on they are too small: divide by (1 - beta1^t) and (1 - "
        "beta2^t)",
        {"t = state.step + 1": "",
         "c1, c2 = 1 - beta1**t, 1 - beta2**t\n"
         "new = tree_map(lambda theta, m, v: theta - lr * (m / c1) / (np.sqrt(v / c2) + eps), params, m, "
         "v)\n"
         "return new, AdamState(step=t, m=m, v=v)":
         "# mistake: no_bias_correction\n"
         "new = tree_map(lambda theta, m, v: theta - lr * m / (np.sqrt(v) + eps), params, m, v)\n"
         "return new, AdamState(step=state.step + 1, m=m, v=v)"})


variant("adam_step", "bias_correction_with_old_step",
        "the bias corrections use t = step + 1 (the update being made), not step: at step 0, 1 - "
        "beta^0 = 0 divides by zero",
        {"t = state.step + 1": "t = state.step",
         "return new, AdamState(step=t, m=m, v=v)":
         "return new, AdamState(step=t + 1, m=m, v=v)  # mistake: bias_correction_with_old_step"})


variant("adam_step", "eps_inside_sqrt",
        "eps is added AFTER the square root: sqrt(v_hat) + eps; inside it, tiny gradients take tiny "
        "steps",
        {"new = tree_map(lambda theta, m, v: theta - lr * (m / c1) / (np.sqrt(v / c2) + eps), params, m, "
         "v)":
         "# mistake: eps_inside_sqrt\n"
         "new = tree_map(lambda theta, m, v: theta - lr * (m / c1) / np.sqrt(v / c2 + eps), params, m, v)"})


variant("adam_step", "v_without_square",
        "v is the running mean of the SQUARED gradient: v = beta2 v + (1 - beta2) g^2",
        {"v = tree_map(lambda v, g: beta2 * v + (1 - beta2) * g * g, state.v, grads)":
         "# mistake: v_without_square\n"
         "v = tree_map(lambda v, g: beta2 * v + (1 - beta2) * np.abs(g), state.v, grads)"})


variant("adam_step", "sqrt_forgotten",
        "Adam divides by the square root of v_hat (the gradient's scale), not by v_hat itself",
        {"new = tree_map(lambda theta, m, v: theta - lr * (m / c1) / (np.sqrt(v / c2) + eps), params, m, "
         "v)":
         "# mistake: sqrt_forgotten\n"
         "new = tree_map(lambda theta, m, v: theta - lr * (m / c1) / (v / c2 + eps), params, m, v)"})


variant("adam_step", "state_not_updated",
        "return the NEW state AdamState(step + 1, m, v): with the old one the moments never "
        "accumulate",
        {"return new, AdamState(step=t, m=m, v=v)": "return new, state  # mistake: state_not_updated"})


@mistake("adam_step", "parameters_updated_in_place",
         "theta -= ... changes the caller's parameters: compute theta - lr * ... as new arrays")
def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.98, eps=1e-9):
    if not math.isfinite(lr) or lr < 0:
        raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
    t = state.step + 1
    m = tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, state.m, grads)
    v = tree_map(lambda v, g: beta2 * v + (1 - beta2) * g * g, state.v, grads)
    c1, c2 = 1 - beta1**t, 1 - beta2**t

    def update(theta, m, v):  # mistake: parameters_updated_in_place
        theta -= lr * (m / c1) / (np.sqrt(v / c2) + eps)
        return theta

    return tree_map(update, params, m, v), AdamState(step=t, m=m, v=v)  # mistake: parameters_updated_in_place


variant("adam_step", "update_sign_flipped",
        "a step goes AGAINST the gradient: theta - lr * m_hat / (sqrt(v_hat) + eps)",
        {"new = tree_map(lambda theta, m, v: theta - lr * (m / c1) / (np.sqrt(v / c2) + eps), params, m, "
         "v)":
         "# mistake: update_sign_flipped\n"
         "new = tree_map(lambda theta, m, v: theta + lr * (m / c1) / (np.sqrt(v / c2) + eps), params, m, "
         "v)"})


variant("adam_step", "betas_swapped",
        "beta1 (0.9) decays the mean m and beta2 (0.98) the squares v, not the other way round",
        {"m = tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, state.m, grads)\n"
         "v = tree_map(lambda v, g: beta2 * v + (1 - beta2) * g * g, state.v, grads)\n"
         "c1, c2 = 1 - beta1**t, 1 - beta2**t":
         "m = tree_map(lambda m, g: beta2 * m + (1 - beta2) * g, state.m, grads)  # mistake: "
         "betas_swapped\n"
         "v = tree_map(lambda v, g: beta1 * v + (1 - beta1) * g * g, state.v, grads)\n"
         "c1, c2 = 1 - beta2**t, 1 - beta1**t"})


@mistake("adam_step", "state_changed_in_place",
         "you updated the state object you were given (state.step += 1, state.m = ...): return a new "
         "AdamState and leave the old one as it was")
def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.98, eps=1e-9):
    if not math.isfinite(lr) or lr < 0:
        raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
    state.step += 1  # mistake: state_changed_in_place
    t = state.step
    state.m = tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, state.m, grads)
    state.v = tree_map(lambda v, g: beta2 * v + (1 - beta2) * g * g, state.v, grads)
    c1, c2 = 1 - beta1**t, 1 - beta2**t
    new = tree_map(lambda theta, m, v: theta - lr * (m / c1) / (np.sqrt(v / c2) + eps),
                   params, state.m, state.v)
    return new, state


# --- train_step ------------------------------------------------------------------------------------


@mistake("train_step", "loss_after_the_update",
         "report the loss of the batch BEFORE the update (the one loss_and_grads returned), not a new "
         "loss computed with the updated parameters")
def train_step(params, state, src_tokens, tgt_tokens, lr):
    _, grads = loss_and_grads(src_tokens, tgt_tokens, params)  # mistake: loss_after_the_update
    params, state = adam_step(params, grads, state, lr)
    loss, _ = loss_and_grads(src_tokens, tgt_tokens, params)  # mistake: loss_after_the_update
    return params, state, loss


@mistake("train_step", "state_reset_every_step",
         "use the state you are given: a fresh adam_init at every step throws Adam's moments away")
def train_step(params, state, src_tokens, tgt_tokens, lr):
    loss, grads = loss_and_grads(src_tokens, tgt_tokens, params)
    params, state = adam_step(params, grads, adam_init(params), lr)  # mistake: state_reset_every_step
    return params, state, loss

# Written blind, from the docstrings alone, by a helper who never read the tests (issue 17);
# the entries that repeated a mistake above exactly were left out.


@mistake("multi_head_attention_backward", "blind_mhab_dx_kv_keys_only",
         "your dx_kv follows the keys only: x_kv feeds the keys and the values, dx_kv = dK W_k^T + dV W_v^T")
def multi_head_attention_backward(grad_out, x_q, x_kv, p, mask=None):
    out, _ = multi_head_attention(x_q, x_kv, p, mask)
    if np.shape(grad_out) != out.shape:
        raise ValueError("grad_out must have the shape of the output")
    H = p.num_heads
    if mask is not None:
        mask = np.asarray(mask)[..., None, :, :]
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)
    concat = merge_heads(scaled_dot_product_attention(Q, K, V, mask)[0])
    dconcat, dW_o, db_o = _linear_backward(grad_out, concat, p.W_o)
    dQ, dK, dV = scaled_dot_product_attention_backward(split_heads(dconcat, H), Q, K, V, mask)
    dx_q, dW_q, db_q = _linear_backward(merge_heads(dQ), x_q, p.W_q)
    dx_k, dW_k, db_k = _linear_backward(merge_heads(dK), x_kv, p.W_k)
    _dx_v, dW_v, db_v = _linear_backward(merge_heads(dV), x_kv, p.W_v)
    grads = MultiHeadParams(dW_q, dW_k, dW_v, dW_o, db_q, db_k, db_v, db_o, H)
    return dx_q, dx_k, grads  # mistake: blind_mhab_dx_kv_keys_only


@mistake("multi_head_attention_backward", "blind_mhab_mask_without_head_axis",
         "your mask has no head axis, so B lines up with H: give it one, mask[..., None, :, :], as in the "
         "forward pass")
def multi_head_attention_backward(grad_out, x_q, x_kv, p, mask=None):
    out, _ = multi_head_attention(x_q, x_kv, p, mask)
    if np.shape(grad_out) != out.shape:
        raise ValueError("grad_out must have the shape of the output")
    H = p.num_heads
    # mistake: blind_mhab_mask_without_head_axis
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)
    concat = merge_heads(scaled_dot_product_attention(Q, K, V, mask)[0])
    dconcat, dW_o, db_o = _linear_backward(grad_out, concat, p.W_o)
    dQ, dK, dV = scaled_dot_product_attention_backward(split_heads(dconcat, H), Q, K, V, mask)
    dx_q, dW_q, db_q = _linear_backward(merge_heads(dQ), x_q, p.W_q)
    dx_k, dW_k, db_k = _linear_backward(merge_heads(dK), x_kv, p.W_k)
    dx_v, dW_v, db_v = _linear_backward(merge_heads(dV), x_kv, p.W_v)
    grads = MultiHeadParams(dW_q, dW_k, dW_v, dW_o, db_q, db_k, db_v, db_o, H)
    return dx_q, dx_k + dx_v, grads


@mistake("multi_head_attention_backward", "blind_mhab_db_o_over_batch_only",
         "you sum db_o over the batch only: b_o serves every position of every sequence, sum over the batch "
         "AND time axes to get [D]")
def multi_head_attention_backward(grad_out, x_q, x_kv, p, mask=None):
    out, _ = multi_head_attention(x_q, x_kv, p, mask)
    if np.shape(grad_out) != out.shape:
        raise ValueError("grad_out must have the shape of the output")
    H = p.num_heads
    if mask is not None:
        mask = np.asarray(mask)[..., None, :, :]
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)
    concat = merge_heads(scaled_dot_product_attention(Q, K, V, mask)[0])
    dconcat, dW_o, _ = _linear_backward(grad_out, concat, p.W_o)
    db_o = grad_out.sum(axis=0)  # mistake: blind_mhab_db_o_over_batch_only
    dQ, dK, dV = scaled_dot_product_attention_backward(split_heads(dconcat, H), Q, K, V, mask)
    dx_q, dW_q, db_q = _linear_backward(merge_heads(dQ), x_q, p.W_q)
    dx_k, dW_k, db_k = _linear_backward(merge_heads(dK), x_kv, p.W_k)
    dx_v, dW_v, db_v = _linear_backward(merge_heads(dV), x_kv, p.W_v)
    grads = MultiHeadParams(dW_q, dW_k, dW_v, dW_o, db_q, db_k, db_v, db_o, H)
    return dx_q, dx_k + dx_v, grads


@mistake("multi_head_attention_backward", "blind_mhab_dW_o_transposed",
         "your dW_o is transposed: dW_o = concat^T g, shape [D_in, D_out]")
def multi_head_attention_backward(grad_out, x_q, x_kv, p, mask=None):
    out, _ = multi_head_attention(x_q, x_kv, p, mask)
    if np.shape(grad_out) != out.shape:
        raise ValueError("grad_out must have the shape of the output")
    H = p.num_heads
    if mask is not None:
        mask = np.asarray(mask)[..., None, :, :]
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)
    concat = merge_heads(scaled_dot_product_attention(Q, K, V, mask)[0])
    dconcat, dW_o, db_o = _linear_backward(grad_out, concat, p.W_o)
    dW_o = dW_o.T  # mistake: blind_mhab_dW_o_transposed
    dQ, dK, dV = scaled_dot_product_attention_backward(split_heads(dconcat, H), Q, K, V, mask)
    dx_q, dW_q, db_q = _linear_backward(merge_heads(dQ), x_q, p.W_q)
    dx_k, dW_k, db_k = _linear_backward(merge_heads(dK), x_kv, p.W_k)
    dx_v, dW_v, db_v = _linear_backward(merge_heads(dV), x_kv, p.W_v)
    grads = MultiHeadParams(dW_q, dW_k, dW_v, dW_o, db_q, db_k, db_v, db_o, H)
    return dx_q, dx_k + dx_v, grads


@mistake("multi_head_attention_backward", "blind_mhab_dx_q_through_W_k",
         "you send dx_q back through W_k: dx_q = dQ W_q^T")
def multi_head_attention_backward(grad_out, x_q, x_kv, p, mask=None):
    out, _ = multi_head_attention(x_q, x_kv, p, mask)
    if np.shape(grad_out) != out.shape:
        raise ValueError("grad_out must have the shape of the output")
    H = p.num_heads
    if mask is not None:
        mask = np.asarray(mask)[..., None, :, :]
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)
    concat = merge_heads(scaled_dot_product_attention(Q, K, V, mask)[0])
    dconcat, dW_o, db_o = _linear_backward(grad_out, concat, p.W_o)
    dQ, dK, dV = scaled_dot_product_attention_backward(split_heads(dconcat, H), Q, K, V, mask)
    _, dW_q, db_q = _linear_backward(merge_heads(dQ), x_q, p.W_q)
    dx_q = merge_heads(dQ) @ p.W_k.T  # mistake: blind_mhab_dx_q_through_W_k
    dx_k, dW_k, db_k = _linear_backward(merge_heads(dK), x_kv, p.W_k)
    dx_v, dW_v, db_v = _linear_backward(merge_heads(dV), x_kv, p.W_v)
    grads = MultiHeadParams(dW_q, dW_k, dW_v, dW_o, db_q, db_k, db_v, db_o, H)
    return dx_q, dx_k + dx_v, grads


@mistake("multi_head_attention_backward", "blind_mhab_float64_accumulator",
         "np.zeros(shape) is float64, so accumulating into it turns float32 gradients into float64: use "
         "np.zeros_like, or just add them")
def multi_head_attention_backward(grad_out, x_q, x_kv, p, mask=None):
    out, _ = multi_head_attention(x_q, x_kv, p, mask)
    if np.shape(grad_out) != out.shape:
        raise ValueError("grad_out must have the shape of the output")
    H = p.num_heads
    if mask is not None:
        mask = np.asarray(mask)[..., None, :, :]
    Q = split_heads(x_q @ p.W_q + p.b_q, H)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)
    concat = merge_heads(scaled_dot_product_attention(Q, K, V, mask)[0])
    dconcat, dW_o, db_o = _linear_backward(grad_out, concat, p.W_o)
    dQ, dK, dV = scaled_dot_product_attention_backward(split_heads(dconcat, H), Q, K, V, mask)
    dx_q, dW_q, db_q = _linear_backward(merge_heads(dQ), x_q, p.W_q)
    dx_k, dW_k, db_k = _linear_backward(merge_heads(dK), x_kv, p.W_k)
    dx_v, dW_v, db_v = _linear_backward(merge_heads(dV), x_kv, p.W_v)
    dx_kv = np.zeros(x_kv.shape)  # mistake: blind_mhab_float64_accumulator
    dx_kv += dx_k
    dx_kv += dx_v
    grads = MultiHeadParams(dW_q, dW_k, dW_v, dW_o, db_q, db_k, db_v, db_o, H)
    return dx_q, dx_kv, grads


@mistake("encoder_layer_backward", "blind_encb_norm_inputs_wrong",
         "you give each layer norm's backward the layer's output: it needs ITS input, x + a for norm1 and h "
         "+ FFN(h) for norm2")
def encoder_layer_backward(grad_out, x, p, mask=None):
    a, _ = multi_head_attention(x, x, p.self_attn, mask)
    h = layer_norm(x + a, p.norm1)
    dr, d_norm2 = layer_norm_backward(grad_out, h, p.norm2)  # mistake: blind_encb_norm_inputs_wrong
    dh_ffn, d_ffn = feed_forward_backward(dr, h, p.ffn)
    ds, d_norm1 = layer_norm_backward(dr + dh_ffn, x, p.norm1)  # mistake: blind_encb_norm_inputs_wrong
    dx_q, dx_kv, d_attn = multi_head_attention_backward(ds, x, x, p.self_attn, mask)
    return ds + dx_q + dx_kv, EncoderLayerParams(d_attn, d_norm1, d_ffn, d_norm2)


@mistake("encoder_layer_backward", "blind_encb_mask_dropped",
         "you backpropagate through the attention without its mask: pass mask on, as in the forward pass")
def encoder_layer_backward(grad_out, x, p, mask=None):
    a, _ = multi_head_attention(x, x, p.self_attn, mask)
    h = layer_norm(x + a, p.norm1)
    dr, d_norm2 = layer_norm_backward(grad_out, h + feed_forward(h, p.ffn), p.norm2)
    dh_ffn, d_ffn = feed_forward_backward(dr, h, p.ffn)
    ds, d_norm1 = layer_norm_backward(dr + dh_ffn, x + a, p.norm1)
    # mistake: blind_encb_mask_dropped
    dx_q, dx_kv, d_attn = multi_head_attention_backward(ds, x, x, p.self_attn)
    return ds + dx_q + dx_kv, EncoderLayerParams(d_attn, d_norm1, d_ffn, d_norm2)


@mistake("decoder_layer_backward", "blind_decb_cross_query_grad_dropped",
         "you drop the gradient of the cross-attention's queries: h_1 feeds the residual AND those queries, "
         "its gradient is dr2 + dh1_q")
def decoder_layer_backward(grad_out, y, memory, p, self_mask=None, memory_mask=None):
    a, _ = multi_head_attention(y, y, p.self_attn, self_mask)
    h1 = layer_norm(y + a, p.norm1)
    c, _ = multi_head_attention(h1, memory, p.cross_attn, memory_mask)
    h2 = layer_norm(h1 + c, p.norm2)
    dr3, d_norm3 = layer_norm_backward(grad_out, h2 + feed_forward(h2, p.ffn), p.norm3)
    dh2_ffn, d_ffn = feed_forward_backward(dr3, h2, p.ffn)
    dr2, d_norm2 = layer_norm_backward(dr3 + dh2_ffn, h1 + c, p.norm2)
    _dh1_q, dmemory, d_cross = multi_head_attention_backward(dr2, h1, memory, p.cross_attn, memory_mask)
    dr1, d_norm1 = layer_norm_backward(dr2, y + a, p.norm1)  # mistake: blind_decb_cross_query_grad_dropped
    dy_q, dy_kv, d_self = multi_head_attention_backward(dr1, y, y, p.self_attn, self_mask)
    return dr1 + dy_q + dy_kv, dmemory, DecoderLayerParams(d_self, d_norm1, d_cross, d_norm2, d_ffn, d_norm3)


@mistake("decoder_layer_backward", "blind_decb_cross_backward_at_y",
         "you backpropagate the cross-attention at y: it read h_1, the output of the first add & norm")
def decoder_layer_backward(grad_out, y, memory, p, self_mask=None, memory_mask=None):
    a, _ = multi_head_attention(y, y, p.self_attn, self_mask)
    h1 = layer_norm(y + a, p.norm1)
    c, _ = multi_head_attention(h1, memory, p.cross_attn, memory_mask)
    h2 = layer_norm(h1 + c, p.norm2)
    dr3, d_norm3 = layer_norm_backward(grad_out, h2 + feed_forward(h2, p.ffn), p.norm3)
    dh2_ffn, d_ffn = feed_forward_backward(dr3, h2, p.ffn)
    dr2, d_norm2 = layer_norm_backward(dr3 + dh2_ffn, h1 + c, p.norm2)
    # mistake: blind_decb_cross_backward_at_y
    dh1_q, dmemory, d_cross = multi_head_attention_backward(dr2, y, memory, p.cross_attn, memory_mask)
    dr1, d_norm1 = layer_norm_backward(dr2 + dh1_q, y + a, p.norm1)
    dy_q, dy_kv, d_self = multi_head_attention_backward(dr1, y, y, p.self_attn, self_mask)
    return dr1 + dy_q + dy_kv, dmemory, DecoderLayerParams(d_self, d_norm1, d_cross, d_norm2, d_ffn, d_norm3)


@mistake("decoder_layer_backward", "blind_decb_self_kv_path_dropped",
         "you drop the self-attention's key and value path: y is queries, keys and values, dy = dr1 + dy_q "
         "+ dy_kv")
def decoder_layer_backward(grad_out, y, memory, p, self_mask=None, memory_mask=None):
    a, _ = multi_head_attention(y, y, p.self_attn, self_mask)
    h1 = layer_norm(y + a, p.norm1)
    c, _ = multi_head_attention(h1, memory, p.cross_attn, memory_mask)
    h2 = layer_norm(h1 + c, p.norm2)
    dr3, d_norm3 = layer_norm_backward(grad_out, h2 + feed_forward(h2, p.ffn), p.norm3)
    dh2_ffn, d_ffn = feed_forward_backward(dr3, h2, p.ffn)
    dr2, d_norm2 = layer_norm_backward(dr3 + dh2_ffn, h1 + c, p.norm2)
    dh1_q, dmemory, d_cross = multi_head_attention_backward(dr2, h1, memory, p.cross_attn, memory_mask)
    dr1, d_norm1 = layer_norm_backward(dr2 + dh1_q, y + a, p.norm1)
    dy_q, _dy_kv, d_self = multi_head_attention_backward(dr1, y, y, p.self_attn, self_mask)
    # mistake: blind_decb_self_kv_path_dropped
    return dr1 + dy_q, dmemory, DecoderLayerParams(d_self, d_norm1, d_cross, d_norm2, d_ffn, d_norm3)


@mistake("decoder_layer_backward", "blind_decb_masks_dropped",
         "you backpropagate through the attentions without their masks: pass self_mask and memory_mask to "
         "the backward calls too")
def decoder_layer_backward(grad_out, y, memory, p, self_mask=None, memory_mask=None):
    a, _ = multi_head_attention(y, y, p.self_attn, self_mask)
    h1 = layer_norm(y + a, p.norm1)
    c, _ = multi_head_attention(h1, memory, p.cross_attn, memory_mask)
    h2 = layer_norm(h1 + c, p.norm2)
    dr3, d_norm3 = layer_norm_backward(grad_out, h2 + feed_forward(h2, p.ffn), p.norm3)
    dh2_ffn, d_ffn = feed_forward_backward(dr3, h2, p.ffn)
    dr2, d_norm2 = layer_norm_backward(dr3 + dh2_ffn, h1 + c, p.norm2)
    # mistake: blind_decb_masks_dropped
    dh1_q, dmemory, d_cross = multi_head_attention_backward(dr2, h1, memory, p.cross_attn)
    dr1, d_norm1 = layer_norm_backward(dr2 + dh1_q, y + a, p.norm1)
    # mistake: blind_decb_masks_dropped
    dy_q, dy_kv, d_self = multi_head_attention_backward(dr1, y, y, p.self_attn)
    return dr1 + dy_q + dy_kv, dmemory, DecoderLayerParams(d_self, d_norm1, d_cross, d_norm2, d_ffn, d_norm3)


@mistake("loss_and_grads", "blind_lg_targets_not_shifted",
         "you score the model against the tokens it reads: with teacher forcing it reads tgt[:, :-1] and is "
         "scored against the NEXT tokens, tgt[:, 1:]")
def loss_and_grads(src_tokens, tgt_tokens, params):
    if not isinstance(tgt_tokens, np.ndarray) or tgt_tokens.ndim != 2 or tgt_tokens.shape[1] < 2:
        raise ValueError("tgt_tokens must be [B, T_tgt] with T_tgt >= 2")
    c = params.config
    tgt_in, tgt_out = tgt_tokens[:, :-1], tgt_tokens[:, :-1]  # mistake: blind_lg_targets_not_shifted
    src_mask = padding_mask(src_tokens, c.pad_id)
    tgt_mask = decoder_self_mask(tgt_in, c.pad_id)
    xs = [embed(src_tokens, params.src_embed)]
    for layer in params.encoder:
        xs.append(encoder_layer(xs[-1], layer, src_mask))
    memory = xs.pop()
    ys = [embed(tgt_in, params.tgt_embed)]
    for layer in params.decoder:
        ys.append(decoder_layer(ys[-1], memory, layer, tgt_mask, src_mask))
    loss, dlogits = cross_entropy(ys[-1] @ params.W_out + params.b_out, tgt_out, c.pad_id)
    dy, dW_out, db_out = _linear_backward(dlogits, ys.pop(), params.W_out)
    dmemory = np.zeros_like(memory)
    decoder = []
    for layer, y in zip(reversed(params.decoder), reversed(ys), strict=True):
        dy, dmem, d_layer = decoder_layer_backward(dy, y, memory, layer, tgt_mask, src_mask)
        dmemory += dmem
        decoder.insert(0, d_layer)
    dx, encoder = dmemory, []
    for layer, x in zip(reversed(params.encoder), reversed(xs), strict=True):
        dx, d_layer = encoder_layer_backward(dx, x, layer, src_mask)
        encoder.insert(0, d_layer)
    grads = TransformerParams(c, _embed_backward(dx, src_tokens, params.src_embed),
                              _embed_backward(dy, tgt_in, params.tgt_embed), encoder, decoder, dW_out, db_out)
    return loss, grads


@mistake("loss_and_grads", "blind_lg_embedding_fancy_index_add",
         "grad[tokens] += ... keeps only one use of a repeated token: accumulate with np.add.at(grad, "
         "tokens, ...)")
def loss_and_grads(src_tokens, tgt_tokens, params):
    if not isinstance(tgt_tokens, np.ndarray) or tgt_tokens.ndim != 2 or tgt_tokens.shape[1] < 2:
        raise ValueError("tgt_tokens must be [B, T_tgt] with T_tgt >= 2")
    c = params.config
    tgt_in, tgt_out = tgt_tokens[:, :-1], tgt_tokens[:, 1:]
    src_mask = padding_mask(src_tokens, c.pad_id)
    tgt_mask = decoder_self_mask(tgt_in, c.pad_id)
    xs = [embed(src_tokens, params.src_embed)]
    for layer in params.encoder:
        xs.append(encoder_layer(xs[-1], layer, src_mask))
    memory = xs.pop()
    ys = [embed(tgt_in, params.tgt_embed)]
    for layer in params.decoder:
        ys.append(decoder_layer(ys[-1], memory, layer, tgt_mask, src_mask))
    loss, dlogits = cross_entropy(ys[-1] @ params.W_out + params.b_out, tgt_out, c.pad_id)
    dy, dW_out, db_out = _linear_backward(dlogits, ys.pop(), params.W_out)
    dmemory = np.zeros_like(memory)
    decoder = []
    for layer, y in zip(reversed(params.decoder), reversed(ys), strict=True):
        dy, dmem, d_layer = decoder_layer_backward(dy, y, memory, layer, tgt_mask, src_mask)
        dmemory += dmem
        decoder.insert(0, d_layer)
    dx, encoder = dmemory, []
    for layer, x in zip(reversed(params.encoder), reversed(xs), strict=True):
        dx, d_layer = encoder_layer_backward(dx, x, layer, src_mask)
        encoder.insert(0, d_layer)

    def embed_grad(d, tokens, table):
        grad = np.zeros_like(table)
        grad[tokens] += d * math.sqrt(table.shape[1])  # mistake: blind_lg_embedding_fancy_index_add
        return grad

    grads = TransformerParams(c, embed_grad(dx, src_tokens, params.src_embed),
                              embed_grad(dy, tgt_in, params.tgt_embed), encoder, decoder, dW_out, db_out)
    return loss, grads


@mistake("loss_and_grads", "blind_lg_padding_counted",
         "you count the padding targets in the loss: pass ignore_id=pad_id to cross_entropy")
def loss_and_grads(src_tokens, tgt_tokens, params):
    if not isinstance(tgt_tokens, np.ndarray) or tgt_tokens.ndim != 2 or tgt_tokens.shape[1] < 2:
        raise ValueError("tgt_tokens must be [B, T_tgt] with T_tgt >= 2")
    c = params.config
    tgt_in, tgt_out = tgt_tokens[:, :-1], tgt_tokens[:, 1:]
    src_mask = padding_mask(src_tokens, c.pad_id)
    tgt_mask = decoder_self_mask(tgt_in, c.pad_id)
    xs = [embed(src_tokens, params.src_embed)]
    for layer in params.encoder:
        xs.append(encoder_layer(xs[-1], layer, src_mask))
    memory = xs.pop()
    ys = [embed(tgt_in, params.tgt_embed)]
    for layer in params.decoder:
        ys.append(decoder_layer(ys[-1], memory, layer, tgt_mask, src_mask))
    # mistake: blind_lg_padding_counted
    loss, dlogits = cross_entropy(ys[-1] @ params.W_out + params.b_out, tgt_out)
    dy, dW_out, db_out = _linear_backward(dlogits, ys.pop(), params.W_out)
    dmemory = np.zeros_like(memory)
    decoder = []
    for layer, y in zip(reversed(params.decoder), reversed(ys), strict=True):
        dy, dmem, d_layer = decoder_layer_backward(dy, y, memory, layer, tgt_mask, src_mask)
        dmemory += dmem
        decoder.insert(0, d_layer)
    dx, encoder = dmemory, []
    for layer, x in zip(reversed(params.encoder), reversed(xs), strict=True):
        dx, d_layer = encoder_layer_backward(dx, x, layer, src_mask)
        encoder.insert(0, d_layer)
    grads = TransformerParams(c, _embed_backward(dx, src_tokens, params.src_embed),
                              _embed_backward(dy, tgt_in, params.tgt_embed), encoder, decoder, dW_out, db_out)
    return loss, grads


@mistake("loss_and_grads", "blind_lg_memory_gradient_overwritten",
         "you keep only the last decoder layer's memory gradient: every layer reads the memory, add them up "
         "(dmemory += dmem)")
def loss_and_grads(src_tokens, tgt_tokens, params):
    if not isinstance(tgt_tokens, np.ndarray) or tgt_tokens.ndim != 2 or tgt_tokens.shape[1] < 2:
        raise ValueError("tgt_tokens must be [B, T_tgt] with T_tgt >= 2")
    c = params.config
    tgt_in, tgt_out = tgt_tokens[:, :-1], tgt_tokens[:, 1:]
    src_mask = padding_mask(src_tokens, c.pad_id)
    tgt_mask = decoder_self_mask(tgt_in, c.pad_id)
    xs = [embed(src_tokens, params.src_embed)]
    for layer in params.encoder:
        xs.append(encoder_layer(xs[-1], layer, src_mask))
    memory = xs.pop()
    ys = [embed(tgt_in, params.tgt_embed)]
    for layer in params.decoder:
        ys.append(decoder_layer(ys[-1], memory, layer, tgt_mask, src_mask))
    loss, dlogits = cross_entropy(ys[-1] @ params.W_out + params.b_out, tgt_out, c.pad_id)
    dy, dW_out, db_out = _linear_backward(dlogits, ys.pop(), params.W_out)
    dmemory = np.zeros_like(memory)
    decoder = []
    for layer, y in zip(reversed(params.decoder), reversed(ys), strict=True):
        dy, dmem, d_layer = decoder_layer_backward(dy, y, memory, layer, tgt_mask, src_mask)
        dmemory = dmem  # mistake: blind_lg_memory_gradient_overwritten
        decoder.insert(0, d_layer)
    dx, encoder = dmemory, []
    for layer, x in zip(reversed(params.encoder), reversed(xs), strict=True):
        dx, d_layer = encoder_layer_backward(dx, x, layer, src_mask)
        encoder.insert(0, d_layer)
    grads = TransformerParams(c, _embed_backward(dx, src_tokens, params.src_embed),
                              _embed_backward(dy, tgt_in, params.tgt_embed), encoder, decoder, dW_out, db_out)
    return loss, grads


@mistake("loss_and_grads", "blind_lg_embedding_without_sqrt_D",
         "your embedding gradient misses the factor sqrt(D): the rows were multiplied by sqrt(D) in the "
         "forward pass, so their gradient is dx * sqrt(D)")
def loss_and_grads(src_tokens, tgt_tokens, params):
    if not isinstance(tgt_tokens, np.ndarray) or tgt_tokens.ndim != 2 or tgt_tokens.shape[1] < 2:
        raise ValueError("tgt_tokens must be [B, T_tgt] with T_tgt >= 2")
    c = params.config
    tgt_in, tgt_out = tgt_tokens[:, :-1], tgt_tokens[:, 1:]
    src_mask = padding_mask(src_tokens, c.pad_id)
    tgt_mask = decoder_self_mask(tgt_in, c.pad_id)
    xs = [embed(src_tokens, params.src_embed)]
    for layer in params.encoder:
        xs.append(encoder_layer(xs[-1], layer, src_mask))
    memory = xs.pop()
    ys = [embed(tgt_in, params.tgt_embed)]
    for layer in params.decoder:
        ys.append(decoder_layer(ys[-1], memory, layer, tgt_mask, src_mask))
    loss, dlogits = cross_entropy(ys[-1] @ params.W_out + params.b_out, tgt_out, c.pad_id)
    dy, dW_out, db_out = _linear_backward(dlogits, ys.pop(), params.W_out)
    dmemory = np.zeros_like(memory)
    decoder = []
    for layer, y in zip(reversed(params.decoder), reversed(ys), strict=True):
        dy, dmem, d_layer = decoder_layer_backward(dy, y, memory, layer, tgt_mask, src_mask)
        dmemory += dmem
        decoder.insert(0, d_layer)
    dx, encoder = dmemory, []
    for layer, x in zip(reversed(params.encoder), reversed(xs), strict=True):
        dx, d_layer = encoder_layer_backward(dx, x, layer, src_mask)
        encoder.insert(0, d_layer)
    D = params.src_embed.shape[1]
    # mistake: blind_lg_embedding_without_sqrt_D
    grads = TransformerParams(c, _embed_backward(dx, src_tokens, params.src_embed) / math.sqrt(D),
                              # mistake: blind_lg_embedding_without_sqrt_D
                              _embed_backward(dy, tgt_in, params.tgt_embed) / math.sqrt(D),
                              encoder, decoder, dW_out, db_out)
    return loss, grads


@mistake("loss_and_grads", "blind_lg_embed_grad_to_targets",
         "you send the target embedding's gradient to the predicted tokens tgt[:, 1:]: it goes to the rows "
         "of the tokens the decoder READ, tgt[:, :-1]")
def loss_and_grads(src_tokens, tgt_tokens, params):
    if not isinstance(tgt_tokens, np.ndarray) or tgt_tokens.ndim != 2 or tgt_tokens.shape[1] < 2:
        raise ValueError("tgt_tokens must be [B, T_tgt] with T_tgt >= 2")
    c = params.config
    tgt_in, tgt_out = tgt_tokens[:, :-1], tgt_tokens[:, 1:]
    src_mask = padding_mask(src_tokens, c.pad_id)
    tgt_mask = decoder_self_mask(tgt_in, c.pad_id)
    xs = [embed(src_tokens, params.src_embed)]
    for layer in params.encoder:
        xs.append(encoder_layer(xs[-1], layer, src_mask))
    memory = xs.pop()
    ys = [embed(tgt_in, params.tgt_embed)]
    for layer in params.decoder:
        ys.append(decoder_layer(ys[-1], memory, layer, tgt_mask, src_mask))
    loss, dlogits = cross_entropy(ys[-1] @ params.W_out + params.b_out, tgt_out, c.pad_id)
    dy, dW_out, db_out = _linear_backward(dlogits, ys.pop(), params.W_out)
    dmemory = np.zeros_like(memory)
    decoder = []
    for layer, y in zip(reversed(params.decoder), reversed(ys), strict=True):
        dy, dmem, d_layer = decoder_layer_backward(dy, y, memory, layer, tgt_mask, src_mask)
        dmemory += dmem
        decoder.insert(0, d_layer)
    dx, encoder = dmemory, []
    for layer, x in zip(reversed(params.encoder), reversed(xs), strict=True):
        dx, d_layer = encoder_layer_backward(dx, x, layer, src_mask)
        encoder.insert(0, d_layer)
    grads = TransformerParams(c, _embed_backward(dx, src_tokens, params.src_embed),
                              # mistake: blind_lg_embed_grad_to_targets
                              _embed_backward(dy, tgt_out, params.tgt_embed),
                              encoder, decoder, dW_out, db_out)
    return loss, grads


@mistake("adam_init", "blind_adam_init_float64_moments",
         "your moments are float64 (np.zeros(shape)): they have the parameters' dtype, use np.zeros_like")
def adam_init(params):
    def zeros(a):
        return np.zeros(a.shape)  # mistake: blind_adam_init_float64_moments

    return AdamState(step=0, m=tree_map(zeros, params), v=tree_map(zeros, params))


@mistake("adam_step", "blind_adam_no_bias_correction",
         "you leave out the bias correction: the moments start at zero, divide by (1 - beta1^t) and (1 - "
         "beta2^t)")
def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.98, eps=1e-9):
    if not math.isfinite(lr) or lr < 0:
        raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
    t = state.step + 1
    m = tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, state.m, grads)
    v = tree_map(lambda v, g: beta2 * v + (1 - beta2) * g * g, state.v, grads)
    # mistake: blind_adam_no_bias_correction
    new = tree_map(lambda theta, m, v: theta - lr * m / (np.sqrt(v) + eps), params, m, v)
    return new, AdamState(step=t, m=m, v=v)


@mistake("adam_step", "blind_adam_updates_in_place",
         "theta -= ... changes the caller's parameters: theta - lr * ... builds a new array")
def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.98, eps=1e-9):
    if not math.isfinite(lr) or lr < 0:
        raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
    t = state.step + 1
    m = tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, state.m, grads)
    v = tree_map(lambda v, g: beta2 * v + (1 - beta2) * g * g, state.v, grads)
    c1, c2 = 1 - beta1**t, 1 - beta2**t

    def update(theta, m, v):
        theta -= lr * (m / c1) / (np.sqrt(v / c2) + eps)  # mistake: blind_adam_updates_in_place
        return theta

    new = tree_map(update, params, m, v)
    return new, AdamState(step=t, m=m, v=v)


@mistake("adam_step", "blind_adam_negative_lr_accepted",
         "you accept a negative or infinite learning rate: raise ValueError naming lr")
def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.98, eps=1e-9):
    # mistake: blind_adam_negative_lr_accepted
    t = state.step + 1
    m = tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, state.m, grads)
    v = tree_map(lambda v, g: beta2 * v + (1 - beta2) * g * g, state.v, grads)
    c1, c2 = 1 - beta1**t, 1 - beta2**t
    new = tree_map(lambda theta, m, v: theta - lr * (m / c1) / (np.sqrt(v / c2) + eps), params, m, v)
    return new, AdamState(step=t, m=m, v=v)


@mistake("adam_step", "blind_adam_float64_corrections",
         "numpy float64 scalars (np.float64(beta1) ** t) turn float32 arrays into float64: keep the "
         "parameters' dtype")
def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.98, eps=1e-9):
    if not math.isfinite(lr) or lr < 0:
        raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
    t = state.step + 1
    m = tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, state.m, grads)
    v = tree_map(lambda v, g: beta2 * v + (1 - beta2) * g * g, state.v, grads)
    # mistake: blind_adam_float64_corrections
    c1, c2 = 1 - np.power(np.float64(beta1), t), 1 - np.power(np.float64(beta2), t)
    new = tree_map(lambda theta, m, v: theta - lr * (m / c1) / (np.sqrt(v / c2) + eps), params, m, v)
    return new, AdamState(step=t, m=m, v=v)


@mistake("train_step", "blind_train_loss_after_update",
         "you return the loss after the update: return the batch's loss BEFORE it, the one loss_and_grads "
         "gave")
def train_step(params, state, src_tokens, tgt_tokens, lr):
    loss, grads = loss_and_grads(src_tokens, tgt_tokens, params)
    params, state = adam_step(params, grads, state, lr)
    loss, _ = loss_and_grads(src_tokens, tgt_tokens, params)  # mistake: blind_train_loss_after_update
    return params, state, loss


@mistake("train_step", "blind_train_state_not_advanced",
         "you return the old Adam state, so the moments and the step count never move: return the one "
         "adam_step gave back")
def train_step(params, state, src_tokens, tgt_tokens, lr):
    loss, grads = loss_and_grads(src_tokens, tgt_tokens, params)
    new_params, _ = adam_step(params, grads, state, lr)
    return new_params, state, loss  # mistake: blind_train_state_not_advanced


@mistake("train_step", "blind_train_gradient_ascent",
         "you negate the gradients, which climbs the loss: pass them to adam_step as they are")
def train_step(params, state, src_tokens, tgt_tokens, lr):
    loss, grads = loss_and_grads(src_tokens, tgt_tokens, params)
    grads = tree_map(lambda g: -g, grads)  # mistake: blind_train_gradient_ascent
    params, state = adam_step(params, grads, state, lr)
    return params, state, loss
