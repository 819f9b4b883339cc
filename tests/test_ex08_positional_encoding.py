"""Tests of exercise 08: the sinusoidal positional encoding and the token embedding.

Each test's docstring says, in one line, the property it checks; the grader shows it to the
learner when the test fails, with the counterexample and the hint below it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.i18n import message
from tests.support import strategies as S
from tests.support import target
from tests.support.checks import as_array, assert_close, assert_equal, assert_finite, raises_value_error
from tests.support.pictures import picture

ex08 = target.module("ex08_positional_encoding")
ref08 = target.reference("ex08_positional_encoding")

lengths = st.integers(1, 40)
widths = st.integers(1, 8).map(lambda half: 2 * half)  # even D from 2 to 16


def formula(T: int, D: int) -> np.ndarray:
    """The encoding written entry by entry, straight from the paper: an oracle for the tests."""
    PE = np.zeros((T, D))
    for pos in range(T):
        for i in range(D // 2):
            angle = pos / 10000 ** (2 * i / D)
            PE[pos, 2 * i] = math.sin(angle)
            PE[pos, 2 * i + 1] = math.cos(angle)
    return PE


def drawn(PE: np.ndarray, T: int, D: int):
    """Draw the encoding ``PE`` beside the formula's when a check in the block fails."""
    return picture(f"sinusoidal_encoding({T}, {D})", PE, lambda: formula(T, D), rows="positions",
                   columns="dimensions")


def rotation(k: int, D: int) -> np.ndarray:
    """``M_k`` [D, D] with ``PE[pos + k] = PE[pos] @ M_k``: one 2x2 rotation by ``k w_i`` per pair."""
    M = np.zeros((D, D))
    for i in range(D // 2):
        b = k / 10000 ** (2 * i / D)
        M[2 * i: 2 * i + 2, 2 * i: 2 * i + 2] = [[math.cos(b), -math.sin(b)], [math.sin(b), math.cos(b)]]
    return M


def embedding_table(seed: int, V: int, D: int, dtype: type) -> np.ndarray:
    """A table [V, D] like the model's: N(0, 1/D) entries."""
    return (S.rng(seed).standard_normal((V, D)) / np.sqrt(D)).astype(dtype)


@st.composite
def embed_cases(draw):
    """``(tokens [B, T], table [V, D])``: B >= 1, T >= 1, V != D, either float dtype."""
    tokens = draw(S.token_batches(max_batch=3, max_len=6, vocab=7))
    V = draw(st.integers(int(tokens.max()) + 1, 9))
    D = draw(widths)
    V = V + 1 if V == D else V  # V != D, so sqrt(V) cannot pass for sqrt(D)
    return tokens, embedding_table(draw(S.seeds), V, D, draw(S.float_dtypes))


# --- sinusoidal_encoding ---------------------------------------------------------------------------


@given(lengths, widths)
def test_encoding_shape_and_dtype(T, D):
    """sinusoidal_encoding(T, D) is a float64 array of shape [T, D].

    Hint: build the positions and frequencies as float64 arrays and return [T, D]: T rows of positions, D
    columns.
    """
    as_array(ex08.sinusoidal_encoding(T, D), f"sinusoidal_encoding({T}, {D})", (T, D), np.float64)


def test_encoding_first_position_is_zero_angle():
    """Position 0 has angle 0 in every column pair: sin columns are 0, cos columns are 1.

    Hint: positions start at 0: np.arange(T), not np.arange(1, T + 1).
    """
    PE = as_array(ex08.sinusoidal_encoding(3, 8), "sinusoidal_encoding(3, 8)", (3, 8), np.float64)
    with drawn(PE, 3, 8):
        assert_close(PE[0], np.array([0.0, 1.0] * 4),
                     message("row 0 (position 0) of sinusoidal_encoding(3, 8)"))


def test_encoding_exact_values_at_chosen_positions():
    """With D = 8 the frequencies are 1, 1/10, 1/100, 1/1000: the entries at positions 1, 2, 7, 50 are exact.

    Hint: column 2i holds sin(pos / 10000^(2i/D)) and column 2i+1 holds cos of the same angle.
    """
    PE = as_array(ex08.sinusoidal_encoding(51, 8), "sinusoidal_encoding(51, 8)", (51, 8), np.float64)
    for pos in (1, 2, 7, 50):
        expected = []
        for w in (1.0, 0.1, 0.01, 0.001):
            expected += [math.sin(pos * w), math.cos(pos * w)]
        assert_close(PE[pos], np.array(expected),
                     message("row {pos} of sinusoidal_encoding(51, 8)", pos=pos))


@given(lengths, widths)
def test_encoding_matches_the_formula(T, D):
    """Every entry equals sin or cos of pos / 10000^(2i/D), computed entry by entry.

    Hint: columns 2i and 2i+1 share the frequency 1 / 10000^(2i/D): even columns hold sines, odd columns
    cosines, and positions start at 0.
    """
    PE = as_array(ex08.sinusoidal_encoding(T, D), f"sinusoidal_encoding({T}, {D})", (T, D), np.float64)
    with drawn(PE, T, D):
        assert_close(PE, formula(T, D), f"sinusoidal_encoding({T}, {D})", rtol=1e-9, atol=1e-12)


@given(lengths, widths)
def test_encoding_interleaves_sin_and_cos(T, D):
    """Columns 2i and 2i+1 are the sin and cos of one angle: sin^2 + cos^2 = 1 for every pair.

    Hint: interleave: PE[:, 0::2] = sin, PE[:, 1::2] = cos (not sin in the first half, cos in the second).
    """
    PE = as_array(ex08.sinusoidal_encoding(T, D), f"sinusoidal_encoding({T}, {D})", (T, D), np.float64)
    norms = PE[:, 0::2] ** 2 + PE[:, 1::2] ** 2
    with drawn(PE, T, D):
        assert_close(norms, np.ones((T, D // 2)), message("PE[:, 2i]^2 + PE[:, 2i+1]^2 (should be 1)"))
        assert_equal(PE[0], np.tile([0.0, 1.0], D // 2),
                     message("PE[0] (sin 0 = 0 in even columns, cos 0 = 1 in odd)"))


@given(st.integers(1, 300), widths)
@settings(max_examples=15)
def test_encoding_is_bounded(T, D):
    """Every entry lies in [-1, 1] and is finite, even for long sequences.

    Hint: compute pos / 10000^(2i/D) in float64 and take sin and cos of it; do not add or scale the encoding.
    """
    PE = as_array(ex08.sinusoidal_encoding(T, D), f"sinusoidal_encoding({T}, {D})", (T, D), np.float64)
    assert_finite(PE, "sinusoidal_encoding")
    if not (np.abs(PE) <= 1.0).all():
        raise AssertionError(message("sinusoidal_encoding({T}, {D}) has entries outside [-1, 1]", T=T, D=D))


@given(st.integers(2, 40), widths, st.data())
def test_encoding_relative_position_is_a_rotation(T, D, data):
    """Moving k positions ahead is a fixed linear map: PE[pos + k] = PE[pos] @ M_k for every pos.

    M_k rotates each (sin, cos) pair by the angle k * w_i, with w_i = 1 / 10000^(2i/D).

    Hint: columns 2i and 2i+1 must share the frequency w_i, with sin in the even column.
    """
    k = data.draw(st.integers(1, T - 1), label="k")
    PE = as_array(ex08.sinusoidal_encoding(T, D), f"sinusoidal_encoding({T}, {D})", (T, D), np.float64)
    with drawn(PE, T, D):
        assert_close(PE[k:], PE[:-k] @ rotation(k, D),
                     message("PE[pos + {k}] compared with PE[pos] @ M_{k}", k=k),
                     rtol=1e-9, atol=1e-12)


@given(st.integers(2, 12), widths, st.data())
def test_encoding_prefix_does_not_depend_on_T(T, D, data):
    """The encoding of a position does not depend on the length T: a shorter T gives a prefix.

    Hint: the frequencies depend on D and i only: the encoding of a position must not use T except for the
    number of rows.
    """
    t = data.draw(st.integers(1, T - 1), label="shorter T")
    long = as_array(ex08.sinusoidal_encoding(T, D), f"sinusoidal_encoding({T}, {D})", (T, D), np.float64)
    short = as_array(ex08.sinusoidal_encoding(t, D), f"sinusoidal_encoding({t}, {D})", (t, D), np.float64)
    assert_close(long[:t], short, message("first {t} rows of sinusoidal_encoding({T}, {D}) and of ({t}, {D})",
                                          t=t, T=T, D=D))


@pytest.mark.parametrize("D", [1, 3, 7])
def test_encoding_odd_width_raises(D):
    """An odd D raises ValueError, ideally naming `D`: sin and cos come in pairs.

    Hint: check that D is even before building the encoding, and raise ValueError naming D.
    """
    with raises_value_error("D"):
        ex08.sinusoidal_encoding(4, D)


@pytest.mark.parametrize(("T", "D", "name"), [(0, 4, "T"), (-2, 4, "T"), (3, 0, "D"), (3, -2, "D")])
def test_encoding_bad_sizes_raise(T, D, name):
    """T < 1 raises ValueError, ideally naming `T`; D < 2 raises ValueError, ideally naming `D`.

    Hint: check T >= 1 and D >= 2 before building the encoding, and name the bad argument in the ValueError.
    """
    with raises_value_error(name):
        ex08.sinusoidal_encoding(T, D)


# --- embed -----------------------------------------------------------------------------------------


@given(embed_cases())
def test_embed_shape_and_dtype(case):
    """embed(tokens, table) has shape [B, T, D] and the table's dtype (float32 stays float32).

    Hint: return the table's dtype: cast the float64 encoding and sqrt(D) to table.dtype before adding.
    """
    tokens, table = case
    B, T = tokens.shape
    as_array(ex08.embed(tokens, table), "embed(tokens, table)", (B, T, table.shape[1]), table.dtype)


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_embed_keeps_float32(dtype):
    """A float32 table gives a float32 embedding (the float64 encoding is cast to the table's dtype).

    Hint: sinusoidal_encoding(T, D).astype(table.dtype) before adding it.
    """
    tokens = np.array([[1, 2, 3], [4, 0, 0]])
    table = embedding_table(0, 5, 6, dtype)
    as_array(ex08.embed(tokens, table), "embed(tokens, table)", (2, 3, 6), dtype)


@given(embed_cases())
def test_embed_scales_the_lookup_by_sqrt_D(case):
    """Doubling the table adds table[tokens] * sqrt(D) once more: the lookup is multiplied by sqrt(D).

    Hint: multiply the looked-up rows by sqrt(D) (do not divide), before adding the encoding.
    """
    tokens, table = case
    D = table.shape[1]
    one = as_array(ex08.embed(tokens, table), "embed(tokens, table)", (*tokens.shape, D), table.dtype)
    two = as_array(ex08.embed(tokens, 2 * table), "embed(tokens, 2 * table)", (*tokens.shape, D), table.dtype)
    expected = table[tokens].astype(np.float64) * np.sqrt(D)
    assert_close(two.astype(np.float64) - one, expected,
                 message("embed(tokens, 2 * table) - embed(tokens, table), D={D} (should be "
                         "table[tokens]*sqrt(D))", D=D),
                 atol=1e-5 if table.dtype == np.float32 else None)


@given(S.token_batches(), widths)
def test_embed_of_a_zero_table_is_the_encoding(tokens, D):
    """With an all-zero table, every row of the batch is the positional encoding of positions 0..T-1.

    Hint: add the encoding of positions 0..T-1, shape [T, D], to every row of the batch: it broadcasts over B.
    """
    B, T = tokens.shape
    got = as_array(ex08.embed(tokens, np.zeros((7, D))), "embed(tokens, zeros)", (B, T, D), np.float64)
    with picture("embed(tokens, zeros)", got, formula(T, D), rows="positions", columns="dimensions"):
        assert_close(got, np.broadcast_to(formula(T, D), (B, T, D)), message("embed(tokens, zero table)"))


def test_embed_exact_values():
    """embed gives table[tokens] * sqrt(D) + PE on a small example worked by hand (D = 4, sqrt(D) = 2).

    Hint: scale the looked-up rows table[tokens] by sqrt(D), not by D or sqrt(V), and then add the positional
    encoding.
    """
    table = np.arange(12.0).reshape(3, 4) / 10  # V = 3, D = 4
    tokens = np.array([[2, 0], [1, 1]])
    PE = formula(2, 4)
    expected = np.stack([np.stack([table[2] * 2 + PE[0], table[0] * 2 + PE[1]]),
                         np.stack([table[1] * 2 + PE[0], table[1] * 2 + PE[1]])])
    got = as_array(ex08.embed(tokens, table), "embed(tokens, table)", (2, 2, 4), np.float64)
    assert_close(got, expected, "embed(tokens, table)")


@given(embed_cases())
def test_embed_matches_reference(case):
    """embed equals the reference on random tokens and tables, float32 and float64.

    Hint: follow table[tokens] * sqrt(D) + sinusoidal_encoding(T, D), with T = tokens.shape[-1], in the
    table's dtype.
    """
    tokens, table = case
    got = as_array(ex08.embed(tokens, table), "embed(tokens, table)", (*tokens.shape, table.shape[1]),
                   table.dtype)
    assert_close(got, ref08.embed(tokens, table.astype(np.float64)), "embed(tokens, table)")


@given(embed_cases())
def test_embed_rows_are_independent(case):
    """Each row of the batch is embedded on its own: embedding one row alone, as a batch of one or as
    1-D tokens [T], gives the same result.

    Hint: take T from the last axis of tokens (tokens.shape[-1]), so the encoding broadcasts over any leading
    dimensions.
    """
    tokens, table = case
    whole = as_array(ex08.embed(tokens, table), "embed(tokens, table)", (*tokens.shape, table.shape[1]),
                     table.dtype)
    for b in range(tokens.shape[0]):
        alone = as_array(ex08.embed(tokens[b: b + 1], table), f"embed(tokens[{b}:{b + 1}], table)",
                         (1, tokens.shape[1], table.shape[1]), table.dtype)
        assert_close(whole[b: b + 1], alone,
                     message("row {b} of embed(tokens, table) and that row embedded alone", b=b))
        flat = as_array(ex08.embed(tokens[b], table), f"embed(tokens[{b}], table)",
                        (tokens.shape[1], table.shape[1]), table.dtype)
        assert_close(whole[b], flat, message("row {b} of embed(tokens, table) and embed(tokens[{b}], table)",
                                             b=b))


@pytest.mark.parametrize("bad", [5, 9, -1])
def test_embed_tokens_out_of_range_raise(bad):
    """A token id outside 0..V-1 (negative ids included) raises ValueError, ideally naming `tokens`.

    Hint: numpy would silently read table[-1]: check tokens.min() >= 0 and tokens.max() < V yourself.
    """
    tokens = np.array([[1, 2, 3], [4, bad, 0]])
    with raises_value_error("tokens"):
        ex08.embed(tokens, embedding_table(0, 5, 6, np.float64))


@pytest.mark.parametrize(("tokens", "table", "name"), [
    (np.array([[1.0, 2.0]]), np.zeros((5, 4)), "tokens"),
    (np.array(1), np.zeros((5, 4)), "tokens"),
    (np.array([[1, 2]]), np.zeros(4), "table"),
], ids=["float tokens", "0-D tokens", "1-D table"])
def test_embed_bad_arguments_raise(tokens, table, name):
    """Tokens that are not integers or have no axis, or a table that is not 2-D, raise ValueError, ideally
    naming the argument.

    Hint: check tokens (an integer array with at least one axis) and table (2-D) before the look-up, and name
    the bad argument.
    """
    with raises_value_error(name):
        ex08.embed(tokens, table)


def test_embed_odd_width_raises():
    """A table with an odd width D raises ValueError, ideally naming `table` (or `D`).

    Hint: check that the table's width D is even before computing, and raise ValueError naming table.
    """
    with raises_value_error("table", "D"):
        ex08.embed(np.array([[1, 2]]), embedding_table(0, 5, 5, np.float64))


def diagnostic_cases() -> dict[str, list[tuple]]:
    """Fixed inputs on which every catalogued mistake gives its own output."""
    tokens = np.array([[3, 1, 4], [2, 0, 0]])
    return {
        "sinusoidal_encoding": [(6, 8), (3, 6), (2, 5)],
        "embed": [
            (tokens, embedding_table(1, 5, 6, np.float64)),
            (tokens, embedding_table(2, 5, 6, np.float32)),
            (np.array([[1, -1], [2, 3]]), embedding_table(3, 5, 4, np.float64)),
        ],
    }
