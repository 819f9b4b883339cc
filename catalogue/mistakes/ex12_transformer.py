"""Realistic mistakes in exercise 12 (the Transformer, greedy decoding). Each replaces the reference
function of its name.

An entry runs inside a copy of ``solutions/ex12_transformer.py``: it uses that module's names,
imported here from it only so that the file reads (and lints) like the module it is appended to.
"""

import numpy as np

from catalogue import base, mistake, variant
from solutions.ex12_transformer import decode, encode, transformer_forward


@mistake("transformer_forward", "no_output_bias",
         "your logits leave out the output bias: logits = decode(...) @ W_out + b_out")
def transformer_forward(src_tokens, tgt_tokens, params):
    memory = encode(src_tokens, params)
    return decode(tgt_tokens, memory, src_tokens, params) @ params.W_out  # mistake: no_output_bias


@mistake("transformer_forward", "softmax_applied",
         "you return probabilities (a softmax of the logits): transformer_forward returns the raw "
         "scores decode(...) @ W_out + b_out; the softmax belongs to the loss")
def transformer_forward(src_tokens, tgt_tokens, params):
    memory = encode(src_tokens, params)
    # mistake: softmax_applied
    logits = decode(tgt_tokens, memory, src_tokens, params) @ params.W_out + params.b_out
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


@mistake("transformer_forward", "target_shifted",
         "you drop the last target token (the shift belongs to training data, not to the model): "
         "transformer_forward decodes tgt_tokens exactly as given, one logit row per target token")
def transformer_forward(src_tokens, tgt_tokens, params):
    memory = encode(src_tokens, params)
    # mistake: target_shifted
    return decode(tgt_tokens[:, :-1], memory, src_tokens, params) @ params.W_out + params.b_out


# The correct function that the variants below change.
@base("greedy_decode")
def greedy_decode(src_tokens, params, max_len):
    if max_len < 1:
        raise ValueError("max_len must be at least 1")
    c = params.config
    tokens = np.full((src_tokens.shape[0], 1), c.bos_id, dtype=np.int64)
    finished = np.zeros(src_tokens.shape[0], dtype=bool)
    for _ in range(max_len):
        next_token = np.argmax(transformer_forward(src_tokens, tokens, params)[:, -1], axis=-1)
        next_token = np.where(finished, c.pad_id, next_token)
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
        finished |= next_token == c.eos_id
        if finished.all():
            break
    return tokens


variant("greedy_decode", "argmax_of_first_position",
        "you take the arg-max of the first position's logits, which only ever saw bos: the next token "
        "is predicted by the LAST position, logits[:, -1]",
        {"next_token = np.argmax(transformer_forward(src_tokens, tokens, params)[:, -1], axis=-1)":
         "# mistake: argmax_of_first_position\n"
         "next_token = np.argmax(transformer_forward(src_tokens, tokens, params)[:, 0], axis=-1)"})


variant("greedy_decode", "finished_rows_not_padded",
        "a row that produced eos_id keeps generating: once a row has finished, append pad_id to it "
        "(keep a boolean `finished` per row)",
        {"finished = np.zeros(src_tokens.shape[0], dtype=bool)": "",
         "next_token = np.where(finished, c.pad_id, next_token)": "",
         "finished |= next_token == c.eos_id\n"
         "if finished.all():":
         "if (tokens == c.eos_id).any(axis=1).all():  # mistake: finished_rows_not_padded"})


variant("greedy_decode", "never_stops_early",
        "your loop always runs max_len steps: stop as soon as every row has produced eos_id",
        {"finished |= next_token == c.eos_id\n"
         "if finished.all():\n"
         "break": "finished |= next_token == c.eos_id  # mistake: never_stops_early"})


variant("greedy_decode", "starts_with_pad",
        "your rows start with token 0 (pad_id), not with bos_id: start from np.full((B, 1), bos_id)",
        {"tokens = np.full((src_tokens.shape[0], 1), c.bos_id, dtype=np.int64)":
         "tokens = np.zeros((src_tokens.shape[0], 1), dtype=np.int64)  # mistake: starts_with_pad"})


variant("greedy_decode", "one_step_short",
        "you generate max_len - 1 new tokens (the bos column counted as one of them): run up to "
        "max_len steps, the result has up to max_len + 1 columns",
        {"for _ in range(max_len):": "while tokens.shape[1] < max_len:  # mistake: one_step_short"})


variant("greedy_decode", "pad_finishes_a_row",
        "a row that writes pad_id has not finished: only eos_id ends a row (finished |= next_token == "
        "eos_id); until then pad_id is a token like any other",
        {"finished |= next_token == c.eos_id":
         "finished |= (next_token == c.eos_id) | (next_token == c.pad_id)  # mistake: pad_finishes_a_row"})


variant("greedy_decode", "finished_forgotten",
        "your `finished` only remembers the last step (finished = next == eos), so a row restarts "
        "after its padding: accumulate it, finished |= next_token == eos_id",
        {"finished |= next_token == c.eos_id":
         "finished = next_token == c.eos_id  # mistake: finished_forgotten"})

# Written blind, from the docstrings alone, by a helper who never read the tests (issue 17);
# the entries that repeated a mistake above exactly were left out.


@mistake("transformer_forward", "blind_fwd_missing_b_out",
         "your output layer has no bias: logits = decoder_out W_out + b_out")
def transformer_forward(src_tokens, tgt_tokens, params):
    memory = encode(src_tokens, params)
    out = decode(tgt_tokens, memory, src_tokens, params)
    return out @ params.W_out  # mistake: blind_fwd_missing_b_out


@mistake("transformer_forward", "blind_fwd_returns_probabilities",
         "you return the softmax of the logits: transformer_forward returns the logits themselves")
def transformer_forward(src_tokens, tgt_tokens, params):
    from .ex02_softmax import softmax
    memory = encode(src_tokens, params)
    out = decode(tgt_tokens, memory, src_tokens, params)
    return softmax(out @ params.W_out + params.b_out)  # mistake: blind_fwd_returns_probabilities


@mistake("transformer_forward", "blind_fwd_tgt_as_source_tokens",
         "you pass the target tokens as decode's third argument: it is the SOURCE tokens, whose padding "
         "masks the memory")
def transformer_forward(src_tokens, tgt_tokens, params):
    memory = encode(src_tokens, params)
    out = decode(tgt_tokens, memory, tgt_tokens, params)  # mistake: blind_fwd_tgt_as_source_tokens
    return out @ params.W_out + params.b_out


@mistake("greedy_decode", "blind_greedy_finished_rows_not_padded",
         "a row that produced eos_id keeps generating: once a row has finished, append pad_id to it, not "
         "the model's arg-max")
def greedy_decode(src_tokens, params, max_len):
    if not isinstance(max_len, int | np.integer) or max_len < 1:
        raise ValueError(f"max_len must be an integer >= 1, got {max_len!r}")
    c = params.config
    memory = encode(src_tokens, params)
    B = src_tokens.shape[0]
    tokens = np.full((B, 1), c.bos_id, dtype=np.int64)
    finished = np.zeros(B, dtype=bool)
    for _ in range(max_len):
        last = decode(tokens, memory, src_tokens, params)[:, -1]
        # mistake: blind_greedy_finished_rows_not_padded
        next_token = np.argmax(last @ params.W_out + params.b_out, axis=-1)
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
        finished |= next_token == c.eos_id
        if finished.all():
            break
    return tokens


@mistake("greedy_decode", "blind_greedy_never_stops_early",
         "your loop always runs max_len steps: stop as soon as every row has finished")
def greedy_decode(src_tokens, params, max_len):
    if not isinstance(max_len, int | np.integer) or max_len < 1:
        raise ValueError(f"max_len must be an integer >= 1, got {max_len!r}")
    c = params.config
    memory = encode(src_tokens, params)
    B = src_tokens.shape[0]
    tokens = np.full((B, 1), c.bos_id, dtype=np.int64)
    finished = np.zeros(B, dtype=bool)
    for _ in range(max_len):
        last = decode(tokens, memory, src_tokens, params)[:, -1]
        next_token = np.argmax(last @ params.W_out + params.b_out, axis=-1)
        next_token = np.where(finished, c.pad_id, next_token)
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
        finished |= next_token == c.eos_id  # mistake: blind_greedy_never_stops_early
    return tokens


@mistake("greedy_decode", "blind_greedy_first_position_logits",
         "you take the first position's logits: the next token is predicted by the LAST position of the "
         "prefix, decode(...)[:, -1]")
def greedy_decode(src_tokens, params, max_len):
    if not isinstance(max_len, int | np.integer) or max_len < 1:
        raise ValueError(f"max_len must be an integer >= 1, got {max_len!r}")
    c = params.config
    memory = encode(src_tokens, params)
    B = src_tokens.shape[0]
    tokens = np.full((B, 1), c.bos_id, dtype=np.int64)
    finished = np.zeros(B, dtype=bool)
    for _ in range(max_len):
        last = decode(tokens, memory, src_tokens, params)[:, 0]  # mistake: blind_greedy_first_position_logits
        next_token = np.argmax(last @ params.W_out + params.b_out, axis=-1)
        next_token = np.where(finished, c.pad_id, next_token)
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
        finished |= next_token == c.eos_id
        if finished.all():
            break
    return tokens


@mistake("greedy_decode", "blind_greedy_one_step_short",
         "you generate one token too few: max_len counts the NEW tokens, run up to max_len steps (up to "
         "max_len + 1 columns with bos)")
def greedy_decode(src_tokens, params, max_len):
    if not isinstance(max_len, int | np.integer) or max_len < 1:
        raise ValueError(f"max_len must be an integer >= 1, got {max_len!r}")
    c = params.config
    memory = encode(src_tokens, params)
    B = src_tokens.shape[0]
    tokens = np.full((B, 1), c.bos_id, dtype=np.int64)
    finished = np.zeros(B, dtype=bool)
    while tokens.shape[1] < max_len:  # mistake: blind_greedy_one_step_short
        last = decode(tokens, memory, src_tokens, params)[:, -1]
        next_token = np.argmax(last @ params.W_out + params.b_out, axis=-1)
        next_token = np.where(finished, c.pad_id, next_token)
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
        finished |= next_token == c.eos_id
        if finished.all():
            break
    return tokens


@mistake("greedy_decode", "blind_greedy_stops_when_any_row_finishes",
         "you stop as soon as one row has finished: stop only when EVERY row has, finished.all()")
def greedy_decode(src_tokens, params, max_len):
    if not isinstance(max_len, int | np.integer) or max_len < 1:
        raise ValueError(f"max_len must be an integer >= 1, got {max_len!r}")
    c = params.config
    memory = encode(src_tokens, params)
    B = src_tokens.shape[0]
    tokens = np.full((B, 1), c.bos_id, dtype=np.int64)
    finished = np.zeros(B, dtype=bool)
    for _ in range(max_len):
        last = decode(tokens, memory, src_tokens, params)[:, -1]
        next_token = np.argmax(last @ params.W_out + params.b_out, axis=-1)
        next_token = np.where(finished, c.pad_id, next_token)
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
        finished |= next_token == c.eos_id
        if finished.any():  # mistake: blind_greedy_stops_when_any_row_finishes
            break
    return tokens


@mistake("greedy_decode", "blind_greedy_eos_replaced_by_pad",
         "you write pad_id in place of a row's eos_id: the eos_id itself is written, only the tokens after "
         "it are pad_id; update `finished` after this step's tokens")
def greedy_decode(src_tokens, params, max_len):
    if not isinstance(max_len, int | np.integer) or max_len < 1:
        raise ValueError(f"max_len must be an integer >= 1, got {max_len!r}")
    c = params.config
    memory = encode(src_tokens, params)
    B = src_tokens.shape[0]
    tokens = np.full((B, 1), c.bos_id, dtype=np.int64)
    finished = np.zeros(B, dtype=bool)
    for _ in range(max_len):
        last = decode(tokens, memory, src_tokens, params)[:, -1]
        next_token = np.argmax(last @ params.W_out + params.b_out, axis=-1)
        finished |= next_token == c.eos_id  # mistake: blind_greedy_eos_replaced_by_pad
        next_token = np.where(finished, c.pad_id, next_token)
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
        if finished.all():
            break
    return tokens


@mistake("greedy_decode", "blind_greedy_max_len_zero_accepted",
         "you accept max_len = 0 and return only bos: max_len must be at least 1, raise ValueError")
def greedy_decode(src_tokens, params, max_len):
    # mistake: blind_greedy_max_len_zero_accepted
    if not isinstance(max_len, int | np.integer) or max_len < 0:
        raise ValueError(f"max_len must be an integer >= 0, got {max_len!r}")
    c = params.config
    memory = encode(src_tokens, params)
    B = src_tokens.shape[0]
    tokens = np.full((B, 1), c.bos_id, dtype=np.int64)
    finished = np.zeros(B, dtype=bool)
    for _ in range(max_len):
        last = decode(tokens, memory, src_tokens, params)[:, -1]
        next_token = np.argmax(last @ params.W_out + params.b_out, axis=-1)
        next_token = np.where(finished, c.pad_id, next_token)
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
        finished |= next_token == c.eos_id
        if finished.all():
            break
    return tokens


@mistake("greedy_decode", "blind_greedy_int32_tokens",
         "your tokens are int32: they are int64, np.full(..., dtype=np.int64)")
def greedy_decode(src_tokens, params, max_len):
    if not isinstance(max_len, int | np.integer) or max_len < 1:
        raise ValueError(f"max_len must be an integer >= 1, got {max_len!r}")
    c = params.config
    memory = encode(src_tokens, params)
    B = src_tokens.shape[0]
    tokens = np.full((B, 1), c.bos_id, dtype=np.int32)  # mistake: blind_greedy_int32_tokens
    finished = np.zeros(B, dtype=bool)
    for _ in range(max_len):
        last = decode(tokens, memory, src_tokens, params)[:, -1]
        next_token = np.argmax(last @ params.W_out + params.b_out, axis=-1).astype(np.int32)
        next_token = np.where(finished, np.int32(c.pad_id), next_token)
        tokens = np.concatenate([tokens, next_token[:, None]], axis=1)
        finished |= next_token == c.eos_id
        if finished.all():
            break
    return tokens
