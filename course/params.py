"""Parameters of every layer of the course, as plain dataclasses, and their initialisers.

These are defined once, outside ``exercises/`` and ``solutions/``, so a learner's code and the
reference read the same fields. Row-vector convention throughout: ``y = x @ W + b`` with ``W`` of
shape ``(d_in, d_out)``.

Every ``init_*`` takes a ``numpy.random.Generator`` first and a ``dtype`` last. Weights are drawn
with Glorot (Xavier) uniform scaling, ``W ~ U(-a, a)`` with ``a = sqrt(6 / (d_in + d_out))``,
so activations keep roughly unit variance through the layers. Biases start at zero and layer-norm
gains at one unless ``random_bias=True`` asks for small random values (tests use that, because a
zero bias hides a forgotten ``+ b``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

import numpy as np

__all__ = [
    "AdamState",
    "DecoderLayerParams",
    "EncoderLayerParams",
    "FeedForwardParams",
    "GPTConfig",
    "GPTParams",
    "LayerCache",
    "LayerNormParams",
    "MultiHeadParams",
    "TransformerConfig",
    "TransformerParams",
    "init_decoder_layer",
    "init_encoder_layer",
    "init_feed_forward",
    "init_gpt",
    "init_layer_norm",
    "init_multi_head",
    "init_transformer",
    "tree_map",
]


@dataclass
class MultiHeadParams:
    """Projections of multi-head attention: ``W_q, W_k, W_v, W_o`` [D, D], biases [D]."""

    W_q: np.ndarray
    W_k: np.ndarray
    W_v: np.ndarray
    W_o: np.ndarray
    b_q: np.ndarray
    b_k: np.ndarray
    b_v: np.ndarray
    b_o: np.ndarray
    num_heads: int


@dataclass
class LayerNormParams:
    """Gain ``gamma`` and shift ``beta`` of a layer norm, both [D]."""

    gamma: np.ndarray
    beta: np.ndarray


@dataclass
class FeedForwardParams:
    """Position-wise feed-forward: ``W_1`` [D, F], ``b_1`` [F], ``W_2`` [F, D], ``b_2`` [D]."""

    W_1: np.ndarray
    b_1: np.ndarray
    W_2: np.ndarray
    b_2: np.ndarray


@dataclass
class EncoderLayerParams:
    """One encoder layer: self-attention and feed-forward, each followed by add & norm."""

    self_attn: MultiHeadParams
    norm1: LayerNormParams
    ffn: FeedForwardParams
    norm2: LayerNormParams


@dataclass
class DecoderLayerParams:
    """One decoder layer: masked self-attention, cross-attention, feed-forward, three norms."""

    self_attn: MultiHeadParams
    norm1: LayerNormParams
    cross_attn: MultiHeadParams
    norm2: LayerNormParams
    ffn: FeedForwardParams
    norm3: LayerNormParams


@dataclass
class TransformerConfig:
    """Sizes and special token ids of an encoder-decoder Transformer."""

    src_vocab: int
    tgt_vocab: int
    d_model: int
    num_heads: int
    d_ff: int
    num_layers: int
    pad_id: int = 0
    bos_id: int = 1
    eos_id: int = 2


@dataclass
class TransformerParams:
    """All weights of the model: embeddings, layer stacks and the output projection."""

    config: TransformerConfig
    src_embed: np.ndarray
    tgt_embed: np.ndarray
    encoder: list[EncoderLayerParams]
    decoder: list[DecoderLayerParams]
    W_out: np.ndarray
    b_out: np.ndarray


@dataclass
class LayerCache:
    """One decoder layer's self-attention keys and values so far, both [B, H, t, d_k] (exercise 13)."""

    keys: np.ndarray
    values: np.ndarray


@dataclass
class GPTConfig:
    """Sizes of a decoder-only language model (exercise 14)."""

    vocab: int
    d_model: int
    num_heads: int
    d_ff: int
    num_layers: int


@dataclass
class GPTParams:
    """A decoder-only model: ``embed`` [V, D], ``layers`` (a block is an encoder layer run under a
    causal mask), ``W_out`` [D, V], ``b_out`` [V]."""

    config: GPTConfig
    embed: np.ndarray
    layers: list[EncoderLayerParams]
    W_out: np.ndarray
    b_out: np.ndarray


@dataclass
class AdamState:
    """Adam's running moments ``m`` and ``v`` (each shaped like the parameters) after ``step`` updates
    (exercise 16)."""

    step: int
    m: Any
    v: Any


def tree_map(fn: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """Apply ``fn`` to every array of a parameter tree (and the matching arrays of ``rest``).

    A tree is a parameter dataclass, a list or tuple of trees, or an array; other leaves (``config``,
    ``num_heads``) are taken from ``tree`` unchanged. ``tree_map(np.zeros_like, params)`` gives
    zeros shaped like every parameter; ``tree_map(lambda p, g: p - lr * g, params, grads)`` is
    one step of gradient descent. Nothing is changed in place.
    """
    if isinstance(tree, np.ndarray):
        return fn(tree, *rest)
    if isinstance(tree, list | tuple):
        return type(tree)(tree_map(fn, t, *(r[i] for r in rest)) for i, t in enumerate(tree))
    if is_dataclass(tree) and not isinstance(tree, TransformerConfig | GPTConfig):
        return replace(tree, **{f.name: tree_map(fn, getattr(tree, f.name),
                                                 *(getattr(r, f.name) for r in rest))
                                for f in fields(tree)})
    return tree


def _glorot(rng: np.random.Generator, d_in: int, d_out: int, dtype: np.dtype) -> np.ndarray:
    a = np.sqrt(6.0 / (d_in + d_out))
    return rng.uniform(-a, a, size=(d_in, d_out)).astype(dtype)


def _bias(rng: np.random.Generator, size: int, dtype: np.dtype, random_bias: bool) -> np.ndarray:
    if random_bias:
        return rng.normal(0.0, 0.1, size=size).astype(dtype)
    return np.zeros(size, dtype=dtype)


def init_multi_head(
    rng: np.random.Generator,
    d_model: int,
    num_heads: int,
    dtype: np.dtype = np.float64,
    random_bias: bool = False,
) -> MultiHeadParams:
    """Four Glorot-initialised [D, D] projections for ``num_heads`` heads."""
    if d_model % num_heads != 0:
        raise ValueError(f"num_heads={num_heads} must divide d_model={d_model}")
    W_q, W_k, W_v, W_o = (_glorot(rng, d_model, d_model, dtype) for _ in range(4))
    b_q, b_k, b_v, b_o = (_bias(rng, d_model, dtype, random_bias) for _ in range(4))
    return MultiHeadParams(W_q, W_k, W_v, W_o, b_q, b_k, b_v, b_o, num_heads)


def init_layer_norm(
    rng: np.random.Generator,
    d_model: int,
    dtype: np.dtype = np.float64,
    random_bias: bool = False,
) -> LayerNormParams:
    """``gamma = 1`` and ``beta = 0`` (or both jittered when ``random_bias``)."""
    gamma = np.ones(d_model, dtype=dtype) + _bias(rng, d_model, dtype, random_bias)
    return LayerNormParams(gamma=gamma, beta=_bias(rng, d_model, dtype, random_bias))


def init_feed_forward(
    rng: np.random.Generator,
    d_model: int,
    d_ff: int,
    dtype: np.dtype = np.float64,
    random_bias: bool = False,
) -> FeedForwardParams:
    """``W_1`` [D, F] and ``W_2`` [F, D], Glorot-initialised."""
    return FeedForwardParams(
        W_1=_glorot(rng, d_model, d_ff, dtype),
        b_1=_bias(rng, d_ff, dtype, random_bias),
        W_2=_glorot(rng, d_ff, d_model, dtype),
        b_2=_bias(rng, d_model, dtype, random_bias),
    )


def init_encoder_layer(
    rng: np.random.Generator,
    d_model: int,
    num_heads: int,
    d_ff: int,
    dtype: np.dtype = np.float64,
    random_bias: bool = False,
) -> EncoderLayerParams:
    """Parameters of one encoder layer."""
    return EncoderLayerParams(
        self_attn=init_multi_head(rng, d_model, num_heads, dtype, random_bias),
        norm1=init_layer_norm(rng, d_model, dtype, random_bias),
        ffn=init_feed_forward(rng, d_model, d_ff, dtype, random_bias),
        norm2=init_layer_norm(rng, d_model, dtype, random_bias),
    )


def init_decoder_layer(
    rng: np.random.Generator,
    d_model: int,
    num_heads: int,
    d_ff: int,
    dtype: np.dtype = np.float64,
    random_bias: bool = False,
) -> DecoderLayerParams:
    """Parameters of one decoder layer."""
    return DecoderLayerParams(
        self_attn=init_multi_head(rng, d_model, num_heads, dtype, random_bias),
        norm1=init_layer_norm(rng, d_model, dtype, random_bias),
        cross_attn=init_multi_head(rng, d_model, num_heads, dtype, random_bias),
        norm2=init_layer_norm(rng, d_model, dtype, random_bias),
        ffn=init_feed_forward(rng, d_model, d_ff, dtype, random_bias),
        norm3=init_layer_norm(rng, d_model, dtype, random_bias),
    )


def init_transformer(
    rng: np.random.Generator,
    config: TransformerConfig,
    dtype: np.dtype = np.float64,
    random_bias: bool = False,
) -> TransformerParams:
    """A whole encoder-decoder; embeddings ~ N(0, 1/D) so that ``sqrt(D)`` scaling gives unit size."""
    c = config
    _check_sizes(c, ("src_vocab", "tgt_vocab", "d_model", "num_heads", "d_ff", "num_layers"))
    scale = 1.0 / np.sqrt(c.d_model)
    return TransformerParams(
        config=c,
        src_embed=(rng.standard_normal((c.src_vocab, c.d_model)) * scale).astype(dtype),
        tgt_embed=(rng.standard_normal((c.tgt_vocab, c.d_model)) * scale).astype(dtype),
        encoder=[
            init_encoder_layer(rng, c.d_model, c.num_heads, c.d_ff, dtype, random_bias)
            for _ in range(c.num_layers)
        ],
        decoder=[
            init_decoder_layer(rng, c.d_model, c.num_heads, c.d_ff, dtype, random_bias)
            for _ in range(c.num_layers)
        ],
        W_out=_glorot(rng, c.d_model, c.tgt_vocab, dtype),
        b_out=_bias(rng, c.tgt_vocab, dtype, random_bias),
    )


def init_gpt(
    rng: np.random.Generator,
    config: GPTConfig,
    dtype: np.dtype = np.float64,
    random_bias: bool = False,
) -> GPTParams:
    """A decoder-only model; the embedding ~ N(0, 1/D) as in :func:`init_transformer`."""
    c = config
    _check_sizes(c, ("vocab", "d_model", "num_heads", "d_ff", "num_layers"))
    return GPTParams(
        config=c,
        embed=(rng.standard_normal((c.vocab, c.d_model)) / np.sqrt(c.d_model)).astype(dtype),
        layers=[init_encoder_layer(rng, c.d_model, c.num_heads, c.d_ff, dtype, random_bias)
                for _ in range(c.num_layers)],
        W_out=_glorot(rng, c.d_model, c.vocab, dtype),
        b_out=_bias(rng, c.vocab, dtype, random_bias),
    )


def _check_sizes(config: TransformerConfig | GPTConfig, names: tuple[str, ...]) -> None:
    """Raise ValueError naming the first size below 1, or ``num_heads`` if it does not divide ``d_model``."""
    for name in names:
        if getattr(config, name) < 1:
            raise ValueError(f"config.{name} must be at least 1, got {getattr(config, name)}")
    if config.d_model % config.num_heads != 0:
        raise ValueError(f"config.num_heads={config.num_heads} must divide d_model={config.d_model}")
