"""Tests of exercise 06: causal_mask, padding_mask and decoder_self_mask.

Each test's docstring says, in one line, the property it checks; the grader shows it to the
learner when the test fails, with the counterexample and the hint below it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course.i18n import message
from tests.support import strategies as S
from tests.support import target
from tests.support.checks import as_array, assert_equal, raises_value_error
from tests.support.pictures import picture

ex06 = target.module("ex06_masking")
ref06 = target.reference("ex06_masking")

pad_ids = st.sampled_from([0, 3])


@st.composite
def tokens_and_pad(draw, min_len: int = 1):
    """``(tokens, pad_id)``: rows of real tokens followed by padding, lengths differing by row."""
    pad_id = draw(pad_ids)
    return draw(S.token_batches(min_len=min_len, max_batch=4, vocab=6, pad_id=pad_id)), pad_id


def causal(T):
    """The causal mask of the target, checked for type, shape and dtype."""
    return as_array(ex06.causal_mask(T), f"causal_mask({T})", (T, T), np.bool_)


def padding(tokens, pad_id):
    B, T = tokens.shape
    return as_array(ex06.padding_mask(tokens, pad_id), "padding_mask(tokens)", (B, 1, T), np.bool_)


def decoder(tokens, pad_id):
    B, T = tokens.shape
    return as_array(ex06.decoder_self_mask(tokens, pad_id), "decoder_self_mask(tokens)", (B, T, T), np.bool_)


# ---------------------------------------------------------------------------------------------
# causal_mask
# ---------------------------------------------------------------------------------------------

def test_causal_mask_of_three_by_hand():
    """causal_mask(3) is [[T, F, F], [T, T, F], [T, T, T]]: a boolean lower triangle.

    Hint: np.tril(np.ones((T, T), dtype=bool)); a mask is boolean, not 0.0 and 1.0.
    """
    expected = np.array([[True, False, False], [True, True, False], [True, True, True]])
    got = causal(3)
    with picture("causal_mask(3)", got, expected):
        assert_equal(got, expected, "causal_mask(3)")


@given(st.integers(1, 12))
def test_causal_mask_exact_values(T):
    """causal_mask(T)[i, j] is True exactly when j <= i: each position sees itself and its past.

    Hint: True on and below the diagonal (j <= i), the diagonal included; a strictly lower or upper triangle
    is wrong.
    """
    i, j = np.indices((T, T))
    got = causal(T)
    with picture(f"causal_mask({T})", got, j <= i):
        assert_equal(got, j <= i, f"causal_mask({T})")


@given(st.integers(1, 12))
def test_causal_mask_includes_the_diagonal(T):
    """Every position may attend to itself: the diagonal of causal_mask(T) is all True.

    Hint: np.tril's default k=0 keeps the diagonal; k=-1 removes it.
    """
    got = causal(T)
    with picture(f"causal_mask({T})", got, np.tri(T, dtype=bool)):
        assert_equal(np.diagonal(got), np.ones(T, dtype=bool), message("diagonal of causal_mask({T})", T=T))


@given(st.integers(2, 12))
def test_causal_mask_hides_the_future(T):
    """No position may attend to a later one: everything above the diagonal is False.

    Hint: True means 'may attend'; the lower triangle (np.tril), not the upper (np.triu).
    """
    m = causal(T)
    above = np.triu(np.ones((T, T), dtype=bool), k=1)
    with picture(f"causal_mask({T})", m, ~above):
        assert_equal(m[above], np.zeros(int(above.sum()), dtype=bool),
                     message("entries above the diagonal of causal_mask({T})", T=T))


def test_causal_mask_of_one():
    """causal_mask(1) is [[True]]: one position that sees itself.

    Hint: causal_mask(1) is a bool [1, 1] array holding True: a position always sees itself.
    """
    assert_equal(causal(1), np.array([[True]]), "causal_mask(1)")


@pytest.mark.parametrize("T", [-1, -3, 0])
def test_causal_mask_rejects_a_negative_length(T):
    """A length that is not a positive integer (negative or 0) raises ValueError, ideally naming T.

    Hint: check that T is an integer >= 1 before building the mask, and raise ValueError naming T.
    """
    with raises_value_error("T"):
        ex06.causal_mask(T)


# ---------------------------------------------------------------------------------------------
# padding_mask
# ---------------------------------------------------------------------------------------------

def test_padding_mask_by_hand():
    """Two sentences of lengths 3 and 1 padded with 0 to length 4 give [B, 1, T] = [2, 1, 4].

    Hint: (tokens != pad_id)[:, None, :] keeps a query axis of size 1 that broadcasts over the queries.
    """
    tokens = np.array([[5, 3, 4, 0], [2, 0, 0, 0]])
    expected = np.array([[[True, True, True, False]], [[True, False, False, False]]])
    assert_equal(padding(tokens, 0), expected, "padding_mask([[5, 3, 4, 0], [2, 0, 0, 0]], pad_id=0)")


@given(tokens_and_pad())
def test_padding_mask_from_token_batches(case):
    """padding_mask(tokens, pad_id)[b, 0, j] is True exactly when tokens[b, j] != pad_id.

    Hint: compare with the pad_id argument, not with 0: the padding id can be any token.
    """
    tokens, pad_id = case
    got = padding(tokens, pad_id)
    with picture(f"padding_mask(tokens, pad_id={pad_id})[:, 0]", got[:, 0], tokens != pad_id,
                 rows="sequences", columns="keys"):
        assert_equal(got, (tokens != pad_id)[:, None, :], f"padding_mask(tokens, pad_id={pad_id})")


@st.composite
def tokens_padded_anywhere(draw):
    """``(tokens, pad_id)``: ids in 0..5 where pad_id can stand anywhere, before real tokens too."""
    pad_id = draw(pad_ids)
    g = S.rng(draw(S.seeds))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 6)))
    return np.where(g.random(shape) < 0.4, pad_id, g.integers(0, 6, shape)).astype(np.int64), pad_id


@given(tokens_padded_anywhere())
def test_padding_mask_wherever_the_padding_sits(case):
    """padding_mask hides every key whose id is pad_id, wherever it sits in the row (not only at its end).

    Hint: compare every token with pad_id (tokens != pad_id) rather than using the lengths of the rows.
    """
    tokens, pad_id = case
    assert_equal(padding(tokens, pad_id), (tokens != pad_id)[:, None, :],
                 f"padding_mask(tokens, pad_id={pad_id})")


def test_padding_mask_uses_pad_id():
    """With pad_id = 3 the token 0 is a real token and 3 is the padding.

    Hint: compare with the pad_id argument, not with 0: the padding is whatever id pad_id gives.
    """
    tokens = np.array([[0, 1, 3], [0, 3, 3]])
    expected = np.array([[[True, True, False]], [[True, False, False]]])
    assert_equal(padding(tokens, 3), expected, "padding_mask([[0, 1, 3], [0, 3, 3]], pad_id=3)")


@given(tokens_and_pad(), st.integers(1, 3), st.integers(1, 5))
def test_padding_mask_broadcasts_over_heads_and_queries(case, H, T_q):
    """padding_mask(tokens)[:, None] broadcasts over [B, H, T_q, T]: every head and query sees the real keys.

    Hint: the result has shape [B, 1, T]: the 1 is the query axis.
    """
    tokens, pad_id = case
    B, T = tokens.shape
    m = padding(tokens, pad_id)
    full = np.broadcast_to(m[:, None], (B, H, T_q, T))
    expected = np.broadcast_to((tokens != pad_id)[:, None, None, :], (B, H, T_q, T))
    assert_equal(full, expected, message("padding_mask(tokens)[:, None] broadcast to [B, H, T_q, T] = "
                                         "{shape}", shape=full.shape))


def test_padding_mask_rejects_one_dimensional_tokens():
    """tokens must be a batch [B, T]: a 1-D array raises ValueError, ideally naming tokens.

    Hint: check tokens.ndim == 2 before building the mask, and raise ValueError naming tokens.
    """
    with raises_value_error("tokens"):
        ex06.padding_mask(np.array([4, 5, 0]), 0)


# ---------------------------------------------------------------------------------------------
# decoder_self_mask
# ---------------------------------------------------------------------------------------------

def test_decoder_self_mask_by_hand():
    """Lengths 3 and 2 padded to 3: position i sees the real tokens at 0..i, never padding or the future.

    Hint: causal_mask(T) & padding_mask(tokens, pad_id): both must allow a key (logical and).
    """
    tokens = np.array([[4, 5, 6], [7, 8, 0]])
    expected = np.array([
        [[True, False, False], [True, True, False], [True, True, True]],
        [[True, False, False], [True, True, False], [True, True, False]],
    ])
    assert_equal(decoder(tokens, 0), expected, "decoder_self_mask([[4, 5, 6], [7, 8, 0]], pad_id=0)")


@given(tokens_and_pad())
def test_decoder_self_mask_exact_values(case):
    """decoder_self_mask[b, i, j] is True exactly when j <= i and tokens[b, j] != pad_id.

    Hint: combine the causal mask [T, T] and the padding mask [B, 1, T] with a logical AND; the padding hides
    key columns j, not query rows i.
    """
    tokens, pad_id = case
    T = tokens.shape[1]
    i, j = np.indices((T, T))
    expected = (j <= i)[None] & (tokens != pad_id)[:, None, :]
    got = decoder(tokens, pad_id)
    with picture(f"decoder_self_mask(tokens, pad_id={pad_id})", got, expected):
        assert_equal(got, expected, f"decoder_self_mask(tokens, pad_id={pad_id})")


@given(tokens_padded_anywhere())
def test_decoder_self_mask_wherever_the_padding_sits(case):
    """decoder_self_mask[b, i, j] is j <= i and tokens[b, j] != pad_id, wherever the padding sits.

    Hint: hide key j when tokens[b, j] == pad_id, wherever it sits, and AND it with j <= i; the padding is
    along the key axis, the last one.
    """
    tokens, pad_id = case
    i, j = np.indices((tokens.shape[1],) * 2)
    assert_equal(decoder(tokens, pad_id), (j <= i)[None] & (tokens != pad_id)[:, None, :],
                 f"decoder_self_mask(tokens, pad_id={pad_id})")


@given(tokens_and_pad())
def test_decoder_self_mask_is_within_both_masks(case):
    """decoder_self_mask allows a key only if both the causal mask and the padding mask allow it.

    Hint: combine with & (and), not | (or).
    """
    tokens, pad_id = case
    T = tokens.shape[1]
    m = decoder(tokens, pad_id)
    i, j = np.indices((T, T))
    future = np.broadcast_to(j > i, m.shape)
    pads = np.broadcast_to((tokens == pad_id)[:, None, :], m.shape)
    with picture(f"decoder_self_mask(tokens, pad_id={pad_id})", m, ~future & ~pads):
        assert_equal(m[future], np.zeros(int(future.sum()), dtype=bool), message("entries of future keys"))
        assert_equal(m[pads], np.zeros(int(pads.sum()), dtype=bool), message("entries of padding keys"))


@given(tokens_and_pad())
def test_padding_queries_still_see_the_real_past(case):
    """The mask hides padding KEYS only: a query at a padding position still sees the real tokens before it.

    Hint: the padding mask [B, 1, T] runs along the keys (the last axis), not along the queries.
    """
    tokens, pad_id = case
    m = decoder(tokens, pad_id)
    first = tokens[:, 0] != pad_id  # rows whose first token is real
    assert_equal(m[:, :, 0], np.broadcast_to(first[:, None], m.shape[:2]),
                 message("column 0 (every query may attend the first token when it is real)"))


def test_decoder_self_mask_rejects_one_dimensional_tokens():
    """tokens must be a batch [B, T]: a 1-D array raises ValueError, ideally naming tokens.

    Hint: check tokens.ndim == 2 before building the mask, and raise ValueError naming tokens.
    """
    with raises_value_error("tokens"):
        ex06.decoder_self_mask(np.array([4, 5, 0]), 0)


# ---------------------------------------------------------------------------------------------
# For the grader: fixed inputs that tell the catalogued mistakes apart
# ---------------------------------------------------------------------------------------------

def diagnostic_cases() -> dict[str, list[tuple]]:
    """Positional arguments, from fixed seeds, on which every catalogued mistake differs."""
    g = np.random.default_rng(6)
    tokens = S.lengths_to_tokens([5, 3, 1], 5, 7, 0, g)  # B=3, different padding
    tokens3 = S.lengths_to_tokens([2, 4], 4, 6, 3, g)  # pad_id=3, so 0 is a real token
    tokens3[:, 0] = 0
    return {
        "causal_mask": [(4,), (1,)],
        "padding_mask": [(tokens, 0), (tokens3, 3)],
        "decoder_self_mask": [(tokens, 0), (tokens3, 3)],
    }
