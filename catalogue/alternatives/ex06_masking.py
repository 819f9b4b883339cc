"""Correct implementations of exercise 06 written differently from the reference."""

import numpy as np

from catalogue import alternative


@alternative("causal_mask", "compare_indices")
def causal_mask(T):
    if T < 1:
        raise ValueError(f"T must be at least 1, got {T}")
    i = np.arange(T)
    return i[None, :] <= i[:, None]  # key j <= query i


@alternative("padding_mask", "expand_dims")
def padding_mask(tokens, pad_id):
    if np.ndim(tokens) != 2:
        raise ValueError("tokens must have shape [B, T]")
    return np.expand_dims(np.not_equal(tokens, pad_id), axis=1)


@alternative("decoder_self_mask", "tri_and_where")
def decoder_self_mask(tokens, pad_id):
    if np.ndim(tokens) != 2:
        raise ValueError("tokens must have shape [B, T]")
    T = tokens.shape[1]
    causal = np.tri(T, dtype=bool)  # (T, T)
    keys = np.repeat((tokens != pad_id)[:, None, :], T, axis=1)  # (B, T, T)
    return np.where(keys, causal, False)
