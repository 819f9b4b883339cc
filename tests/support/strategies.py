"""Named hypothesis building blocks shared by every test file.

Sizes are drawn so that the cases that expose mistakes are common: several heads, ``T_q != T_k``,
batches of two or more rows with different padding, ``d_k >= 2``, ``T != D``; and the edge cases
(``T = 1``, one row) still appear. Arrays hold bounded, finite values so that a failure is a bug,
not an overflow, and shrink to small readable examples. Weights are drawn from a seed so that a
counterexample prints as ``seed=3``, not as a page of numbers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course.params import (
    DecoderLayerParams,
    EncoderLayerParams,
    FeedForwardParams,
    LayerNormParams,
    MultiHeadParams,
    TransformerConfig,
    TransformerParams,
    init_decoder_layer,
    init_encoder_layer,
    init_feed_forward,
    init_layer_norm,
    init_multi_head,
    init_transformer,
)

FLOAT_DTYPES = (np.float32, np.float64)

float_dtypes = st.sampled_from(FLOAT_DTYPES)
seeds = st.integers(min_value=0, max_value=2**16)


# The factories below are cached: a composite strategy calls them on every draw, and hypothesis checks
# (validates) each new strategy object on its first draw, which costs more than the draw. The same
# arguments give the same strategy, so the examples drawn are the same.


def rng(seed: int) -> np.random.Generator:
    """The generator tests build weights from."""
    return np.random.default_rng(seed)


@functools.cache
def floats(dtype: type = np.float64, bound: float = 10.0) -> st.SearchStrategy[float]:
    """Finite floats in ``[-bound, bound]`` representable in ``dtype``."""
    width = 32 if np.dtype(dtype) == np.float32 else 64
    return st.floats(-bound, bound, width=width, allow_nan=False, allow_subnormal=False)


@functools.cache
def arrays(
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]],
    dtype: type = np.float64,
    bound: float = 10.0,
) -> st.SearchStrategy[np.ndarray]:
    """Arrays of ``shape`` with finite values in ``[-bound, bound]``."""
    return hnp.arrays(np.dtype(dtype), shape, elements=floats(dtype, bound))


@functools.cache
def shapes(min_dims: int = 1, max_dims: int = 4, min_side: int = 1, max_side: int = 5):
    """Array shapes, for functions that take any leading batch dimensions."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


@functools.cache
def batch_shapes(max_dims: int = 2, max_side: int = 3) -> st.SearchStrategy[tuple[int, ...]]:
    """Leading batch dimensions, possibly none."""
    return hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=1, max_side=max_side)


@st.composite
def float_arrays(draw, min_dims: int = 1, max_dims: int = 4, max_side: int = 5, bound: float = 10.0):
    """An array of any shape and float dtype: ``(x, dtype)`` is ``x.dtype``."""
    dtype = draw(float_dtypes)
    return draw(arrays(draw(shapes(min_dims, max_dims, 1, max_side)), dtype, bound))


@dataclass(frozen=True)
class AttentionSizes:
    """Sizes of one attention call: ``B`` batch, ``H`` heads, lengths, ``d_k`` and ``d_v``."""

    B: int
    H: int
    T_q: int
    T_k: int
    d_k: int
    d_v: int

    @property
    def D(self) -> int:  # model width of multi-head attention
        return self.H * self.d_k


@st.composite
def attention_sizes(
    draw,
    max_batch: int = 3,
    max_heads: int = 3,
    max_len: int = 6,
    max_dk: int = 4,
    self_attention: bool = False,
) -> AttentionSizes:
    """Sizes for attention; ``T_q == T_k`` when ``self_attention``."""
    T_q = draw(st.integers(1, max_len))
    T_k = T_q if self_attention else draw(st.integers(1, max_len))
    return AttentionSizes(
        B=draw(st.integers(1, max_batch)),
        H=draw(st.integers(1, max_heads)),
        T_q=T_q,
        T_k=T_k,
        d_k=draw(st.integers(1, max_dk)),
        d_v=draw(st.integers(1, max_dk)),
    )


def revealing_sizes(self_attention: bool = False) -> AttentionSizes:
    """A fixed size that hides no mistake: B=2, H=2, T_q=3, T_k=5, d_k=4, d_v=3."""
    return AttentionSizes(B=2, H=2, T_q=4 if self_attention else 3, T_k=4 if self_attention else 5,
                          d_k=4, d_v=3)


def lengths_to_tokens(
    lengths: list[int], T: int, vocab: int, pad_id: int, generator: np.random.Generator
) -> np.ndarray:
    """Token rows with ``lengths[b]`` real tokens (never ``pad_id``) followed by padding."""
    real = [t for t in range(vocab) if t != pad_id]
    tokens = generator.choice(real, size=(len(lengths), T)).astype(np.int64)
    tokens[np.arange(T)[None, :] >= np.asarray(lengths)[:, None]] = pad_id
    return tokens


@st.composite
def token_batches(
    draw,
    min_batch: int = 1,
    max_batch: int = 3,
    min_len: int = 1,
    max_len: int = 6,
    vocab: int = 7,
    pad_id: int = 0,
    padded: bool = True,
) -> np.ndarray:
    """``tokens`` [B, T], int64: each row real tokens then ``pad_id``; at least one full row."""
    B = draw(st.integers(min_batch, max_batch))
    T = draw(st.integers(min_len, max_len))
    lengths = [draw(st.integers(1, T)) if padded else T for _ in range(B)]
    lengths[draw(st.integers(0, B - 1))] = T
    return lengths_to_tokens(lengths, T, vocab, pad_id, rng(draw(seeds)))


@functools.cache
def integers_other_than(low: int, high: int, value: int) -> st.SearchStrategy[int]:
    """Integers in ``[low, high]`` except ``value`` (a hidden width F != D, say)."""
    return st.integers(low, high).filter(lambda i: i != value)


@functools.cache
def masks(shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]]) -> st.SearchStrategy[np.ndarray]:
    """Boolean masks of ``shape`` (True = may attend)."""
    return hnp.arrays(np.bool_, shape)


def random_multi_head(seed: int, D: int, H: int, dtype: type = np.float64) -> MultiHeadParams:
    """Multi-head weights with non-zero biases (a zero bias hides a forgotten ``+ b``)."""
    return init_multi_head(rng(seed), D, H, dtype, random_bias=True)


def random_layer_norm(seed: int, D: int, dtype: type = np.float64) -> LayerNormParams:
    return init_layer_norm(rng(seed), D, dtype, random_bias=True)


def random_feed_forward(seed: int, D: int, F: int, dtype: type = np.float64) -> FeedForwardParams:
    return init_feed_forward(rng(seed), D, F, dtype, random_bias=True)


def random_encoder_layer(seed: int, D: int, H: int, F: int, dtype: type = np.float64) -> EncoderLayerParams:
    return init_encoder_layer(rng(seed), D, H, F, dtype, random_bias=True)


def random_decoder_layer(seed: int, D: int, H: int, F: int, dtype: type = np.float64) -> DecoderLayerParams:
    return init_decoder_layer(rng(seed), D, H, F, dtype, random_bias=True)


def small_config(
    src_vocab: int = 11, tgt_vocab: int = 13, d_model: int = 8, num_heads: int = 2,
    d_ff: int = 12, num_layers: int = 2,
) -> TransformerConfig:
    """A small model whose sizes are all different, so no axis can be confused with another."""
    return TransformerConfig(src_vocab, tgt_vocab, d_model, num_heads, d_ff, num_layers)


def random_transformer(seed: int, config: TransformerConfig | None = None,
                       dtype: type = np.float64) -> TransformerParams:
    return init_transformer(rng(seed), config or small_config(), dtype, random_bias=True)


def make_qkv(seed, lead, T_q, T_k, d_k, d_v, dtype=np.float64, scale=1.0):
    """``Q`` [*lead, T_q, d_k], ``K`` [*lead, T_k, d_k], ``V`` [*lead, T_k, d_v] from a seed."""
    g = rng(seed)
    Q = (g.standard_normal((*lead, T_q, d_k)) * scale).astype(dtype)
    K = (g.standard_normal((*lead, T_k, d_k)) * scale).astype(dtype)
    V = g.standard_normal((*lead, T_k, d_v)).astype(dtype)
    return Q, K, V


@st.composite
def seeded_masks(draw, shape):
    """Boolean masks of ``shape`` (True = may attend) from a seed and a density: quick to draw."""
    density = draw(st.sampled_from([0.8, 0.5, 0.2]))
    return rng(draw(seeds)).random(shape) < density


def spread_rows(seed: int, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """Rows (last axis) with their own offset in [-5, 5] and their own standard deviation in [0.5, 3]."""
    g = rng(seed)
    z = g.standard_normal(shape)
    z = (z - z.mean(axis=-1, keepdims=True)) / z.std(axis=-1, keepdims=True)  # each row: mean 0, var 1
    offset = g.uniform(-5, 5, size=(*shape[:-1], 1))
    scale = g.uniform(0.5, 3, size=(*shape[:-1], 1))
    return (offset + scale * z).astype(dtype)


@st.composite
def mask_forms(draw, B: int, T_q: int, T_k: int, two_d: bool = True):
    """A mask in any form multi-head attention accepts: [B or 1, T_q or 1, T_k], and [T_q, T_k] when
    ``two_d`` (the layers' tests of every form keep to the 3-D ones: a [T, T] mask reaches them as
    ``causal_mask(T)`` in exercises 11 and 14); seeded, so that some query rows are often hidden whole."""
    forms = [(B, 1, T_k), (1, T_q, T_k), (B, T_q, T_k), *([(T_q, T_k)] if two_d else [])]
    shape = draw(st.sampled_from(forms))
    return draw(seeded_masks(shape))
