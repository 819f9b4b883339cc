"""Correct implementations of exercise 09 written differently from the reference."""

import numpy as np

from catalogue import alternative


@alternative("layer_norm", "centre_then_mean_of_squares")
def layer_norm(x, p, eps=1e-5):
    D = x.shape[-1]
    if p.gamma.shape != (D,) or p.beta.shape != (D,):
        raise ValueError("p.gamma and p.beta must have shape [D]")
    centred = x - np.mean(x, axis=-1, keepdims=True)
    inv_std = 1 / np.sqrt(np.mean(centred * centred, axis=-1, keepdims=True) + eps)
    return centred * inv_std * p.gamma + p.beta


@alternative("feed_forward", "einsum_and_where")
def feed_forward(x, p):
    if x.shape[-1] != p.W_1.shape[0]:
        raise ValueError("x does not fit W_1")
    if p.b_1.shape != (p.W_1.shape[1],):
        raise ValueError("p.b_1 must have shape [F]")
    if p.W_2.shape != p.W_1.shape[::-1] or p.b_2.shape != (p.W_1.shape[0],):
        raise ValueError("p.W_2 must be [F, D] and p.b_2 [D]")
    h = np.einsum("...d,df->...f", x, p.W_1) + p.b_1
    h = np.where(h > 0, h, 0).astype(x.dtype)
    return np.einsum("...f,fd->...d", h, p.W_2) + p.b_2


@alternative("add_and_norm", "inline_norm")
def add_and_norm(x, sublayer_out, p):
    if x.shape != sublayer_out.shape:
        raise ValueError(f"sublayer_out has shape {sublayer_out.shape}, x has {x.shape}")
    s = x + sublayer_out
    mu = s.mean(-1, keepdims=True)
    sigma = np.sqrt(s.var(-1, keepdims=True) + 1e-5)
    return (s - mu) / sigma * p.gamma + p.beta
