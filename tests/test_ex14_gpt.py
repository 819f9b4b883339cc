"""Tests of exercise 14: GPT, a decoder-only language model, and sampling from it.

Each test's docstring says, in one line, the property it checks; the grader shows it to the
learner when the test fails, with the counterexample and the hint below it.

``sample`` is random: its tests never compare exact draws with the reference (they are not part of
the contract). They check what is: the prompt is kept, temperature 0 is the greedy arg-max, the
generator alone decides the draws, and the frequencies of many draws match the model's
distribution ``softmax(logits[:, -1] / temperature)`` within a few standard errors, with fixed seeds
so that the verdict is deterministic. The reference is only ever run on inputs built here (never on
the tokens a learner's ``sample`` drew), and never given a generator.
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
from course.params import GPTConfig, GPTParams, init_gpt
from tests.support import strategies as S
from tests.support import target
from tests.support.checks import as_array, assert_close, assert_equal, raises_value_error
from tests.support.models import astype_params, model_tolerance

ex14 = target.module("ex14_gpt")
ref14 = target.reference("ex14_gpt")

# A frequency further than this many standard errors from its probability fails the test. For a
# correct sampler the chance is below 1e-5 per test; the catalogued mistakes land 10 to 100 away.
Z_MAX = 5.0
TEMPERATURES = (0.5, 1.0, 2.0)


# --- models and inputs ------------------------------------------------------------------------------


def gpt_config(vocab: int = 13, d_model: int = 8, num_heads: int = 2, d_ff: int = 12,
               num_layers: int = 2) -> GPTConfig:
    """A small model whose sizes all differ (V=13, D=8, H=2, F=12, L=2), so no axis hides another."""
    return GPTConfig(vocab, d_model, num_heads, d_ff, num_layers)


def random_gpt(seed: int, config: GPTConfig | None = None, dtype: Any = np.float64) -> GPTParams:
    """A GPT from a seed, with non-zero biases (a zero bias hides a forgotten ``+ b``)."""
    return init_gpt(S.rng(seed), config or gpt_config(), dtype, random_bias=True)


@st.composite
def gpt_configs(draw) -> GPTConfig:
    """Small models: vocabularies 5 or 13, D even, 1 or 2 layers, H >= 1."""
    D, H = draw(st.sampled_from([(8, 2), (4, 2), (6, 3), (8, 4), (4, 1)]))
    return gpt_config(vocab=draw(st.sampled_from([13, 5])), d_model=D, num_heads=H,
                      d_ff=draw(st.sampled_from([12, 3])), num_layers=draw(st.integers(1, 2)))


def fixed_tokens(B: int, T: int, vocab: int, seed: int) -> np.ndarray:
    """Token ids [B, T] in ``0..vocab-1`` from a seed (int64, no padding)."""
    return S.rng(seed).integers(0, vocab, size=(B, T)).astype(np.int64)


@dataclass(frozen=True)
class ModelCase:
    """A model and a token batch, printed short: the model and the tokens are built from seeds."""

    seed: int
    config: GPTConfig
    dtype: type
    B: int
    T: int
    token_seed: int

    def build(self) -> tuple[np.ndarray, GPTParams]:
        """``(tokens [B, T], params)``."""
        return (fixed_tokens(self.B, self.T, self.config.vocab, self.token_seed),
                random_gpt(self.seed, self.config, self.dtype))


@st.composite
def model_cases(draw, dtype: Any = None, min_batch: int = 1, min_len: int = 1, max_len: int = 6) -> ModelCase:
    """Models of :func:`gpt_configs` and token batches of 1 to 3 rows, T from ``min_len`` to 6."""
    return ModelCase(draw(S.seeds), draw(gpt_configs()), dtype or draw(S.float_dtypes),
                     draw(st.integers(min_batch, 3)), draw(st.integers(min_len, max_len)), draw(S.seeds))


def call_forward(tokens, params, what="gpt_forward(tokens, params)"):
    """The target's logits, read as an array [B, T, V] in the parameters' dtype."""
    return as_array(ex14.gpt_forward(tokens, params), what, (*tokens.shape, params.config.vocab),
                    params.W_out.dtype)


def reference_forward(tokens, params):
    return np.asarray(ref14.gpt_forward(tokens, astype_params(params, np.float64)))


def reference_greedy(prompt: np.ndarray, params: GPTParams, steps: int) -> np.ndarray:
    """The greedy continuation, built with the reference gpt_forward alone: argmax of logits[:, -1]."""
    tokens = prompt.astype(np.int64)
    for _ in range(steps):
        last = reference_forward(tokens, params)[:, -1]  # (B, V)
        tokens = np.concatenate([tokens, last.argmax(axis=-1)[:, None]], axis=1)
    return tokens


def softmax64(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis in float64, written out here (an oracle independent of the exercises)."""
    z = np.exp(x - x.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def call_sample(params, prompt, steps, rng, temperature=1.0, what=None):
    """The target's tokens, checked: int64 [B, T_prompt + steps], ids in the vocabulary, prompt first."""
    what = what or f"sample(params, prompt, steps={steps}, rng, temperature={temperature})"
    out = as_array(ex14.sample(params, prompt, steps, rng, temperature), what,
                   (prompt.shape[0], prompt.shape[1] + steps), np.int64)
    V = params.config.vocab
    if out.size and (out.min() < 0 or out.max() >= V):
        bad = tuple(int(i) for i in np.argwhere((out < 0) | (out >= V))[0])
        raise AssertionError(message("{what} holds token {out} at {bad}, outside the vocabulary "
                                     "0..{last}", what=what, out=out[bad], bad=bad, last=V - 1))
    assert_equal(out[:, :prompt.shape[1]], prompt,
                 message("the first T_prompt={shape} columns of {what} (the prompt, unchanged)",
                         shape=prompt.shape[1], what=what))
    return out


def spread_model() -> GPTParams:
    """V=7, D=8, H=2, F=12, 2 layers, whose next-token probabilities after ``spread_prompt`` are spread.

    Its logits are doubled (``W_out`` and ``b_out`` times 2): at temperature 0.5 every token still
    has probability >= 0.015, and at 2 none exceeds 0.4, so a sampler that ignores, multiplies or
    misplaces the temperature, or draws from the wrong position, lands many standard errors away.
    """
    params = random_gpt(55, gpt_config(vocab=7))
    return dataclasses.replace(params, W_out=2 * params.W_out, b_out=2 * params.b_out)


def spread_prompt(B: int) -> np.ndarray:
    """``B`` copies of the prompt [3, 5, 3] (a row of 3 tokens, so the last position is not the first)."""
    return np.tile(fixed_tokens(1, 3, 7, seed=1055), (B, 1))


def separated_case() -> tuple[GPTParams, np.ndarray]:
    """A model (logits times 20) and prompts [3, 2] on which every greedy step wins by >= 0.05."""
    params = random_gpt(7, gpt_config(vocab=11))
    params = dataclasses.replace(params, W_out=20 * params.W_out, b_out=20 * params.b_out)
    return params, fixed_tokens(3, 2, 11, seed=8)


def assert_frequencies(drawn: np.ndarray, probs: np.ndarray, what: str) -> None:
    """The frequencies of ``drawn`` (ids) are within ``Z_MAX`` standard errors of ``probs``."""
    n, V = drawn.shape[0], probs.shape[0]
    counts = np.bincount(drawn, minlength=V)
    freq = counts / n
    se = np.sqrt(probs * (1 - probs) / n)
    z = np.abs(freq - probs) / se
    v = int(np.argmax(z))
    if z[v] > Z_MAX:
        raise AssertionError(
            message("{what}: token {v} was drawn {counts} times in {n} rows (frequency {freq}), but its "
                    "probability is {probs} (standard error {se}, {z} standard errors away).\nfrequencies:   "
                    "{freq2}\nprobabilities: {probs2}", what=what, v=v, counts=counts[v], n=n,
                    freq=f"{freq[v]:.3f}", probs=f"{probs[v]:.3f}", se=f"{se[v]:.3f}", z=f"{z[v]:.1f}",
                    freq2=np.round(freq, 3).tolist(), probs2=np.round(probs, 3).tolist()))


# --- gpt_forward ------------------------------------------------------------------------------------


@settings(max_examples=10)
@given(model_cases())
def test_forward_shape_and_dtype(case):
    """gpt_forward returns logits [B, T, V] in the dtype of the parameters (float32 stays float32).

    Hint: return the logits of every position, [B, T, V], not only the last one's; keep the parameters' dtype
    through the embedding, the layers and W_out.
    """
    call_forward(*case.build())


@given(model_cases())
def test_forward_matches_reference(case):
    """gpt_forward equals the reference on random models and token batches, float32 and float64.

    Hint: x = embed(tokens, params.embed); x = encoder_layer(x, layer, causal_mask(T)) for every layer;
    return x @ W_out + b_out.
    """
    tokens, params = case.build()
    assert_close(call_forward(tokens, params), reference_forward(tokens, params),
                 "gpt_forward(tokens, params)", *model_tolerance(case.dtype))


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_forward_example(dtype):
    """gpt_forward equals the reference on B=2, T=5, V=13, D=8, H=2, F=12, two layers.

    Hint: x_0 = embed(tokens, params.embed) (scaled by sqrt(D), plus PE), every block an encoder_layer under
    causal_mask(T), then x_L W_out + b_out, with no softmax.
    """
    params, tokens = random_gpt(41, dtype=dtype), fixed_tokens(2, 5, 13, seed=42)
    assert_close(call_forward(tokens, params), reference_forward(tokens, params),
                 "gpt_forward(tokens, params)", *model_tolerance(dtype))


@settings(max_examples=10)
@given(model_cases(min_len=2), st.data())
def test_forward_is_causal(case, data):
    """Changing the tokens after position t never changes the logits at or before t.

    Hint: every layer needs the causal mask, True on and below the diagonal: causal_mask(T).
    """
    tokens, params = case.build()
    T, V = tokens.shape[1], params.config.vocab
    t = data.draw(st.integers(0, T - 2), label="t")
    other = tokens.copy()
    other[:, t + 1:] = (tokens[:, t + 1:] + 1 + np.arange(T - t - 1)) % V  # a different id everywhere
    logits = call_forward(tokens, params)
    logits2 = call_forward(other, params,
                           message("gpt_forward with the tokens after t={t} changed", t=t))
    assert_close(logits2[:, :t + 1], logits[:, :t + 1],
                 message("logits at positions 0..{t} after changing the tokens after t={t}", t=t),
                 *model_tolerance(case.dtype))


@settings(max_examples=10)
@given(model_cases(), st.data())
def test_forward_reads_the_current_token(case, data):
    """Changing the token at position t changes the logits at t: position t reads its own token.

    Hint: the causal mask keeps the diagonal (query t may attend to key t), and the embedding of
    tokens[:, t] goes into position t.
    """
    tokens, params = case.build()
    T, V = tokens.shape[1], params.config.vocab
    t = data.draw(st.integers(0, T - 1), label="t")
    other = tokens.copy()
    other[:, t] = (tokens[:, t] + data.draw(st.integers(1, V - 1), label="shift")) % V
    logits = call_forward(tokens, params).astype(np.float64)
    logits2 = call_forward(other, params,
                           message("gpt_forward with the token at t={t} changed", t=t)).astype(np.float64)
    change = np.abs(logits2[:, t] - logits[:, t]).max(axis=-1)  # (B,)
    b = int(np.argmin(change))
    unread = 1e-6 if params.W_out.dtype == np.float32 else 1e-10  # a token left unread changes nothing
    if not (change[b] > unread):
        raise AssertionError(message("row {b}: changing tokens[{b}, {t}] from {tokens} to {other} left the "
                                     "logits at position {t} unchanged (largest change {change})", b=b, t=t,
                                     tokens=tokens[b, t], other=other[b, t], change=f"{change[b]:.2g}"))


@settings(max_examples=10)
@given(model_cases(min_batch=2))
def test_forward_rows_are_independent(case):
    """Each row computed alone gives the same logits as in the batch.

    Hint: every step acts within one row: one causal mask [T, T] shared by all rows, and nothing sums or
    normalises across the batch.
    """
    tokens, params = case.build()
    logits = call_forward(tokens, params)
    for b in range(tokens.shape[0]):
        alone = call_forward(tokens[b:b + 1], params,
                             message("gpt_forward of row {b} alone", b=b))
        assert_close(logits[b], alone[0],
                     message("row {b} of the logits compared with the row computed alone", b=b),
                     *model_tolerance(case.dtype))


@pytest.mark.parametrize("bad", ["too_large", "negative", "one_dimensional", "float", "empty"])
def test_forward_bad_tokens_raise(bad):
    """Ids outside 0..V-1, 1-D, float or empty tokens raise ValueError, ideally naming `tokens`.

    Hint: check tokens before embedding: a non-empty 2-D integer array with every id in 0..V-1 (V =
    params.embed.shape[0]), else ValueError naming tokens; a negative id would index from the end silently.
    """
    params, tokens = random_gpt(41), fixed_tokens(2, 5, 13, seed=42)
    tokens = {"too_large": np.where(np.arange(5) == 3, 13, tokens),
              "negative": np.where(np.arange(5) == 0, -1, tokens),
              "one_dimensional": tokens[0], "float": tokens.astype(np.float64), "empty": tokens[:, :0]}[bad]
    with raises_value_error("tokens"):
        ex14.gpt_forward(tokens, params)


# --- sample: the deterministic properties -----------------------------------------------------------


@settings(max_examples=10)
@given(model_cases(), st.integers(0, 4), st.sampled_from([0.0, 0.5, 1.0, 2.0]), S.seeds)
def test_sample_shape_dtype_and_prompt(case, steps, temperature, seed):
    """sample returns int64 tokens [B, T_prompt + steps] in 0..V-1 that start with the prompt, unchanged.

    Hint: start from prompt.astype(np.int64) and concatenate one column per step.
    """
    prompt, params = case.build()
    call_sample(params, prompt, steps, np.random.default_rng(seed), temperature)


@given(model_cases(dtype=np.float64), st.integers(1, 4))
def test_sample_zero_temperature_is_greedy(case, steps):
    """At temperature 0 every new token is the arg-max of the last position's logits on everything so far.

    The expected tokens are the reference gpt_forward run greedily on the same prompt.

    Hint: logits = gpt_forward(tokens, params)[:, -1]; next = argmax over the vocabulary; append; repeat.
    """
    prompt, params = case.build()
    out = call_sample(params, prompt, steps, np.random.default_rng(0), 0.0)
    assert_equal(out, reference_greedy(prompt, params, steps),
                 message("sample(params, prompt, steps={steps}, rng, temperature=0) compared with the "
                         "greedy tokens", steps=steps))


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_sample_greedy_example(dtype):
    """Temperature 0 on three prompts of 2 tokens, 4 steps (float32 and float64): the greedy tokens.

    Hint: at temperature 0 take, for each row, the arg-max of the last position's logits, append it, and run
    gpt_forward again on the whole sequence, steps times; return int64 tokens.
    """
    params, prompt = separated_case()
    expected = reference_greedy(prompt, params, 4)
    out = call_sample(astype_params(params, dtype), prompt, 4, np.random.default_rng(0), 0.0)
    assert_equal(out, expected, "sample(params, prompt, 4, rng, temperature=0)")


def test_sample_zero_temperature_leaves_rng_alone():
    """At temperature 0 sample draws nothing: the generator's state is unchanged.

    Hint: test temperature == 0 first and take the arg-max; only draw when temperature > 0.
    """
    params, prompt = separated_case()
    rng = np.random.default_rng(3)
    before = rng.bit_generator.state
    call_sample(params, prompt, 3, rng, 0.0)
    if rng.bit_generator.state != before:
        raise AssertionError(message("sample(..., temperature=0) drew numbers from rng"))


def test_sample_tiny_temperature_is_greedy_at_every_step():
    """At temperature 1e-3, with logits that differ by >= 0.05, every drawn token is the greedy one.

    The second and later tokens must be drawn from the model run on the prompt AND the tokens
    drawn before them.

    Hint: divide the last position's logits by the temperature (not multiply), so that a tiny temperature
    sharpens the softmax onto the arg-max; append each token and run gpt_forward on the whole sequence again.
    """
    params, prompt = separated_case()
    out = call_sample(params, prompt, 4, np.random.default_rng(4), 1e-3)
    assert_equal(out, reference_greedy(prompt, params, 4),
                 message("sample(params, prompt, 4, rng, temperature=1e-3) compared with the greedy tokens"))


@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_sample_same_generator_state_same_tokens(temperature):
    """Two generators with the same seed give the same tokens; different seeds give different tokens.

    Hint: draw only from `rng` (not np.random.*, not a new np.random.default_rng inside sample).
    """
    params, prompt = spread_model(), spread_prompt(4)
    first = call_sample(params, prompt, 6, np.random.default_rng(11), temperature)
    again = call_sample(params, prompt, 6, np.random.default_rng(11), temperature,
                        message("a second call of sample(..., temperature={temperature}) with the same seed",
                                temperature=temperature))
    assert_equal(again, first, message("sample(..., temperature={temperature}) called twice with "
                                       "default_rng(11)", temperature=temperature))
    other = call_sample(params, prompt, 6, np.random.default_rng(12), temperature)
    if np.array_equal(other, first):
        raise AssertionError(message("sample(..., temperature={temperature}) gave the same 24 tokens with "
                                     "default_rng(11) and default_rng(12): the draws must come from the "
                                     "`rng` argument", temperature=temperature))


# --- sample: the distribution -----------------------------------------------------------------------


@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_sample_frequencies_match_the_model(temperature):
    """Over 2000 rows with the same prompt, the drawn tokens' frequencies match softmax(logits[:, -1] / T).

    Hint: divide the LAST position's logits by the temperature, softmax over the vocabulary, and draw
    one token per row from that distribution with rng (e.g. u = rng.random(B) and the first v whose
    cumulative probability exceeds u).
    """
    params, prompt = spread_model(), spread_prompt(2000)
    out = call_sample(params, prompt, 1, np.random.default_rng(21), temperature)
    probs = softmax64(reference_forward(prompt[:1], params)[0, -1] / temperature)
    assert_frequencies(out[:, -1], probs, f"sample(params, prompt, 1, rng, temperature={temperature})")


def test_sample_default_temperature_is_one():
    """Without a temperature, sample draws from softmax(logits[:, -1]) itself: the default is 1.

    Hint: each row draws from the softmax of its own last logits over the vocabulary, divided by 1.0 by
    default; with the inverse CDF, next_b is the first v whose cumulative probability exceeds u_b.
    """
    params, prompt = spread_model(), spread_prompt(2000)
    out = as_array(ex14.sample(params, prompt, 1, np.random.default_rng(23)),
                   "sample(params, prompt, 1, rng)", (2000, prompt.shape[1] + 1), np.int64)
    probs = softmax64(reference_forward(prompt[:1], params)[0, -1])
    assert_frequencies(out[:, -1], probs, "sample(params, prompt, 1, rng) with the default temperature")


def test_sample_second_token_follows_the_first():
    """Among the rows whose first drawn token is the likeliest, the second follows the model on prompt + it.

    Hint: the second step runs gpt_forward on the prompt and the first drawn token, then draws again.
    """
    params, prompt = spread_model(), spread_prompt(2000)
    out = call_sample(params, prompt, 2, np.random.default_rng(22), 1.0)
    first = int(np.argmax(reference_forward(prompt[:1], params)[0, -1]))
    rows = out[:, 3] == first
    if rows.sum() < 300:
        raise AssertionError(message("only {count} of 2000 rows drew token {first} first, whose "
                                     "probability is about 0.3: the first step does not follow the model",
                                     count=rows.sum(), first=first))
    extended = np.concatenate([prompt[:1], [[first]]], axis=1)
    probs = softmax64(reference_forward(extended, params)[0, -1])
    assert_frequencies(out[rows, 4], probs,
                       message("the second token drawn after {extended} ({count} rows)",
                               extended=extended[0].tolist(), count=rows.sum()))


# --- sample: bad arguments --------------------------------------------------------------------------


BAD_SAMPLE_ARGUMENTS = {
    "prompt_out_of_vocabulary": ("prompt", dict(prompt=np.array([[1, 7]]))),
    "prompt_negative": ("prompt", dict(prompt=np.array([[1, -1]]))),
    "prompt_one_dimensional": ("prompt", dict(prompt=np.array([1, 2]))),
    "prompt_float": ("prompt", dict(prompt=np.array([[1.0, 2.0]]))),
    "prompt_empty": ("prompt", dict(prompt=np.zeros((2, 0), dtype=np.int64))),
    "steps_negative": ("steps", dict(steps=-1)),
    "steps_not_integer": ("steps", dict(steps=1.5)),
    "temperature_negative": ("temperature", dict(temperature=-0.5)),
    "temperature_nan": ("temperature", dict(temperature=float("nan"))),
    "temperature_infinite": ("temperature", dict(temperature=float("inf"))),
    "temperature_text": ("temperature", dict(temperature="1")),
    "temperature_none": ("temperature", dict(temperature=None)),
    "rng_none": ("rng", dict(rng=None)),
    "rng_legacy": ("rng", dict(rng=np.random.RandomState(0))),
}


@pytest.mark.parametrize("bad", list(BAD_SAMPLE_ARGUMENTS))
def test_sample_bad_arguments_raise(bad):
    """A bad prompt, steps < 0, a negative or non-finite temperature, or an rng that is not a numpy
    Generator raise ValueError, ideally naming the argument.

    Hint: check each argument before drawing: prompt a non-empty 2-D integer array of ids in 0..V-1, steps an
    integer >= 0, rng a numpy.random.Generator, temperature finite and >= 0; each ValueError naming it.
    """
    name, change = BAD_SAMPLE_ARGUMENTS[bad]
    args = dict(params=spread_model(), prompt=spread_prompt(2), steps=2, rng=np.random.default_rng(0),
                temperature=1.0) | change
    with raises_value_error(name):
        ex14.sample(args["params"], args["prompt"], args["steps"], args["rng"], args["temperature"])


def diagnostic_cases() -> dict[str, list[tuple]]:
    """Fixed inputs on which every catalogued mistake gives its own output."""
    params = random_gpt(43)
    prompts = fixed_tokens(12, 3, 7, seed=44)
    model = spread_model()
    return {
        "gpt_forward": [(fixed_tokens(2, 5, 13, seed=45), params),
                        (fixed_tokens(3, 4, 13, seed=46), random_gpt(47, dtype=np.float32))],
        "sample": [(model, prompts, 4, np.random.default_rng(7), 0.0),
                   (model, prompts, 4, np.random.default_rng(7), 1.0),
                   (model, prompts, 4, np.random.default_rng(7), 2.0)],
    }
