"""Exercise 08: sinusoidal positional encoding and token embedding.

Attention alone cannot tell the order of the tokens: permuting the inputs only permutes the
outputs. The Transformer therefore adds to every token's embedding a vector that depends on its
position, built from sines and cosines of geometrically spaced frequencies. Columns ``2i`` and
``2i + 1`` share one frequency ``w_i``, so each pair is a point turning on a circle as the position
grows, and moving ``k`` positions ahead is the same rotation for every position.

    w_i = 1 / 10000^(2i / D)
    PE[pos, 2i]     = sin(pos * w_i)
    PE[pos, 2i + 1] = cos(pos * w_i)

The token embedding is a table lookup, scaled by ``sqrt(D)`` so that it is not drowned by the
encoding (whose entries have size about 1), and the encoding of the positions ``0..T-1`` is added:

    embed(tokens) = table[tokens] * sqrt(D) + PE[:T]

Rules of every exercise (inputs never changed in place, the dtype kept, ValueError for a bad
argument, the allowed imports): docs/API.md.
"""

from __future__ import annotations

import numpy as np


def sinusoidal_encoding(T: int, D: int) -> np.ndarray:
    """The sinusoidal positional encoding of positions ``0, 1, ..., T - 1``.

    ``PE[pos, 2i] = sin(pos / 10000^(2i/D))`` and ``PE[pos, 2i+1] = cos(pos / 10000^(2i/D))``:
    even columns hold sines, odd columns cosines, and columns ``2i`` and ``2i+1`` share a frequency.

    Args:
        T: number of positions, at least 1. Positions start at 0.
        D: model width, even and at least 2.

    Returns:
        ``PE`` [T, D], float64, every entry in [-1, 1].

    Raises:
        ValueError: if ``T < 1`` (names ``T``), or ``D < 2`` or ``D`` is odd (names ``D``).
    """
    raise NotImplementedError("ex08: sin(pos / 10000^(2i/D)) in even columns, cos in odd ones")


def embed(tokens: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Look the tokens up, scale by ``sqrt(D)`` and add the positional encoding.

    ``embed(tokens) = table[tokens] * sqrt(D) + sinusoidal_encoding(T, D)``

    Args:
        tokens: integer token ids [B, T] (any leading dims [..., T] work), each in ``0..V-1``.
        table: embedding table [V, D], float32 or float64, ``D`` even.

    Returns:
        [B, T, D] in the dtype of ``table`` (a float32 table gives a float32 result).

    Raises:
        ValueError: if ``tokens`` is not an integer array with at least one axis and T >= 1, or holds
            an id outside ``0..V-1`` (names ``tokens``); if ``table`` is not 2-D with an even
            ``D >= 2`` (names ``table``).
    """
    raise NotImplementedError("ex08: table[tokens] * sqrt(D) + sinusoidal_encoding(T, D), table dtype")
