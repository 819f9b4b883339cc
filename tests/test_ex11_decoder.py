"""Tests of exercise 11: the decoder layer and the decoder.

Each test's docstring says, in one line, the property it checks; the grader shows it to the
learner when the test fails, with the counterexample and the hint below it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.i18n import message
from tests.support import strategies as S
from tests.support import target
from tests.support.checks import as_array, assert_close, raises_value_error
from tests.support.decoder import LayerCase
from tests.support.models import (
    PAD,
    astype_params,
    causal,
    changed,
    configs,
    embedding_oracle,
    fixed_tokens,
    layer_norm_rows,
    memory_for,
    model_tolerance,
    other_ids_model,
    token_pairs,
    with_other_ids,
)

ex11 = target.module("ex11_decoder")
ref11 = target.reference("ex11_decoder")


# --- decoder_layer ---------------------------------------------------------------------------------


@st.composite
def layer_cases(draw, masked: bool = True, min_tgt: int = 1) -> LayerCase:
    """Decoder-layer calls: B <= 3, T_tgt and T_src <= 5 (often different), H, d_k <= 3, F <= 6."""
    B, T_tgt, T_src = draw(st.integers(1, 3)), draw(st.integers(min_tgt, 5)), draw(st.integers(1, 5))
    sizes = (B, T_tgt, T_src, draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 6)))
    lengths = None
    if masked and draw(st.booleans()):
        lengths = (tuple(draw(st.integers(1, T_tgt)) for _ in range(B)),
                   tuple(draw(st.integers(1, T_src)) for _ in range(B)))
    return LayerCase(*sizes, draw(S.float_dtypes), draw(S.seeds), lengths)


def revealing_layer(dtype: Any = np.float64, seed: int = 0, T_src: int = 5):
    """B=2, T_tgt=4, T_src=5, D=8, H=2, F=12; target rows of 4 and 2 real tokens, source of 5 and 3."""
    return LayerCase(2, 4, T_src, 2, 4, 12, dtype, seed, ((4, 2), (T_src, 3))).build()


def call_layer(y, memory, p, self_mask=None, memory_mask=None, what="decoder_layer(y, memory, p, ...)"):
    """The target's decoder_layer, read as an array of y's shape and dtype."""
    return as_array(ex11.decoder_layer(y, memory, p, self_mask, memory_mask), what, y.shape, y.dtype)


@settings(max_examples=10)
@given(layer_cases())
def test_decoder_layer_shape_and_dtype(case):
    """decoder_layer returns [B, T_tgt, D] in the dtype of y (float32 stays float32).

    Hint: each mask goes to its own attention: self_mask [.., T_tgt, T_tgt] to the self-attention, memory_mask
    [.., T_tgt, T_src] to the cross-attention, whose queries come from y (T_tgt rows) and keys and values from
    memory.
    """
    call_layer(*case.build())


@given(layer_cases())
def test_decoder_layer_matches_reference(case):
    """decoder_layer equals the reference on random inputs, weights and masks, T_tgt != T_src.

    Hint: three sublayers, each followed by add_and_norm: multi_head_attention(y, y, p.self_attn,
    self_mask), multi_head_attention(y, memory, p.cross_attn, memory_mask), feed_forward(y, p.ffn).
    """
    y, memory, p, self_mask, memory_mask = case.build()
    out = call_layer(y, memory, p, self_mask, memory_mask)
    expected = ref11.decoder_layer(y.astype(np.float64), memory.astype(np.float64),
                                   astype_params(p, np.float64), self_mask, memory_mask)
    assert_close(out, expected, "decoder_layer(y, memory, p, self_mask, memory_mask)",
                 *model_tolerance(y.dtype))


@given(layer_cases(), st.data())
def test_decoder_layer_every_mask_form(case, data):
    """decoder_layer equals the reference with self_mask and memory_mask of every accepted form
    ([B or 1, T_q or 1, T_k]), query rows hidden whole included.

    Hint: pass self_mask and memory_mask to their attentions as they are (multi_head_attention broadcasts
    every accepted form); a query row with no allowed key gets a zero attention output, not NaN.
    """
    y, memory, p, _, _ = case.build()
    self_mask = data.draw(S.mask_forms(case.B, case.T_tgt, case.T_tgt, two_d=False), "self_mask")
    memory_mask = data.draw(S.mask_forms(case.B, case.T_tgt, case.T_src, two_d=False), "memory_mask")
    out = call_layer(y, memory, p, self_mask, memory_mask)
    expected = ref11.decoder_layer(y.astype(np.float64), memory.astype(np.float64),
                                   astype_params(p, np.float64), self_mask, memory_mask)
    assert_close(out, expected, f"decoder_layer(y, memory, p, self_mask {self_mask.shape}, memory_mask "
                 f"{memory_mask.shape})", *model_tolerance(y.dtype))


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
@pytest.mark.parametrize("T_src", [5, 4])
def test_decoder_layer_example(dtype, T_src):
    """decoder_layer equals the reference on B=2 (4 and 2 real target tokens, 5 and 3 source), H=2, D=8.

    Hint: post-norm, three sublayers in order: self-attention on y under self_mask, cross-attention with
    queries from y and keys and values from memory under memory_mask, then the feed-forward, each followed by
    its own add & norm.
    """
    y, memory, p, self_mask, memory_mask = revealing_layer(dtype, T_src=T_src)
    out = call_layer(y, memory, p, self_mask, memory_mask)
    expected = ref11.decoder_layer(y.astype(np.float64), memory.astype(np.float64),
                                   astype_params(p, np.float64), self_mask, memory_mask)
    assert_close(out, expected, "decoder_layer(y, memory, p, self_mask, memory_mask)",
                 *model_tolerance(dtype))


@settings(max_examples=15)
@given(layer_cases(masked=False))
def test_decoder_layer_ends_with_layer_norm(case):
    """With norm3's gamma = 1 and beta = 0, every output row has mean 0 and variance 1 (post-norm).

    Hint: the paper normalises AFTER each residual: LayerNorm(y + Sublayer(y)).
    """
    y, memory, p, _, _ = case.build()
    D = y.shape[-1]
    if D < 4:  # a row of 2 or 3 numbers can have a tiny variance, which eps then shrinks
        return
    p = dataclasses.replace(p, norm3=dataclasses.replace(p.norm3, gamma=np.ones(D, y.dtype),
                                                         beta=np.zeros(D, y.dtype)))
    out = call_layer(y, memory, p).astype(np.float64)
    assert_close(out.mean(-1), np.zeros(y.shape[:-1]),
                 message("mean of each output row"), atol=1e-4)
    var = out.var(-1)
    assert_close(np.clip(var, 0.9, 1.0), var,
                 message("variance of each output row (between 0.9 and 1)"),
                 rtol=0, atol=1e-4)


@settings(max_examples=15)
@given(layer_cases())
def test_decoder_layer_residuals_carry_y(case):
    """When all three sublayers output zero, the layer is LayerNorm_3(LayerNorm_2(LayerNorm_1(y))).

    Hint: each add & norm normalises y + Sublayer(y), in the order norm1, norm2, norm3.
    """
    y, memory, p, self_mask, memory_mask = case.build()
    z = dataclasses.replace
    p = z(p, self_attn=z(p.self_attn, W_o=0 * p.self_attn.W_o, b_o=0 * p.self_attn.b_o),
          cross_attn=z(p.cross_attn, W_o=0 * p.cross_attn.W_o, b_o=0 * p.cross_attn.b_o),
          ffn=z(p.ffn, W_2=0 * p.ffn.W_2, b_2=0 * p.ffn.b_2))
    out = call_layer(y, memory, p, self_mask, memory_mask)
    expected = y
    for norm in (p.norm1, p.norm2, p.norm3):
        expected = layer_norm_rows(expected, norm.gamma, norm.beta)
    assert_close(out, expected, message("decoder_layer(y) whose sublayers output zero"),
                 *model_tolerance(y.dtype))


@settings(max_examples=15)
@given(layer_cases(masked=False, min_tgt=2), st.data())
def test_decoder_layer_is_causal(case, data):
    """With a causal self_mask, changing y after position t never changes the outputs at or before t.

    Hint: pass self_mask to the self-attention; the cross-attention reads memory, never later y.
    """
    y, memory, p, _, _ = case.build()
    T = y.shape[1]
    t = data.draw(st.integers(0, T - 2), label="t")
    other = y.copy()
    other[:, t + 1:] = changed(other[:, t + 1:].shape, case.seed + 2, y.dtype)
    out = call_layer(y, memory, p, causal(T))
    out2 = call_layer(other, memory, p, causal(T), what=
                      message("decoder_layer(y changed after t)"))
    assert_close(out2[:, :t + 1], out[:, :t + 1],
                 message("outputs at positions 0..{t} after changing y after t={t}", t=t))


@settings(max_examples=15)
@given(layer_cases(masked=False))
def test_decoder_layer_reads_memory(case):
    """Replacing the memory changes the output at every target position: cross-attention reads it.

    Hint: the keys and values of the cross-attention come from memory: multi_head_attention(y, memory, ...).
    """
    y, memory, p, _, _ = case.build()
    if y.shape[-1] < 3:  # layer norm of 1 or 2 numbers is (almost) constant: nothing could change
        return
    out = call_layer(y, memory, p)
    other = changed(memory.shape, case.seed + 2, y.dtype)
    out2 = call_layer(y, other, p, what=message("decoder_layer(y, other memory)"))
    change = np.abs(out2.astype(np.float64) - out).max(axis=-1)  # (B, T_tgt)
    if not (change > 1e-5).all():
        raise AssertionError(message("the output did not change at positions {argwhere} when the memory was "
                                     "replaced: the cross-attention must read memory",
                                     argwhere=np.argwhere(change <= 1e-5).tolist()[:3]))


@settings(max_examples=15)
@given(layer_cases(masked=False, min_tgt=2))
def test_decoder_layer_keys_come_from_memory(case):
    """With every memory token the same, the cross-attention's W_q, b_q, W_k, b_k cannot change the output.

    When all keys are equal, every query spreads the same weights over equal values, whatever it is;
    if the keys came from y (whose rows differ), the query and key projections would matter.

    Hint: queries from y, but keys AND values from memory: multi_head_attention(y, memory, p.cross_attn, ...).
    """
    y, memory, p, _, _ = case.build()
    same = np.repeat(memory[:, :1], memory.shape[1], axis=1)  # (B, T_src, D): one token repeated
    D = y.shape[-1]
    W = S.rng(case.seed + 3).standard_normal((2, D + 1, D)).astype(y.dtype)  # other W_q, b_q and W_k, b_k
    other = dataclasses.replace(p, cross_attn=dataclasses.replace(
        p.cross_attn, W_q=W[0, :D], b_q=W[0, D], W_k=W[1, :D], b_k=W[1, D]))
    out = call_layer(y, same, p, what=message("decoder_layer(y, memory of one repeated token, p)"))
    out2 = call_layer(y, same, other, what=
                      message("decoder_layer(y, same memory, p with other W_q, b_q, W_k, b_k)"))
    assert_close(out2, out, message("decoder_layer with other cross-attention W_q, W_k compared with the "
                                    "original (memory = one token repeated)"), *model_tolerance(y.dtype))


@settings(max_examples=15)
@given(layer_cases(masked=False), st.data())
def test_decoder_layer_one_memory_key(case, data):
    """A memory_mask that allows memory token j only gives the same output as the memory [j] alone.

    Hint: pass memory_mask to the cross-attention (not self_mask, not nothing).
    """
    y, memory, p, _, _ = case.build()
    B, T_src = memory.shape[:2]
    j = data.draw(st.integers(0, T_src - 1), label="j")
    only_j = np.zeros((B, 1, T_src), dtype=bool)
    only_j[..., j] = True
    out = call_layer(y, memory, p, None, only_j, what="decoder_layer(y, memory, p, memory_mask=only j)")
    alone = call_layer(y, memory[:, j:j + 1], p, what="decoder_layer(y, memory[:, j:j+1], p)")
    assert_close(out, alone, message("decoder_layer with memory_mask allowing memory token {j} only, "
                                     "compared with memory[:, j:j+1]", j=j), *model_tolerance(y.dtype))


@settings(max_examples=15)
@given(layer_cases())
def test_decoder_layer_masked_memory_is_not_read(case):
    """Changing memory at the positions memory_mask hides never changes the output.

    Hint: give memory_mask to the cross-attention, the one whose keys and values come from memory; the
    self-attention reads y only.
    """
    y, memory, p, self_mask, memory_mask = case.build()
    if memory_mask is None:
        return
    hidden = ~memory_mask[:, 0, :, None]  # (B, T_src, 1)
    other = np.where(hidden, changed(memory.shape, case.seed + 2, y.dtype), memory)
    out = call_layer(y, memory, p, self_mask, memory_mask)
    out2 = call_layer(y, other, p, self_mask, memory_mask, what=
                      message("decoder_layer(y, memory changed if masked)"))
    assert_close(out2, out, message("decoder_layer after changing the masked memory (source lengths "
                                    "{lengths})", lengths=case.lengths[1]), *model_tolerance(y.dtype))


@settings(max_examples=10)
@given(layer_cases())
def test_decoder_layer_rows_are_independent(case):
    """Each batch row computed alone gives the same output as in the batch.

    Hint: every step acts on one batch row at a time: row b of y attends to row b of memory only, and nothing
    sums or normalises across the batch.
    """
    y, memory, p, self_mask, memory_mask = case.build()
    out = call_layer(y, memory, p, self_mask, memory_mask)
    for b in range(y.shape[0]):
        row = slice(b, b + 1)
        masks = [None if m is None else m[row] for m in (self_mask, memory_mask)]
        alone = call_layer(y[row], memory[row], p, *masks, what=f"decoder_layer(y[{b}:{b + 1}], ...)")
        assert_close(out[row], alone, message("row {b} of decoder_layer compared with that row alone", b=b),
                     *model_tolerance(y.dtype))


@pytest.mark.parametrize("bad", ["memory", "y", "memory batch"])
def test_decoder_layer_wrong_width_raises(bad):
    """A memory (or y) whose width is not the parameters' D, or a memory with another batch size than y
    (even 1, which would broadcast), raises ValueError, ideally naming it.

    Hint: check that y is [B, T_tgt, D] with D the height of p.self_attn.W_q (ValueError naming y), and memory
    [B, T_src, D] with y's B and D (ValueError naming memory), before any product.
    """
    y, memory, p, _, _ = revealing_layer()
    args = {"memory": (y, memory[..., :6]), "y": (y[..., :6], memory), "memory batch": (y, memory[:1])}[bad]
    with raises_value_error(bad.split()[0]):
        ex11.decoder_layer(*args, p)


# --- decode -----------------------------------------------------------------------------------------


def call_decode(tgt, memory, src, params, what="decode(tgt, memory, src, params)"):
    """The target's decode, read as an array [B, T_tgt, D] in the parameters' dtype."""
    D = params.config.d_model
    return as_array(ex11.decode(tgt, memory, src, params), what, (*tgt.shape, D), params.tgt_embed.dtype)


def reference_decode(tgt, memory, src, params):
    return ref11.decode(tgt, memory.astype(np.float64), src, astype_params(params, np.float64))


@settings(max_examples=10)
@given(S.seeds, configs(), S.float_dtypes, token_pairs())
def test_decode_shape_and_dtype(seed, config, dtype, tokens):
    """decode returns [B, T_tgt, D] in the dtype of the parameters.

    Hint: embed the target with params.tgt_embed (not src_embed), build the self mask from tgt_tokens and the
    memory mask from src_tokens (its last axis is T_src).
    """
    tgt, src = tokens
    params = S.random_transformer(seed, config, dtype)
    call_decode(tgt, memory_for(src, config.d_model, seed, dtype), src, params)


@given(S.seeds, configs(), S.float_dtypes, token_pairs())
def test_decode_matches_reference(seed, config, dtype, tokens):
    """decode equals the reference on random models, memories and padded token batches.

    Hint: embed(tgt_tokens, params.tgt_embed), then every params.decoder layer with
    decoder_self_mask(tgt_tokens, pad_id) and padding_mask(src_tokens, pad_id).
    """
    tgt, src = tokens
    params = S.random_transformer(seed, config, dtype)
    memory = memory_for(src, config.d_model, seed, dtype)
    out = call_decode(tgt, memory, src, params)
    assert_close(out, reference_decode(tgt, memory, src, params), "decode(tgt, memory, src, params)",
                 *model_tolerance(dtype))


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_decode_example(dtype):
    """decode equals the reference on B=2 (targets of 4 and 2 tokens, sources of 6 and 3), 2 layers.

    Hint: y_0 = embed(tgt_tokens, params.tgt_embed); every layer of params.decoder, in order, gets the
    previous y, the same memory, decoder_self_mask(tgt_tokens, pad_id) and padding_mask(src_tokens, pad_id).
    """
    params = S.random_transformer(5, S.small_config(), dtype)
    tgt, src = fixed_tokens([4, 2], 4, 13, seed=6), fixed_tokens([6, 3], 6, 11, seed=7)
    memory = memory_for(src, 8, 8, dtype)
    out = call_decode(tgt, memory, src, params)
    assert_close(out, reference_decode(tgt, memory, src, params), "decode(tgt, memory, src, params)",
                 *model_tolerance(dtype))


@settings(max_examples=10)
@given(S.seeds, configs(), S.float_dtypes, token_pairs())
def test_decode_without_layers_is_the_embedding(seed, config, dtype, tokens):
    """With no layers, decode returns tgt_embed[tgt] * sqrt(D) + the sinusoidal encoding.

    Hint: the target uses its own table: embed(tgt_tokens, params.tgt_embed), not src_embed.
    """
    tgt, src = tokens
    params = dataclasses.replace(S.random_transformer(seed, config, dtype), decoder=[])
    out = call_decode(tgt, memory_for(src, config.d_model, seed, dtype), src, params,
                      message("decode(tgt, memory, src, params with no layers)"))
    assert_close(out, embedding_oracle(tgt, params.tgt_embed),
                 message("decode(..., params with no layers)"))


@settings(max_examples=15)
@given(S.seeds, configs(), S.float_dtypes, token_pairs(), st.data())
def test_decode_is_causal(seed, config, dtype, tokens, data):
    """Changing the target tokens after position t never changes the outputs at or before t.

    Hint: mask the self-attention with decoder_self_mask(tgt_tokens, pad_id): causal AND padding.
    """
    tgt, src = tokens
    T = tgt.shape[1]
    if T < 2:
        return
    t = data.draw(st.integers(0, T - 2), label="t")
    other = tgt.copy()
    other[:, t + 1:] = 1 + (tgt[:, t + 1:] + 4) % 12  # other ids, real tokens only (1..12)
    params = S.random_transformer(seed, config, dtype)
    memory = memory_for(src, config.d_model, seed, dtype)
    out = call_decode(tgt, memory, src, params)
    out2 = call_decode(other, memory, src, params,
                       message("decode(tgt with the tokens after t={t} changed)", t=t))
    assert_close(out2[:, :t + 1], out[:, :t + 1],
                 message("decode outputs at positions 0..{t} after changing the target tokens after t={t}",
                         t=t))


def test_decode_pinned_causality():
    """Two rows of 4 target tokens: changing the last two tokens leaves positions 0 and 1 unchanged.

    Hint: the self-attention needs the causal part of decoder_self_mask(tgt_tokens, pad_id): position t may
    read positions 0..t of the target only.
    """
    params = S.random_transformer(5, S.small_config())
    tgt, src = fixed_tokens([4, 4], 4, 13, seed=6), fixed_tokens([6, 3], 6, 11, seed=7)
    memory = memory_for(src, 8, 8, np.float64)
    other = tgt.copy()
    other[:, 2:] = [[3, 4], [5, 6]]
    out = call_decode(tgt, memory, src, params)
    out2 = call_decode(other, memory, src, params,
                       message("decode(tgt with tokens 2 and 3 changed)"))
    assert_close(out2[:, :2], out[:, :2],
                 message("decode outputs at positions 0 and 1 after changing tokens 2 and 3"))


@settings(max_examples=10)
@given(S.seeds, configs(), S.float_dtypes, token_pairs(min_batch=2))
def test_decode_padding_is_invisible(seed, config, dtype, tokens):
    """Each row decoded alone, without the padding of its target and source, gives the same real outputs.

    Hint: the cross-attention needs memory_mask = padding_mask(src_tokens, pad_id), so that no target
    token reads the memory of the source's padding.
    """
    tgt, src = tokens
    params = S.random_transformer(seed, config, dtype)
    memory = memory_for(src, config.d_model, seed, dtype)
    out = call_decode(tgt, memory, src, params)
    for b in range(tgt.shape[0]):
        Lt, Ls = int((tgt[b] != PAD).sum()), int((src[b] != PAD).sum())
        alone = call_decode(tgt[b:b + 1, :Lt], memory[b:b + 1, :Ls], src[b:b + 1, :Ls], params,
                            message("decode of row {b} alone ({Lt} target, {Ls} source tokens)", b=b, Lt=Lt,
                                    Ls=Ls))
        assert_close(out[b, :Lt], alone[0],
                     message("row {b} of decode compared with the row decoded alone without padding ({Lt} "
                             "target, {Ls} source tokens)", b=b, Lt=Lt, Ls=Ls), *model_tolerance(dtype))


def test_decode_pinned_source_padding():
    """Changing the memory under the source padding (row 1 has 3 real tokens of 6) changes nothing.

    Hint: mask the cross-attention with padding_mask(src_tokens, pad_id), built from the source tokens, not
    from the target.
    """
    params = S.random_transformer(5, S.small_config())
    tgt, src = fixed_tokens([4, 2], 4, 13, seed=6), fixed_tokens([6, 3], 6, 11, seed=7)
    memory = memory_for(src, 8, 8, np.float64)
    other = memory.copy()
    other[1, 3:] = 9.0
    out = call_decode(tgt, memory, src, params)
    out2 = call_decode(tgt, other, src, params,
                       message("decode(tgt, memory changed under the source padding)"))
    assert_close(out2, out, message("decode after changing the memory at the source's padded positions"))


@settings(max_examples=10)
@given(S.seeds, configs(), S.float_dtypes, token_pairs())
def test_decode_reads_memory(seed, config, dtype, tokens):
    """Replacing the memory changes the decoder's output at every real target position.

    Hint: every decoder layer's cross-attention takes its keys and values from the memory argument; do not
    replace it with y or with a memory you compute yourself.
    """
    tgt, src = tokens
    params = S.random_transformer(seed, config, dtype)
    out = call_decode(tgt, memory_for(src, config.d_model, seed, dtype), src, params)
    out2 = call_decode(tgt, memory_for(src, config.d_model, seed + 1, dtype), src, params,
                       message("decode(tgt, other memory, src, params)"))
    change = np.abs(out2.astype(np.float64) - out).max(axis=-1)[tgt != PAD]
    if not (change > 1e-5).all():
        raise AssertionError(message("some real target positions did not change when the memory was "
                                     "replaced"))


@pytest.mark.parametrize("bad", [
    "tgt_too_large", "tgt_negative", "tgt_float", "memory_width", "src_one_dim",
    "memory_width_no_layers", "batch_mismatch_no_layers", "tgt_one_dim_no_layers",
])
def test_decode_bad_arguments_raise(bad):
    """Target ids outside 0..V_tgt-1, a memory that does not fit the tokens or the model, tokens that are not
    [B, T]: ValueError, even for a model with no decoder layers.

    Hint: check the arguments before embedding, even when params.decoder is empty: tgt_tokens a 2-D integer
    array of ids in 0..V_tgt-1, src_tokens 2-D integers, memory [B, T_src, D] for them, each ValueError naming
    the argument.
    """
    params = S.random_transformer(5, S.small_config())
    tgt, src = fixed_tokens([4, 2], 4, 13, seed=6), fixed_tokens([6, 3], 6, 11, seed=7)
    memory = memory_for(src, 8, 8, np.float64)
    names = ["tgt_tokens"]
    if bad.endswith("_no_layers"):
        params = dataclasses.replace(params, decoder=[])
    if bad == "memory_width_no_layers":
        memory, names = memory[..., :6], ["memory"]
    elif bad == "batch_mismatch_no_layers":
        tgt, names = tgt[:1], ["memory", "tgt_tokens", "src_tokens"]
    elif bad == "tgt_one_dim_no_layers":
        tgt = tgt[:, 0]  # [B]: as long as the batch, so only its number of axes is wrong
    elif bad == "tgt_too_large":
        tgt[0, 0] = params.config.tgt_vocab
    elif bad == "tgt_negative":
        tgt[1, 0] = -1
    elif bad == "tgt_float":
        tgt = tgt.astype(np.float64)
    elif bad == "memory_width":
        memory, names = memory[..., :6], ["memory"]
    else:
        src, names = src[0], ["src_tokens"]
    with raises_value_error(*names):
        ex11.decode(tgt, memory, src, params)


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_decode_with_other_special_ids(dtype):
    """decode equals the reference for a model whose pad_id is 4 (and bos 0, eos 3): both masks are
    built from config.pad_id, and id 0 is a real token.

    Hint: decoder_self_mask(tgt_tokens, config.pad_id) and padding_mask(src_tokens, config.pad_id).
    """
    src, tgt, params = other_ids_model(51, dtype)
    memory = memory_for(src, params.config.d_model, 52, dtype)
    assert_close(call_decode(tgt, memory, src, params,
                 message("{call} with pad_id={pad_id}", call="decode(tgt, memory, src, params)", pad_id=4)),
                 reference_decode(tgt, memory, src, params), with_other_ids("decode(...)"),
                 *model_tolerance(dtype))


def diagnostic_cases() -> dict[str, list[tuple]]:
    """Fixed inputs on which every catalogued mistake gives its own output."""
    params = S.random_transformer(21, S.small_config())
    src_a, src_b = fixed_tokens([6, 3], 6, 11, seed=22), fixed_tokens([2, 5], 5, 11, seed=23)
    tgt_a, tgt_b = fixed_tokens([4, 2], 4, 13, seed=25), fixed_tokens([3, 5], 5, 13, seed=27)
    return {
        "decoder_layer": [revealing_layer(seed=20), revealing_layer(seed=24, T_src=4)],
        "decode": [(tgt_a, memory_for(src_a, 8, 26, np.float64), src_a, params),
                   (tgt_b, memory_for(src_b, 8, 28, np.float64), src_b, params)],
    }
