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
    _check_x(x, p)
    attn, _ = multi_head_attention(x, x, p.self_attn, mask)  # (B, T, D)
    x = add_and_norm(x, attn, p.norm1)  # LayerNorm_1(x + MultiHead(x, x, x))
    return add_and_norm(x, feed_forward(x, p.ffn), p.norm2)  # LayerNorm_2(x + FFN(x))


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
    _check_tokens(src_tokens, params.src_embed.shape[0], "src_tokens")
    mask = padding_mask(src_tokens, params.config.pad_id)  # (B, 1, T_src): True at real tokens
    x = embed(src_tokens, params.src_embed)  # (B, T_src, D)
    for layer in params.encoder:
        x = encoder_layer(x, layer, mask)
    return x


def _check_x(x: np.ndarray, p: EncoderLayerParams) -> None:
    """Raise ValueError naming ``x`` unless it is [B, T, D] for the parameters' D."""
    D = p.self_attn.W_q.shape[0]
    if x.ndim != 3 or x.shape[-1] != D:
        raise ValueError(f"x must have shape [B, T, D={D}], got {x.shape}")


def _check_tokens(tokens: np.ndarray, vocab: int, name: str) -> None:
    """Raise ValueError naming ``name`` unless ``tokens`` is a non-empty [B, T] of ids in ``0..vocab-1``."""
    if not isinstance(tokens, np.ndarray) or tokens.dtype.kind not in "iu" or tokens.ndim != 2 \
            or tokens.size == 0:
        raise ValueError(f"{name} must be a non-empty integer array [B, T], got {np.shape(tokens)}")
    if tokens.min() < 0 or tokens.max() >= vocab:
        raise ValueError(f"{name} must hold ids in 0..{vocab - 1}, got {tokens.min()}..{tokens.max()}")
