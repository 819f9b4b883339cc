"""Exercise 16: make it learn (backpropagation through the Transformer, and Adam).

Training shows the model pairs ``(src, tgt)`` and nudges every parameter against the gradient of
the loss. With teacher forcing, the decoder reads the target shifted right and is scored on the
next token at every position at once:

    logits = transformer_forward(src, tgt[:, :-1])          loss = cross_entropy(logits, tgt[:, 1:])

The gradients come from running the layers backwards with the backward functions of exercise 15:
every layer's backward is its forward read from the end, and a tensor used twice (the residual
``x`` of ``LayerNorm(x + Sublayer(x))``, the ``x`` of self-attention's queries and keys, the encoder
memory read by every decoder layer) receives the SUM of the gradients of its uses.

Adam keeps running means of the gradient (``m``) and of its square (``v``) and steps each parameter
by ``m / sqrt(v)``: about ``lr`` per step whatever the gradient's scale.

    m = beta1 m + (1 - beta1) g        v = beta2 v + (1 - beta2) g^2          t = step + 1
    theta = theta - lr * m_hat / (sqrt(v_hat) + eps),   m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)

Rules of every exercise (inputs never changed in place, the dtype kept, ValueError for a bad
argument, the allowed imports): docs/API.md.
"""

from __future__ import annotations

import math

import numpy as np

from course.params import (
    AdamState,
    DecoderLayerParams,
    EncoderLayerParams,
    MultiHeadParams,
    TransformerParams,
    tree_map,
)

from .ex05_qkv_attention import scaled_dot_product_attention
from .ex06_masking import decoder_self_mask, padding_mask
from .ex07_multi_head import merge_heads, multi_head_attention, split_heads
from .ex08_positional_encoding import embed
from .ex09_layers import feed_forward, layer_norm
from .ex10_encoder import encoder_layer
from .ex11_decoder import decoder_layer
from .ex15_backward import (
    cross_entropy,
    feed_forward_backward,
    layer_norm_backward,
    scaled_dot_product_attention_backward,
)


def multi_head_attention_backward(
    grad_out: np.ndarray,
    x_q: np.ndarray,
    x_kv: np.ndarray,
    p: MultiHeadParams,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, MultiHeadParams]:
    """Gradients through ``out = multi_head_attention(x_q, x_kv, p, mask)[0]``.

        Q = x_q W_q + b_q,  K = x_kv W_k + b_k,  V = x_kv W_v + b_v,  out = concat_h(head_h) W_o + b_o
        dconcat = g W_o^T      dW_o = concat^T g      db_o = sum g
        (dQ_h, dK_h, dV_h) = scaled_dot_product_attention_backward(dconcat_h, Q_h, K_h, V_h, mask)
        dx_q = dQ W_q^T        dx_kv = dK W_k^T + dV W_v^T        dW_q = x_q^T dQ ...

    Args:
        grad_out: ``g = dL/dout`` [B, T_q, D], float32 or float64.
        x_q: the queries' inputs [B, T_q, D]. x_kv: the keys' and values' inputs [B, T_k, D].
        p: the projections and ``num_heads``.
        mask: optional boolean [B or 1, T_q or 1, T_k] (or [T_q, T_k]), shared by all heads.

    Returns:
        ``(dx_q, dx_kv, grads)``: [B, T_q, D], [B, T_k, D] and a ``MultiHeadParams`` holding the
        gradient of every weight and bias (and ``p.num_heads``). For self-attention (``x_q`` and
        ``x_kv`` the same tensor) the input's gradient is ``dx_q + dx_kv``.

    Raises:
        ValueError: if ``grad_out`` is not [B, T_q, D] like ``x_q`` (names ``grad_out``), or as
            ``multi_head_attention`` does.
    """
    out, _ = multi_head_attention(x_q, x_kv, p, mask)  # checks the inputs; (B, T_q, D)
    if np.shape(grad_out) != out.shape:
        raise ValueError(f"grad_out must have the shape of the output {out.shape}, got {np.shape(grad_out)}")
    H = p.num_heads
    if mask is not None:
        mask = np.asarray(mask)[..., None, :, :]  # (B or 1, 1, T_q or 1, T_k): one mask for all heads
    Q = split_heads(x_q @ p.W_q + p.b_q, H)  # (B, H, T_q, d_k)
    K = split_heads(x_kv @ p.W_k + p.b_k, H)  # (B, H, T_k, d_k)
    V = split_heads(x_kv @ p.W_v + p.b_v, H)  # (B, H, T_k, d_k)
    concat = merge_heads(scaled_dot_product_attention(Q, K, V, mask)[0])  # (B, T_q, D)
    dconcat, dW_o, db_o = _linear_backward(grad_out, concat, p.W_o)  # (B, T_q, D)
    dQ, dK, dV = scaled_dot_product_attention_backward(split_heads(dconcat, H), Q, K, V, mask)
    dx_q, dW_q, db_q = _linear_backward(merge_heads(dQ), x_q, p.W_q)  # (B, T_q, D)
    dx_k, dW_k, db_k = _linear_backward(merge_heads(dK), x_kv, p.W_k)  # (B, T_k, D)
    dx_v, dW_v, db_v = _linear_backward(merge_heads(dV), x_kv, p.W_v)  # (B, T_k, D)
    grads = MultiHeadParams(dW_q, dW_k, dW_v, dW_o, db_q, db_k, db_v, db_o, H)
    return dx_q, dx_k + dx_v, grads


def encoder_layer_backward(
    grad_out: np.ndarray, x: np.ndarray, p: EncoderLayerParams, mask: np.ndarray | None = None
) -> tuple[np.ndarray, EncoderLayerParams]:
    """Gradients through ``encoder_layer(x, p, mask)``, its forward pass read from the end.

        forward:   h = LayerNorm_1(x + MultiHead(x, x, x))      out = LayerNorm_2(h + FFN(h))
        backward:  dr = LayerNorm_2'(g);  dh = dr + FFN'(dr)
                   ds = LayerNorm_1'(dh); dx = ds + MultiHead'_q(ds) + MultiHead'_kv(ds)

    Args:
        grad_out: ``dL/dout`` [B, T, D]. x: the layer's input [B, T, D].
        p: the layer's parameters. mask: the forward pass's mask.

    Returns:
        ``(dx, grads)``: [B, T, D] and an ``EncoderLayerParams`` of gradients.
    """
    a, _ = multi_head_attention(x, x, p.self_attn, mask)  # (B, T, D)
    h = layer_norm(x + a, p.norm1)  # (B, T, D)
    dr, d_norm2 = layer_norm_backward(grad_out, h + feed_forward(h, p.ffn), p.norm2)
    dh_ffn, d_ffn = feed_forward_backward(dr, h, p.ffn)
    ds, d_norm1 = layer_norm_backward(dr + dh_ffn, x + a, p.norm1)  # h feeds the FFN and the residual
    dx_q, dx_kv, d_attn = multi_head_attention_backward(ds, x, x, p.self_attn, mask)
    return ds + dx_q + dx_kv, EncoderLayerParams(d_attn, d_norm1, d_ffn, d_norm2)


def decoder_layer_backward(
    grad_out: np.ndarray,
    y: np.ndarray,
    memory: np.ndarray,
    p: DecoderLayerParams,
    self_mask: np.ndarray | None = None,
    memory_mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, DecoderLayerParams]:
    """Gradients through ``decoder_layer(y, memory, p, self_mask, memory_mask)``.

        forward:   h_1 = LayerNorm_1(y + MultiHead(y, y, y))
                   h_2 = LayerNorm_2(h_1 + MultiHead(h_1, memory, memory))
                   out = LayerNorm_3(h_2 + FFN(h_2))
        backward:  each sublayer from the end; h_1 receives the gradients of the residual and of the
                   cross-attention's queries, ``memory`` those of its keys and values.

    Args:
        grad_out: ``dL/dout`` [B, T_tgt, D]. y: the layer's input [B, T_tgt, D].
        memory: the encoder's output [B, T_src, D]. p: the layer's parameters.
        self_mask, memory_mask: the forward pass's masks.

    Returns:
        ``(dy, dmemory, grads)``: [B, T_tgt, D], [B, T_src, D] and a ``DecoderLayerParams`` of
        gradients.
    """
    a, _ = multi_head_attention(y, y, p.self_attn, self_mask)  # (B, T_tgt, D)
    h1 = layer_norm(y + a, p.norm1)  # (B, T_tgt, D)
    c, _ = multi_head_attention(h1, memory, p.cross_attn, memory_mask)  # (B, T_tgt, D)
    h2 = layer_norm(h1 + c, p.norm2)  # (B, T_tgt, D)
    dr3, d_norm3 = layer_norm_backward(grad_out, h2 + feed_forward(h2, p.ffn), p.norm3)
    dh2_ffn, d_ffn = feed_forward_backward(dr3, h2, p.ffn)
    dr2, d_norm2 = layer_norm_backward(dr3 + dh2_ffn, h1 + c, p.norm2)
    dh1_q, dmemory, d_cross = multi_head_attention_backward(dr2, h1, memory, p.cross_attn, memory_mask)
    dr1, d_norm1 = layer_norm_backward(dr2 + dh1_q, y + a, p.norm1)
    dy_q, dy_kv, d_self = multi_head_attention_backward(dr1, y, y, p.self_attn, self_mask)
    return dr1 + dy_q + dy_kv, dmemory, DecoderLayerParams(d_self, d_norm1, d_cross, d_norm2, d_ffn, d_norm3)


def loss_and_grads(
    src_tokens: np.ndarray, tgt_tokens: np.ndarray, params: TransformerParams
) -> tuple[float, TransformerParams]:
    """The teacher-forcing loss of a batch and the gradient of every parameter.

        logits = transformer_forward(src, tgt[:, :-1])        [B, T_tgt - 1, V_tgt]
        loss = cross_entropy(logits, tgt[:, 1:], ignore_id=pad_id)

    Args:
        src_tokens: integer source ids [B, T_src], padding after.
        tgt_tokens: integer target ids [B, T_tgt] with ``T_tgt >= 2`` (``bos_id``, the sentence,
            ``eos_id``, padding after).
        params: the model.

    Returns:
        ``(loss, grads)``: the loss (a float) and a ``TransformerParams`` with the same ``config``
        whose arrays are the gradients of the loss with respect to the parameters' arrays.

    Raises:
        ValueError: if ``tgt_tokens`` has fewer than 2 columns (names ``tgt_tokens``), or as
            ``transformer_forward`` does.
    """
    if not isinstance(tgt_tokens, np.ndarray) or tgt_tokens.ndim != 2 or tgt_tokens.shape[1] < 2:
        raise ValueError(f"tgt_tokens must be [B, T_tgt] with T_tgt >= 2, got {np.shape(tgt_tokens)}")
    c = params.config
    tgt_in, tgt_out = tgt_tokens[:, :-1], tgt_tokens[:, 1:]  # (B, T): read, and predict
    src_mask = padding_mask(src_tokens, c.pad_id)  # (B, 1, T_src)
    tgt_mask = decoder_self_mask(tgt_in, c.pad_id)  # (B, T, T)

    xs = [embed(src_tokens, params.src_embed)]  # every encoder layer's input, then the memory
    for layer in params.encoder:
        xs.append(encoder_layer(xs[-1], layer, src_mask))
    memory = xs.pop()  # (B, T_src, D)
    ys = [embed(tgt_in, params.tgt_embed)]  # every decoder layer's input, then the output
    for layer in params.decoder:
        ys.append(decoder_layer(ys[-1], memory, layer, tgt_mask, src_mask))
    loss, dlogits = cross_entropy(ys[-1] @ params.W_out + params.b_out, tgt_out, c.pad_id)

    dy, dW_out, db_out = _linear_backward(dlogits, ys.pop(), params.W_out)  # (B, T, D)
    dmemory = np.zeros_like(memory)  # every decoder layer reads the memory: the gradients add up
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


def adam_init(params: TransformerParams) -> AdamState:
    """Adam before its first step: ``step = 0`` and zero moments ``m``, ``v`` shaped like ``params``.

    Args:
        params: any parameter tree (a ``TransformerParams``, a layer's parameters, an array...).

    Returns:
        ``AdamState(step=0, m=zeros like params, v=zeros like params)``, in the parameters' dtype.
    """
    return AdamState(step=0, m=tree_map(np.zeros_like, params), v=tree_map(np.zeros_like, params))


def adam_step(
    params: TransformerParams,
    grads: TransformerParams,
    state: AdamState,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.98,
    eps: float = 1e-9,
) -> tuple[TransformerParams, AdamState]:
    """One Adam update of every array of ``params``.

        m = beta1 m + (1 - beta1) g          v = beta2 v + (1 - beta2) g^2           t = step + 1
        theta = theta - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)

    Args:
        params: a parameter tree. grads: its gradients (the same tree). state: Adam's state so far.
        lr: the learning rate. beta1, beta2: the moments' decay rates. eps: keeps the step finite.

    Returns:
        ``(new_params, new_state)`` with ``new_state.step = state.step + 1``, in the parameters'
        dtype; ``params``, ``grads`` and ``state`` are not changed.

    Raises:
        ValueError: if ``lr`` is negative or not finite (names ``lr``).
    """
    if not math.isfinite(lr) or lr < 0:
        raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
    t = state.step + 1
    m = tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, state.m, grads)
    v = tree_map(lambda v, g: beta2 * v + (1 - beta2) * g * g, state.v, grads)
    c1, c2 = 1 - beta1**t, 1 - beta2**t  # bias corrections: m and v start at zero
    new = tree_map(lambda theta, m, v: theta - lr * (m / c1) / (np.sqrt(v / c2) + eps), params, m, v)
    return new, AdamState(step=t, m=m, v=v)


def train_step(
    params: TransformerParams, state: AdamState, src_tokens: np.ndarray, tgt_tokens: np.ndarray, lr: float
) -> tuple[TransformerParams, AdamState, float]:
    """One step of training: the loss and gradients of the batch, then one Adam update.

    Args:
        params: the model. state: Adam's state. src_tokens, tgt_tokens: a batch, as in
            ``loss_and_grads``. lr: the learning rate of this step.

    Returns:
        ``(new_params, new_state, loss)``, where ``loss`` is the batch's loss BEFORE the update.
    """
    loss, grads = loss_and_grads(src_tokens, tgt_tokens, params)
    params, state = adam_step(params, grads, state, lr)
    return params, state, loss


def _linear_backward(
    g: np.ndarray, x: np.ndarray, W: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients through ``y = x W + b`` for ``x`` [..., d_in]: ``(dx, dW, db)``, summed over positions."""
    d_in, d_out = W.shape
    x2, g2 = x.reshape(-1, d_in), g.reshape(-1, d_out)  # (N, d_in), (N, d_out)
    return g @ W.T, x2.T @ g2, g2.sum(axis=0)


def _embed_backward(dx: np.ndarray, tokens: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Gradient of ``table`` through ``table[tokens] * sqrt(D) + PE``: each row sums over its uses."""
    grad = np.zeros_like(table)  # (V, D)
    np.add.at(grad, tokens, dx * math.sqrt(table.shape[1]))  # a token used twice gets both gradients
    return grad
