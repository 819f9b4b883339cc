"""Greedy decoding cases: models whose eos logit is raised so that sentences end early and at
different steps, shared by the tests of exercises 12 and 13."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from course.i18n import message
from course.params import TransformerConfig, TransformerParams
from tests.support import strategies as S
from tests.support.checks import as_array, assert_equal
from tests.support.models import configs, fixed_tokens, sources

BOS, EOS = 1, 2  # the ids of small_config (pad_id is PAD = 0)


def with_eos_bias(params: TransformerParams, bias: float, scale: float = 1.0) -> TransformerParams:
    """The model with its eos logit scaled by ``scale`` and raised by ``bias``.

    A larger bias ends the sentences sooner; a larger scale makes the eos logit swing more from row
    to row and step to step, so that the rows of a batch finish at different steps.
    """
    eos = params.config.eos_id
    W_out, b_out = params.W_out.copy(), params.b_out.copy()
    W_out[:, eos] *= scale
    b_out[eos] += bias
    return dataclasses.replace(params, W_out=W_out, b_out=b_out)


def without_eos(params: TransformerParams, pad_wins: bool) -> TransformerParams:
    """The model whose eos never wins (its logit lowered by 100); with ``pad_wins``, pad_id's logit is
    raised by 100 too, so that every row writes pad_id at every step without ever finishing."""
    lowered = with_eos_bias(params, -100.0)
    if not pad_wins:
        return lowered
    b_out = lowered.b_out.copy()
    b_out[params.config.pad_id] += 100.0
    return dataclasses.replace(lowered, b_out=b_out)


def finished_before(out: np.ndarray, t: int) -> np.ndarray:
    """[B] bool: the row produced eos somewhere in columns 1..t-1."""
    return (out[:, 1:t] == EOS).any(axis=1)


@dataclass(frozen=True)
class GreedyCase:
    """One greedy_decode call, printed short: the model is built from its seed."""

    src: np.ndarray
    seed: int
    config: TransformerConfig
    dtype: type
    eos_bias: float
    eos_scale: float
    max_len: int

    def build(self) -> tuple[np.ndarray, TransformerParams, int]:
        """``(src, params, max_len)``."""
        params = S.random_transformer(self.seed, self.config, self.dtype)
        return self.src, with_eos_bias(params, self.eos_bias, self.eos_scale), self.max_len


@st.composite
def greedy_cases(draw, dtype: Any = None, min_batch: int = 1, eos_scales: tuple[float, ...] = (1.0, 8.0)):
    """Small models whose eos logit is scaled and raised by 0 to 3, max_len from 1 to 6."""
    return GreedyCase(draw(sources(min_batch)), draw(S.seeds), draw(configs()), dtype or draw(S.float_dtypes),
                      draw(st.sampled_from([0.0, 1.0, 2.0, 3.0])), draw(st.sampled_from(eos_scales)),
                      draw(st.integers(1, 6)))


# Rows of a batch often finish at different steps with these: what the padding and stopping rules are about.
staggered_cases = greedy_cases(min_batch=2, eos_scales=(8.0,))


def staggered_case() -> tuple[np.ndarray, TransformerParams, int]:
    """Three sources whose translations end (eos) at steps 5, 4 and 6 of at most 8."""
    params = with_eos_bias(S.random_transformer(42, S.small_config()), 1.5)
    return fixed_tokens([5, 3, 4], 5, 11, seed=30), params, 8


def decoded_tokens(out: Any, src: np.ndarray, params: TransformerParams, max_len: int,
                   what: str) -> np.ndarray:
    """The tokens [B, L] a greedy decoder returned, checked: an integer array, B rows,
    2 <= L <= max_len + 1, bos first."""
    if not issubclass(type(out), np.ndarray) or out.dtype.kind not in "iu":
        raise AssertionError(message("{what} should be an integer numpy array, got {type} {dtype}",
                                     what=what, type=type(out).__name__, dtype=getattr(out, "dtype", "")))
    out = as_array(out, what)
    if out.ndim != 2 or out.shape[0] != src.shape[0] or not 2 <= out.shape[1] <= max_len + 1:
        raise AssertionError(message("{what} has shape {shape}, expected ({shape2}, L) with 2 <= L <= "
                                     "max_len + 1 = {columns}: bos, then 1 to max_len new tokens",
                                     what=what, shape=out.shape, shape2=src.shape[0],
                                     columns=max_len + 1))
    assert_equal(out[:, 0], np.full(src.shape[0], params.config.bos_id),
                 message("column 0 of {what} (bos_id)", what=what))
    return out
