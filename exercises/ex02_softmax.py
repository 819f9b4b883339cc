"""Exercise 02: a numerically stable softmax.

Softmax turns a vector of scores into a probability distribution: every entry positive, all of
them summing to one, larger scores getting larger shares. Attention uses it to turn
query-key scores into weights.

    softmax(x)_i = exp(x_i) / sum_j exp(x_j)

``exp`` overflows for scores above about 709 (88 in float32), so compute it after subtracting the
maximum ``m``: the ratio is unchanged, because ``exp(x_i - m) / sum_j exp(x_j - m)`` multiplies top
and bottom by ``exp(-m)``, and now the largest exponent is ``exp(0) = 1``.

    log_softmax(x)_i = (x_i - m) - log(sum_j exp(x_j - m))

is the log of softmax computed without ever forming a probability that could underflow to 0.

Rules of every exercise (inputs never changed in place, the dtype kept, ValueError for a bad
argument, the allowed imports): docs/API.md.
"""

from __future__ import annotations

import numpy as np


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax of ``x`` along ``axis``.

    Args:
        x: scores of any shape, float32 or float64, every entry finite.
        axis: the axis that sums to one; the others are batch axes.

    Returns:
        An array of ``x``'s shape and dtype, non-negative, summing to 1 along ``axis``.

    Raises:
        ValueError: if ``axis`` is not an axis of ``x``.
    """
    raise NotImplementedError("ex02: subtract the max along `axis`, exponentiate, divide by the sum")


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Log of the softmax of ``x`` along ``axis``, finite wherever ``x`` is.

    Args:
        x: scores of any shape, float32 or float64, every entry finite.
        axis: the axis that is normalised.

    Returns:
        An array of ``x``'s shape and dtype whose ``exp`` sums to 1 along ``axis``.

    Raises:
        ValueError: if ``axis`` is not an axis of ``x``.
    """
    raise NotImplementedError("ex02: shift by the max, then subtract the log of the sum of exps")
