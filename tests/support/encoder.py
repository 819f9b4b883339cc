"""An encoder-layer call drawn from a few sizes and a seed, shared by the tests of exercises 10 and 16."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course.params import EncoderLayerParams
from tests.support import strategies as S
from tests.support.models import key_mask


@dataclass(frozen=True)
class LayerCase:
    """One encoder-layer call, printed short: sizes, dtype, seed, real lengths of the rows (or no mask)."""

    B: int
    T: int
    H: int
    d_k: int
    F: int
    dtype: type
    seed: int
    lengths: tuple[int, ...] | None

    def build(self) -> tuple[np.ndarray, EncoderLayerParams, np.ndarray | None]:
        """``(x [B, T, D], p, mask [B, 1, T] or None)``."""
        D = self.H * self.d_k
        x = (2 * S.rng(self.seed).standard_normal((self.B, self.T, D))).astype(self.dtype)
        p = S.random_encoder_layer(self.seed + 1, D, self.H, self.F, self.dtype)
        return x, p, None if self.lengths is None else key_mask(list(self.lengths), self.T)
