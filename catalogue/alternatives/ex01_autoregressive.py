"""Correct implementations of exercise 01 written differently from the reference."""

import numpy as np

from catalogue import alternative


@alternative("lag_matrix", "column_per_lag")
def lag_matrix(y, p):
    if not isinstance(p, int | np.integer) or p < 1:
        raise ValueError(f"p must be a positive integer, got {p}")
    y = np.asarray(y)
    if y.ndim != 1 or y.size <= p:
        raise ValueError(f"y must be 1-D with more than p={p} values")
    n = y.size
    X = np.empty((n - p, p), dtype=y.dtype)
    for k in range(1, p + 1):
        X[:, k - 1] = y[p - k: n - k]
    return X, y[p:].copy()


@alternative("fit_ar", "normal_equations")
def fit_ar(y, p):
    X, target = lag_matrix(y, p)
    if X.shape[0] < p + 1:
        raise ValueError("y is too short: need at least 2p + 1 values")
    A = np.hstack([np.ones((X.shape[0], 1)), X.astype(np.float64)])
    coef = np.linalg.solve(A.T @ A, A.T @ target.astype(np.float64))
    return float(coef[0]), coef[1:].astype(np.result_type(X.dtype, np.float32))


@alternative("predict_next", "explicit_sum")
def predict_next(history, c, phi):
    if np.ndim(phi) != 1 or len(phi) == 0:
        raise ValueError("phi must be a non-empty 1-D array")
    if np.ndim(history) != 1 or len(history) < len(phi):
        raise ValueError("history needs at least p values")
    total = float(c)
    for k in range(len(phi)):
        total += float(phi[k]) * float(history[-1 - k])
    return total


@alternative("forecast", "growing_buffer")
def forecast(history, c, phi, steps):
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if np.ndim(phi) != 1 or len(phi) == 0:
        raise ValueError("phi must be a non-empty 1-D array")
    p = len(phi)
    if np.ndim(history) != 1 or len(history) < p:
        raise ValueError("history needs at least p values")
    dtype = np.result_type(history, phi, np.float32)
    buffer = np.concatenate([np.asarray(history[-p:], dtype=np.float64), np.zeros(steps)])
    coef = np.asarray(phi, dtype=np.float64)[::-1]
    for s in range(steps):
        buffer[p + s] = c + coef @ buffer[s: s + p]
    return buffer[p:].astype(dtype)


@alternative("simulate_ar", "normal_draws_list")
def simulate_ar(c, phi, n, rng, noise_std=1.0, burn_in=100):
    if n < 0:
        raise ValueError("n must be >= 0")
    if burn_in < 0:
        raise ValueError("burn_in must be >= 0")
    if noise_std < 0:
        raise ValueError("noise_std must be >= 0")
    phi = [float(f) for f in phi]
    noise = rng.normal(0.0, noise_std, size=burn_in + n)
    y = []
    for t in range(burn_in + n):
        lags = sum(f * y[t - 1 - k] for k, f in enumerate(phi) if t - 1 - k >= 0)
        y.append(c + lags + noise[t])
    return np.array(y[burn_in:], dtype=np.float64)
