"""Realistic mistakes in exercise 14 (GPT: the decoder-only language model and sampling). Each replaces
the reference function of its name.

An entry runs inside a copy of ``solutions/ex14_gpt.py``: it uses that module's names, imported here
from it only so that the file reads (and lints) like the module it is appended to. The ``sample``
mistakes draw like the most common learner code: ``u = rng.random(B)`` and the first token whose
cumulative probability exceeds ``u``.
"""

import math

import numpy as np

from catalogue import base, mistake, variant
from solutions.ex14_gpt import _check_tokens, causal_mask, embed, encoder_layer, gpt_forward, softmax

# --- gpt_forward -------------------------------------------------------------------------------------


# The correct function that the variants below change.
@base("gpt_forward")
def gpt_forward(tokens, params):
    x = embed(tokens, params.embed)
    for layer in params.layers:
        x = encoder_layer(x, layer, causal_mask(tokens.shape[1]))
    return x @ params.W_out + params.b_out


variant("gpt_forward", "no_causal_mask",
        "your blocks run without a mask, so every position reads the tokens after it: pass "
        "causal_mask(T) to every encoder_layer",
        {"x = encoder_layer(x, layer, causal_mask(tokens.shape[1]))":
         "x = encoder_layer(x, layer)  # mistake: no_causal_mask"})


variant("gpt_forward", "mask_sees_next_token",
        "your mask lets position t read token t + 1 (np.tril(..., k=1)): the causal mask is True on "
        "and below the diagonal only, causal_mask(T)",
        {"def gpt_forward(tokens, params):":
         "def gpt_forward(tokens, params):\n"
         "    T = tokens.shape[1]",
         "x = embed(tokens, params.embed)":
         "x = embed(tokens, params.embed)\n"
         "mask = np.tril(np.ones((T, T), dtype=bool), k=1)  # mistake: mask_sees_next_token",
         "x = encoder_layer(x, layer, causal_mask(tokens.shape[1]))": "x = encoder_layer(x, layer, mask)"})


variant("gpt_forward", "mask_hides_self",
        "your mask hides the diagonal (np.tril(..., k=-1)), so position t cannot attend to its own "
        "token and position 0 attends to nothing: use causal_mask(T), diagonal included",
        {"def gpt_forward(tokens, params):":
         "def gpt_forward(tokens, params):\n"
         "    T = tokens.shape[1]",
         "x = embed(tokens, params.embed)":
         "x = embed(tokens, params.embed)\n"
         "mask = np.tril(np.ones((T, T), dtype=bool), k=-1)  # mistake: mask_hides_self",
         "x = encoder_layer(x, layer, causal_mask(tokens.shape[1]))": "x = encoder_layer(x, layer, mask)"})


variant("gpt_forward", "mask_transposed",
        "your mask is upper-triangular (causal_mask(T).T): position t reads the future instead of the "
        "past; mask[t, j] = (j <= t), rows are queries",
        {"x = embed(tokens, params.embed)":
         "x = embed(tokens, params.embed)\n"
         "mask = causal_mask(tokens.shape[1]).T  # mistake: mask_transposed",
         "x = encoder_layer(x, layer, causal_mask(tokens.shape[1]))": "x = encoder_layer(x, layer, mask)"})


variant("gpt_forward", "table_lookup_only",
        "you look the tokens up in the table and stop there: the input is embed(tokens, params.embed) "
        "= table[tokens] * sqrt(D) + PE[:T] (exercise 08)",
        {"x = embed(tokens, params.embed)": "x = params.embed[tokens]  # mistake: table_lookup_only"})


@mistake("gpt_forward", "no_sqrt_d_scaling",
         "you add the positional encoding to table[tokens] without multiplying by sqrt(D): use "
         "embed(tokens, params.embed) from exercise 08")
def gpt_forward(tokens, params):
    from .ex08_positional_encoding import sinusoidal_encoding  # mistake: no_sqrt_d_scaling

    T, D = tokens.shape[1], params.embed.shape[1]  # mistake: no_sqrt_d_scaling
    x = params.embed[tokens] + sinusoidal_encoding(T, D).astype(params.embed.dtype)
    for layer in params.layers:
        x = encoder_layer(x, layer, causal_mask(T))  # mistake: no_sqrt_d_scaling
    return x @ params.W_out + params.b_out


variant("gpt_forward", "no_output_bias",
        "your logits leave out the output bias: logits = x @ W_out + b_out",
        {"return x @ params.W_out + params.b_out": "return x @ params.W_out  # mistake: no_output_bias"})


variant("gpt_forward", "softmax_applied",
        "you return probabilities (a softmax of the logits): gpt_forward returns the raw scores x @ "
        "W_out + b_out; sample applies the softmax, after dividing by the temperature",
        {"return x @ params.W_out + params.b_out":
         "return softmax(x @ params.W_out + params.b_out)  # mistake: softmax_applied"})


variant("gpt_forward", "first_layer_repeated",
        "every block uses the parameters of the first layer: run `for layer in params.layers: x = "
        "encoder_layer(x, layer, mask)`, each layer with its own parameters",
        {"for layer in params.layers:\n"
         "x = encoder_layer(x, layer, causal_mask(tokens.shape[1]))":
         "for _ in params.layers:  # mistake: first_layer_repeated\n"
         "    x = encoder_layer(x, params.layers[0], causal_mask(tokens.shape[1]))"})


variant("gpt_forward", "last_position_only",
        "you return only the last position's logits [B, V]: gpt_forward returns the logits of every "
        "position, [B, T, V] (sample is the one that takes logits[:, -1])",
        {"return x @ params.W_out + params.b_out":
         "return (x @ params.W_out + params.b_out)[:, -1]  # mistake: last_position_only"})


# --- sample ------------------------------------------------------------------------------------------


# The mistakes of sample below are this correct version with a line or two changed.
@base("sample")
def sample(params, prompt, steps, rng, temperature=1.0):
    tokens = prompt.astype(np.int64)
    for _ in range(steps):
        logits = gpt_forward(tokens, params)[:, -1]
        if temperature == 0:
            next_token = np.argmax(logits, axis=-1)
        else:
            cdf = np.cumsum(softmax(logits / temperature), axis=-1)
            next_token = np.argmax(cdf > rng.random(len(tokens))[:, None], axis=-1)
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
    return tokens


variant("sample", "temperature_multiplied",
        "you multiply the logits by the temperature: divide them, softmax(logits / temperature), so "
        "that a temperature below 1 sharpens the distribution and above 1 flattens it",
        {"cdf = np.cumsum(softmax(logits / temperature), axis=-1)":
         "cdf = np.cumsum(softmax(logits * temperature), axis=-1)  # mistake: temperature_multiplied"})


variant("sample", "temperature_ignored",
        "your samples do not depend on the temperature: draw from softmax(logits[:, -1] / "
        "temperature)",
        {"cdf = np.cumsum(softmax(logits / temperature), axis=-1)":
         "cdf = np.cumsum(softmax(logits), axis=-1)  # mistake: temperature_ignored"})


variant("sample", "temperature_as_power",
        "you raise the probabilities to the power 1/temperature and draw without normalising them "
        "again: divide the LOGITS by the temperature, then softmax (the result sums to one)",
        {"cdf = np.cumsum(softmax(logits / temperature), axis=-1)":
         "cdf = np.cumsum(softmax(logits) ** (1 / temperature), axis=-1)  # mistake: temperature_as_power"})


variant("sample", "probabilities_divided",
        "you divide the probabilities by the temperature (they no longer sum to one): divide the "
        "logits, softmax(logits / temperature)",
        {"cdf = np.cumsum(softmax(logits / temperature), axis=-1)":
         "cdf = np.cumsum(softmax(logits) / temperature, axis=-1)  # mistake: probabilities_divided"})


variant("sample", "first_position_logits",
        "you draw from the first position's logits, which only saw the first token: the next token is "
        "predicted by the LAST position, logits[:, -1]",
        {"logits = gpt_forward(tokens, params)[:, -1]":
         "logits = gpt_forward(tokens, params)[:, 0]  # mistake: first_position_logits"})


@mistake("sample", "always_greedy",
         "you always take the arg-max: only temperature 0 is greedy; otherwise draw a token from "
         "softmax(logits[:, -1] / temperature) with rng")
def sample(params, prompt, steps, rng, temperature=1.0):
    tokens = prompt.astype(np.int64)
    for _ in range(steps):
        next_token = np.argmax(gpt_forward(tokens, params)[:, -1], axis=-1)  # mistake: always_greedy
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
    return tokens


variant("sample", "softmax_over_batch",
        "your softmax normalises over the batch (axis 0): the probabilities of one row are over the "
        "vocabulary, softmax(logits[:, -1] / temperature, axis=-1)",
        {"cdf = np.cumsum(softmax(logits / temperature), axis=-1)":
         "cdf = np.cumsum(softmax(logits / temperature, axis=0), axis=-1)  # mistake: softmax_over_batch"})


variant("sample", "not_fed_back",
        "every step runs the model on the prompt alone: append each new token and run the model on "
        "everything so far, as forecast feeds its predictions back in exercise 01",
        {"logits = gpt_forward(tokens, params)[:, -1]":
         "logits = gpt_forward(prompt, params)[:, -1]  # mistake: not_fed_back"})


variant("sample", "prompt_dropped",
        "you return only the new tokens: the result starts with the prompt, [B, T_prompt + steps]",
        {"return tokens": "return tokens[:, prompt.shape[1]:]  # mistake: prompt_dropped"})


@mistake("sample", "uniform_draw",
         "you draw every token uniformly from the vocabulary: draw from the model's distribution, "
         "softmax(logits[:, -1] / temperature)")
def sample(params, prompt, steps, rng, temperature=1.0):
    tokens = prompt.astype(np.int64)
    V = params.embed.shape[0]
    for _ in range(steps):
        if temperature == 0:
            next_token = np.argmax(gpt_forward(tokens, params)[:, -1], axis=-1)
        else:
            # mistake: uniform_draw
            next_token = rng.integers(0, V, size=len(tokens))  # the model is not consulted
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
    return tokens


variant("sample", "fresh_generator",
        "you create a new generator inside sample (np.random.default_rng(...)), so the `rng` you were "
        "given is ignored: draw from `rng` itself",
        {"tokens = prompt.astype(np.int64)":
         "tokens = prompt.astype(np.int64)\n"
         "rng = np.random.default_rng(0)  # mistake: fresh_generator"})


variant("sample", "global_numpy_random",
        "you draw from numpy's global generator (np.random.random / np.random.choice): draw from the "
        "`rng` argument, so that the same generator state gives the same tokens",
        {"next_token = np.argmax(cdf > rng.random(len(tokens))[:, None], axis=-1)":
         "# mistake: global_numpy_random\n"
         "next_token = np.argmax(cdf > np.random.random(len(tokens))[:, None], axis=-1)"})


variant("sample", "one_draw_for_the_batch",
        "you draw one random number for the whole batch (rng.random()), so rows with the same "
        "distribution always pick the same token: draw one per row, rng.random(B)",
        {"next_token = np.argmax(cdf > rng.random(len(tokens))[:, None], axis=-1)":
         "next_token = np.argmax(cdf > rng.random(), axis=-1)  # mistake: one_draw_for_the_batch"})


variant("sample", "cdf_shifted",
        "your inverse CDF is off by one token (you compare u with the cumulative sum BEFORE each "
        "token): token v is drawn when cumsum(p)[v - 1] <= u < cumsum(p)[v]",
        {"cdf = np.cumsum(softmax(logits / temperature), axis=-1)\n"
         "next_token = np.argmax(cdf > rng.random(len(tokens))[:, None], axis=-1)":
         "p = softmax(logits / temperature)  # mistake: cdf_shifted\n"
         "before = np.cumsum(p, axis=-1) - p\n"
         "next_token = np.argmax(before > rng.random(len(tokens))[:, None], axis=-1)"})


@mistake("sample", "zero_temperature_divides",
         "temperature 0 divides the logits by zero (inf and NaN): treat it as greedy, the arg-max of "
         "logits[:, -1], before dividing")
def sample(params, prompt, steps, rng, temperature=1.0):
    tokens = prompt.astype(np.int64)
    for _ in range(steps):
        logits = gpt_forward(tokens, params)[:, -1]
        cdf = np.cumsum(softmax(logits / temperature), axis=-1)  # mistake: zero_temperature_divides
        next_token = np.argmax(cdf > rng.random(len(tokens))[:, None], axis=-1)
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
    return tokens

# Written blind, from the docstrings alone, by a helper who never read the tests (issue 17);
# the entries that repeated a mistake above exactly were left out.


@mistake("gpt_forward", "blind_gpt_no_causal_mask",
         "your blocks run without a mask, so each position reads the future: run every block under "
         "causal_mask(T)")
def gpt_forward(tokens, params):
    V = params.embed.shape[0]
    _check_tokens(tokens, V, "tokens")
    x = embed(tokens, params.embed)
    for layer in params.layers:
        x = encoder_layer(x, layer)  # mistake: blind_gpt_no_causal_mask
    return x @ params.W_out + params.b_out


@mistake("gpt_forward", "blind_gpt_mask_excludes_current_token",
         "your causal mask hides the diagonal: position t reads tokens 0 to t, ITSELF included")
def gpt_forward(tokens, params):
    V = params.embed.shape[0]
    _check_tokens(tokens, V, "tokens")
    T = tokens.shape[1]
    x = embed(tokens, params.embed)
    mask = np.tril(np.ones((T, T), dtype=bool), k=-1)  # mistake: blind_gpt_mask_excludes_current_token
    for layer in params.layers:
        x = encoder_layer(x, layer, mask)
    return x @ params.W_out + params.b_out


@mistake("gpt_forward", "blind_gpt_mask_transposed",
         "you transpose the causal mask, so every query reads the future instead of the past: causal[i, j] "
         "= (j <= i)")
def gpt_forward(tokens, params):
    V = params.embed.shape[0]
    _check_tokens(tokens, V, "tokens")
    T = tokens.shape[1]
    x = embed(tokens, params.embed)
    mask = causal_mask(T).T  # mistake: blind_gpt_mask_transposed
    for layer in params.layers:
        x = encoder_layer(x, layer, mask)
    return x @ params.W_out + params.b_out


@mistake("gpt_forward", "blind_gpt_missing_b_out",
         "your output layer has no bias: logits = x W_out + b_out")
def gpt_forward(tokens, params):
    V = params.embed.shape[0]
    _check_tokens(tokens, V, "tokens")
    T = tokens.shape[1]
    x = embed(tokens, params.embed)
    mask = causal_mask(T)
    for layer in params.layers:
        x = encoder_layer(x, layer, mask)
    return x @ params.W_out  # mistake: blind_gpt_missing_b_out


@mistake("sample", "blind_sample_temperature_ignored",
         "you sample at temperature 1 whatever the argument: divide the last logits by the temperature "
         "before the softmax")
def sample(params, prompt, steps, rng, temperature=1.0):
    V = params.embed.shape[0]
    _check_tokens(prompt, V, "prompt")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    if isinstance(temperature, bool) or not isinstance(temperature, int | float | np.integer | np.floating) \
            or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    tokens = prompt.astype(np.int64)
    for _ in range(steps):
        logits = gpt_forward(tokens, params)[:, -1]
        if temperature == 0:
            next_token = np.argmax(logits, axis=-1)
        else:
            p = softmax(logits)  # mistake: blind_sample_temperature_ignored
            cdf = np.cumsum(p, axis=-1)
            u = rng.random(tokens.shape[0]) * cdf[:, -1]
            next_token = np.minimum((cdf <= u[:, None]).sum(axis=-1), V - 1)
        tokens = np.concatenate([tokens, next_token[:, None].astype(np.int64)], axis=1)
    return tokens


@mistake("sample", "blind_sample_multiplies_by_temperature",
         "you multiply the logits by the temperature, which does the opposite: DIVIDE them (below 1 "
         "sharpens, above 1 flattens)")
def sample(params, prompt, steps, rng, temperature=1.0):
    V = params.embed.shape[0]
    _check_tokens(prompt, V, "prompt")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    if isinstance(temperature, bool) or not isinstance(temperature, int | float | np.integer | np.floating) \
            or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    tokens = prompt.astype(np.int64)
    for _ in range(steps):
        logits = gpt_forward(tokens, params)[:, -1]
        if temperature == 0:
            next_token = np.argmax(logits, axis=-1)
        else:
            p = softmax(logits * float(temperature))  # mistake: blind_sample_multiplies_by_temperature
            cdf = np.cumsum(p, axis=-1)
            u = rng.random(tokens.shape[0]) * cdf[:, -1]
            next_token = np.minimum((cdf <= u[:, None]).sum(axis=-1), V - 1)
        tokens = np.concatenate([tokens, next_token[:, None].astype(np.int64)], axis=1)
    return tokens


@mistake("sample", "blind_sample_zero_temperature_draws",
         "at temperature 0 you still draw from rng: temperature 0 is the arg-max and draws nothing")
def sample(params, prompt, steps, rng, temperature=1.0):
    V = params.embed.shape[0]
    _check_tokens(prompt, V, "prompt")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    if isinstance(temperature, bool) or not isinstance(temperature, int | float | np.integer | np.floating) \
            or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    tokens = prompt.astype(np.int64)
    for _ in range(steps):
        logits = gpt_forward(tokens, params)[:, -1]
        p = softmax(logits / max(float(temperature), 1e-8))  # mistake: blind_sample_zero_temperature_draws
        cdf = np.cumsum(p, axis=-1)
        u = rng.random(tokens.shape[0]) * cdf[:, -1]
        next_token = np.minimum((cdf <= u[:, None]).sum(axis=-1), V - 1)
        tokens = np.concatenate([tokens, next_token[:, None].astype(np.int64)], axis=1)
    return tokens


@mistake("sample", "blind_sample_first_position_logits",
         "you draw from the first position's logits: the next token is scored by the LAST position, "
         "gpt_forward(...)[:, -1]")
def sample(params, prompt, steps, rng, temperature=1.0):
    V = params.embed.shape[0]
    _check_tokens(prompt, V, "prompt")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    if isinstance(temperature, bool) or not isinstance(temperature, int | float | np.integer | np.floating) \
            or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    tokens = prompt.astype(np.int64)
    for _ in range(steps):
        logits = gpt_forward(tokens, params)[:, 0]  # mistake: blind_sample_first_position_logits
        if temperature == 0:
            next_token = np.argmax(logits, axis=-1)
        else:
            p = softmax(logits / float(temperature))
            cdf = np.cumsum(p, axis=-1)
            u = rng.random(tokens.shape[0]) * cdf[:, -1]
            next_token = np.minimum((cdf <= u[:, None]).sum(axis=-1), V - 1)
        tokens = np.concatenate([tokens, next_token[:, None].astype(np.int64)], axis=1)
    return tokens


@mistake("sample", "blind_sample_always_argmax",
         "you always take the arg-max: at a positive temperature the next token is DRAWN from the "
         "distribution with rng")
def sample(params, prompt, steps, rng, temperature=1.0):
    V = params.embed.shape[0]
    _check_tokens(prompt, V, "prompt")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    if isinstance(temperature, bool) or not isinstance(temperature, int | float | np.integer | np.floating) \
            or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    tokens = prompt.astype(np.int64)
    for _ in range(steps):
        logits = gpt_forward(tokens, params)[:, -1]
        next_token = np.argmax(logits, axis=-1)  # mistake: blind_sample_always_argmax
        tokens = np.concatenate([tokens, next_token[:, None].astype(np.int64)], axis=1)
    return tokens


@mistake("sample", "blind_sample_reads_last_token_only",
         "you run the model on the last token alone: run it on everything so far, the prompt and the drawn "
         "tokens")
def sample(params, prompt, steps, rng, temperature=1.0):
    V = params.embed.shape[0]
    _check_tokens(prompt, V, "prompt")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    if isinstance(temperature, bool) or not isinstance(temperature, int | float | np.integer | np.floating) \
            or not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    tokens = prompt.astype(np.int64)
    for _ in range(steps):
        logits = gpt_forward(tokens[:, -1:], params)[:, -1]  # mistake: blind_sample_reads_last_token_only
        if temperature == 0:
            next_token = np.argmax(logits, axis=-1)
        else:
            p = softmax(logits / float(temperature))
            cdf = np.cumsum(p, axis=-1)
            u = rng.random(tokens.shape[0]) * cdf[:, -1]
            next_token = np.minimum((cdf <= u[:, None]).sum(axis=-1), V - 1)
        tokens = np.concatenate([tokens, next_token[:, None].astype(np.int64)], axis=1)
    return tokens


@mistake("sample", "blind_sample_negative_temperature_accepted",
         "you accept a negative temperature: raise ValueError naming temperature")
def sample(params, prompt, steps, rng, temperature=1.0):
    V = params.embed.shape[0]
    _check_tokens(prompt, V, "prompt")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    # mistake: blind_sample_negative_temperature_accepted
    tokens = prompt.astype(np.int64)
    for _ in range(steps):
        logits = gpt_forward(tokens, params)[:, -1]
        if temperature == 0:
            next_token = np.argmax(logits, axis=-1)
        else:
            p = softmax(logits / float(temperature))
            cdf = np.cumsum(p, axis=-1)
            u = rng.random(tokens.shape[0]) * cdf[:, -1]
            next_token = np.minimum((cdf <= u[:, None]).sum(axis=-1), V - 1)
        tokens = np.concatenate([tokens, next_token[:, None].astype(np.int64)], axis=1)
    return tokens
