"""Exercise 11: the decoder (seed part 5).

The decoder writes the target sentence one token at a time, so position ``t`` may read only the
target tokens ``0..t`` (masked self-attention), and it reads the source through the encoder's
output, the ``memory``: in encoder-decoder (cross) attention the queries come from the decoder and
the keys and values from the memory. Each of the three sublayers is followed by add & norm:

    y = LayerNorm_1(y + MultiHead(y, y, y, self_mask))                  masked self-attention
    y = LayerNorm_2(y + MultiHead(y, memory, memory, memory_mask))      cross-attention
    y = LayerNorm_3(y + FFN(y))

``decode`` embeds the target tokens and runs every layer with the causal-and-padding target mask
and the source padding mask.

Rules of every exercise (inputs never changed in place, the dtype kept, ValueError for a bad
argument, the allowed imports): docs/API.md.
"""

from __future__ import annotations

import numpy as np

from course.params import DecoderLayerParams, TransformerParams

from .ex06_masking import decoder_self_mask, padding_mask
from .ex07_multi_head import multi_head_attention
from .ex08_positional_encoding import embed
from .ex09_layers import add_and_norm, feed_forward


def decoder_layer(
    y: np.ndarray,
    memory: np.ndarray,
    p: DecoderLayerParams,
    self_mask: np.ndarray | None = None,
    memory_mask: np.ndarray | None = None,
) -> np.ndarray:
    """One post-norm decoder layer: masked self-attention, cross-attention, feed-forward.

        y = LayerNorm_1(y + MultiHead(y, y, y, self_mask))
        y = LayerNorm_2(y + MultiHead(y, memory, memory, memory_mask))
        y = LayerNorm_3(y + FFN(y))

    Args:
        y: target token vectors [B, T_tgt, D], float32 or float64 (kept, with parameters of that
            dtype).
        memory: the encoder's output [B, T_src, D]; gives the keys and values of the
            cross-attention.
        p: ``self_attn``, ``norm1``, ``cross_attn``, ``norm2``, ``ffn``, ``norm3``.
        self_mask: optional boolean [B or 1, T_tgt or 1, T_tgt] for the self-attention
            (causal and padding in ``decode``); a [T_tgt, T_tgt] mask such as
            ``causal_mask(T_tgt)`` is accepted too.
        memory_mask: optional boolean [B or 1, T_tgt or 1, T_src] for the cross-attention
            (the source padding mask [B, 1, T_src] in ``decode``).

    Returns:
        [B, T_tgt, D], in ``y``'s dtype.

    Raises:
        ValueError: if ``y`` is not [B, T_tgt, D] with ``D`` the width of the parameters (names
            ``y``), or ``memory`` is not [B, T_src, D] with ``y``'s B and D (names ``memory``).
    """
    _check_layer_inputs(y, memory, p)
    attn, _ = multi_head_attention(y, y, p.self_attn, self_mask)  # (B, T_tgt, D)
    y = add_and_norm(y, attn, p.norm1)  # LayerNorm_1(y + MultiHead(y, y, y))
    cross, _ = multi_head_attention(y, memory, p.cross_attn, memory_mask)  # (B, T_tgt, D)
    y = add_and_norm(y, cross, p.norm2)  # LayerNorm_2(y + MultiHead(y, memory, memory))
    return add_and_norm(y, feed_forward(y, p.ffn), p.norm3)  # LayerNorm_3(y + FFN(y))


def decode(
    tgt_tokens: np.ndarray, memory: np.ndarray, src_tokens: np.ndarray, params: TransformerParams
) -> np.ndarray:
    """The decoder: embed the target, then every decoder layer against the encoder's memory.

        y_0 = tgt_embed[tgt_tokens] * sqrt(D) + PE[:T_tgt]
        y_l = decoder_layer(y_{l-1}, memory, params.decoder[l-1],
                            decoder_self_mask(tgt_tokens, pad_id), padding_mask(src_tokens, pad_id))

    Args:
        tgt_tokens: integer token ids [B, T_tgt], each in ``0..tgt_vocab-1``, padding after.
        memory: the encoder's output for ``src_tokens`` [B, T_src, D].
        src_tokens: the source token ids [B, T_src]; only their padding matters here.
        params: the model; uses ``config.pad_id``, ``tgt_embed`` [V_tgt, D] and ``decoder``.

    Returns:
        [B, T_tgt, D], in the dtype of the parameters.

    Raises:
        ValueError: if ``tgt_tokens`` is not a 2-D integer array with ids in the target vocabulary
            (names ``tgt_tokens``), ``src_tokens`` is not a 2-D integer array (names
            ``src_tokens``), or ``memory`` is not [B, T_src, D] for these tokens (names
            ``memory``).
    """
    _check_decode_inputs(tgt_tokens, memory, src_tokens, params)
    pad = params.config.pad_id
    self_mask = decoder_self_mask(tgt_tokens, pad)  # (B, T_tgt, T_tgt): causal and not padding
    memory_mask = padding_mask(src_tokens, pad)  # (B, 1, T_src): real source tokens
    y = embed(tgt_tokens, params.tgt_embed)  # (B, T_tgt, D)
    for layer in params.decoder:
        y = decoder_layer(y, memory, layer, self_mask, memory_mask)
    return y


def _check_layer_inputs(y: np.ndarray, memory: np.ndarray, p: DecoderLayerParams) -> None:
    """Raise ValueError naming ``y`` or ``memory`` unless they are [B, T, D] for the parameters' D."""
    D = p.self_attn.W_q.shape[0]
    if y.ndim != 3 or y.shape[-1] != D:
        raise ValueError(f"y must have shape [B, T_tgt, D={D}], got {y.shape}")
    if memory.ndim != 3 or memory.shape[-1] != D or memory.shape[0] != y.shape[0]:
        raise ValueError(f"memory must have shape [B={y.shape[0]}, T_src, D={D}], got {memory.shape}")


def _check_decode_inputs(
    tgt_tokens: np.ndarray, memory: np.ndarray, src_tokens: np.ndarray, params: TransformerParams
) -> None:
    """Raise ValueError naming the argument that does not fit the others or the model."""
    _check_tokens(tgt_tokens, params.tgt_embed.shape[0], "tgt_tokens")
    _check_tokens(src_tokens, None, "src_tokens")
    B, T_src = src_tokens.shape
    D = params.tgt_embed.shape[1]
    if memory.shape != (B, T_src, D) or tgt_tokens.shape[0] != B:
        raise ValueError(f"memory must have shape [B, T_src, D] = {(B, T_src, D)} for src_tokens "
                         f"{src_tokens.shape} and tgt_tokens {tgt_tokens.shape}, got {memory.shape}")


def _check_tokens(tokens: np.ndarray, vocab: int | None, name: str) -> None:
    """Raise ValueError naming ``name`` unless ``tokens`` is a non-empty [B, T] of ids in ``0..vocab-1``."""
    if not isinstance(tokens, np.ndarray) or tokens.dtype.kind not in "iu" or tokens.ndim != 2 \
            or tokens.size == 0:
        raise ValueError(f"{name} must be a non-empty integer array [B, T], got {np.shape(tokens)}")
    if vocab is not None and (tokens.min() < 0 or tokens.max() >= vocab):
        raise ValueError(f"{name} must hold ids in 0..{vocab - 1}, got {tokens.min()}..{tokens.max()}")
