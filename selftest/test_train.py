"""The training command (issue: make it learn): its data, its progress and its pictures, on a short run.

The accuracy figure itself (99% in under 3 minutes) is a measurement, not a test: `python train.py`.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import train


def test_reversal_batches_hold_the_reversed_digits():
    src, tgt = train.reversal_batch(np.random.default_rng(0), 50, 4, 8)
    assert src.shape == (50, 8) and tgt.shape == (50, 10)
    for s, t in zip(src, tgt, strict=True):
        digits = s[s != train.PAD]
        assert 4 <= len(digits) <= 8 and (digits >= train.FIRST_DIGIT).all()
        assert list(t[: len(digits) + 2]) == [train.BOS, *digits[::-1], train.EOS]
        assert (t[len(digits) + 2:] == train.PAD).all()


def test_held_out_sequences_never_appear_in_training():
    options = train.Options(held_out=200)
    seen_src, _ = train.reversal_batch(np.random.default_rng(1), 2000, options.min_len, options.max_len)
    seen = {row.tobytes() for row in seen_src}
    src, tgt = train.held_out_set(options, seen)
    assert len(src) == 200 and len(tgt) == 200
    assert not seen & {row.tobytes() for row in src}


def test_a_short_run_shows_progress_and_saves_the_pictures(tmp_path, capsys):
    """20 steps cannot reach 99%: the run reports its accuracy, exits 1, and still draws the pictures."""
    code = train.main(["--steps", "20", "--figures", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "20/20" in out and "loss" in out and "held-out exact-sequence accuracy" in out
    if importlib.util.find_spec("matplotlib") is None:
        assert "matplotlib is not installed" in out
    else:
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names == ["causal_mask.png", "cross_attention.png", "positional_encoding.png"]


def test_training_the_stubs_says_what_to_finish(tmp_path, capsys):
    assert train.main(["--target", "exercises", "--steps", "2", "--no-figures"]) == 1
    assert "complete exercises 15 and 16" in capsys.readouterr().out


def test_an_unknown_target_is_refused():
    with pytest.raises(SystemExit, match="--target"):
        train.main(["--target", "elsewhere"])
