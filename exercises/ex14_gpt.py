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
    raise NotImplementedError("ex14: embed, each layer under causal_mask(T), then x @ W_out + b_out")


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
    raise NotImplementedError("ex14: per step draw from softmax(logits[:, -1] / temperature), append")
