"""Exercise 04: self-attention, as the seed writes it.

In self-attention a sequence attends to itself: every token is a query that scores every token of
the same sequence (itself included) by a dot product, and its output is the softmax-weighted
average of all the tokens. "The seed" is the Korean blog series this course follows (docs/API.md).
It writes self-attention as softmax(X X^T) X: the token vectors themselves are the queries, keys
and values, and the scores are NOT divided by sqrt(d). Exercise 05 adds learned projections and
the 1/sqrt(d_k) factor of the paper; here, leave the scores unscaled.

    weights = softmax(X X^T)   (row-wise: row i is a distribution over the keys j)
    out = weights X

Rules of every exercise (inputs never changed in place, the dtype kept, ValueError for a bad
argument, the allowed imports): docs/API.md.
"""

from __future__ import annotations

import numpy as np

from .ex02_softmax import softmax


def self_attention(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unscaled dot-product self-attention of a sequence with itself.

        scores_ij = x_i . x_j,   weights_ij = exp(scores_ij) / sum_k exp(scores_ik),
        out_i = sum_j weights_ij x_j

    Args:
        X: the tokens, [..., T, d] (any leading batch dimensions), float32 or float64, finite.
            Scores grow like |x|^2, so use the stable softmax of exercise 02 (it never overflows).

    Returns:
        ``(out [..., T, d], weights [..., T, T])`` in ``X``'s dtype; ``weights[..., i, :]`` is the
        distribution of query i over the keys and sums to 1.

    Raises:
        ValueError: naming ``X`` if it has fewer than 2 dimensions.
    """
    if X.ndim < 2:
        raise ValueError(f"X must have shape [..., T, d], got {X.shape}")
    # scores = X X^T over the last two axes (X.T would also reverse the batch axes)
    scores = X @ np.swapaxes(X, -1, -2)  # (..., T, T)
    weights = softmax(scores, axis=-1)  # (..., T, T): each query row sums to 1
    # out = weights X
    out = weights @ X  # (..., T, d)
    return out, weights
