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
    raise NotImplementedError("ex16: implement multi_head_attention_backward")


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
    raise NotImplementedError("ex16: implement encoder_layer_backward")


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
    raise NotImplementedError("ex16: implement decoder_layer_backward")


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
    raise NotImplementedError("ex16: implement loss_and_grads")


def adam_init(params: TransformerParams) -> AdamState:
    """Adam before its first step: ``step = 0`` and zero moments ``m``, ``v`` shaped like ``params``.

    Args:
        params: any parameter tree (a ``TransformerParams``, a layer's parameters, an array...).

    Returns:
        ``AdamState(step=0, m=zeros like params, v=zeros like params)``, in the parameters' dtype.
    """
    raise NotImplementedError("ex16: implement adam_init")


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
    raise NotImplementedError("ex16: implement adam_step")


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
    raise NotImplementedError("ex16: implement train_step")
