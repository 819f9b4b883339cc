"""Exercise 14: GPT, the decoder alone is a language model.

Exercise 01's AR(p) model predicts the next value ``y_t`` LINEARLY from a FIXED window of the last
p values, plus Gaussian noise: ``simulate_ar`` draws that noise, ``forecast`` leaves it out and feeds
each prediction back. A GPT predicts a whole DISTRIBUTION over the next token from the WHOLE
prefix. Its network is the encoder layer of exercise 10 run under the causal mask of exercise 06
(post-norm, as everywhere in this course; GPT-2 itself is pre-norm), so position ``t`` reads only
the tokens ``0..t`` and its logits score the token after ``tokens[:, t]``:

    x_0    = embed[tokens] * sqrt(D) + PE[:T]                              [B, T, D]
    x_l    = encoder_layer(x_{l-1}, layers[l-1], causal_mask(T))
    logits = x_L W_out + b_out                                             [B, T, V]

``sample`` is ``simulate_ar`` for tokens: run the model on everything so far, draw the next token
from the last position's distribution, append it, go on. The temperature reshapes the distribution
(below 1 sharper, above 1 flatter); temperature 0 is the noise-free ``forecast``, the arg-max:

    p(next = v | tokens) = softmax(logits[:, -1] / temperature)_v

Rules of every exercise (inputs never changed in place, the dtype kept, ValueError for a bad
argument, the allowed imports): docs/API.md.
"""

from __future__ import annotations

import math

import numpy as np

from course.params import GPTParams

from .ex02_softmax import softmax
from .ex06_masking import causal_mask
from .ex08_positional_encoding import embed
from .ex10_encoder import encoder_layer


def gpt_forward(tokens: np.ndarray, params: GPTParams) -> np.ndarray:
    """Logits of the next token at every position of a decoder-only (causal) Transformer.

        x_0    = embed[tokens] * sqrt(D) + PE[:T]
        x_l    = encoder_layer(x_{l-1}, params.layers[l-1], causal_mask(T))    for l = 1..L
        logits = x_L W_out + b_out

    The logit at position ``t`` scores the token that comes after ``tokens[:, t]`` and depends on
    ``tokens[:, :t + 1]`` only.

    Args:
        tokens: integer token ids [B, T], each in ``0..V-1`` (no padding), T >= 1.
        params: ``embed`` [V, D], ``layers`` (one EncoderLayerParams per block), ``W_out`` [D, V],
            ``b_out`` [V]; float32 or float64.

    Returns:
        Logits [B, T, V] (no softmax), in the dtype of the parameters.

    Raises:
        ValueError: if ``tokens`` is not a non-empty 2-D integer array of ids in ``0..V-1``
            (names ``tokens``).
    """
    V = params.embed.shape[0]
    _check_tokens(tokens, V, "tokens")
    T = tokens.shape[1]
    x = embed(tokens, params.embed)  # (B, T, D): embed[tokens] * sqrt(D) + PE[:T]
    mask = causal_mask(T)  # (T, T): query t reads keys 0..t
    for layer in params.layers:
        x = encoder_layer(x, layer, mask)  # (B, T, D)
    return x @ params.W_out + params.b_out  # (B, T, V)


def sample(
    params: GPTParams,
    prompt: np.ndarray,
    steps: int,
    rng: np.random.Generator,
    temperature: float = 1.0,
) -> np.ndarray:
    """Continue every prompt by ``steps`` tokens, each drawn from the model's next-token distribution.

        p_b = softmax(gpt_forward(tokens, params)[b, -1] / temperature)     [V] for each row b
        next_b ~ p_b  (one draw per row from rng),   tokens = concat(tokens, next)

    repeated ``steps`` times, each time on everything so far (the prompt and the tokens drawn).
    ``temperature = 0`` is greedy: ``next_b = argmax_v logits[b, -1, v]`` and ``rng`` is not used.
    One way to draw all rows at once (inverse CDF): ``u = rng.random(B)``, and ``next_b`` is the
    first ``v`` whose cumulative probability ``cumsum(p_b)_v`` exceeds ``u_b``.

    Args:
        params: the model, as for :func:`gpt_forward`.
        prompt: integer token ids [B, T_prompt], T_prompt >= 1, each in ``0..V-1``.
        steps: how many tokens to append, an integer >= 0.
        rng: a ``numpy.random.Generator``, the only source of randomness: the same generator state
            gives the same tokens. The exact draws are free; their distribution is the contract.
        temperature: a finite number >= 0 that divides the logits (0 means the arg-max).

    Returns:
        int64 tokens [B, T_prompt + steps]: the prompt unchanged, then the tokens drawn.

    Raises:
        ValueError: naming ``prompt``, ``steps``, ``rng`` or ``temperature`` when it is not as
            described above.
    """
    V = params.embed.shape[0]
    _check_tokens(prompt, V, "prompt")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if isinstance(temperature, bool) or not isinstance(temperature, int | float | np.integer | np.floating) \
            or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    tokens = prompt.astype(np.int64)  # (B, T_prompt): a copy, the prompt is never changed
    for _ in range(steps):
        logits = gpt_forward(tokens, params)[:, -1]  # (B, V): the last position predicts
        if temperature == 0:
            next_token = np.argmax(logits, axis=-1)  # (B,): greedy, no draw
        else:
            # p = softmax(logits / temperature); next = the first v whose cumulative p exceeds u ~ U(0, 1)
            p = softmax(logits / float(temperature))  # (B, V)
            cdf = np.cumsum(p, axis=-1)  # (B, V)
            u = rng.random(tokens.shape[0]) * cdf[:, -1]  # (B,): one draw per row, scaled to the total
            next_token = np.minimum((cdf <= u[:, None]).sum(axis=-1), V - 1)  # (B,)
        tokens = np.concatenate([tokens, next_token[:, None].astype(np.int64)], axis=1)  # (B, T + 1)
    return tokens


def _check_tokens(tokens: np.ndarray, vocab: int, name: str) -> None:
    """Raise ValueError naming ``name`` unless ``tokens`` is a non-empty [B, T] of ids in ``0..vocab-1``."""
    if not isinstance(tokens, np.ndarray) or tokens.dtype.kind not in "iu" or tokens.ndim != 2 \
            or tokens.size == 0:
        raise ValueError(f"{name} must be a non-empty integer array [B, T], got "
                         f"{getattr(tokens, 'dtype', type(tokens).__name__)} {np.shape(tokens)}")
    if tokens.min() < 0 or tokens.max() >= vocab:
        raise ValueError(f"{name} must hold ids in 0..{vocab - 1}, got {tokens.min()}..{tokens.max()}")
