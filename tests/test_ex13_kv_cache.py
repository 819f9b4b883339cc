"""Tests of exercise 13: the key/value cache.

Each test's docstring says, in one line, the property it checks; the grader shows it to the
learner when the test fails, with the counterexample and the hint below it.

The cached functions are compared with the uncached reference on the same inputs: step ``t`` of
``decoder_step`` with ``transformer_forward``'s logits at position ``t``, ``self_attention_step``
with row ``t`` of ``multi_head_attention`` under a causal mask, ``cached_greedy_decode`` with
``greedy_decode``. The caches the tests feed in are built by the tests themselves (zeros, or random
keys and values), so a wrong ``empty_cache`` fails only its own tests.

Greedy decoding is compared on models whose ``b_out[pad_id]`` is lowered by 100: ``greedy_decode``
masks a ``pad_id`` that an unfinished row writes, a cached step cannot (the contract treats every
fed token as real), so the two agree only when padding never wins the arg-max.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.i18n import message
from course.params import LayerCache, MultiHeadParams, TransformerConfig, TransformerParams
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
    causal,
    changed,
    configs,
    fixed_tokens,
    memory_for,
    model_tolerance,
    other_ids_model,
    sources,
    with_other_ids,
)
from tests.support.pictures import picture

ex13 = target.module("ex13_kv_cache")
ref07 = target.reference("ex07_multi_head")
ref10 = target.reference("ex10_encoder")
ref12 = target.reference("ex12_transformer")


# --- helpers ---------------------------------------------------------------------------------------


def heads(x: np.ndarray, H: int) -> np.ndarray:
    """[B, T, D] -> [B, H, T, d_k], written out: head h holds features h*d_k .. (h+1)*d_k - 1."""
    B, T, D = x.shape
    return x.reshape(B, T, H, D // H).transpose(0, 2, 1, 3)


def zero_cache(params: TransformerParams, B: int) -> list[LayerCache]:
    """The tests' own empty cache: [B, H, 0, d_k] zeros per decoder layer, in the parameters' dtype."""
    c = params.config
    shape = (B, c.num_heads, 0, c.d_model // c.num_heads)
    return [LayerCache(np.zeros(shape, params.W_out.dtype), np.zeros(shape, params.W_out.dtype))
            for _ in params.decoder]


def random_cache(params: TransformerParams, B: int, t: int, seed: int) -> list[LayerCache]:
    """Random keys and values [B, H, t, d_k] per decoder layer (a step works on any cache content)."""
    c, rng = params.config, S.rng(seed)
    shape = (B, c.num_heads, t, c.d_model // c.num_heads)
    dtype = params.W_out.dtype
    return [LayerCache(rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype))
            for _ in params.decoder]


def without_pad(params: TransformerParams) -> TransformerParams:
    """The model with ``b_out[pad_id]`` lowered by 100: padding never wins the arg-max."""
    b_out = params.b_out.copy()
    b_out[params.config.pad_id] -= 100
    return dataclasses.replace(params, b_out=b_out)


def snapshot(cache: Any) -> list[tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Every LayerCache of ``cache`` (one or a list) with its arrays and copies of their values."""
    layers = cache if isinstance(cache, list) else [cache]
    return [(c, c.keys, c.values, c.keys.copy(), c.values.copy()) for c in layers]


def assert_unchanged(cache: Any, saved: list, what: str) -> None:
    """The cache passed to ``what`` is still the same objects holding the same numbers."""
    layers = cache if isinstance(cache, list) else [cache]
    hint = message("build a new LayerCache (and a new list) with np.concatenate instead of changing the one "
                   "passed")
    if len(layers) != len(saved):
        raise AssertionError(message("{what} changed the length of the cache list it was given ({len_saved} "
                                     "-> {len_layers}): {hint}", what=what, len_saved=len(saved),
                                     len_layers=len(layers), hint=hint))
    for i, (c, (obj, keys, values, k0, v0)) in enumerate(zip(layers, saved, strict=True)):
        where = f"cache[{i}]" if isinstance(cache, list) else "cache"
        if c is not obj:
            raise AssertionError(message("{what} replaced {where} in the list it was given: {hint}",
                                         what=what, where=where, hint=hint))
        for name, arr, now, before in (("keys", keys, c.keys, k0), ("values", values, c.values, v0)):
            if now is not arr or now.shape != before.shape or not np.array_equal(now, before):
                raise AssertionError(message("{what} changed {where}.{name} of the cache it was given "
                                             "(shape {shape} -> {shape2}): {hint}", what=what, where=where,
                                             name=name, shape=before.shape, shape2=np.shape(now), hint=hint))


def read_cache(c: Any, what: str, shape: tuple[int, ...], dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(keys, values)`` of a returned LayerCache, checked: arrays of ``shape`` and ``dtype``."""
    if not (hasattr(c, "keys") and hasattr(c, "values")):
        raise AssertionError(message("{what} should be a LayerCache(keys, values), got {type}", what=what,
                                     type=type(c).__name__))
    return (as_array(c.keys, message("the keys of {what}", what=what), shape, dtype),
            as_array(c.values, message("the values of {what}", what=what), shape, dtype))


def call_step(x: np.ndarray, p: MultiHeadParams, cache: LayerCache, what: str = "self_attention_step"):
    """The target's ``(out [B, 1, D], keys, values [B, H, t + 1, d_k])``, checked."""
    B, _, D = x.shape
    H, t = p.num_heads, cache.keys.shape[2]
    result = ex13.self_attention_step(x, p, cache)
    if not isinstance(result, tuple) or len(result) != 2:
        raise AssertionError(message("{what} should return a pair (out, new_cache), got {type}", what=what,
                                     type=type(result).__name__))
    out = as_array(result[0], message("out of {what}", what=what), (B, 1, D), x.dtype)
    keys, values = read_cache(result[1], message("the new cache returned by {what} (t={t} positions before)",
                                                 what=what, t=t),
                              (B, H, t + 1, D // H), x.dtype)
    return out, keys, values, result[1]


def call_decoder_step(token, memory, src, params, cache, what: str = "decoder_step"):
    """The target's ``(logits [B, V_tgt], new_cache)``, checked: one more position in every layer."""
    c, dtype = params.config, params.W_out.dtype
    B, t = token.shape[0], cache[0].keys.shape[2]
    result = ex13.decoder_step(token, memory, src, params, cache)
    if not isinstance(result, tuple) or len(result) != 2:
        raise AssertionError(message("{what} should return a pair (logits, new_cache), got {type}",
                                     what=what, type=type(result).__name__))
    logits = as_array(result[0], message("logits of {what}", what=what), (B, c.tgt_vocab), dtype)
    new = result[1]
    if not isinstance(new, list | tuple) or len(new) != len(params.decoder):
        raise AssertionError(message("{what} should return a list of {len_decoder} LayerCache (one per "
                                     "decoder layer), got {type} of length {len_new}", what=what,
                                     len_decoder=len(params.decoder), type=type(new).__name__,
                                     len_new=len(new)))
    for i, layer_cache in enumerate(new):
        read_cache(layer_cache, message("new_cache[{i}] returned by {what} (t={t} positions before)", i=i,
                                        what=what, t=t),
                   (B, c.num_heads, t + 1, c.d_model // c.num_heads), dtype)
    return logits, list(new)


# --- empty_cache -----------------------------------------------------------------------------------


@settings(max_examples=10)
@given(S.seeds, configs(), S.float_dtypes, st.integers(1, 4))
def test_empty_cache_shapes_and_dtype(seed, config, dtype, B):
    """empty_cache gives one LayerCache per layer, keys and values [B, H, 0, d_k] in the params' dtype.

    Hint: np.zeros((batch_size, H, 0, D // H), dtype=params.W_out.dtype) for keys and for values.
    """
    params = S.random_transformer(seed, config, dtype)
    cache = ex13.empty_cache(params, B)
    if not isinstance(cache, list) or len(cache) != config.num_layers:
        raise AssertionError(message("empty_cache should return a list of num_layers={num_layers} "
                                     "LayerCache, got {type} of length {len_cache}",
                                     num_layers=config.num_layers, type=type(cache).__name__,
                                     len_cache=len(cache)))
    H = config.num_heads
    for i, c in enumerate(cache):
        read_cache(c, f"empty_cache(params, {B})[{i}]", (B, H, 0, config.d_model // H), dtype)


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_empty_cache_starts_decoding_at_position_0(dtype):
    """decoder_step on empty_cache's cache gives transformer_forward's logits at position 0 (bos).

    Hint: at the first step the cache is empty, so t = 0 and the new position attends only to itself: append
    its k and v before attending, embed the token with PE[0], and project the merged heads with W_o and b_o.
    """
    params = S.random_transformer(51, S.small_config(), dtype)
    src = fixed_tokens([6, 3], 6, 11, seed=52)
    cache = ex13.empty_cache(params, 2)
    logits, _ = call_decoder_step(np.full(2, BOS), ref10.encode(src, params), src, params, cache,
                                  "decoder_step(bos, ..., empty_cache(params, 2))")
    expected = ref12.transformer_forward(src, np.full((2, 1), BOS), astype_params(params, np.float64))
    assert_close(logits, expected[:, 0], message("logits of the first step"), *model_tolerance(dtype))


@pytest.mark.parametrize("bad", [0, -1])
def test_empty_cache_bad_batch_size_raises(bad):
    """batch_size < 1 raises ValueError, ideally naming `batch_size`.

    Hint: check batch_size before building anything: an integer of at least 1, else ValueError naming
    batch_size.
    """
    with raises_value_error("batch_size"):
        ex13.empty_cache(S.random_transformer(1, S.small_config()), bad)


# --- self_attention_step ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StepCase:
    """A sequence fed to self_attention_step one position at a time, printed short."""

    B: int
    T: int
    H: int
    d_k: int
    dtype: type
    seed: int

    def build(self) -> tuple[np.ndarray, MultiHeadParams, LayerCache]:
        """``(y [B, T, D], p, empty cache [B, H, 0, d_k])``."""
        D = self.H * self.d_k
        y = (2 * S.rng(self.seed).standard_normal((self.B, self.T, D))).astype(self.dtype)
        empty = np.zeros((self.B, self.H, 0, self.d_k), self.dtype)
        return y, S.random_multi_head(self.seed + 1, D, self.H, self.dtype), LayerCache(empty, empty.copy())


@st.composite
def step_cases(draw, max_len: int = 5) -> StepCase:
    """B <= 3, T <= max_len positions, H <= 3, d_k <= 3, float32 or float64."""
    return StepCase(draw(st.integers(1, 3)), draw(st.integers(1, max_len)), draw(st.integers(1, 3)),
                    draw(st.integers(1, 3)), draw(S.float_dtypes), draw(S.seeds))


def past(case: StepCase, t: int, seed: int) -> LayerCache:
    """Random keys and values [B, H, t, d_k] for the sizes of ``case`` (a step works on any cache)."""
    rng = S.rng(seed)
    shape = (case.B, case.H, t, case.d_k)
    return LayerCache(rng.standard_normal(shape).astype(case.dtype),
                      rng.standard_normal(shape).astype(case.dtype))


def run_steps(y: np.ndarray, p: MultiHeadParams, cache: LayerCache):
    """Feed ``y`` one position at a time: the outputs [B, T, D] and the last keys and values."""
    outs, keys, values = [], cache.keys, cache.values
    for t in range(y.shape[1]):
        out, keys, values, cache = call_step(y[:, t:t + 1], p, cache,
                message("self_attention_step at step t={t}", t=t))
        outs.append(out)
    return np.concatenate(outs, axis=1), keys, values


def expected_masked_attention(y: np.ndarray, p: MultiHeadParams) -> np.ndarray:
    """The reference multi_head_attention(y, y, p, causal mask), in float64."""
    y64, p64 = y.astype(np.float64), astype_params(p, np.float64)
    return ref07.multi_head_attention(y64, y64, p64, causal(y.shape[1]))[0]


@given(step_cases())
def test_self_attention_step_equals_causal_multi_head(case):
    """Step t of self_attention_step equals row t of multi_head_attention(y, y, p, causal mask).

    Hint: append the new k and v to the cache along axis 2 (time) BEFORE attending, then attend
    q over all of them and apply the output projection W_o, b_o.
    """
    y, p, cache = case.build()
    outs, _, _ = run_steps(y, p, cache)
    expected = expected_masked_attention(y, p)
    with picture("outputs of self_attention_step", outs, expected, rows="positions", columns="dimensions"):
        assert_close(outs, expected, message("outputs of self_attention_step, step by step"))


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_self_attention_step_example(dtype):
    """B=2, T=4, H=2, d_k=3: the 4 steps equal the rows of the causally masked multi_head_attention.

    Hint: append the new k to cache.keys and the new v to cache.values along the time axis (2), attend with q
    over all t + 1 positions without a mask, then merge the heads and apply W_o and b_o.
    """
    y, p, cache = StepCase(2, 4, 2, 3, dtype, 7).build()
    outs, _, _ = run_steps(y, p, cache)
    expected = expected_masked_attention(y, p)
    with picture("outputs of self_attention_step", outs, expected, rows="positions", columns="dimensions"):
        assert_close(outs, expected, message("outputs of self_attention_step, step by step"))


@settings(max_examples=10)
@given(step_cases())
def test_self_attention_step_caches_projected_keys_and_values(case):
    """After t steps the cache holds split_heads(y W_k + b_k) and split_heads(y W_v + b_v) of y[:, :t].

    Hint: cache the projected k and v (not x, not the output), keys in `keys` and values in `values`,
    each new position appended last along axis 2.
    """
    y, p, cache = case.build()
    _, keys, values = run_steps(y, p, cache)
    y64, p64 = y.astype(np.float64), astype_params(p, np.float64)
    T, H = y.shape[1], p.num_heads
    assert_close(keys, heads(y64 @ p64.W_k + p64.b_k, H),
                 message("cache keys after {T} steps", T=T))
    assert_close(values, heads(y64 @ p64.W_v + p64.b_v, H),
                 message("cache values after {T} steps", T=T))


@settings(max_examples=10)
@given(step_cases(max_len=1))
def test_self_attention_step_first_position_attends_to_itself(case):
    """With an empty cache the new position attends only to itself: out = (x W_v + b_v) W_o + b_o.

    Hint: the only key is the new position's own: its weight is 1, so the output is its value projected.
    """
    y, p, cache = case.build()
    out, _, _, _ = call_step(y, p, cache,
                             message("self_attention_step(x, p, empty cache)"))
    y64, p64 = y.astype(np.float64), astype_params(p, np.float64)
    assert_close(out, (y64 @ p64.W_v + p64.b_v) @ p64.W_o + p64.b_o,
                 message("self_attention_step on an empty cache"))


@settings(max_examples=10)
@given(step_cases(), st.integers(0, 3))
def test_self_attention_step_leaves_the_cache_unchanged(case, t):
    """self_attention_step returns a new LayerCache and leaves the one it was given as it was.

    Hint: new_cache = LayerCache(np.concatenate([cache.keys, k], axis=2), ...); never assign to cache.keys.
    """
    y, p, _ = case.build()
    cache = past(case, t, case.seed + 2)
    saved = snapshot(cache)
    _, _, _, new = call_step(y[:, :1], p, cache)
    assert_unchanged(cache, saved, "self_attention_step")
    if new is cache:
        raise AssertionError(message("self_attention_step returned the LayerCache it was given: return a "
                                     "new one"))


@settings(max_examples=10)
@given(step_cases(), st.integers(0, 3))
def test_self_attention_step_rows_are_independent(case, t):
    """Each row of the batch computed alone (with its row of the cache) gives the same output.

    Hint: row b's query attends only to row b of the cache and to its own key: concatenate along axis 2
    (time), never along the batch or the heads axis.
    """
    y, p, _ = case.build()
    cache = past(case, t, case.seed + 3)
    out, _, _, _ = call_step(y[:, :1], p, cache)
    for b in range(case.B):
        alone, _, _, _ = call_step(y[b:b + 1, :1], p, LayerCache(cache.keys[b:b + 1], cache.values[b:b + 1]),
                                   message("self_attention_step on row {b} alone", b=b))
        assert_close(out[b], alone[0], message("row {b} of self_attention_step compared with the row "
                                               "computed alone", b=b))


@pytest.mark.parametrize("bad", ["x_two_positions", "x_width", "cache_batch", "cache_heads",
                                 "cache_mismatch", "cache_rank_3"])
def test_self_attention_step_bad_arguments_raise(bad):
    """x not [B, 1, D], or a cache that is not [B, H, t, d_k] for x and p: ValueError.

    Hint: before projecting, check that x is [B, 1, D] with D the height of p.W_q (ValueError naming x), and
    that cache.keys and cache.values are both [B, H, t, d_k] for that B, H and d_k = D / H (ValueError naming
    cache).
    """
    y, p, _ = StepCase(2, 3, 2, 3, np.float64, 9).build()
    x, keys, values, name = y[:, :1], np.zeros((2, 2, 2, 3)), np.zeros((2, 2, 2, 3)), "cache"
    if bad == "x_two_positions":
        x, name = y[:, :2], "x"
    elif bad == "x_width":
        x, name = y[:, :1, :4], "x"
    elif bad == "cache_batch":
        keys, values = keys[:1], values[:1]
    elif bad == "cache_heads":
        keys, values = np.zeros((2, 3, 2, 2)), np.zeros((2, 3, 2, 2))
    elif bad == "cache_rank_3":
        keys, values = np.zeros((2, 2, 2)), np.zeros((2, 2, 2))
    else:
        values = values[:, :, :1]
    with raises_value_error(name):
        ex13.self_attention_step(x, p, LayerCache(keys, values))


# --- decoder_step ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodeCase:
    """A target prefix fed to decoder_step token by token, printed short: the model from its seed."""

    src: np.ndarray
    seed: int
    config: TransformerConfig
    dtype: type
    steps: int

    def build(self) -> tuple[np.ndarray, np.ndarray, TransformerParams]:
        """``(src, tgt [B, steps] of real ids 1..V-1, params)``."""
        params = S.random_transformer(self.seed, self.config, self.dtype)
        tgt = S.rng(self.seed + 1).integers(1, self.config.tgt_vocab, size=(self.src.shape[0], self.steps))
        return self.src, tgt, params


@st.composite
def decode_cases(draw, min_batch: int = 1, max_steps: int = 4) -> DecodeCase:
    """Small models (1 or 2 layers, H >= 1), sources of rows with different padding, 1..max_steps tokens."""
    return DecodeCase(draw(sources(min_batch)), draw(S.seeds), draw(configs()), draw(S.float_dtypes),
                      draw(st.integers(1, max_steps)))


def check_steps_match_forward(src: np.ndarray, tgt: np.ndarray, params: TransformerParams) -> None:
    """Feed ``tgt`` token by token from an empty cache; compare each step with transformer_forward."""
    memory = ref10.encode(src, params)
    expected = ref12.transformer_forward(src, tgt, astype_params(params, np.float64))  # (B, T, V)
    cache = zero_cache(params, src.shape[0])
    for t in range(tgt.shape[1]):
        what = message("decoder_step at step t={t}", t=t)
        logits, cache = call_decoder_step(tgt[:, t], memory, src, params, cache, what)
        assert_close(logits, expected[:, t],
                     message("logits of {what} compared with transformer_forward(src, tgt[:, "
                             ":{t_next}])[:, {t}] (tgt[:, :{t_next}] = {tgt})", what=what,
                             t_next=t + 1, t=t, tgt=tgt[:, :t + 1].tolist()),
                     *model_tolerance(params.W_out.dtype))


@given(decode_cases())
def test_decoder_step_equals_transformer_forward(case):
    """Step t of decoder_step gives transformer_forward's logits at position t, for every t.

    Hint: t = cache[0].keys.shape[2]; embed tgt_embed[token] * sqrt(D) + PE[t]; in every layer use
    self_attention_step with that layer's cache, then cross-attention over memory with the source
    padding mask, the feed-forward, each followed by add & norm.
    """
    check_steps_match_forward(*case.build())


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_decoder_step_example(dtype):
    """B=2 (sources of 6 and 3 tokens), 2 layers, H=2: 5 steps equal transformer_forward's positions 0..4.

    Hint: t = cache[0].keys.shape[2]: embed tgt_embed[token] * sqrt(D) + PE[t], run every layer with its own
    cache, cross-attend to memory under padding_mask(src_tokens, pad_id), and return y W_out + b_out.
    """
    params = S.random_transformer(41, S.small_config(), dtype)
    src = fixed_tokens([6, 3], 6, 11, seed=42)
    tgt = S.rng(43).integers(1, 13, size=(2, 5))
    check_steps_match_forward(src, tgt, params)


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_decoder_step_example_four_heads(dtype):
    """B=3 (sources of 5, 2 and 4 tokens), 1 layer, H=4: 4 steps equal transformer_forward's logits.

    Hint: the cache is [B, H, t, d_k]: heads on axis 1, time on axis 2, d_k = D / H; read t from axis 2
    and append along axis 2, whatever H is.
    """
    params = S.random_transformer(44, S.small_config(num_heads=4, num_layers=1), dtype)
    src = fixed_tokens([5, 2, 4], 5, 11, seed=45)
    tgt = S.rng(46).integers(1, 13, size=(3, 4))
    check_steps_match_forward(src, tgt, params)


@settings(max_examples=10)
@given(decode_cases(), st.integers(0, 3))
def test_decoder_step_cache_grows_by_one_position(case, t):
    """decoder_step returns logits [B, V_tgt] and a cache of t + 1 positions per layer, in the params' dtype.

    Hint: every layer's keys and values grow from [B, H, t, d_k] to [B, H, t + 1, d_k].
    """
    src, tgt, params = case.build()
    cache = random_cache(params, src.shape[0], t, case.seed + 2)
    call_decoder_step(tgt[:, 0], memory_for(src, case.config.d_model, case.seed + 3, case.dtype), src, params,
                      cache, message("decoder_step with a cache of t={t} positions", t=t))


@settings(max_examples=10)
@given(decode_cases(), st.integers(0, 3))
def test_decoder_step_leaves_the_cache_unchanged(case, t):
    """decoder_step returns a new list of new LayerCache and leaves the list it was given as it was.

    Hint: build new_cache = [] and append each layer's new LayerCache; never assign into the list passed.
    """
    src, tgt, params = case.build()
    cache = random_cache(params, src.shape[0], t, case.seed + 2)
    saved = snapshot(cache)
    memory = memory_for(src, case.config.d_model, case.seed + 3, case.dtype)
    call_decoder_step(tgt[:, 0], memory, src, params, cache)
    assert_unchanged(cache, saved, "decoder_step")


@settings(max_examples=10)
@given(decode_cases(min_batch=2), st.integers(0, 3))
def test_decoder_step_rows_are_independent(case, t):
    """Each row computed alone (its cache row, its source without padding) gives the same logits.

    Hint: each row's cross-attention must hide that row's source padding with padding_mask(src_tokens,
    pad_id), and its self-attention reads that row of the cache only.
    """
    src, tgt, params = case.build()
    cache = random_cache(params, src.shape[0], t, case.seed + 2)
    memory = memory_for(src, case.config.d_model, case.seed + 3, case.dtype)
    logits, _ = call_decoder_step(tgt[:, 0], memory, src, params, cache)
    for b in range(src.shape[0]):
        Ls = int((src[b] != PAD).sum())
        row_cache = [LayerCache(c.keys[b:b + 1], c.values[b:b + 1]) for c in cache]
        alone, _ = call_decoder_step(tgt[b:b + 1, 0], memory[b:b + 1, :Ls], src[b:b + 1, :Ls], params,
                                     row_cache,
                                     message("decoder_step on row {b} alone", b=b))
        assert_close(logits[b], alone[0],
                     message("row {b} of the logits compared with the row computed alone, without its "
                             "source padding ({Ls} source tokens)", b=b, Ls=Ls), *model_tolerance(case.dtype))


@settings(max_examples=10)
@given(decode_cases(min_batch=2), st.integers(0, 3))
def test_decoder_step_ignores_memory_under_source_padding(case, t):
    """Changing the memory at padded source positions never changes the logits.

    Hint: the cross-attention needs the source padding mask, padding_mask(src_tokens, pad_id).
    """
    src, tgt, params = case.build()
    if (src != PAD).all():
        return
    cache = random_cache(params, src.shape[0], t, case.seed + 2)
    memory = memory_for(src, case.config.d_model, case.seed + 3, case.dtype)
    other = np.where((src == PAD)[..., None], changed(memory.shape, case.seed + 4, case.dtype), memory)
    logits, _ = call_decoder_step(tgt[:, 0], memory, src, params, cache)
    logits2, _ = call_decoder_step(tgt[:, 0], other, src, params, cache,
                                   message("decoder_step with the memory under source padding changed"))
    assert_close(logits2, logits, message("logits with the memory under source padding changed"),
                 *model_tolerance(case.dtype))


BAD_STEP_ARGUMENTS = ["token_2d", "token_float", "token_batch", "token_too_large", "token_negative",
                      "cache_too_short", "cache_too_long", "cache_batch", "cache_width", "cache_uneven",
                      "cache_mismatch", "memory_batch_one", "memory_length", "src_float"]


@pytest.mark.parametrize("bad", BAD_STEP_ARGUMENTS)
def test_decoder_step_bad_arguments_raise(bad):
    """A token not [B] ids of the vocabulary, a cache not [B, H, t, d_k] per layer: ValueError.

    Hint: check before computing: token a 1-D integer array of B ids below V_tgt, cache a list with one
    LayerCache per decoder layer, all [B, H, t, d_k] with one t; each ValueError naming its argument.
    """
    params = S.random_transformer(5, S.small_config())  # 2 layers, D=8, H=2, V_tgt=13
    src = fixed_tokens([6, 3], 6, 11, seed=6)
    memory = memory_for(src, 8, 7, np.float64)
    token, cache, name = np.array([3, 4]), random_cache(params, 2, 2, 8), "token"
    if bad == "token_2d":
        token = token[:, None]
    elif bad == "token_float":
        token = token.astype(np.float64)
    elif bad == "token_batch":
        token = np.array([3, 4, 5])
    elif bad == "token_too_large":
        token = np.array([3, 13])
    elif bad == "token_negative":
        token = np.array([-1, 4])
    elif bad == "memory_batch_one":  # would broadcast over the batch
        memory, name = memory[:1], "memory"
    elif bad == "memory_length":
        memory, name = memory[:, :5], "memory"
    elif bad == "src_float":
        src, name = src.astype(np.float64), "src_tokens"
    else:
        name = "cache"
        c0, c1 = cache
        cache = {
            "cache_too_short": [c0],
            "cache_too_long": [c0, c1, c1],
            "cache_batch": [LayerCache(c.keys[:1], c.values[:1]) for c in cache],
            "cache_width": [LayerCache(c.keys[..., :2], c.values[..., :2]) for c in cache],
            "cache_uneven": [c0, LayerCache(c1.keys[:, :, :1], c1.values[:, :, :1])],
            "cache_mismatch": [c0, LayerCache(c1.keys, c1.values[:, :, :1])],
        }[bad]
    with raises_value_error(name):
        ex13.decoder_step(token, memory, src, params, cache)


# --- cached_greedy_decode --------------------------------------------------------------------------


def call_cached_greedy(src, params, max_len, what="cached_greedy_decode(src, params, max_len)"):
    """The target's tokens [B, L], checked: integers, B rows, 2 <= L <= max_len + 1, bos first."""
    return decoded_tokens(ex13.cached_greedy_decode(src, params, max_len), src, params, max_len, what)


def built(case) -> tuple[np.ndarray, TransformerParams, int]:
    """A greedy case of exercise 12 whose model never writes pad_id."""
    src, params, max_len = case.build()
    return src, without_pad(params), max_len


def staggered() -> tuple[np.ndarray, TransformerParams, int]:
    """Three sources whose translations end (eos) at steps 5, 4 and 6 of at most 8."""
    src, params, max_len = staggered_case()
    return src, without_pad(params), max_len


@given(greedy_cases(dtype=np.float64))
def test_cached_greedy_matches_greedy_decode(case):
    """cached_greedy_decode returns exactly the tokens of the reference greedy_decode (float64 models).

    Hint: feed tokens[:, -1] to decoder_step with the cache it returned last, append the arg-max
    (pad_id for finished rows), stop when every row has produced eos_id.
    """
    src, params, max_len = built(case)
    out = call_cached_greedy(src, params, max_len)
    assert_equal(out, ref12.greedy_decode(src, params, max_len), "cached_greedy_decode(src, params, max_len)")


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_cached_greedy_example_rows_ending_at_different_steps(dtype):
    """Three rows whose translations end at steps 5, 4 and 6: the tokens equal greedy_decode's.

    Hint: a finished row gets pad_id while the others go on; the loop stops after step 6, not max_len=8.
    """
    src, params, max_len = staggered()
    params = astype_params(params, dtype)
    out = call_cached_greedy(src, params, max_len)
    assert_equal(out, ref12.greedy_decode(src, params, max_len),
                 "cached_greedy_decode(src, params, max_len=8)")


@settings(max_examples=10)
@given(staggered_cases)
def test_cached_greedy_pads_finished_rows_and_stops(case):
    """After a row's eos_id it gets pad_id; decoding stops once every row has finished, else at max_len.

    Hint: keep finished |= next == eos_id; append pad_id to finished rows; break when finished.all().
    """
    src, params, max_len = built(case)
    out = call_cached_greedy(src, params, max_len)
    L = out.shape[1]
    for t in range(2, L):
        done = finished_before(out, t)
        assert_equal(np.where(done, out[:, t], PAD), np.full(out.shape[0], PAD),
                     message("column {t} of the tokens (rows that produced eos before it must get pad_id)",
                             t=t))
    if not finished_before(out, L).all():
        if max_len + 1 != L:
            raise AssertionError(message("the tokens have {L} columns but a row never produced eos: "
                                         "expected bos and max_len={max_len} new tokens, {columns} "
                                         "columns", L=L, max_len=max_len, columns=max_len + 1))
    else:
        if finished_before(out, L - 1).all():
            raise AssertionError(message("every row had finished before the last column {last}: "
                                         "cached_greedy_decode should have stopped one step earlier",
                                         last=L - 1))


@pytest.mark.parametrize("max_len", [1, 4])
def test_cached_greedy_stops_at_once_when_eos_wins(max_len):
    """When eos always wins (b_out[eos] = +100), every row is [bos_id, eos_id] and decoding stops.

    Hint: after appending a column, stop as soon as every row holds eos_id; do not run the remaining steps.
    """
    src, params, _ = staggered()
    out = call_cached_greedy(src, with_eos_bias(params, 100.0), max_len)
    assert_equal(out, np.tile([BOS, EOS], (3, 1)),
                 message("cached_greedy_decode(src, params where eos wins, {max_len})", max_len=max_len))


@pytest.mark.parametrize("max_len", [1, 5])
@pytest.mark.parametrize("pad_wins", [False, True], ids=["eos loses", "pad wins"])
def test_cached_greedy_runs_max_len_steps_when_eos_never_wins(max_len, pad_wins):
    """When eos never wins (b_out[eos] = -100), the tokens are greedy_decode's: bos and max_len new tokens,
    also when pad_id always wins (b_out[pad] = +100): only eos_id finishes a row.

    Hint: run at most max_len steps, each feeding the last token and the cache decoder_step returned last:
    bos_id plus max_len new columns, max_len + 1 in all; a row is finished once it has written eos_id.
    """
    src, params, _ = staggered_case() if pad_wins else staggered()  # staggered() lowers pad's logit
    params = without_eos(params, pad_wins)
    out = call_cached_greedy(src, params, max_len)
    if out.shape != (3, max_len + 1):
        raise AssertionError(message("cached_greedy_decode(max_len={max_len}) has shape {shape}, expected "
                                     "(3, {columns}): bos and max_len new tokens", max_len=max_len,
                                     shape=out.shape, columns=max_len + 1))
    assert_equal(out, ref12.greedy_decode(src, params, max_len), f"cached_greedy_decode(max_len={max_len})")


@pytest.mark.parametrize("bad", [0, -1])
def test_cached_greedy_bad_max_len_raises(bad):
    """max_len < 1 raises ValueError, ideally naming `max_len`.

    Hint: check max_len before decoding: an integer of at least 1, else ValueError naming max_len; max_len = 0
    is not a valid request.
    """
    src, params, _ = staggered()
    with raises_value_error("max_len"):
        ex13.cached_greedy_decode(src, params, bad)


def test_cached_greedy_bad_source_raises():
    """A source id >= V_src raises ValueError, ideally naming `src_tokens`.

    Hint: let encode (or your own check) reject a source id outside 0..V_src-1 with ValueError naming
    src_tokens, before the first step.
    """
    src, params, _ = staggered()
    src[0, 0] = params.config.src_vocab
    with raises_value_error("src_tokens"):
        ex13.cached_greedy_decode(src, params, 3)


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_decoder_step_with_other_special_ids(dtype):
    """decoder_step from an empty cache, for a model whose pad_id is 4 (bos 0, eos 3), gives the logits
    of transformer_forward at position 0: the source padding is config.pad_id, and id 0 is a real token.

    Hint: mask the cross-attention with padding_mask(src_tokens, params.config.pad_id): here pad_id is 4 and 0
    is a real token; the target tokens fed are never masked.
    """
    src, tgt, params = other_ids_model(57, dtype)
    memory = ref10.encode(src, params)
    logits, _ = call_decoder_step(tgt[:, 0], memory, src, params, random_cache(params, 2, 0, 58))
    expected = ref12.transformer_forward(src, tgt[:, :1], astype_params(params, np.float64))[:, 0]
    assert_close(logits, expected, with_other_ids("decoder_step(bos, ...)"),
                 *model_tolerance(dtype))


@pytest.mark.parametrize(("seed", "eos_bias"), [(63, 0.5), (69, 1.0), (84, 0.5)])
def test_cached_greedy_with_other_special_ids(seed, eos_bias):
    """cached_greedy_decode with pad_id 4, bos_id 0 and eos_id 3 returns greedy_decode's tokens (rows that
    finish at different steps are padded with 4).

    Hint: read bos_id, eos_id and pad_id from params.config, never fixed numbers: start with bos_id, stop on
    eos_id, and append pad_id to rows that have finished.
    """
    src, _, params = other_ids_model(seed, eos_bias=eos_bias)
    params = without_pad(params)
    assert_equal(call_cached_greedy(src, params, 6), ref12.greedy_decode(src, params, 6),
                 with_other_ids("cached_greedy_decode(src, params, 6)"))


def diagnostic_cases() -> dict[str, list[tuple]]:
    """Fixed inputs on which every catalogued mistake gives its own output."""
    params = S.random_transformer(61, S.small_config())  # 2 layers, D=8, H=2, d_k=4, V_tgt=13
    params32 = S.random_transformer(62, S.small_config(num_layers=1), np.float32)
    src = fixed_tokens([6, 3], 6, 11, seed=63)
    memory = memory_for(src, 8, 64, np.float64)
    token = np.array([5, 9])
    rng = np.random.default_rng(65)
    x = (2 * rng.standard_normal((2, 1, 8)))
    p = S.random_multi_head(66, 8, 2)
    empty = LayerCache(np.zeros((2, 2, 0, 4)), np.zeros((2, 2, 0, 4)))
    past = LayerCache(rng.standard_normal((2, 2, 3, 4)), rng.standard_normal((2, 2, 3, 4)))
    staggered_src, staggered_params, _ = staggered()
    pad_can_win = staggered_case()[1]  # the same model before staggered() lowers pad's logit
    return {
        "empty_cache": [(params, 2), (params32, 3)],
        "self_attention_step": [(x, p, empty), (x, p, past)],
        "decoder_step": [(token, memory, src, params, zero_cache(params, 2)),
                         (token, memory, src, params, random_cache(params, 2, 3, 67))],
        "cached_greedy_decode": [staggered(), (staggered_src, with_eos_bias(staggered_params, -100.0), 3),
                                 (src, without_pad(params), 4),
                                 (staggered_src, without_eos(pad_can_win, pad_wins=True), 3)],
    }
