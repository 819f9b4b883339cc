"""A decoder-layer call drawn from a few sizes and a seed, shared by the tests of exercises 11 and 16."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course.params import DecoderLayerParams
from tests.support import strategies as S
from tests.support.models import causal, key_mask

Mask = np.ndarray | None


@dataclass(frozen=True)
class LayerCase:
    """One decoder-layer call, printed short. ``lengths``: real lengths (target, source) or no masks."""

    B: int
    T_tgt: int
    T_src: int
    H: int
    d_k: int
    F: int
    dtype: type
    seed: int
    lengths: tuple[tuple[int, ...], tuple[int, ...]] | None

    def build(self) -> tuple[np.ndarray, np.ndarray, DecoderLayerParams, Mask, Mask]:
        """``(y [B, T_tgt, D], memory [B, T_src, D], p, self_mask, memory_mask)``.

        With ``lengths``, ``self_mask`` is causal and padding [B, T_tgt, T_tgt] and ``memory_mask``
        the source padding [B, 1, T_src]; without, both are None.
        """
        D = self.H * self.d_k
        rng = S.rng(self.seed)
        y = (2 * rng.standard_normal((self.B, self.T_tgt, D))).astype(self.dtype)
        memory = (2 * rng.standard_normal((self.B, self.T_src, D))).astype(self.dtype)
        p = S.random_decoder_layer(self.seed + 1, D, self.H, self.F, self.dtype)
        if self.lengths is None:
            return y, memory, p, None, None
        tgt_lengths, src_lengths = self.lengths
        self_mask = causal(self.T_tgt) & key_mask(list(tgt_lengths), self.T_tgt)
        return y, memory, p, self_mask, key_mask(list(src_lengths), self.T_src)
