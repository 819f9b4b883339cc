"""Central finite differences: check a hand-written gradient against the definition of a derivative.

    df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)            error O(eps^2)

To check a backward function, turn the forward function into a scalar with a fixed random
``grad_out`` (the gradient of ``sum(forward(x) * grad_out)`` with respect to the output is exactly
``grad_out``):

    g = rng.standard_normal(y.shape)
    numeric = numerical_gradient(lambda x: (layer_norm(x, p) * g).sum(), x)
    analytic, _ = layer_norm_backward(g, x, p)
    relative_error(analytic, numeric)      # about 1e-9 in float64 when the backward is right

Work in float64: in float32 the differences cancel and the estimate is noise.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["numerical_gradient", "relative_error"]


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """The central-difference gradient of the scalar function ``f`` at ``x`` (float64, shaped like ``x``).

    ``f`` is called twice per element of ``x`` on float64 copies; ``x`` itself is not changed.
    """
    x = np.array(x, dtype=np.float64)  # a copy: the nudges below never reach the caller's array
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        f_plus = float(f(x))
        x[i] = old - eps
        f_minus = float(f(x))
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``max |a - b| / max(max |a|, max |b|)``: 0 for equal arrays, about 1 for unrelated ones.

    Measured against the largest entry, so entries that are nearly zero do not blow the ratio up;
    two arrays whose entries are all below 1e-8 count as equal (a gradient that is exactly 0 in theory,
    like that of the key bias ``b_k``, comes out as rounding noise).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    scale = max(np.abs(a).max(), np.abs(b).max(), 1e-8)
    return float(np.abs(a - b).max() / scale)
