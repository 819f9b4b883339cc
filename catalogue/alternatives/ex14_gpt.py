"""Correct implementations of exercise 14 written differently from the reference.

An entry runs inside a copy of ``solutions/ex14_gpt.py``: it uses that module's names, imported here
from it only so that the file reads (and lints) like the module it is appended to.
"""

import math

import numpy as np

from catalogue import alternative
from solutions.ex14_gpt import _check_tokens, embed, encoder_layer, gpt_forward, softmax


@alternative("gpt_forward", "comparison_mask_einsum")
def gpt_forward(tokens, params):
    _check_tokens(tokens, params.embed.shape[0], "tokens")
    T = tokens.shape[1]
    positions = np.arange(T)
    mask = positions[:, None] >= positions[None, :]  # query t reads keys j <= t
    x = embed(tokens, params.embed)
    for layer in params.layers:
        x = encoder_layer(x, layer, mask[None])
    return np.einsum("btd,dv->btv", x, params.W_out) + params.b_out


@alternative("sample", "choice_per_row")
def sample(params, prompt, steps, rng, temperature=1.0):
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy Generator")
    if not isinstance(temperature, int | float | np.number) or not math.isfinite(temperature) \
            or temperature < 0:
        raise ValueError("temperature must be finite and >= 0")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError("steps must be a non-negative integer")
    _check_tokens(prompt, params.embed.shape[0], "prompt")
    V = params.embed.shape[0]
    tokens = np.array(prompt, dtype=np.int64)
    for _ in range(steps):
        logits = gpt_forward(tokens, params)[:, -1].astype(np.float64)
        if temperature == 0:
            new = logits.argmax(axis=1)
        else:
            probs = softmax(logits / temperature)
            new = np.array([rng.choice(V, p=row) for row in probs], dtype=np.int64)
        tokens = np.column_stack([tokens, new])
    return tokens


@alternative("sample", "gumbel_max")
def sample(params, prompt, steps, rng, temperature=1.0):
    _check_tokens(prompt, params.embed.shape[0], "prompt")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError("steps must be a non-negative integer")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy Generator")
    if not isinstance(temperature, int | float | np.number) or not math.isfinite(temperature) \
            or temperature < 0:
        raise ValueError("temperature must be finite and >= 0")
    tokens = prompt.astype(np.int64)
    for _ in range(steps):
        logits = gpt_forward(tokens, params)[:, -1]  # (B, V)
        if temperature > 0:
            # argmax(logits / T + G), G ~ Gumbel(0, 1) i.i.d., is a draw from softmax(logits / T)
            logits = logits / temperature + rng.gumbel(size=logits.shape)
        tokens = np.concatenate([tokens, logits.argmax(axis=-1)[:, None]], axis=1)
    return tokens


@alternative("sample", "searchsorted_per_row_preallocated")
def sample(params, prompt, steps, rng, temperature=1.0):
    _check_tokens(prompt, params.embed.shape[0], "prompt")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError("steps must be a non-negative integer")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy Generator")
    if not isinstance(temperature, int | float | np.number) or not math.isfinite(temperature) \
            or temperature < 0:
        raise ValueError("temperature must be finite and >= 0")
    B, T0 = prompt.shape
    V = params.embed.shape[0]
    out = np.empty((B, T0 + steps), dtype=np.int64)
    out[:, :T0] = prompt
    for t in range(T0, T0 + steps):
        logits = gpt_forward(out[:, :t], params)[:, -1].astype(np.float64)
        if temperature == 0:
            out[:, t] = np.argmax(logits, axis=-1)
            continue
        cdf = np.cumsum(softmax(logits / temperature), axis=-1)
        u = rng.random(B)
        for b in range(B):
            out[b, t] = min(int(np.searchsorted(cdf[b], u[b] * cdf[b, -1], side="right")), V - 1)
    return out
