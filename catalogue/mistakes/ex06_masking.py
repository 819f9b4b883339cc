"""Realistic mistakes in exercise 06 (masks). Each replaces the reference function of its name."""

import numpy as np

from catalogue import mistake
from solutions.ex06_masking import causal_mask, padding_mask  # in scope in the reference module too


@mistake("causal_mask", "diagonal_excluded",
         "np.tril(..., k=-1) removes the diagonal, so no position may attend to itself: use k=0")
def causal_mask(T):
    return np.tril(np.ones((T, T), dtype=bool), k=-1)  # mistake: diagonal_excluded


@mistake("causal_mask", "one_step_into_the_future",
         "np.tril(..., k=1) lets each position see the next one: use k=0, the diagonal and below")
def causal_mask(T):
    return np.tril(np.ones((T, T), dtype=bool), k=1)  # mistake: one_step_into_the_future


@mistake("causal_mask", "upper_triangle",
         "np.triu keeps the future and hides the past: True means 'may attend', so use np.tril")
def causal_mask(T):
    return np.triu(np.ones((T, T), dtype=bool))  # mistake: upper_triangle


@mistake("causal_mask", "float_mask",
         "your mask holds 0.0 and 1.0: masks are boolean, build them with dtype=bool")
def causal_mask(T):
    if T < 1:  # mistake: float_mask
        raise ValueError("T must be positive")
    return np.tril(np.ones((T, T)))


@mistake("padding_mask", "no_query_axis",
         "your padding mask has shape [B, T]: add the query axis, (tokens != pad_id)[:, None, :] "
         "is [B, 1, T]")
def padding_mask(tokens, pad_id):
    return tokens != pad_id  # mistake: no_query_axis


@mistake("padding_mask", "query_axis_last",
         "your padding mask has shape [B, T, 1], which masks queries instead of keys: use "
         "(tokens != pad_id)[:, None, :], shape [B, 1, T]")
def padding_mask(tokens, pad_id):
    return (tokens != pad_id)[:, :, None]  # mistake: query_axis_last


@mistake("padding_mask", "true_on_padding",
         "your mask is True on the padding: True means 'may attend', so use tokens != pad_id")
def padding_mask(tokens, pad_id):
    if tokens.ndim != 2:
        raise ValueError("tokens must be 2-D")
    return (tokens == pad_id)[:, None, :]  # mistake: true_on_padding


@mistake("padding_mask", "pad_id_assumed_zero",
         "you compare the tokens with 0 instead of the pad_id argument")
def padding_mask(tokens, pad_id):
    if tokens.ndim != 2:
        raise ValueError("tokens must be 2-D")
    return (tokens != 0)[:, None, :]  # mistake: pad_id_assumed_zero


@mistake("decoder_self_mask", "or_instead_of_and",
         "you combine the masks with | (or): a key must be allowed by both, so use & (and)")
def decoder_self_mask(tokens, pad_id):
    return causal_mask(tokens.shape[1]) | padding_mask(tokens, pad_id)  # mistake: or_instead_of_and


@mistake("decoder_self_mask", "padding_on_queries",
         "you mask padding QUERIES (rows) instead of padding KEYS (columns): the padding mask is "
         "[B, 1, T] and broadcasts over the query rows")
def decoder_self_mask(tokens, pad_id):
    if tokens.ndim != 2:
        raise ValueError("tokens must be 2-D")
    return causal_mask(tokens.shape[1]) & (tokens != pad_id)[:, :, None]  # mistake: padding_on_queries


@mistake("decoder_self_mask", "causal_only",
         "you forgot the padding: the decoder's self-attention must hide padding keys too, "
         "causal_mask(T) & padding_mask(tokens, pad_id)")
def decoder_self_mask(tokens, pad_id):
    if tokens.ndim != 2:
        raise ValueError("tokens must be 2-D")
    B, T = tokens.shape  # mistake: causal_only
    return np.broadcast_to(causal_mask(T), (B, T, T)).copy()

# Written blind, from the docstrings alone, by a helper who never read the tests (issue 17);
# the entries that repeated a mistake above exactly were left out.


@mistake("causal_mask", "blind_causal_without_diagonal",
         "your causal mask hides the diagonal: position i may attend to itself, np.tril(..., k=0)")
def causal_mask(T):
    if not isinstance(T, int | np.integer) or T < 1:
        raise ValueError(f"T must be a positive integer, got {T!r}")
    return np.tril(np.ones((T, T), dtype=bool), k=-1)  # mistake: blind_causal_without_diagonal


@mistake("causal_mask", "blind_causal_upper_triangle",
         "your mask is True above the diagonal (the future): causal[i, j] = (j <= i) is True on and below "
         "it (the past)")
def causal_mask(T):
    if not isinstance(T, int | np.integer) or T < 1:
        raise ValueError(f"T must be a positive integer, got {T!r}")
    return np.triu(np.ones((T, T), dtype=bool))  # mistake: blind_causal_upper_triangle


@mistake("causal_mask", "blind_causal_zero_length_accepted",
         "you accept T = 0: T must be at least 1, raise ValueError for 0 as for negative T")
def causal_mask(T):
    if not isinstance(T, int | np.integer) or T < 0:  # mistake: blind_causal_zero_length_accepted
        raise ValueError(f"T must be a non-negative integer, got {T!r}")
    return np.tril(np.ones((T, T), dtype=bool))


@mistake("causal_mask", "blind_causal_int_mask",
         "your mask is not boolean (np.tril of ones keeps their integer or float dtype): pass dtype=bool")
def causal_mask(T):
    if not isinstance(T, int | np.integer) or T < 1:
        raise ValueError(f"T must be a positive integer, got {T!r}")
    return np.tril(np.ones((T, T), dtype=np.int64))  # mistake: blind_causal_int_mask


@mistake("padding_mask", "blind_padding_no_query_axis",
         "your padding mask is [B, T]: keep a length-1 query axis, [B, 1, T], so it broadcasts over every "
         "query")
def padding_mask(tokens, pad_id):
    tokens = np.asarray(tokens)
    if tokens.ndim != 2:
        raise ValueError(f"tokens must have shape [B, T], got {tokens.shape}")
    return tokens != pad_id  # mistake: blind_padding_no_query_axis


@mistake("padding_mask", "blind_padding_inverted",
         "your padding mask is True at the padding: True means 'may attend', so it is True where the token "
         "is NOT pad_id")
def padding_mask(tokens, pad_id):
    tokens = np.asarray(tokens)
    if tokens.ndim != 2:
        raise ValueError(f"tokens must have shape [B, T], got {tokens.shape}")
    return (tokens == pad_id)[:, None, :]  # mistake: blind_padding_inverted


@mistake("padding_mask", "blind_padding_axis_at_the_end",
         "your padding mask is [B, T, 1], which masks query rows instead of keys: the new axis goes in the "
         "middle, [B, 1, T]")
def padding_mask(tokens, pad_id):
    tokens = np.asarray(tokens)
    if tokens.ndim != 2:
        raise ValueError(f"tokens must have shape [B, T], got {tokens.shape}")
    return (tokens != pad_id)[:, :, None]  # mistake: blind_padding_axis_at_the_end


@mistake("padding_mask", "blind_padding_hardcoded_zero",
         "you compare the tokens with 0: compare them with the pad_id argument")
def padding_mask(tokens, pad_id):
    tokens = np.asarray(tokens)
    if tokens.ndim != 2:
        raise ValueError(f"tokens must have shape [B, T], got {tokens.shape}")
    return (tokens != 0)[:, None, :]  # mistake: blind_padding_hardcoded_zero


@mistake("decoder_self_mask", "blind_decoder_mask_or",
         "you combine the masks with OR: a key must be in the past AND not padding, combine them with "
         "logical AND")
def decoder_self_mask(tokens, pad_id):
    tokens = np.asarray(tokens)
    if tokens.ndim != 2:
        raise ValueError(f"tokens must have shape [B, T], got {tokens.shape}")
    T = tokens.shape[1]
    return causal_mask(T) | padding_mask(tokens, pad_id)  # mistake: blind_decoder_mask_or


@mistake("decoder_self_mask", "blind_decoder_mask_hides_padding_queries",
         "you hide padding query rows as well: only padding KEYS are hidden, a padding query still sees the "
         "real past")
def decoder_self_mask(tokens, pad_id):
    tokens = np.asarray(tokens)
    if tokens.ndim != 2:
        raise ValueError(f"tokens must have shape [B, T], got {tokens.shape}")
    T = tokens.shape[1]
    real = tokens != pad_id
    # mistake: blind_decoder_mask_hides_padding_queries
    return causal_mask(T) & real[:, None, :] & real[:, :, None]


@mistake("decoder_self_mask", "blind_decoder_mask_causal_only",
         "your decoder self-mask is causal only: it is causal AND padding, combine it with "
         "padding_mask(tokens, pad_id)")
def decoder_self_mask(tokens, pad_id):
    tokens = np.asarray(tokens)
    if tokens.ndim != 2:
        raise ValueError(f"tokens must have shape [B, T], got {tokens.shape}")
    B, T = tokens.shape
    return np.broadcast_to(causal_mask(T), (B, T, T)).copy()  # mistake: blind_decoder_mask_causal_only
