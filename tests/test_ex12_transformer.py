"""Tests of exercise 12: the whole Transformer and greedy decoding.

Each test's docstring says, in one line, the property it checks; the grader shows it to the
learner when the test fails, with the counterexample and the hint below it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.i18n import message
from tests.support import strategies as S
from tests.support import target
from tests.support.checks import as_array, assert_close, assert_equal, raises_value_error
from tests.support.decoding import (
    BOS,
    EOS,
    decoded_tokens,
    finished_before,
    greedy_cases,
    staggered_case,
    staggered_cases,
    with_eos_bias,
    without_eos,
)
from tests.support.models import (
    PAD,
    astype_params,
    configs,
    fixed_tokens,
    model_tolerance,
    other_ids_model,
    token_pairs,
    with_other_ids,
)

ex12 = target.module("ex12_transformer")
ref12 = target.reference("ex12_transformer")


def call_forward(src, tgt, params, what="transformer_forward(src, tgt, params)"):
    """The target's logits, read as an array [B, T_tgt, V_tgt] in the parameters' dtype."""
    shape = (*tgt.shape, params.config.tgt_vocab)
    return as_array(ex12.transformer_forward(src, tgt, params), what, shape, params.W_out.dtype)


def reference_forward(src, tgt, params):
    return ref12.transformer_forward(src, tgt, astype_params(params, np.float64))


# --- transformer_forward ---------------------------------------------------------------------------


@settings(max_examples=10)
@given(S.seeds, configs(), S.float_dtypes, token_pairs())
def test_forward_shape_and_dtype(seed, config, dtype, tokens):
    """transformer_forward returns logits [B, T_tgt, V_tgt] in the dtype of the parameters.

    Hint: decode tgt_tokens exactly as given (no shift: one logit row per target token), and give decode the
    source tokens as its third argument, whose padding masks the memory.
    """
    tgt, src = tokens
    call_forward(src, tgt, S.random_transformer(seed, config, dtype))


@given(S.seeds, configs(), S.float_dtypes, token_pairs())
def test_forward_matches_reference(seed, config, dtype, tokens):
    """transformer_forward equals the reference on random models and padded token batches.

    Hint: memory = encode(src, params); logits = decode(tgt, memory, src, params) @ W_out + b_out.
    """
    tgt, src = tokens
    params = S.random_transformer(seed, config, dtype)
    assert_close(call_forward(src, tgt, params), reference_forward(src, tgt, params),
                 "transformer_forward(src, tgt, params)", *model_tolerance(dtype))


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_forward_example(dtype):
    """transformer_forward equals the reference on B=2 (targets of 4 and 2 tokens, sources of 6 and 3).

    Hint: memory = encode(src_tokens, params), then the decoder's output for tgt_tokens times W_out plus
    b_out, with no softmax; the masks come from config.pad_id inside encode and decode.
    """
    params = S.random_transformer(31, S.small_config(), dtype)
    tgt, src = fixed_tokens([4, 2], 4, 13, seed=32), fixed_tokens([6, 3], 6, 11, seed=33)
    assert_close(call_forward(src, tgt, params), reference_forward(src, tgt, params),
                 "transformer_forward(src, tgt, params)", *model_tolerance(dtype))


@settings(max_examples=10)
@given(S.seeds, configs(), S.float_dtypes, token_pairs(), st.sampled_from([-3.0, 0.5, 20.0]))
def test_forward_logits_are_affine_in_b_out(seed, config, dtype, tokens, c):
    """Adding c to every entry of b_out adds c to every logit: logits are x W_out + b_out, no softmax.

    Hint: return the raw scores decode(...) @ W_out + b_out; the softmax belongs to the loss, not here.
    """
    tgt, src = tokens
    params = S.random_transformer(seed, config, dtype)
    shifted = dataclasses.replace(params, b_out=(params.b_out + dtype(c)).astype(dtype))
    logits = call_forward(src, tgt, params)
    logits2 = call_forward(src, tgt, shifted,
                           message("transformer_forward with b_out + {c}", c=c))
    assert_close(logits2 - logits, np.full(logits.shape, c), f"logits(b_out + {c}) - logits(b_out)",
                 *model_tolerance(dtype))


@settings(max_examples=10)
@given(S.seeds, configs(), token_pairs(), st.data())
def test_forward_is_causal(seed, config, tokens, data):
    """Changing the target tokens after position t never changes the logits at or before t.

    Hint: causality comes from decode's self mask; do not feed the decoder anything built from the whole
    target, such as a mean over its positions or an unmasked attention.
    """
    tgt, src = tokens
    T = tgt.shape[1]
    if T < 2:
        return
    t = data.draw(st.integers(0, T - 2), label="t")
    other = tgt.copy()
    other[:, t + 1:] = 1 + (tgt[:, t + 1:] + 4) % 12  # other real ids 1..12
    params = S.random_transformer(seed, config)
    logits = call_forward(src, tgt, params)
    logits2 = call_forward(src, other, params,
                           message("transformer_forward with the target after t={t} changed", t=t))
    assert_close(logits2[:, :t + 1], logits[:, :t + 1],
                 message("logits at positions 0..{t}", t=t))


@settings(max_examples=10)
@given(S.seeds, configs(), token_pairs(min_batch=2))
def test_forward_padding_is_invisible(seed, config, tokens):
    """Each row computed alone, without the padding of its source and target, gives the same real logits.

    Hint: give encode and decode the source tokens, so the memory mask hides the source padding, and let
    decode build the target mask from tgt_tokens and config.pad_id.
    """
    tgt, src = tokens
    params = S.random_transformer(seed, config)
    logits = call_forward(src, tgt, params)
    for b in range(tgt.shape[0]):
        Lt, Ls = int((tgt[b] != PAD).sum()), int((src[b] != PAD).sum())
        alone = call_forward(src[b:b + 1, :Ls], tgt[b:b + 1, :Lt], params,
                             message("transformer_forward of row {b} alone", b=b))
        assert_close(logits[b, :Lt], alone[0],
                     message("row {b} of the logits compared with the row computed alone without padding "
                             "({Lt} target, {Ls} source tokens)", b=b, Lt=Lt, Ls=Ls))


@pytest.mark.parametrize("bad", ["src_tokens", "tgt_tokens"])
def test_forward_tokens_out_of_vocabulary_raise(bad):
    """A source id >= V_src or a target id >= V_tgt raises ValueError.

    Hint: check each token array against its own vocabulary before any embedding: source ids below
    params.config.src_vocab, target ids below params.config.tgt_vocab, ValueError naming the array.
    """
    params = S.random_transformer(31, S.small_config())
    tgt, src = fixed_tokens([4, 2], 4, 13, seed=32), fixed_tokens([6, 3], 6, 11, seed=33)
    if bad == "src_tokens":
        src[0, 1] = params.config.src_vocab
    else:
        tgt[1, 0] = params.config.tgt_vocab
    with raises_value_error(bad):
        ex12.transformer_forward(src, tgt, params)


# --- greedy_decode ----------------------------------------------------------------------------------


def call_greedy(src, params, max_len, what="greedy_decode(src, params, max_len)"):
    """The target's tokens [B, L], checked: an integer array, B rows, 2 <= L <= max_len + 1, bos first."""
    return decoded_tokens(ex12.greedy_decode(src, params, max_len), src, params, max_len, what)


@settings(max_examples=10)
@given(greedy_cases())
def test_greedy_shape_and_first_token(case):
    """greedy_decode returns int64 tokens [B, L] with 2 <= L <= max_len + 1, every row starting with bos_id.

    Hint: start from np.full((B, 1), bos_id, dtype=np.int64) and append one column per step, at most
    max_len steps.
    """
    out = call_greedy(*case.build())
    if out.dtype != np.int64:
        raise AssertionError(message("greedy_decode returned {dtype} tokens, expected int64",
                                     dtype=out.dtype))


@settings(max_examples=10)
@given(greedy_cases())
def test_greedy_appends_the_argmax_of_the_last_position(case):
    """Every new token is the arg-max of the last position's logits of transformer_forward on the prefix.

    Checked with your transformer_forward and with the reference's, for every row not yet finished.

    Hint: logits[:, -1] is the prediction after the whole prefix; logits[:, 0] only saw bos.
    """
    src, params, max_len = case.build()
    out = call_greedy(src, params, max_len)
    p64 = astype_params(params, np.float64)
    slack = 1e-3 if params.W_out.dtype == np.float32 else 1e-8  # ties may go either way
    for t in range(1, out.shape[1]):
        live, prefix = ~finished_before(out, t), out[:, :t]
        reference = ref12.transformer_forward(src, prefix, p64)
        for name, logits in [(message("your transformer_forward"), call_forward(src, prefix, params)),
                             (message("the reference transformer_forward"), reference)]:
            last = np.asarray(logits, dtype=np.float64)[:, -1]  # (B, V)
            chosen = np.take_along_axis(last, out[:, t:t + 1], axis=1)[:, 0]
            bad = live & (chosen < last.max(axis=1) - slack)
            if bad.any():
                b = int(np.argmax(bad))
                raise AssertionError(
                    message("step {t}, row {b}: greedy_decode appended token {out} but the arg-max of "
                            "{name}(src, tokens[:, :{t}])[{b}, -1] is {argmax} (prefix {prefix})", t=t, b=b,
                            out=out[b, t], name=name, argmax=int(last[b].argmax()),
                            prefix=prefix[b].tolist()))


@given(staggered_cases)
def test_greedy_pads_finished_rows(case):
    """After a row's first eos_id, every token of that row is pad_id.

    Hint: keep a boolean `finished` per row; for finished rows append pad_id instead of the arg-max.
    """
    out = call_greedy(*case.build())
    for t in range(2, out.shape[1]):
        done = finished_before(out, t)
        assert_equal(np.where(done, out[:, t], PAD), np.full(out.shape[0], PAD),
                     message("column {t} of the tokens (rows that produced eos before it must get pad_id)",
                             t=t))


@given(staggered_cases)
def test_greedy_stops_when_every_row_has_finished(case):
    """greedy_decode stops right after the step where the last row produced eos, else after max_len tokens.

    Hint: after appending a column, stop if every row has finished; run at most max_len steps.
    """
    src, params, max_len = case.build()
    out = call_greedy(src, params, max_len)
    L = out.shape[1]
    every_row_ended = bool(finished_before(out, L).all())
    if not every_row_ended:
        if max_len + 1 != L:
            raise AssertionError(message("the tokens have {L} columns but a row never produced eos: "
                                         "expected bos and max_len={max_len} new tokens, {columns} "
                                         "columns", L=L, max_len=max_len, columns=max_len + 1))
    else:
        if finished_before(out, L - 1).all():
            raise AssertionError(message("every row had finished before the last column {last}: "
                                         "greedy_decode should have stopped one step earlier",
                                         last=L - 1))


@settings(max_examples=10)
@given(greedy_cases(dtype=np.float64))
def test_greedy_matches_reference(case):
    """greedy_decode returns exactly the reference's tokens (float64 models).

    Hint: encode the source once, start every row with bos_id, append the arg-max of the last position's
    logits each step, pad_id after a row's eos_id, and stop when every row has finished or after max_len
    steps.
    """
    src, params, max_len = case.build()
    out = call_greedy(src, params, max_len)
    assert_equal(out, ref12.greedy_decode(src, params, max_len), "greedy_decode(src, params, max_len)")


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_greedy_example_rows_ending_at_different_steps(dtype):
    """Three rows whose translations end at steps 5, 4 and 6: the tokens equal the reference's.

    Hint: a finished row gets pad_id while the others go on; the loop stops after step 6, not max_len=8.
    """
    src, params, max_len = staggered_case()
    expected = ref12.greedy_decode(src, params, max_len)
    out = call_greedy(src, astype_params(params, dtype), max_len)
    assert_equal(out, expected, "greedy_decode(src, params, max_len=8)")


@pytest.mark.parametrize("max_len", [1, 4])
def test_greedy_stops_at_once_when_eos_wins(max_len):
    """When eos always wins (b_out[eos] = +100), every row is [bos_id, eos_id] and decoding stops.

    Hint: after appending a column, check whether every row now holds eos_id; if so, stop at once instead of
    running the remaining steps.
    """
    src, params, _ = staggered_case()
    out = call_greedy(src, with_eos_bias(params, 100.0), max_len)
    assert_equal(out, np.tile([BOS, EOS], (3, 1)),
                 message("greedy_decode(src, params where eos wins, {max_len})", max_len=max_len))


@pytest.mark.parametrize("pad_wins", [False, True], ids=["eos loses", "pad wins"])
@pytest.mark.parametrize("max_len", [1, 3])
def test_greedy_runs_max_len_steps_when_eos_never_wins(max_len, pad_wins):
    """When eos never wins (b_out[eos] = -100), greedy_decode returns bos and exactly max_len new tokens,
    also when pad_id always wins (b_out[pad] = +100): only eos_id finishes a row.

    Hint: run at most max_len steps and count only new tokens: bos_id plus max_len new columns gives max_len +
    1 columns in all; a row is finished once it has written eos_id, not pad_id.
    """
    src, params, _ = staggered_case()
    out = call_greedy(src, without_eos(params, pad_wins), max_len)
    if out.shape != (3, max_len + 1):
        raise AssertionError(message("greedy_decode(max_len={max_len}) has shape {shape}, expected (3, "
                                     "{columns}): bos and max_len new tokens", max_len=max_len,
                                     shape=out.shape, columns=max_len + 1))


@settings(max_examples=10)
@given(greedy_cases())
def test_greedy_rows_are_independent(case):
    """Each source row decoded alone gives the same tokens as in the batch (then padding).

    Hint: a row's next token comes from its own logits row only; keep a finished flag per row, not one for the
    whole batch, and append pad_id only to rows that have finished.
    """
    src, params, max_len = case.build()
    out = call_greedy(src, params, max_len)
    for b in range(src.shape[0]):
        alone = call_greedy(src[b:b + 1], params, max_len, f"greedy_decode(src[{b}:{b + 1}])")
        L = alone.shape[1]
        assert_equal(out[b, :L], alone[0],
                     message("row {b} of greedy_decode compared with the row decoded alone", b=b))
        assert_equal(out[b, L:], np.full(out.shape[1] - L, PAD),
                     message("row {b} after it finished alone", b=b))


@pytest.mark.parametrize("bad", [0, -1])
def test_greedy_bad_max_len_raises(bad):
    """max_len < 1 raises ValueError, ideally naming `max_len`.

    Hint: check max_len before decoding: an integer of at least 1, else ValueError naming max_len; max_len = 0
    is not a valid request.
    """
    src, params, _ = staggered_case()
    with raises_value_error("max_len"):
        ex12.greedy_decode(src, params, bad)


def test_greedy_bad_source_raises():
    """A source id >= V_src raises ValueError, ideally naming `src_tokens`.

    Hint: let encode (or your own check) reject a source id outside 0..V_src-1 with ValueError naming
    src_tokens, before any decoding step.
    """
    src, params, _ = staggered_case()
    src[0, 0] = params.config.src_vocab
    with raises_value_error("src_tokens"):
        ex12.greedy_decode(src, params, 3)


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_forward_with_other_special_ids(dtype):
    """transformer_forward equals the reference for a model whose pad_id is 4 (bos 0, eos 3): the
    padding of both sentences is config.pad_id, and id 0 is a real token.

    Hint: the padding id is params.config.pad_id for both sentences; never assume pad_id = 0, since here 0 is
    a real token.
    """
    src, tgt, params = other_ids_model(53, dtype)
    assert_close(call_forward(src, tgt, params), reference_forward(src, tgt, params),
                 with_other_ids("transformer_forward(src, tgt, params)"),
                 *model_tolerance(dtype))


@pytest.mark.parametrize(("seed", "eos_bias"), [(63, 0.5), (69, 1.0), (84, 0.5)])
def test_greedy_with_other_special_ids(seed, eos_bias):
    """greedy_decode with pad_id 4, bos_id 0 and eos_id 3 returns the reference's tokens: rows start
    with config.bos_id, finish at config.eos_id (at different steps) and are padded with config.pad_id.

    Hint: read bos_id, eos_id and pad_id from params.config; never write 0, 1 or 2 yourself.
    """
    src, _, params = other_ids_model(seed, eos_bias=eos_bias)
    out = call_greedy(src, params, 6)
    assert_equal(out, ref12.greedy_decode(src, params, 6), with_other_ids("greedy_decode(src, params, 6)"))


def diagnostic_cases() -> dict[str, list[tuple]]:
    """Fixed inputs on which every catalogued mistake gives its own output."""
    params = S.random_transformer(34, S.small_config())
    tgt, src = fixed_tokens([4, 2], 4, 13, seed=35), fixed_tokens([6, 3], 6, 11, seed=36)
    staggered_src, staggered_params, _ = staggered_case()
    return {
        "transformer_forward": [(src, tgt, params)],
        "greedy_decode": [staggered_case(), (staggered_src, with_eos_bias(staggered_params, -100.0), 3),
                          (src, params, 4), (staggered_src, without_eos(staggered_params, pad_wins=True), 3)],
    }
