"""Correct implementations of exercise 08 written differently from the reference."""

import numpy as np

from catalogue import alternative


@alternative("sinusoidal_encoding", "exp_log_where")
def sinusoidal_encoding(T, D):
    if T < 1:
        raise ValueError(f"T must be positive, got {T}")
    if D < 2 or D % 2:
        raise ValueError(f"D must be even and >= 2, got {D}")
    j = np.arange(D)
    w = np.exp(-(2 * (j // 2)) * np.log(10000.0) / D)  # one frequency per column, shared by pairs
    angle = np.arange(T)[:, None] * w[None, :]
    return np.where(j % 2 == 0, np.sin(angle), np.cos(angle))


@alternative("sinusoidal_encoding", "stack_and_reshape")
def sinusoidal_encoding(T, D):
    if T < 1 or D < 2 or D % 2:
        raise ValueError(f"need T >= 1 and an even D >= 2, got T={T}, D={D}")
    angle = np.outer(np.arange(T), np.power(10000.0, -np.arange(0, D, 2) / D))
    return np.stack([np.sin(angle), np.cos(angle)], axis=-1).reshape(T, D)


@alternative("embed", "take_then_cast")
def embed(tokens, table):
    if table.ndim != 2 or table.shape[1] % 2:
        raise ValueError("table must be [V, D] with an even D")
    V, D = table.shape
    if tokens.ndim < 1 or tokens.shape[-1] < 1 or not np.issubdtype(tokens.dtype, np.integer):
        raise ValueError("tokens must be integer ids [..., T] with T >= 1")
    if np.any((tokens < 0) | (tokens >= V)):
        raise ValueError(f"tokens must be in [0, {V})")
    rows = np.take(table, tokens, axis=0)
    PE = sinusoidal_encoding(tokens.shape[-1], D)
    return (rows * np.sqrt(D) + PE).astype(table.dtype)
