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

# Written blind, from the docstrings alone, by a helper who never read the tests (issue 17);
# the entries that repeated a mistake above exactly were left out.


@mistake("sinusoidal_encoding", "blind_pe_exponent_uses_i",
         "your exponent is i/D: it is 2i/D with 2i the even column index, w_i = 1 / 10000^(2i/D)")
def sinusoidal_encoding(T, D):
    if T < 1:
        raise ValueError(f"T={T} must be at least 1")
    if D < 2 or D % 2 != 0:
        raise ValueError(f"D={D} must be even and at least 2")
    pos = np.arange(T, dtype=np.float64)[:, None]
    i = np.arange(D // 2, dtype=np.float64)
    w = 1.0 / 10000.0 ** (i / D)  # mistake: blind_pe_exponent_uses_i
    PE = np.empty((T, D))
    PE[:, 0::2] = np.sin(pos * w)
    PE[:, 1::2] = np.cos(pos * w)
    return PE


@mistake("sinusoidal_encoding", "blind_pe_sin_cos_swapped",
         "you put the cosine in the even columns and the sine in the odd ones: even columns hold the sine, "
         "odd ones the cosine")
def sinusoidal_encoding(T, D):
    if T < 1:
        raise ValueError(f"T={T} must be at least 1")
    if D < 2 or D % 2 != 0:
        raise ValueError(f"D={D} must be even and at least 2")
    pos = np.arange(T, dtype=np.float64)[:, None]
    w = 1.0 / 10000.0 ** (np.arange(0, D, 2) / D)
    PE = np.empty((T, D))
    PE[:, 0::2] = np.cos(pos * w)  # mistake: blind_pe_sin_cos_swapped
    PE[:, 1::2] = np.sin(pos * w)  # mistake: blind_pe_sin_cos_swapped
    return PE


@mistake("sinusoidal_encoding", "blind_pe_positions_from_one",
         "your positions start at 1: the first row is position 0 (sin 0 = 0, cos 0 = 1)")
def sinusoidal_encoding(T, D):
    if T < 1:
        raise ValueError(f"T={T} must be at least 1")
    if D < 2 or D % 2 != 0:
        raise ValueError(f"D={D} must be even and at least 2")
    pos = np.arange(1, T + 1, dtype=np.float64)[:, None]  # mistake: blind_pe_positions_from_one
    w = 1.0 / 10000.0 ** (np.arange(0, D, 2) / D)
    PE = np.empty((T, D))
    PE[:, 0::2] = np.sin(pos * w)
    PE[:, 1::2] = np.cos(pos * w)
    return PE


@mistake("sinusoidal_encoding", "blind_pe_halves_not_interleaved",
         "you put the sines in the first half and the cosines in the second: they are interleaved, columns "
         "2i and 2i+1")
def sinusoidal_encoding(T, D):
    if T < 1:
        raise ValueError(f"T={T} must be at least 1")
    if D < 2 or D % 2 != 0:
        raise ValueError(f"D={D} must be even and at least 2")
    pos = np.arange(T, dtype=np.float64)[:, None]
    w = 1.0 / 10000.0 ** (np.arange(0, D, 2) / D)
    # mistake: blind_pe_halves_not_interleaved
    return np.concatenate([np.sin(pos * w), np.cos(pos * w)], axis=1)


@mistake("sinusoidal_encoding", "blind_pe_frequency_per_column",
         "you give each column j its own frequency 10000^(j/D): columns 2i and 2i+1 share one, built from "
         "the even index 2i")
def sinusoidal_encoding(T, D):
    if T < 1:
        raise ValueError(f"T={T} must be at least 1")
    if D < 2 or D % 2 != 0:
        raise ValueError(f"D={D} must be even and at least 2")
    pos = np.arange(T, dtype=np.float64)[:, None]
    j = np.arange(D, dtype=np.float64)
    angle = pos / 10000.0 ** (j / D)  # mistake: blind_pe_frequency_per_column
    PE = np.where(j % 2 == 0, np.sin(angle), np.cos(angle))
    return PE


@mistake("sinusoidal_encoding", "blind_pe_zero_width_accepted",
         "you accept D = 0 and return an empty encoding: D must be even AND at least 2, raise ValueError "
         "otherwise")
def sinusoidal_encoding(T, D):
    if T < 1:
        raise ValueError(f"T={T} must be at least 1")
    if D % 2 != 0:  # mistake: blind_pe_zero_width_accepted
        raise ValueError(f"D={D} must be even")
    pos = np.arange(T, dtype=np.float64)[:, None]
    w = 1.0 / 10000.0 ** (np.arange(0, D, 2) / D)
    PE = np.empty((T, D))
    PE[:, 0::2] = np.sin(pos * w)
    PE[:, 1::2] = np.cos(pos * w)
    return PE


@mistake("embed", "blind_embed_no_sqrt_scale",
         "you add the encoding to the looked-up rows without scaling them: multiply them by sqrt(D) first")
def embed(tokens, table):
    tokens = np.asarray(tokens)
    if table.ndim != 2 or table.shape[1] < 2 or table.shape[1] % 2 != 0:
        raise ValueError(f"table must have shape [V, D] with D even, got {table.shape}")
    V, D = table.shape
    if tokens.ndim < 1 or tokens.shape[-1] < 1 or tokens.dtype.kind not in "iu":
        raise ValueError("tokens must be integer ids [B, T]")
    if tokens.min() < 0 or tokens.max() >= V:
        raise ValueError(f"tokens must lie in 0..{V - 1}")
    T = tokens.shape[-1]
    return table[tokens] + sinusoidal_encoding(T, D).astype(table.dtype)  # mistake: blind_embed_no_sqrt_scale


@mistake("embed", "blind_embed_pe_not_cast",
         "sinusoidal_encoding is float64, so a float32 table gives a float64 result: cast the encoding to "
         "the table's dtype")
def embed(tokens, table):
    tokens = np.asarray(tokens)
    if table.ndim != 2 or table.shape[1] < 2 or table.shape[1] % 2 != 0:
        raise ValueError(f"table must have shape [V, D] with D even, got {table.shape}")
    V, D = table.shape
    if tokens.ndim < 1 or tokens.shape[-1] < 1 or tokens.dtype.kind not in "iu":
        raise ValueError("tokens must be integer ids [B, T]")
    if tokens.min() < 0 or tokens.max() >= V:
        raise ValueError(f"tokens must lie in 0..{V - 1}")
    T = tokens.shape[-1]
    return table[tokens] * D ** 0.5 + sinusoidal_encoding(T, D)  # mistake: blind_embed_pe_not_cast


@mistake("embed", "blind_embed_negative_ids_unchecked",
         "numpy reads table[-1] for a negative id: check 0 <= tokens < V yourself and raise ValueError")
def embed(tokens, table):
    tokens = np.asarray(tokens)
    if table.ndim != 2 or table.shape[1] < 2 or table.shape[1] % 2 != 0:
        raise ValueError(f"table must have shape [V, D] with D even, got {table.shape}")
    V, D = table.shape
    if tokens.ndim < 1 or tokens.shape[-1] < 1 or tokens.dtype.kind not in "iu":
        raise ValueError("tokens must be integer ids [B, T]")
    if tokens.max() >= V:  # mistake: blind_embed_negative_ids_unchecked
        raise ValueError(f"tokens must lie in 0..{V - 1}")
    T = tokens.shape[-1]
    return table[tokens] * D ** 0.5 + sinusoidal_encoding(T, D).astype(table.dtype)


@mistake("embed", "blind_embed_length_from_first_axis",
         "you take T from tokens.shape[0], the batch size: T is the LAST axis of tokens [B, T]")
def embed(tokens, table):
    tokens = np.asarray(tokens)
    if table.ndim != 2 or table.shape[1] < 2 or table.shape[1] % 2 != 0:
        raise ValueError(f"table must have shape [V, D] with D even, got {table.shape}")
    V, D = table.shape
    if tokens.ndim < 1 or tokens.shape[-1] < 1 or tokens.dtype.kind not in "iu":
        raise ValueError("tokens must be integer ids [B, T]")
    if tokens.min() < 0 or tokens.max() >= V:
        raise ValueError(f"tokens must lie in 0..{V - 1}")
    T = tokens.shape[0]  # mistake: blind_embed_length_from_first_axis
    return table[tokens] * D ** 0.5 + sinusoidal_encoding(T, D).astype(table.dtype)
