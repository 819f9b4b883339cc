"""Realistic mistakes in exercise 08 (positional encoding). Each replaces the reference function."""

import numpy as np

from catalogue import mistake


@mistake("sinusoidal_encoding", "sin_cos_swapped",
         "your even columns hold cos and your odd columns sin: "
         "PE[:, 0::2] = sin(angle), PE[:, 1::2] = cos(angle)")
def sinusoidal_encoding(T, D):
    if T < 1:
        raise ValueError(f"T={T} must be at least 1")
    if D < 2 or D % 2 != 0:
        raise ValueError(f"D={D} must be even")
    angle = np.arange(T)[:, None] / 10000.0 ** (np.arange(0, D, 2) / D)
    PE = np.empty((T, D))
    PE[:, 0::2] = np.cos(angle)  # mistake: sin_cos_swapped
    PE[:, 1::2] = np.sin(angle)
    return PE


@mistake("sinusoidal_encoding", "exponent_pair_index",
         "your exponent uses the pair index i instead of 2i, so the frequencies are too high: "
         "the angle is pos / 10000^(2i/D), with 2i the even column index (0, 2, 4, ...)")
def sinusoidal_encoding(T, D):
    if T < 1:
        raise ValueError(f"T={T} must be at least 1")
    if D < 2 or D % 2 != 0:
        raise ValueError(f"D={D} must be even")
    i = np.arange(D // 2)  # mistake: exponent_pair_index
    angle = np.arange(T)[:, None] / 10000.0 ** (i / D)
    PE = np.empty((T, D))
    PE[:, 0::2] = np.sin(angle)
    PE[:, 1::2] = np.cos(angle)
    return PE


@mistake("sinusoidal_encoding", "exponent_column_index",
         "each of your columns j has its own frequency 10000^(j/D): columns 2i and 2i+1 must share one, "
         "10000^(2i/D); compute the angle with the even index 2 * (j // 2)")
def sinusoidal_encoding(T, D):
    if T < 1:
        raise ValueError(f"T={T} must be at least 1")
    if D < 2 or D % 2 != 0:
        raise ValueError(f"D={D} must be even")
    j = np.arange(D)
    angle = np.arange(T)[:, None] / 10000.0 ** (j / D)  # mistake: exponent_column_index
    return np.where(j % 2 == 0, np.sin(angle), np.cos(angle))


@mistake("sinusoidal_encoding", "not_interleaved",
         "you put all the sines in the first half of the columns and the cosines in the second: "
         "interleave them, sin in the even columns 2i and cos in the odd columns 2i+1")
def sinusoidal_encoding(T, D):
    if T < 1:
        raise ValueError(f"T={T} must be at least 1")
    if D < 2 or D % 2 != 0:
        raise ValueError(f"D={D} must be even")
    angle = np.arange(T)[:, None] / 10000.0 ** (np.arange(0, D, 2) / D)
    return np.concatenate([np.sin(angle), np.cos(angle)], axis=-1)  # mistake: not_interleaved


@mistake("sinusoidal_encoding", "positions_from_one",
         "your positions start at 1: the first row is position 0 (sin 0 = 0, cos 0 = 1): use np.arange(T)")
def sinusoidal_encoding(T, D):
    if T < 1:
        raise ValueError(f"T={T} must be at least 1")
    if D < 2 or D % 2 != 0:
        raise ValueError(f"D={D} must be even")
    angle = np.arange(1, T + 1)[:, None] / 10000.0 ** (np.arange(0, D, 2) / D)  # mistake: positions_from_one
    PE = np.empty((T, D))
    PE[:, 0::2] = np.sin(angle)
    PE[:, 1::2] = np.cos(angle)
    return PE


@mistake("sinusoidal_encoding", "odd_D_accepted",
         "an odd D must raise ValueError naming D (sin and cos come in pairs); yours returns an array")
def sinusoidal_encoding(T, D):
    if T < 1:
        raise ValueError(f"T={T} must be at least 1")
    j = np.arange(D)
    angle = np.arange(T)[:, None] / 10000.0 ** (2 * (j // 2) / D)  # mistake: odd_D_accepted
    return np.where(j % 2 == 0, np.sin(angle), np.cos(angle))


@mistake("embed", "no_sqrt_scaling",
         "you add the encoding to the raw table rows: multiply table[tokens] by sqrt(D) first")
def embed(tokens, table):
    V, D = table.shape
    if tokens.min() < 0 or tokens.max() >= V:
        raise ValueError("tokens out of range")
    # mistake: no_sqrt_scaling
    return table[tokens] + sinusoidal_encoding(tokens.shape[-1], D).astype(table.dtype)


@mistake("embed", "divides_by_sqrt_D",
         "you divide the looked-up rows by sqrt(D): the paper multiplies them by sqrt(D)")
def embed(tokens, table):
    V, D = table.shape
    if tokens.min() < 0 or tokens.max() >= V:
        raise ValueError("tokens out of range")
    # mistake: divides_by_sqrt_D
    return table[tokens] / D**0.5 + sinusoidal_encoding(tokens.shape[-1], D).astype(table.dtype)


@mistake("embed", "scales_by_sqrt_V",
         "you scale by the square root of the vocabulary size table.shape[0]: the factor is sqrt(D), "
         "D = table.shape[1]")
def embed(tokens, table):
    V, D = table.shape
    if tokens.min() < 0 or tokens.max() >= V:
        raise ValueError("tokens out of range")
    # mistake: scales_by_sqrt_V
    return table[tokens] * V**0.5 + sinusoidal_encoding(tokens.shape[-1], D).astype(table.dtype)


@mistake("embed", "float64_result",
         "a float32 table gives a float64 result: the encoding is float64, cast it with "
         ".astype(table.dtype) before adding it")
def embed(tokens, table):
    V, D = table.shape
    if tokens.min() < 0 or tokens.max() >= V:
        raise ValueError("tokens out of range")
    return table[tokens] * D**0.5 + sinusoidal_encoding(tokens.shape[-1], D)  # mistake: float64_result


@mistake("embed", "negative_tokens_wrap",
         "a negative token id silently reads a row from the end of the table (table[-1]): "
         "check tokens.min() >= 0 as well as tokens.max() < V, and raise ValueError naming tokens")
def embed(tokens, table):
    V, D = table.shape
    if tokens.max() >= V:  # mistake: negative_tokens_wrap
        raise ValueError("tokens out of range")
    # mistake: negative_tokens_wrap
    return table[tokens] * D**0.5 + sinusoidal_encoding(tokens.shape[-1], D).astype(table.dtype)
