"""Symptoms and the diagnosis: each symptom is named on the slip it describes, never on a correct
function, and a fingerprint shared by mistakes that say different things names none of them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from grading.diagnosis import SYMPTOM, diagnose
from grading.fingerprint import fingerprint
from grading.symptoms import symptom


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def attention(Q, K, V, mask=None):
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1]).astype(Q.dtype)
    if mask is not None:
        scores = np.where(mask, scores, -1e9).astype(Q.dtype)
    weights = softmax(scores)
    return weights @ V, weights


def split(X, H):
    B, T, D = X.shape
    return X.reshape(B, T, H, D // H).transpose(0, 2, 1, 3)


def lags(y):
    return np.stack([y[1:-1], y[:-2]], axis=1), y[2:]


@dataclass
class Norm:
    gamma: np.ndarray
    beta: np.ndarray


@dataclass
class Stack:
    layers: list[Norm]


def norm(x, p):
    if x.shape[-1] != p.gamma.shape[0]:
        raise ValueError("x does not fit p")
    return p.gamma * (x - x.mean(axis=-1, keepdims=True)) + p.beta


def stack(x, s):
    for p in s.layers:
        x = norm(x, p)
    return x


def grads(x):
    return x.sum(axis=0), np.cumsum(x, axis=-1)


g = np.random.default_rng(0)
Q, K, V = g.standard_normal((3, 2, 4, 4))
CAUSAL = np.tril(np.ones((4, 4), dtype=bool))
ATTENTION_CASES = [(Q, K, V, CAUSAL), (Q[:, :3], K, V, np.ones((3, 4), dtype=bool))]
X6 = g.standard_normal((2, 3, 6))  # B=2, T=3, D=6
NORM_CASES = [(X6, Norm(*g.standard_normal((2, 6)))), (X6[0], Norm(*g.standard_normal((2, 6)))),
              (X6, Norm(*g.standard_normal((2, 1))))]  # rejected: gamma and beta must have D entries
SLIPS = {
    "mask_ignored": (attention, lambda Q, K, V, mask=None: attention(Q, K, V), ATTENTION_CASES),
    "mask_inverted": (attention, lambda Q, K, V, mask=None: attention(Q, K, V, ~mask), ATTENTION_CASES),
    "ignored_argument": (softmax, lambda x, axis=-1: softmax(x), [(g.standard_normal((2, 3, 4)), 0)]),
    "axis": (softmax, lambda x, axis=-1: softmax(x, axis=-2), [(g.standard_normal((2, 3, 4)),)]),
    "upcast": (softmax, lambda x, axis=-1: softmax(x.astype(np.float64)),
               [(g.standard_normal((3, 4)).astype(np.float32),)]),
    "factor": (split, lambda X, H: split(X, H) * np.sqrt(X.shape[-1]), [(X6, 3)]),
    "reorder": (split, lambda X, H: X.reshape(X.shape[0], H, X.shape[1], -1), [(X6, 3)]),
    "reversed": (lags, lambda y: (lags(y)[0][:, ::-1], y[2:]), [(g.standard_normal(7),)]),
    "shift": (lags, lambda y: (lags(y)[0], y[1:-1]), [(g.standard_normal(7),)]),
    "in_place": (softmax, lambda x, axis=-1: softmax(np.subtract(x, 1, out=x)), [(X6[0],)]),
    "future": (lambda T: np.tril(np.ones((T, T), dtype=bool)),
               lambda T: np.tril(np.ones((T, T), dtype=bool), k=1), [(4,), (3,)]),
    "inverted": (lambda T: np.tril(np.ones((T, T), dtype=bool)),
                 lambda T: ~np.tril(np.ones((T, T), dtype=bool)), [(4,), (3,)]),
    "dtype": (lambda T: np.tril(np.ones((T, T), dtype=bool)), lambda T: np.tril(np.ones((T, T))),
              [(4,), (3,)]),
    "accepts": (norm, lambda x, p: p.gamma * (x - x.mean(axis=-1, keepdims=True)) + p.beta, NORM_CASES),
    "swapped": (norm, lambda x, p: norm(x, Norm(p.beta, p.gamma)), NORM_CASES),
    "left_out": (norm, lambda x, p: norm(x, Norm(p.gamma, 0 * p.beta)), NORM_CASES),
    "first_item_reused": (stack, lambda x, s: stack(x, Stack([s.layers[0]] * len(s.layers))),
                          [(X6, Stack([Norm(*g.standard_normal((2, 6))) for _ in range(3)]))]),
    "reused": (lambda x, y: x - 2 * y, lambda x, y: x - 2 * x, [(X6, X6[::-1])]),
    "dropped_axis": (grads, lambda x: (x.sum(axis=0), np.cumsum(x, axis=-1).mean(axis=1)), [(X6,)]),
    "kept_axis": (grads, lambda x: (x, np.cumsum(x, axis=-1)), [(X6,)]),
    "part": (grads, lambda x: (x.sum(axis=0), np.cumsum(x, axis=-1)[:, 1:]), [(X6,)]),
    "nonfinite": (softmax, lambda x, axis=-1: softmax(x) / (x < 10),
                  [(np.array([[1.0, 20.0], [2.0, 1.0]]),)]),
}


@pytest.mark.parametrize("kind", SLIPS)
def test_each_symptom_is_named_on_its_slip(kind):
    reference, slip, cases = SLIPS[kind]
    assert symptom(slip, reference, cases)[0] == kind


@pytest.mark.parametrize("kind", SLIPS)
def test_a_correct_function_shows_no_symptom(kind):
    reference, _, cases = SLIPS[kind]
    assert symptom(reference, reference, cases) is None


def test_a_mask_ignored_is_named_by_its_argument():
    reference, slip, cases = SLIPS["mask_ignored"]
    assert symptom(slip, reference, cases) == ["mask_ignored", {"argument": "mask"}]


def test_the_factor_is_named_by_the_width_it_comes_from():
    reference, slip, cases = SLIPS["factor"]
    assert symptom(slip, reference, cases) == ["factor", {"factor": "sqrt(D)", "output": "1"}]


def test_an_unnamed_factor_is_not_a_diagnosis():
    reference, _, cases = SLIPS["factor"]
    assert symptom(lambda X, H: split(X, H) * 1.37, reference, cases) is None


def test_a_shared_fingerprint_with_different_sentences_names_nothing():
    prints = [fingerprint(np.arange(3.0))]
    catalogue = {"reference": {"m:f": [fingerprint(np.zeros(3))]}, "mistakes": [
        {"module": "m", "function": "f", "id": "a", "says": "one cause", "prints": prints},
        {"module": "m", "function": "f", "id": "b", "says": "another cause", "prints": prints}]}
    assert diagnose("m", {"f": prints}, catalogue) == []
    catalogue["mistakes"][1]["says"] = "one cause"
    assert [d.mistake for d in diagnose("m", {"f": prints}, catalogue)] == ["a"]
    catalogue["mistakes"][1]["says"] = "another cause"
    found = diagnose("m", {"f": prints}, catalogue, {"f": ["shift", {"axis": "-1", "step": "-1"}]})
    assert [(d.mistake, d.known) for d in found] == [(SYMPTOM + "shift", False)]


def test_a_mixup_names_the_parameters_it_mixes():
    reference, slip, cases = SLIPS["swapped"]
    assert symptom(slip, reference, cases) == ["swapped", {"a": "p.beta", "b": "p.gamma"}]
    reference, slip, cases = SLIPS["left_out"]
    assert symptom(slip, reference, cases) == ["left_out", {"names": "p.beta", "values": "p.beta = 0"}]


def test_positions_missing_at_one_end_are_counted():
    reference, slip, cases = SLIPS["part"]
    assert symptom(slip, reference, cases) == ["part", {"how": "missing", "where": "start", "count": "1",
                                                        "axis": "1", "output": "2"}]


@pytest.mark.parametrize("kind", [k for k in SLIPS if k != "in_place"])
def test_a_reference_with_no_answer_names_nothing(kind):
    """A student release replays the reference's recorded outputs: for any other input it raises an
    error of its own, which must not pass for the learner's slip."""
    _, slip, cases = SLIPS[kind]

    def unrecorded(*args, **kwargs):
        raise LookupError("no recorded reference output")

    assert symptom(slip, unrecorded, cases) is None
