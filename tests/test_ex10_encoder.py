"""Tests of exercise 10: the encoder layer and the encoder.

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
from tests.support.encoder import LayerCase
from tests.support.models import (
    PAD,
    astype_params,
    configs,
    embedding_oracle,
    fixed_tokens,
    key_mask,
    layer_norm_rows,
    model_tolerance,
    sources,
)

ex10 = target.module("ex10_encoder")
ref10 = target.reference("ex10_encoder")


# --- encoder_layer ---------------------------------------------------------------------------------


@st.composite
def layer_cases(draw, masked: bool = True) -> LayerCase:
    """Encoder-layer calls: B <= 3, T <= 5, H <= 3, d_k <= 3, F <= 6, maybe a padding mask."""
    B, T = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    sizes = (B, T, draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 6)))
    lengths = None
    if masked and draw(st.booleans()):
        lengths = tuple(draw(st.integers(1, T)) for _ in range(B))
    return LayerCase(*sizes, draw(S.float_dtypes), draw(S.seeds), lengths)


def revealing_layer(dtype: Any = np.float64, seed: int = 0):
    """B=2, T=5, D=8, H=2, F=12 and a mask with 5 and 3 real keys."""
    return LayerCase(2, 5, 2, 4, 12, dtype, seed, (5, 3)).build()


@settings(max_examples=10)
@given(layer_cases())
def test_encoder_layer_shape_and_dtype(case):
    """encoder_layer returns [B, T, D] in the dtype of x (float32 stays float32).

    Hint: keep x's dtype through both sublayers and both add & norm steps: every sublayer returns [B, T, D] in
    the dtype it is given, so add no float64 constant.
    """
    x, p, mask = case.build()
    as_array(ex10.encoder_layer(x, p, mask), "encoder_layer(x, p, mask)", x.shape, x.dtype)


@given(layer_cases())
def test_encoder_layer_matches_reference(case):
    """encoder_layer equals the reference on random inputs, weights and padding masks.

    Hint: x = add_and_norm(x, multi_head_attention(x, x, p.self_attn, mask)[0], p.norm1), then
    x = add_and_norm(x, feed_forward(x, p.ffn), p.norm2).
    """
    x, p, mask = case.build()
    out = as_array(ex10.encoder_layer(x, p, mask), "encoder_layer(x, p, mask)", x.shape, x.dtype)
    expected = ref10.encoder_layer(x.astype(np.float64), astype_params(p, np.float64), mask)
    assert_close(out, expected, "encoder_layer(x, p, mask)", *model_tolerance(x.dtype))


@given(layer_cases(masked=False), st.data())
def test_encoder_layer_every_mask_form(case, data):
    """encoder_layer equals the reference under a mask of every accepted form: [B or 1, T or 1, T],
    query rows hidden whole included.

    Hint: pass the mask to multi_head_attention as it is: it broadcasts [B or 1, T or 1, T] itself, and a
    query row with no allowed key gets a zero attention output, not NaN.
    """
    x, p, _ = case.build()
    mask = data.draw(S.mask_forms(case.B, case.T, case.T, two_d=False), "mask")
    out = as_array(ex10.encoder_layer(x, p, mask), "encoder_layer(x, p, mask)", x.shape, x.dtype)
    expected = ref10.encoder_layer(x.astype(np.float64), astype_params(p, np.float64), mask)
    assert_close(out, expected, message("encoder_layer(x, p, mask of shape {shape})", shape=mask.shape),
                 *model_tolerance(x.dtype))


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_encoder_layer_example(dtype):
    """encoder_layer equals the reference on B=2 rows with 5 and 3 real tokens, H=2, D=8, F=12.

    Hint: post-norm in this order: x = LayerNorm_1(x + MultiHead(x, x, x, mask)), then LayerNorm_2 of that x
    plus FFN of that same x, each with its own norm1 or norm2.
    """
    x, p, mask = revealing_layer(dtype)
    out = as_array(ex10.encoder_layer(x, p, mask), "encoder_layer(x, p, mask)", x.shape, dtype)
    expected = ref10.encoder_layer(x.astype(np.float64), astype_params(p, np.float64), mask)
    assert_close(out, expected, "encoder_layer(x, p, mask)", *model_tolerance(dtype))


@given(layer_cases(masked=False))
def test_encoder_layer_ends_with_layer_norm(case):
    """With norm2's gamma = 1 and beta = 0, every output row has mean 0 and variance 1 (post-norm).

    Hint: the paper normalises AFTER the residual: LayerNorm(x + Sublayer(x)), not x + Sublayer(LayerNorm(x)).
    """
    x, p, _ = case.build()
    D = x.shape[-1]
    if D < 4:  # a row of 2 or 3 numbers can have a tiny variance, which eps then shrinks
        return
    p = dataclasses.replace(p, norm2=dataclasses.replace(p.norm2, gamma=np.ones(D, x.dtype),
                                                         beta=np.zeros(D, x.dtype)))
    out = as_array(ex10.encoder_layer(x, p), "encoder_layer(x, p)", x.shape, x.dtype).astype(np.float64)
    assert_close(out.mean(-1), np.zeros(x.shape[:-1]),
                 message("mean of each output row"), atol=1e-4)
    var = out.var(-1)  # var / (var + eps) of the normalised sum: 1 up to eps
    assert_close(np.clip(var, 0.9, 1.0), var,
                 message("variance of each output row (between 0.9 and 1)"),
                 rtol=0, atol=1e-4)


@given(layer_cases())
def test_encoder_layer_residuals_carry_x(case):
    """When both sublayers output zero, the layer is LayerNorm_2(LayerNorm_1(x)): the residuals carry x.

    Hint: add & norm normalises x + Sublayer(x), never Sublayer(x) alone.
    """
    x, p, mask = case.build()
    zero = dataclasses.replace
    p = zero(p, self_attn=zero(p.self_attn, W_o=0 * p.self_attn.W_o, b_o=0 * p.self_attn.b_o),
             ffn=zero(p.ffn, W_2=0 * p.ffn.W_2, b_2=0 * p.ffn.b_2))
    out = as_array(ex10.encoder_layer(x, p, mask), "encoder_layer(x, p, mask)", x.shape, x.dtype)
    h = layer_norm_rows(x, p.norm1.gamma, p.norm1.beta)
    assert_close(out, layer_norm_rows(h, p.norm2.gamma, p.norm2.beta),
                 message("encoder_layer(x) whose sublayers output zero"), *model_tolerance(x.dtype))


@given(layer_cases(), st.randoms(use_true_random=False))
def test_encoder_layer_is_permutation_equivariant(case, random):
    """Without positional encoding, permuting the tokens (and the mask's keys) permutes the output.

    Hint: the layer must not use the token positions: attention and the feed-forward treat tokens alike.
    """
    x, p, mask = case.build()
    perm = list(range(x.shape[1]))
    random.shuffle(perm)
    out = as_array(ex10.encoder_layer(x, p, mask), "encoder_layer(x, p, mask)", x.shape, x.dtype)
    permuted_mask = None if mask is None else mask[:, :, perm]
    out_perm = as_array(ex10.encoder_layer(x[:, perm], p, permuted_mask), "encoder_layer(x[:, perm])",
                        x.shape, x.dtype)
    assert_close(out_perm, out[:, perm], message("encoder_layer(x[:, perm]) compared with "
                                                 "encoder_layer(x)[:, perm], perm={perm}", perm=perm),
                 *model_tolerance(x.dtype))


@given(layer_cases(masked=False), st.data())
def test_encoder_layer_masked_keys_are_not_read(case, data):
    """Changing x at the masked (padding) positions never changes the output at the real positions.

    Hint: pass the mask to multi_head_attention.
    """
    x, p, _ = case.build()
    B, T, _ = x.shape
    lengths = [data.draw(st.integers(1, T), label=f"length of row {b}") for b in range(B)]
    mask = key_mask(lengths, T)
    real = mask[:, 0, :]  # (B, T)
    other = np.where(real[..., None], x, 5 * S.rng(int(x.size)).standard_normal(x.shape)).astype(x.dtype)
    out = as_array(ex10.encoder_layer(x, p, mask), "encoder_layer(x, p, mask)", x.shape, x.dtype)
    out2 = as_array(ex10.encoder_layer(other, p, mask),
                    message("encoder_layer(x changed under the mask)"),
                    x.shape, x.dtype)
    assert_close(np.where(real[..., None], out2, 0), np.where(real[..., None], out, 0),
                 message("real positions of encoder_layer after changing the padded positions (lengths "
                         "{lengths})", lengths=lengths))


def test_encoder_layer_pinned_padding():
    """Two rows with 5 and 3 real tokens: changing the last two tokens of row 1 changes nothing real.

    Hint: give the mask to the self-attention: with False at the padding keys, no real token reads the
    padding, whatever it holds.
    """
    x, p, mask = revealing_layer()
    other = x.copy()
    other[1, 3:] = -7.0
    out = as_array(ex10.encoder_layer(x, p, mask), "encoder_layer(x, p, mask)", x.shape, x.dtype)
    out2 = as_array(ex10.encoder_layer(other, p, mask),
                    message("encoder_layer(x changed under the mask)"),
                    x.shape, x.dtype)
    assert_close(out2[1, :3], out[1, :3],
                 message("row 1, real positions 0..2, after changing its padded positions"))
    assert_close(out2[0], out[0], message("row 0 after changing row 1"))


@given(layer_cases())
def test_encoder_layer_rows_are_independent(case):
    """Each batch row computed alone gives the same output as in the batch.

    Hint: every step acts on one batch row at a time: attention within a row, layer norm over the last axis,
    feed-forward per position; nothing mixes rows.
    """
    x, p, mask = case.build()
    out = as_array(ex10.encoder_layer(x, p, mask), "encoder_layer(x, p, mask)", x.shape, x.dtype)
    for b in range(x.shape[0]):
        alone = as_array(ex10.encoder_layer(x[b:b + 1], p, None if mask is None else mask[b:b + 1]),
                         f"encoder_layer(x[{b}:{b + 1}])", x[b:b + 1].shape, x.dtype)
        assert_close(out[b:b + 1], alone,
                     message("row {b} of encoder_layer(x) compared with that row alone", b=b),
                     *model_tolerance(x.dtype))


def test_encoder_layer_wrong_width_raises():
    """An x whose width is not the parameters' D raises ValueError, ideally naming `x`.

    Hint: check that x is [B, T, D] with D the height of p.self_attn.W_q before any product, and raise
    ValueError naming x.
    """
    x, p, _ = revealing_layer()
    with raises_value_error("x"):
        ex10.encoder_layer(x[..., :6], p)


# --- encode -----------------------------------------------------------------------------------------


@settings(max_examples=10)
@given(S.seeds, configs(), S.float_dtypes, sources())
def test_encode_shape_and_dtype(seed, config, dtype, src):
    """encode returns [B, T_src, D] in the dtype of the parameters.

    Hint: the memory keeps the parameters' dtype: embed with params.src_embed (scaled by sqrt(D), plus PE) and
    run every layer on that x.
    """
    params = S.random_transformer(seed, config, dtype)
    as_array(ex10.encode(src, params), "encode(src, params)", (*src.shape, config.d_model), dtype)


@given(S.seeds, configs(), S.float_dtypes, sources())
def test_encode_matches_reference(seed, config, dtype, src):
    """encode equals the reference on random models and padded source batches.

    Hint: embed with params.src_embed, build padding_mask(src, config.pad_id) once, then apply
    params.encoder[0], params.encoder[1], ... each with its own parameters.
    """
    params = S.random_transformer(seed, config, dtype)
    out = as_array(ex10.encode(src, params), "encode(src, params)", (*src.shape, config.d_model), dtype)
    expected = ref10.encode(src, astype_params(params, np.float64))
    assert_close(out, expected, "encode(src, params)", *model_tolerance(dtype))


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_encode_example(dtype):
    """encode equals the reference on two rows with 6 and 3 real tokens, D=8, H=2, 2 layers.

    Hint: embed once, build the source padding mask from config.pad_id once, then run params.encoder in order,
    each layer on the previous layer's output.
    """
    params = S.random_transformer(3, S.small_config(), dtype)
    src = fixed_tokens([6, 3], 6, 11, seed=4)
    out = as_array(ex10.encode(src, params), "encode(src, params)", (2, 6, 8), dtype)
    assert_close(out, ref10.encode(src, astype_params(params, np.float64)), "encode(src, params)",
                 *model_tolerance(dtype))


@given(S.seeds, configs(), S.float_dtypes, sources())
def test_encode_without_layers_is_the_embedding(seed, config, dtype, src):
    """With no layers, encode returns src_embed[src] * sqrt(D) + the sinusoidal encoding.

    Hint: use embed(src_tokens, params.src_embed) from exercise 08: it scales and adds the encoding.
    """
    params = dataclasses.replace(S.random_transformer(seed, config, dtype), encoder=[])
    out = as_array(ex10.encode(src, params),
                   message("encode(src, params with no layers)"),
                   (*src.shape, config.d_model), dtype)
    assert_close(out, embedding_oracle(src, params.src_embed),
                 message("encode(src, params with no layers)"))


@settings(max_examples=15)
@given(S.seeds, configs(), S.float_dtypes, sources(min_batch=2))
def test_encode_padding_is_invisible(seed, config, dtype, src):
    """Each row encoded alone, without its padding, gives the same outputs at its real positions.

    Hint: encode must mask the padding keys: padding_mask(src_tokens, pad_id), True at real tokens.
    """
    params = S.random_transformer(seed, config, dtype)
    out = as_array(ex10.encode(src, params), "encode(src, params)", (*src.shape, config.d_model), dtype)
    for b, L in enumerate((src != PAD).sum(axis=1)):
        alone = as_array(ex10.encode(src[b:b + 1, :L], params), f"encode(src[{b}:{b + 1}, :{L}])",
                         (1, L, config.d_model), dtype)
        assert_close(out[b, :L], alone[0],
                     message("row {b} (real length {L}) of encode(src) compared with the row encoded alone "
                             "without padding", b=b, L=L), *model_tolerance(dtype))


def test_encode_pinned_padding():
    """Two rows with 6 and 3 real tokens: row 1's real outputs equal those of its 3 tokens alone.

    Hint: every encoder layer needs the padding mask padding_mask(src_tokens, pad_id): without it the real
    tokens read the padding and change.
    """
    params = S.random_transformer(3, S.small_config())
    src = fixed_tokens([6, 3], 6, 11, seed=4)
    out = as_array(ex10.encode(src, params), "encode(src, params)", (2, 6, 8), np.float64)
    alone = as_array(ex10.encode(src[1:, :3], params), "encode(src[1:, :3])", (1, 3, 8), np.float64)
    assert_close(out[1, :3], alone[0], message("row 1 (3 real tokens) of encode(src) compared with the row "
                                               "alone"))


def test_encode_pads_with_config_pad_id():
    """The padding id is config.pad_id, whatever it is: with pad_id = 3, a row's real outputs equal
    those of its real tokens encoded alone.

    Hint: build the mask with padding_mask(src_tokens, params.config.pad_id), not with a fixed 0.
    """
    config = dataclasses.replace(S.small_config(), pad_id=3)
    params = S.random_transformer(3, config)
    src = S.lengths_to_tokens([6, 3], 6, config.src_vocab, config.pad_id, S.rng(4))
    src[:, 0] = 0  # token 0 is a real word here
    out = as_array(ex10.encode(src, params),
                   message("encode(src, params) with pad_id=3"), (2, 6, 8), np.float64)
    alone = as_array(ex10.encode(src[1:, :3], params),
                     message("encode(src[1:, :3]) with pad_id=3"), (1, 3, 8),
                     np.float64)
    assert_close(out[1, :3], alone[0], message("row 1 (3 real tokens, then pad_id=3) of encode(src) "
                                               "compared with the row alone"))
    assert_close(out, ref10.encode(src, params),
                 message("encode(src, params) with pad_id=3"))


@given(S.seeds, configs(), S.float_dtypes, sources())
def test_encode_reads_the_whole_sentence(seed, config, dtype, src):
    """The encoder is not causal: changing the last real token changes the output at position 0.

    Hint: the encoder uses the padding mask only, no causal mask: every token sees every real token.
    """
    lengths = (src != PAD).sum(axis=1)
    b = int(np.argmax(lengths))
    L = int(lengths[b])
    if L < 2:
        return
    other = src.copy()
    other[b, L - 1] = 1 + other[b, L - 1] % 10  # another real token (ids 1..10)
    params = S.random_transformer(seed, config, dtype)
    out = as_array(ex10.encode(src, params), "encode(src, params)", (*src.shape, config.d_model), dtype)
    out2 = as_array(ex10.encode(other, params),
                    message("encode(src with its last real token changed)"),
                    out.shape, dtype)
    change = np.abs(out2[b, 0].astype(np.float64) - out[b, 0]).max()
    unread = 1e-6 if dtype == np.float32 else 1e-10  # a token left unread changes nothing at all
    if not (change > unread):
        raise AssertionError(message("the output at position 0 of row {b} did not change ({change}) when "
                                     "its last real token (position {last}) changed: the encoder must "
                                     "see every token", b=b, change=f"{change:.2g}", last=L - 1))


@pytest.mark.parametrize("bad", ["too_large", "negative", "float", "one_dim"])
def test_encode_bad_tokens_raise(bad):
    """Source tokens outside 0..V_src-1, not integers or not [B, T] raise ValueError.

    Hint: check src_tokens before embedding: a 2-D integer array with every id in 0..V_src-1 (V_src =
    params.src_embed.shape[0]), else ValueError naming src_tokens; negative ids would index silently from the
    end.
    """
    params = S.random_transformer(3, S.small_config())
    src = fixed_tokens([4, 2], 4, 11, seed=1)
    if bad == "too_large":
        src[0, 0] = params.config.src_vocab
    elif bad == "negative":
        src[1, 0] = -1
    elif bad == "float":
        src = src.astype(np.float64)
    else:
        src = src[0]
    with raises_value_error("src_tokens"):
        ex10.encode(src, params)


def diagnostic_cases() -> dict[str, list[tuple]]:
    """Fixed inputs on which every catalogued mistake gives its own output."""
    x, p, mask = revealing_layer(seed=10)
    x2 = (10 * np.random.default_rng(11).standard_normal((2, 4, 8)))
    p2 = S.random_encoder_layer(12, 8, 2, 12)
    params = S.random_transformer(13, S.small_config())
    return {
        "encoder_layer": [(x, p, mask), (x2, p2, None)],
        "encode": [(fixed_tokens([6, 3], 6, 11, seed=14), params),
                   (fixed_tokens([2, 5], 5, 11, seed=15), params)],
    }
