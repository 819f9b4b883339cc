"""Exercise 10: the encoder (seed part 4).

The encoder turns the source sentence into one vector per token that knows about the whole
sentence. A layer lets every token attend to every real token (multi-head self-attention), then
transforms each token on its own (the feed-forward network). Each of the two sublayers is wrapped
in a residual connection followed by layer norm (post-norm, as in the paper):

    x = LayerNorm_1(x + MultiHead(x, x, x))
    x = LayerNorm_2(x + FFN(x))

``encode`` embeds the source tokens (``table[tokens] * sqrt(D) + PE``) and runs them through every
layer, each with its own parameters, under one padding mask so that no token reads the padding:

    memory = layer_N( ... layer_1(embed(src_tokens), mask) ..., mask)

Rules of every exercise (inputs never changed in place, the dtype kept, ValueError for a bad
argument, the allowed imports): docs/API.md.
"""

from __future__ import annotations

import numpy as np

from course.params import EncoderLayerParams, TransformerParams

from .ex06_masking import padding_mask
from .ex07_multi_head import multi_head_attention
from .ex08_positional_encoding import embed
from .ex09_layers import add_and_norm, feed_forward


def encoder_layer(x: np.ndarray, p: EncoderLayerParams, mask: np.ndarray | None = None) -> np.ndarray:
    """One post-norm encoder layer: self-attention, add & norm, feed-forward, add & norm.

        x = LayerNorm_1(x + MultiHead(x, x, x, mask))
        x = LayerNorm_2(x + FFN(x))

    Args:
        x: token vectors [B, T, D], float32 or float64 (kept, with parameters of that dtype).
        p: ``self_attn`` (MultiHeadParams), ``norm1``, ``ffn`` (FeedForwardParams), ``norm2``.
        mask: optional boolean [B or 1, T or 1, T] (a [T, T] mask such as ``causal_mask(T)`` is
            accepted too, as ``multi_head_attention`` does), True = the query may attend to the key
            (the source padding mask [B, 1, T] in ``encode``).

    Returns:
        [B, T, D], in ``x``'s dtype.

    Raises:
        ValueError: if ``x`` is not [B, T, D] with ``D`` the width of ``p.self_attn.W_q``
            (names ``x``), or as ``multi_head_attention`` does for a bad ``mask``.
    """
    raise NotImplementedError("ex10: add_and_norm after the self-attention, then after feed_forward")


def encode(src_tokens: np.ndarray, params: TransformerParams) -> np.ndarray:
    """The encoder: embed the source, then every encoder layer under the source padding mask.

        x_0 = src_embed[src_tokens] * sqrt(D) + PE[:T_src]
        x_l = encoder_layer(x_{l-1}, params.encoder[l-1], padding_mask(src_tokens, pad_id))

    Args:
        src_tokens: integer token ids [B, T_src], each in ``0..src_vocab-1``; ``config.pad_id``
            marks padding (real tokens first, padding after).
        params: the model; uses ``config.pad_id``, ``src_embed`` [V_src, D] and ``encoder``
            (one EncoderLayerParams per layer).

    Returns:
        The memory [B, T_src, D], in the dtype of the parameters.

    Raises:
        ValueError: if ``src_tokens`` is not a 2-D integer array with ids in the source
            vocabulary (names ``src_tokens``).
    """
    raise NotImplementedError("ex10: embed with src_embed, then each layer with padding_mask(src, pad_id)")
