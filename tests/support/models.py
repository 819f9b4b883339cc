"""Small Transformer models and their inputs, shared by the tests of exercises 10 to 16.

Tokens use ``PAD`` (0) as padding; a float32 model is compared with the reference run on its float64
copy (``astype_params``), within ``model_tolerance``. Oracles (``layer_norm_rows``, ``embedding_oracle``,
``causal``) are written out in float64, independently of the exercises.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

from course.i18n import Message, message
from course.params import TransformerConfig
from tests.support import strategies as S
from tests.support.checks import tolerance

PAD = 0


def astype_params(value: Any, dtype: type) -> Any:
    """A copy of ``value`` (parameters, lists of them, arrays) with every float array cast to ``dtype``.

    The reference runs on the float64 copy of a float32 model, so both see the same numbers.
    """
    if isinstance(value, np.ndarray):
        return value.astype(dtype) if value.dtype.kind == "f" else value.copy()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: astype_params(getattr(value, f.name), dtype)
                                             for f in dataclasses.fields(value)})
    if isinstance(value, list):
        return [astype_params(v, dtype) for v in value]
    return value


def model_tolerance(dtype: Any) -> tuple[float, float]:
    """``(rtol, atol)`` for a whole stack of layers: float32 rounding grows through the layer norms."""
    rtol, atol = tolerance(dtype)
    return (rtol, atol) if np.dtype(dtype) == np.float64 else (rtol, 5 * atol)


def key_mask(lengths: list[int], T: int) -> np.ndarray:
    """Padding mask [B, 1, T]: row ``b`` has ``lengths[b]`` real keys, then padding."""
    return (np.arange(T)[None, :] < np.asarray(lengths)[:, None])[:, None, :]


def layer_norm_rows(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Layer norm written out, in float64: an oracle independent of the exercises."""
    x = x.astype(np.float64)
    return gamma * (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps) + beta


def embedding_oracle(tokens: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[tokens] * sqrt(D) + PE[:T]`` in float64, the encoding written out from the paper."""
    T, D = tokens.shape[1], table.shape[1]
    angle = np.arange(T)[:, None] / 10000.0 ** (np.arange(0, D, 2) / D)  # (T, D/2)
    PE = np.zeros((T, D))
    PE[:, 0::2], PE[:, 1::2] = np.sin(angle), np.cos(angle)
    return table.astype(np.float64)[tokens] * math.sqrt(D) + PE


@st.composite
def configs(draw) -> TransformerConfig:
    """Small models, vocabularies 11 (source) and 13 (target), D even, 1 or 2 layers, H >= 1."""
    D, H = draw(st.sampled_from([(8, 2), (4, 2), (6, 3), (8, 4), (4, 1)]))
    return S.small_config(d_model=D, num_heads=H, d_ff=draw(st.sampled_from([12, 3])),
                          num_layers=draw(st.integers(1, 2)))


def sources(min_batch: int = 1) -> st.SearchStrategy[np.ndarray]:
    """Source token batches [B, T_src] (ids 1..10, then padding 0), rows of different lengths."""
    return S.token_batches(min_batch=min_batch, max_batch=3, max_len=6, vocab=11, pad_id=PAD)


def fixed_tokens(lengths: list[int], T: int, vocab: int, seed: int) -> np.ndarray:
    """A token batch from a seed: ``lengths[b]`` real tokens per row, then padding."""
    return S.lengths_to_tokens(lengths, T, vocab, PAD, S.rng(seed))


def causal(T: int) -> np.ndarray:
    """The causal mask [T, T], written out: query i may attend to keys 0..i."""
    return np.tril(np.ones((T, T), dtype=bool))


def changed(shape: tuple[int, ...], seed: int, dtype: Any) -> np.ndarray:
    """Other random vectors, far from the inputs', to write over the positions that must not matter."""
    return (5 * S.rng(seed).standard_normal(shape)).astype(dtype)


@st.composite
def token_pairs(draw, min_batch: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(tgt [B, T_tgt], src [B, T_src])``: the same B, rows of different real lengths, then padding."""
    B = draw(st.integers(min_batch, 3))
    tgt = draw(S.token_batches(min_batch=B, max_batch=B, max_len=5, vocab=13, pad_id=PAD))
    src = draw(S.token_batches(min_batch=B, max_batch=B, max_len=6, vocab=11, pad_id=PAD))
    return tgt, src


def memory_for(src: np.ndarray, D: int, seed: int, dtype: Any) -> np.ndarray:
    """A memory [B, T_src, D] from a seed (decode works with any encoder output)."""
    return S.rng(seed).standard_normal((*src.shape, D)).astype(dtype)


OTHER_IDS = {"pad_id": 4, "bos_id": 0, "eos_id": 3}  # not the defaults 0, 1, 2: no id can be hard-wired


def with_other_ids(call: str) -> Message:
    """What a check of ``call`` on :func:`other_ids_model` names: the call and its special ids."""
    return message("{call} with pad_id={pad_id}, bos_id={bos_id}, eos_id={eos_id}", call=call, **OTHER_IDS)


def other_ids_model(seed: int, dtype: Any = np.float64, eos_bias: float = 0.0):
    """``(src [2, 6], tgt [2, 5], params)`` of a model whose special ids are OTHER_IDS: rows padded with
    4 after 6 and 3 source tokens, 2 and 5 target tokens starting with bos (0); its eos logit is raised
    by ``eos_bias``."""
    config = dataclasses.replace(S.small_config(), **OTHER_IDS)
    params = S.random_transformer(seed, config, dtype)
    b_out = params.b_out.copy()
    b_out[config.eos_id] += eos_bias
    src = S.lengths_to_tokens([6, 3], 6, config.src_vocab, config.pad_id, S.rng(seed + 1))
    tgt = S.lengths_to_tokens([2, 5], 5, config.tgt_vocab, config.pad_id, S.rng(seed + 2))
    src[:, 0], tgt[:, 0] = 0, config.bos_id  # id 0 is a real source word here
    return src, tgt, dataclasses.replace(params, b_out=b_out)
