"""Exercise 06: causal and padding masks.

A mask says which keys each query may attend to (True = may attend). Two reasons to hide a key:
it lies in the future (a decoder predicting token i must not read tokens after i), or it is
padding (the filler ``pad_id`` that makes sentences of different lengths fit one batch).

    causal[i, j]     = (j <= i)                      [T, T]
    padding[b, 0, j] = (tokens[b, j] != pad_id)      [B, 1, T]
    decoder[b, i, j] = causal[i, j] and padding[b, 0, j]

The padding mask keeps a length-1 query axis so it broadcasts over every query row.

Rules of every exercise (inputs never changed in place, the dtype kept, ValueError for a bad
argument, the allowed imports): docs/API.md.
"""

from __future__ import annotations

import numpy as np


def causal_mask(T: int) -> np.ndarray:
    """Lower-triangular mask: query ``i`` may attend to keys ``0 .. i``, the diagonal included.

        causal[i, j] = (j <= i)

    Args:
        T: sequence length, at least 1.

    Returns:
        bool [T, T], True on and below the diagonal.

    Raises:
        ValueError: if ``T`` is not a positive integer.
    """
    if not isinstance(T, int | np.integer) or T < 1:
        raise ValueError(f"T must be a positive integer, got {T!r}")
    return np.tril(np.ones((T, T), dtype=bool))  # (T, T)


def padding_mask(tokens: np.ndarray, pad_id: int) -> np.ndarray:
    """Key mask that hides padding: ``padding[b, 0, j] = (tokens[b, j] != pad_id)``.

    Args:
        tokens: integer token ids [B, T].
        pad_id: the id of the padding token.

    Returns:
        bool [B, 1, T]: True where the key is a real token; the middle axis broadcasts over the
        queries.

    Raises:
        ValueError: if ``tokens`` is not 2-D.
    """
    tokens = np.asarray(tokens)
    if tokens.ndim != 2:
        raise ValueError(f"tokens must have shape [B, T], got {tokens.shape}")
    return (tokens != pad_id)[:, None, :]  # (B, 1, T)


def decoder_self_mask(tokens: np.ndarray, pad_id: int) -> np.ndarray:
    """Mask of the decoder's self-attention: causal AND not padding.

        decoder[b, i, j] = (j <= i) and (tokens[b, j] != pad_id)

    Args:
        tokens: integer target token ids [B, T].
        pad_id: the id of the padding token.

    Returns:
        bool [B, T, T].

    Raises:
        ValueError: if ``tokens`` is not 2-D.
    """
    tokens = np.asarray(tokens)
    if tokens.ndim != 2:
        raise ValueError(f"tokens must have shape [B, T], got {tokens.shape}")
    T = tokens.shape[1]
    return causal_mask(T) & padding_mask(tokens, pad_id)  # (T, T) & (B, 1, T) -> (B, T, T)
