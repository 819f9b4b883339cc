"""Exercise 09: layer normalisation, the position-wise feed-forward network, add & norm.

Layer norm rescales each token's vector (one row, the last axis) to mean 0 and variance 1, then
applies a learned gain ``gamma`` and shift ``beta``. It keeps activations at a steady size through
many layers, and it looks at one token at a time: never across tokens or across the batch.

    LayerNorm(x) = gamma * (x - mean(x)) / sqrt(var(x) + eps) + beta

with the mean and the biased variance (divide by D) taken over the last axis. The feed-forward
network is a two-layer perceptron applied to every position separately, with the same weights:

    FFN(x) = relu(x W_1 + b_1) W_2 + b_2,     relu(h) = max(h, 0)

The paper wraps every sublayer in a residual connection followed by layer norm (post-norm):

    AddNorm(x, Sublayer(x)) = LayerNorm(x + Sublayer(x))

Rules of every exercise (inputs never changed in place, the dtype kept, ValueError for a bad
argument, the allowed imports): docs/API.md.
"""

from __future__ import annotations

import numpy as np

from course.params import FeedForwardParams, LayerNormParams


def layer_norm(x: np.ndarray, p: LayerNormParams, eps: float = 1e-5) -> np.ndarray:
    """Normalise every row (the last axis) of ``x`` to mean 0 and variance 1, then scale and shift.

    ``LayerNorm(x) = gamma * (x - mean) / sqrt(var + eps) + beta``, mean and biased variance over
    the last axis, ``eps`` inside the square root.

    Args:
        x: [..., D] (for example [B, T, D]), float32 or float64.
        p: ``gamma`` [D] and ``beta`` [D], in the dtype of ``x``.
        eps: small positive number added to the variance.

    Returns:
        An array of ``x``'s shape and dtype.

    Raises:
        ValueError: if ``x`` has no axis (names ``x``), or ``p.gamma`` or ``p.beta`` is not [D]
            (names ``p``).
    """
    if x.ndim < 1:
        raise ValueError("x must have a last axis of size D")
    D = x.shape[-1]
    if p.gamma.shape != (D,) or p.beta.shape != (D,):
        raise ValueError(f"p.gamma and p.beta must have shape ({D},) to match x, "
                         f"got {p.gamma.shape} and {p.beta.shape}")
    mean = x.mean(axis=-1, keepdims=True)  # (..., 1)
    var = x.var(axis=-1, keepdims=True)  # (..., 1)  biased: divides by D
    # LayerNorm(x) = gamma * (x - mean) / sqrt(var + eps) + beta
    return p.gamma * (x - mean) / np.sqrt(var + eps) + p.beta


def feed_forward(x: np.ndarray, p: FeedForwardParams) -> np.ndarray:
    """The position-wise feed-forward network ``relu(x W_1 + b_1) W_2 + b_2``.

    The same two layers act on every position (every row of the last axis) on its own.

    Args:
        x: [..., D] (for example [B, T, D]), float32 or float64.
        p: ``W_1`` [D, F], ``b_1`` [F], ``W_2`` [F, D], ``b_2`` [D], in the dtype of ``x``.

    Returns:
        An array of ``x``'s shape and dtype.

    Raises:
        ValueError: if the last axis of ``x`` is not ``p.W_1.shape[0]`` (names ``x``), or the
            parameters' shapes do not fit together (names ``p``).
    """
    if p.W_1.ndim != 2:
        raise ValueError(f"p.W_1 must have shape [D, F], got {p.W_1.shape}")
    D, F = p.W_1.shape
    if p.b_1.shape != (F,) or p.W_2.shape != (F, D) or p.b_2.shape != (D,):
        raise ValueError(f"p must hold W_1 [D, F], b_1 [F], W_2 [F, D], b_2 [D] with D={D}, F={F}; got "
                         f"{p.b_1.shape}, {p.W_2.shape}, {p.b_2.shape}")
    if x.ndim < 1 or x.shape[-1] != D:
        raise ValueError(f"x must have shape [..., {D}] to match p.W_1, got {x.shape}")
    # FFN(x) = relu(x W_1 + b_1) W_2 + b_2
    h = np.maximum(x @ p.W_1 + p.b_1, 0)  # (..., F)
    return h @ p.W_2 + p.b_2  # (..., D)


def add_and_norm(x: np.ndarray, sublayer_out: np.ndarray, p: LayerNormParams) -> np.ndarray:
    """The residual connection followed by layer norm: ``LayerNorm(x + sublayer_out)``.

    Args:
        x: the sublayer's input [..., D], float32 or float64.
        sublayer_out: the sublayer's output, the same shape and dtype as ``x``.
        p: the layer norm's ``gamma`` [D] and ``beta`` [D].

    Returns:
        An array of ``x``'s shape and dtype.

    Raises:
        ValueError: if ``sublayer_out``'s shape differs from ``x``'s (names ``sublayer_out``), or as
            ``layer_norm`` does.
    """
    if sublayer_out.shape != x.shape:
        raise ValueError(f"sublayer_out must have the shape of x {x.shape}, got {sublayer_out.shape}")
    # AddNorm(x, Sublayer(x)) = LayerNorm(x + Sublayer(x))
    return layer_norm(x + sublayer_out, p)
