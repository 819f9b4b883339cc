"""Tests of exercise 16: backpropagation through the Transformer, and Adam.

Each test's docstring says, in one line, the property it checks; the grader shows it to the
learner when the test fails, with the counterexample and the hint below it.

The gradients are judged twice: against central finite differences of the REFERENCE forward
functions (``course.gradcheck.numerical_gradient``, float64, tiny sizes: the definition of a
derivative, independent of any backward code), and against the reference backward functions on
hypothesis inputs (float32 and float64). Adam is judged against its formula written out in this file.
Parameter trees are compared leaf by leaf, so a failure names the parameter, e.g.
``grads.decoder[0].cross_attn.W_k``.

Layer-norm gradients of rows of 2 numbers are ill-conditioned (the normalised row is +-1 whatever
the input), so the layer tests draw D >= 3.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.gradcheck import numerical_gradient
from course.i18n import joined, message
from course.params import (
    AdamState,
    FeedForwardParams,
    MultiHeadParams,
    TransformerConfig,
    TransformerParams,
    init_transformer,
)
from tests.support import strategies as S
from tests.support import target
from tests.support.checks import as_array, assert_close, raises_value_error, tolerance
from tests.support.decoder import LayerCase as DecoderCase
from tests.support.encoder import LayerCase as EncoderCase
from tests.support.models import (
    PAD,
    astype_params,
    causal,
    configs,
    key_mask,
    other_ids_model,
)

ex16 = target.module("ex16_training")
ref16 = target.reference("ex16_training")
ref07 = target.reference("ex07_multi_head")
ref10 = target.reference("ex10_encoder")
ref11 = target.reference("ex11_decoder")
ref12 = target.reference("ex12_transformer")
ref15 = target.reference("ex15_backward")

Keys = tuple[str | int, ...]


# --- parameter trees -------------------------------------------------------------------------------


def paths(tree: Any, keys: Keys = ()) -> Iterator[tuple[Keys, np.ndarray]]:
    """``(keys, array)`` for every array of a tree (dataclasses, lists, tuples), keys = fields and indices."""
    if isinstance(tree, np.ndarray):
        yield keys, tree
    elif dataclasses.is_dataclass(tree) and not isinstance(tree, type):
        for f in dataclasses.fields(tree):
            yield from paths(getattr(tree, f.name), (*keys, f.name))
    elif isinstance(tree, list | tuple):
        for i, item in enumerate(tree):
            yield from paths(item, (*keys, i))


def path_name(prefix: str | tuple[str, ...], keys: Keys) -> str:
    """``grads.decoder[0].cross_attn.W_k``; a tuple prefix names the items of a returned tuple."""
    if isinstance(prefix, tuple):
        prefix, keys = prefix[int(keys[0])], keys[1:]
    return joined("", [prefix, "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in keys)])


def leaves(tree: Any, prefix: str = "params") -> Iterator[tuple[str, np.ndarray]]:
    """``(path, array)`` for every array of a tree, e.g. ``("params.encoder[0].norm1.gamma", array)``."""
    for keys, arr in paths(tree):
        yield path_name(prefix, keys), arr


def get_leaf(tree: Any, keys: Keys) -> Any:
    for k in keys:
        tree = tree[k] if isinstance(k, int) else getattr(tree, k)
    return tree


def with_leaf(tree: Any, keys: Keys, value: Any) -> Any:
    """A copy of ``tree`` (sharing the other arrays) whose leaf at ``keys`` is ``value``."""
    if not keys:
        return value
    k, rest = keys[0], keys[1:]
    if isinstance(k, int):
        items = list(tree)
        items[k] = with_leaf(tree[k], rest, value)
        return type(tree)(items)
    return dataclasses.replace(tree, **{k: with_leaf(getattr(tree, k), rest, value)})


def walk_pairs(got: Any, expected: Any, name: str) -> Iterator[tuple[str, Any, np.ndarray]]:
    """``(path, got leaf, expected array)`` over ``expected``'s tree; other leaves (num_heads, config)
    must be equal, and ``got`` must have ``expected``'s structure."""
    if isinstance(expected, np.ndarray):
        yield name, got, expected
    elif dataclasses.is_dataclass(expected) and not isinstance(expected, type) \
            and not isinstance(expected, TransformerConfig):
        if type(got) is not type(expected):
            raise AssertionError(message("{name} should be a {type}, got {type2}", name=name,
                                         type=type(expected).__name__, type2=type(got).__name__))
        for f in dataclasses.fields(expected):
            yield from walk_pairs(getattr(got, f.name), getattr(expected, f.name),
                                  joined("", [name, f".{f.name}"]))
    elif isinstance(expected, list | tuple):
        if not isinstance(got, list | tuple) or len(got) != len(expected):
            raise AssertionError(message("{name} should be a list of {len_expected} items, got {got}",
                                         name=name, len_expected=len(expected), got=f"{got!r:.80}"))
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            yield from walk_pairs(g, e, joined("", [name, f"[{i}]"]))
    elif got != expected:
        raise AssertionError(message("{name} is {got}, expected {expected} (keep it as in the parameters)",
                                     name=name, got=repr(got), expected=repr(expected)))


def grad_tolerance(dtype: Any, expected: np.ndarray) -> tuple[float, float]:
    """``(rtol, atol)`` for a gradient: float32 rounding is measured against the array's largest entry."""
    rtol, atol = tolerance(dtype)
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    return (rtol, atol * scale) if np.dtype(dtype) == np.float64 else (rtol, 5 * atol * scale)


def assert_tree_close(got: Any, expected: Any, name: str | tuple[str, ...], dtype: Any) -> None:
    """Every array of ``got`` has the shape of ``expected``'s, ``dtype``, and equal values.

    A tuple ``name`` names the items of a returned tuple: ``("dx", "grads")``.
    """
    if isinstance(name, tuple):
        for g, e, n in zip(got, expected, name, strict=True):
            assert_tree_close(g, e, n, dtype)
        return
    for path, g, e in walk_pairs(got, expected, name):
        arr = as_array(g, path, e.shape, dtype)
        assert_close(arr, e, path, *grad_tolerance(dtype, e))


def snapshot(tree: Any, name: str) -> list[tuple[str, np.ndarray]]:
    return [(path, arr.copy()) for path, arr in leaves(tree, name)]


def assert_unchanged(tree: Any, saved: list[tuple[str, np.ndarray]], name: str) -> None:
    for (path, before), (_, now) in zip(saved, leaves(tree, name), strict=True):
        if now.shape != before.shape or not np.array_equal(now, before):
            raise AssertionError(message("{path} was changed in place: build new arrays instead", path=path))


# --- finite differences ----------------------------------------------------------------------------


def assert_matches_finite_differences(
    f: Callable[[Any], float], inputs: Any, got: Any, names: str | tuple[str, ...],
    samples: list[tuple[Keys, int | list[int] | None]],
) -> None:
    """``got``'s leaves equal the central differences of ``f`` at ``inputs`` (same tree layout).

    ``samples`` lists ``(keys, n)``: the leaf at ``keys`` of ``inputs``, all its entries (``n=None``),
    ``n`` of them chosen from a fixed seed, or the flat indices ``n`` (a list). ``f`` is the reference
    forward turned into a scalar.
    """
    for keys, n in samples:
        x = np.asarray(get_leaf(inputs, keys), dtype=np.float64)
        if isinstance(n, list):
            at = np.asarray(n)
        elif n is None or n >= x.size:
            at = np.arange(x.size)
        else:
            at = np.sort(np.random.default_rng(x.size).choice(x.size, n, replace=False))

        def f_at(v: np.ndarray, keys: Keys = keys, x: np.ndarray = x, at: np.ndarray = at) -> float:
            new = x.copy()
            new.flat[at] = v
            return f(with_leaf(inputs, keys, new))

        numeric = numerical_gradient(f_at, x.ravel()[at])
        name = path_name(names, keys)
        analytic = as_array(get_leaf(got, keys), name, x.shape, np.float64)
        expected = analytic.copy()  # entries that are not sampled compare with themselves
        expected.flat[at] = numeric
        assert_close(analytic, expected, message("{name} (compared with central finite differences)",
                                                 name=name),
                     rtol=1e-5, atol=1e-7)


# --- multi_head_attention_backward -----------------------------------------------------------------


def mha_inputs(seed: int, B: int, T_q: int, T_k: int, H: int, d_k: int, dtype: Any = np.float64):
    """``(grad_out, x_q, x_kv, p)`` from a seed, with random biases."""
    D = H * d_k
    rng = S.rng(seed)
    x_q = (2 * rng.standard_normal((B, T_q, D))).astype(dtype)
    x_kv = (2 * rng.standard_normal((B, T_k, D))).astype(dtype)
    g = rng.standard_normal((B, T_q, D)).astype(dtype)
    return g, x_q, x_kv, S.random_multi_head(seed + 1, D, H, dtype)


def fully_masked_row_mask() -> np.ndarray:
    """[2, 2, 3]: row 0 sees keys 0 and 2, then 0..2; row 1 sees key 1, then nothing (fully masked)."""
    return np.array([[[1, 0, 1], [1, 1, 1]], [[0, 1, 0], [0, 0, 0]]], dtype=bool)


MHA_NAMES = ("dx_q", "dx_kv", "grads")
MHA_LEAVES = [((0,), None), ((1,), None)] + [((2, f), None) for f in
                                            ("W_q", "W_k", "W_v", "W_o", "b_q", "b_k", "b_v", "b_o")]


def returned(result: Any, n: int, what: str, names: str) -> tuple:
    """``result`` checked to be a tuple of ``n`` items (``names`` says which)."""
    if not isinstance(result, tuple) or len(result) != n:
        raise AssertionError(message("{what} should return a tuple ({names}), got {type}", what=what,
                                     names=names, type=type(result).__name__))
    return result


def call_mha_backward(g, x_q, x_kv, p, mask=None, what="multi_head_attention_backward(...)"):
    """The target's ``(dx_q, dx_kv, grads)``, shapes, dtypes and ``num_heads`` checked."""
    result = ex16.multi_head_attention_backward(g, x_q, x_kv, p, mask)
    result = returned(result, 3, what, "dx_q, dx_kv, grads")
    dx_q = as_array(result[0], "dx_q", x_q.shape, x_q.dtype)
    dx_kv = as_array(result[1], "dx_kv", x_kv.shape, x_kv.dtype)
    grads = result[2]
    if not isinstance(grads, MultiHeadParams):
        raise AssertionError(message("grads should be a MultiHeadParams, got {type}",
                                     type=type(grads).__name__))
    if grads.num_heads != p.num_heads:
        raise AssertionError(message("grads.num_heads is {num_heads}, expected p.num_heads = {num_heads2}",
                                     num_heads=repr(grads.num_heads), num_heads2=p.num_heads))
    for keys, arr in paths(p):
        as_array(get_leaf(grads, keys), path_name("grads", keys), arr.shape, arr.dtype)
    return dx_q, dx_kv, grads


def mha_scalar(g: np.ndarray, mask: np.ndarray | None) -> Callable[[Any], float]:
    """``(x_q, x_kv, p) -> sum(multi_head_attention(x_q, x_kv, p, mask)[0] * g)``, by the reference."""
    return lambda t: float((ref07.multi_head_attention(t[0], t[1], t[2], mask)[0] * g).sum())


def test_mha_backward_matches_finite_differences():
    """dx_q, dx_kv and every weight and bias gradient equal finite differences (H=2, T_q=2, T_k=3, masked).

    Hint: dconcat = g W_o^T, split into heads like Q; then scaled_dot_product_attention_backward(..., mask).
    dx_q = dQ W_q^T, dx_kv = dK W_k^T + dV W_v^T (heads merged), dW = x^T dQ over all (B*T) rows.
    """
    g, x_q, x_kv, p = mha_inputs(160, 2, 2, 3, 2, 2)
    mask = fully_masked_row_mask()
    got = call_mha_backward(g, x_q, x_kv, p, mask)
    assert_matches_finite_differences(mha_scalar(g, mask), (x_q, x_kv, p), got, MHA_NAMES, MHA_LEAVES)


def test_mha_backward_self_attention_sums_both_uses():
    """Called with x_q is x_kv, dx_q + dx_kv equals the finite-difference gradient of self-attention.

    Hint: x feeds the queries AND the keys and values: its gradient is dQ W_q^T + dK W_k^T + dV W_v^T.
    """
    g, x, _, p = mha_inputs(161, 2, 3, 3, 2, 2)
    mask = causal(3) & key_mask([3, 2], 3)  # (2, 3, 3)
    dx_q, dx_kv, _ = call_mha_backward(g, x, x, p, mask, "multi_head_attention_backward(g, x, x, p, mask)")
    numeric = numerical_gradient(lambda y: float((ref07.multi_head_attention(y, y, p, mask)[0] * g).sum()), x)
    assert_close(dx_q + dx_kv, numeric, message("dx_q + dx_kv of self-attention (compared with finite "
                                                "differences)"),
                 rtol=1e-5, atol=1e-7)


@dataclass(frozen=True)
class MHACase:
    """One multi-head backward call, printed short: sizes, dtype, seed and the kind of mask."""

    B: int
    T_q: int
    T_k: int
    H: int
    d_k: int
    dtype: type
    seed: int
    mask: str  # "none", "padding" [B, 1, T_k], "random" [B, T_q, T_k] (rows may be fully masked), "2d"

    def build(self):
        """``(grad_out, x_q, x_kv, p, mask)``."""
        g, x_q, x_kv, p = mha_inputs(self.seed, self.B, self.T_q, self.T_k, self.H, self.d_k, self.dtype)
        rng = S.rng(self.seed + 2)
        mask = {
            "none": lambda: None,
            "padding": lambda: key_mask(list(rng.integers(1, self.T_k + 1, size=self.B)), self.T_k),
            "random": lambda: rng.random((self.B, self.T_q, self.T_k)) < 0.6,
            "2d": lambda: np.tril(np.ones((self.T_q, self.T_k), dtype=bool)),
        }[self.mask]()
        return g, x_q, x_kv, p, mask


@st.composite
def mha_cases(draw, dtype: Any = None) -> MHACase:
    """B <= 3, T_q and T_k <= 4 (often different), H <= 3, d_k <= 3, any mask kind."""
    return MHACase(draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4)),
                   draw(st.integers(1, 3)), draw(st.integers(1, 3)),
                   draw(S.float_dtypes) if dtype is None else dtype, draw(S.seeds),
                   draw(st.sampled_from(["none", "padding", "random", "2d"])))


def reference_mha_backward(g, x_q, x_kv, p, mask):
    f64 = np.float64
    return ref16.multi_head_attention_backward(g.astype(f64), x_q.astype(f64), x_kv.astype(f64),
                                               astype_params(p, f64), mask)


@given(mha_cases())
def test_mha_backward_matches_reference(case):
    """multi_head_attention_backward equals the reference (float32 and float64, T_q != T_k, masks).

    Hint: the weight gradients sum over the batch AND the positions: reshape x to (B*T, D) first.
    """
    g, x_q, x_kv, p, mask = case.build()
    got = call_mha_backward(g, x_q, x_kv, p, mask)
    assert_tree_close(got, tuple(reference_mha_backward(g, x_q, x_kv, p, mask)), MHA_NAMES, x_q.dtype)


@settings(max_examples=10)
@given(mha_cases(dtype=np.float32))
def test_mha_backward_keeps_float32(case):
    """float32 in, float32 out: dx_q, dx_kv and every parameter gradient stay float32.

    Hint: keep every intermediate in x_q's dtype: divide by math.sqrt(d_k) (a Python float), not np.sqrt(d_k),
    and add no float64 constant or array.
    """
    call_mha_backward(*case.build())


def test_mha_backward_wrong_grad_out_raises():
    """A grad_out whose shape is not the output's [B, T_q, D] raises ValueError, ideally naming `grad_out`.

    Hint: compare grad_out.shape with the output's shape, x_q's [B, T_q, D], before computing, and raise
    ValueError naming grad_out.
    """
    g, x_q, x_kv, p = mha_inputs(162, 2, 2, 3, 2, 2)
    with raises_value_error("grad_out"):
        ex16.multi_head_attention_backward(g[:, :1], x_q, x_kv, p)


# --- encoder_layer_backward and decoder_layer_backward ---------------------------------------------

WIDE_HEADS = [(1, 3), (3, 1), (2, 2), (3, 2), (2, 3)]  # (H, d_k): D >= 3, see the module docstring


@st.composite
def encoder_cases(draw, masked: bool = True) -> EncoderCase:
    """Encoder-layer calls: B <= 3, T <= 4, D in 3..6, F <= 6, maybe a padding mask (rows of any lengths)."""
    B, T = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    H, d_k = draw(st.sampled_from(WIDE_HEADS))
    lengths = tuple(draw(st.integers(1, T)) for _ in range(B)) if masked and draw(st.booleans()) else None
    return EncoderCase(B, T, H, d_k, draw(st.integers(1, 6)), draw(S.float_dtypes), draw(S.seeds), lengths)


@st.composite
def decoder_cases(draw, masked: bool = True) -> DecoderCase:
    """Decoder-layer calls: B <= 3, T_tgt and T_src <= 4, D in 3..6, F <= 6, maybe causal+padding masks."""
    B, T_tgt, T_src = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    H, d_k = draw(st.sampled_from(WIDE_HEADS))
    lengths = None
    if masked and draw(st.booleans()):
        lengths = (tuple(draw(st.integers(1, T_tgt)) for _ in range(B)),
                   tuple(draw(st.integers(1, T_src)) for _ in range(B)))
    return DecoderCase(B, T_tgt, T_src, H, d_k, draw(st.integers(1, 6)), draw(S.float_dtypes), draw(S.seeds),
                       lengths)


def grad_out_for(x: np.ndarray, seed: int) -> np.ndarray:
    return S.rng(seed + 7).standard_normal(x.shape).astype(x.dtype)


def call_encoder_backward(g, x, p, mask, what="encoder_layer_backward(g, x, p, mask)"):
    result = returned(ex16.encoder_layer_backward(g, x, p, mask), 2, what, "dx, grads")
    return as_array(result[0], "dx", x.shape, x.dtype), result[1]


def call_decoder_backward(g, y, memory, p, self_mask, memory_mask,
                          what="decoder_layer_backward(g, y, memory, p, self_mask, memory_mask)"):
    result = returned(ex16.decoder_layer_backward(g, y, memory, p, self_mask, memory_mask), 3, what,
                      "dy, dmemory, grads")
    dy = as_array(result[0], "dy", y.shape, y.dtype)
    return dy, as_array(result[1], "dmemory", memory.shape, y.dtype), result[2]


ENCODER_SAMPLE = [((0,), None)] + [((1, *k), n) for k, n in [
    (("self_attn", "W_q"), 6), (("self_attn", "W_v"), 6), (("self_attn", "b_v"), None),
    (("self_attn", "b_o"), None), (("norm1", "gamma"), None), (("norm1", "beta"), None), (("ffn", "W_1"), 6),
    (("ffn", "b_1"), None), (("ffn", "W_2"), 6), (("norm2", "gamma"), None), (("norm2", "beta"), None)]]


def test_encoder_backward_matches_finite_differences():
    """dx and a sample of every parameter's gradient equal finite differences (rows of 3 and 2 tokens).

    Hint: dr = LayerNorm_2'(g) at h + FFN(h); dh = dr + FFN'(dr): h feeds the FFN AND the residual.
    ds = LayerNorm_1'(dh) at x + a (the norm's INPUT); dx = ds + dx_q + dx_kv of the self-attention.
    """
    x, p, mask = EncoderCase(2, 3, 2, 2, 5, np.float64, 163, (3, 2)).build()
    g = grad_out_for(x, 163)
    got = call_encoder_backward(g, x, p, mask)
    f = lambda t: float((ref10.encoder_layer(t[0], t[1], mask) * g).sum())  # noqa: E731
    assert_matches_finite_differences(f, (x, p), got, ("dx", "grads"), ENCODER_SAMPLE)


@given(encoder_cases())
def test_encoder_backward_matches_reference(case):
    """encoder_layer_backward equals the reference on random inputs, weights, padding masks, float32 too.

    Hint: read the forward pass from the end: dr = LayerNorm_2'(g), dh = dr + FFN'(dr), ds = LayerNorm_1'(dh),
    dx = ds + the gradients of the queries AND of the keys and values, with the mask of the forward pass.
    """
    x, p, mask = case.build()
    g = grad_out_for(x, case.seed)
    got = call_encoder_backward(g, x, p, mask)
    f64 = np.float64
    expected = ref16.encoder_layer_backward(g.astype(f64), x.astype(f64), astype_params(p, f64), mask)
    assert_tree_close(got, tuple(expected), ("dx", "grads"), x.dtype)


DECODER_SAMPLE = [((0,), None), ((1,), None)] + [((2, *k), n) for k, n in [
    (("self_attn", "W_q"), 3), (("self_attn", "W_v"), 3), (("self_attn", "b_q"), 2), (("norm1", "gamma"), 2),
    (("cross_attn", "W_q"), 3), (("cross_attn", "W_k"), 3), (("cross_attn", "W_v"), 3),
    (("cross_attn", "b_o"), 2), (("norm2", "beta"), 2), (("ffn", "W_1"), 3), (("ffn", "b_2"), 2),
    (("norm3", "gamma"), 2)]]


def test_decoder_backward_matches_finite_differences():
    """dy, dmemory and a sample of every parameter's gradient equal finite differences (causal + padding).

    Hint: h_1 feeds the cross-attention's queries AND the residual: its gradient is the sum of both.
    dmemory is the cross-attention's dx_kv; the self-attention's backward needs self_mask.
    """
    case = DecoderCase(2, 3, 4, 2, 2, 5, np.float64, 164, ((3, 2), (4, 2)))  # T_tgt=3, T_src=4, D=4, F=5
    y, memory, p, self_mask, memory_mask = case.build()
    g = grad_out_for(y, 164)
    got = call_decoder_backward(g, y, memory, p, self_mask, memory_mask)
    f = lambda t: float((ref11.decoder_layer(t[0], t[1], t[2], self_mask, memory_mask) * g).sum())  # noqa: E731
    assert_matches_finite_differences(f, (y, memory, p), got, ("dy", "dmemory", "grads"), DECODER_SAMPLE)


@given(decoder_cases())
def test_decoder_backward_matches_reference(case):
    """decoder_layer_backward equals the reference (float32 too, T_tgt != T_src, causal and padding masks).

    Hint: go back through FFN, cross-attention and self-attention in that order; h_1 gets the residual's
    gradient plus the cross-attention's query gradient, memory the key and value gradients.
    """
    y, memory, p, self_mask, memory_mask = case.build()
    _assert_decoder_backward_is_the_reference(y, memory, p, self_mask, memory_mask, case.seed)


def _assert_decoder_backward_is_the_reference(y, memory, p, self_mask, memory_mask, seed):
    """The target's decoder_layer_backward equals the reference's, computed in float64."""
    g = grad_out_for(y, seed)
    got = call_decoder_backward(g, y, memory, p, self_mask, memory_mask)
    f64 = np.float64
    expected = ref16.decoder_layer_backward(g.astype(f64), y.astype(f64), memory.astype(f64),
                                            astype_params(p, f64), self_mask, memory_mask)
    assert_tree_close(got, tuple(expected), ("dy", "dmemory", "grads"), y.dtype)


@given(encoder_cases(masked=False), st.data())
def test_encoder_backward_every_mask_form(case, data):
    """encoder_layer_backward equals the reference under a mask of every form the forward pass accepts
    ([B or 1, T or 1, T]), query rows hidden whole included.

    Hint: pass the mask to the attention backward as it is, like the forward pass: it broadcasts over the
    heads and the batch, and a fully masked query row gets zero gradients.
    """
    x, p, _ = case.build()
    mask = data.draw(S.mask_forms(case.B, case.T, case.T, two_d=False), "mask")
    g = grad_out_for(x, case.seed)
    got = call_encoder_backward(g, x, p, mask)
    f64 = np.float64
    expected = ref16.encoder_layer_backward(g.astype(f64), x.astype(f64), astype_params(p, f64), mask)
    assert_tree_close(got, tuple(expected), ("dx", "grads"), x.dtype)


@given(decoder_cases(masked=False), st.data())
def test_decoder_backward_every_mask_form(case, data):
    """decoder_layer_backward equals the reference with self_mask and memory_mask of every form the
    forward pass accepts ([B or 1, T_q or 1, T_k]), query rows hidden whole included.

    Hint: self_mask goes to the self-attention's backward and memory_mask to the cross-attention's, as in the
    forward pass; pass them as they are, every accepted form broadcasts.
    """
    y, memory, p, _, _ = case.build()
    self_mask = data.draw(S.mask_forms(case.B, case.T_tgt, case.T_tgt, two_d=False), "self_mask")
    memory_mask = data.draw(S.mask_forms(case.B, case.T_tgt, case.T_src, two_d=False), "memory_mask")
    _assert_decoder_backward_is_the_reference(y, memory, p, self_mask, memory_mask, case.seed)


# --- loss_and_grads --------------------------------------------------------------------------------


def tiny_config(num_layers: int = 2) -> TransformerConfig:
    """D=4, H=2, F=6, vocabularies of 7 (pad 0, bos 1, eos 2)."""
    return TransformerConfig(src_vocab=7, tgt_vocab=7, d_model=4, num_heads=2, d_ff=6, num_layers=num_layers)


def tiny_batch() -> tuple[np.ndarray, np.ndarray]:
    """B=2: sources of 4 and 2 tokens (3 repeated, 5 and 6 absent), targets of 5 and 3 tokens, padded."""
    src = np.array([[3, 4, 3, 4], [4, 3, 0, 0]])
    tgt = np.array([[1, 4, 4, 3, 2], [1, 3, 2, 0, 0]])
    return src, tgt


def reference_loss(src: np.ndarray, tgt: np.ndarray, params: TransformerParams) -> float:
    """cross_entropy(transformer_forward(src, tgt[:, :-1]), tgt[:, 1:], pad_id), by the reference."""
    logits = ref12.transformer_forward(src, tgt[:, :-1], params)
    return ref15.cross_entropy(logits, tgt[:, 1:], params.config.pad_id)[0]


def call_loss_and_grads(src, tgt, params, what="loss_and_grads(src, tgt, params)"):
    loss, grads = returned(ex16.loss_and_grads(src, tgt, params), 2, what, "loss, grads")
    if not isinstance(loss, float | np.floating) or isinstance(loss, np.ndarray):
        raise AssertionError(message("the loss should be a Python float (float(...)), got {type}",
                                     type=type(loss).__name__))
    if not isinstance(grads, TransformerParams):
        raise AssertionError(message("grads should be a TransformerParams, got {type}",
                                     type=type(grads).__name__))
    return float(loss), grads


@st.composite
def training_batches(draw, vocab: tuple[int, int] = (11, 13)) -> tuple[np.ndarray, np.ndarray]:
    """``(src [B, T_src], tgt [B, T_tgt >= 2])``: rows of different real lengths, then padding."""
    B = draw(st.integers(1, 3))
    src = draw(S.token_batches(min_batch=B, max_batch=B, max_len=5, vocab=vocab[0], pad_id=PAD))
    tgt = draw(S.token_batches(min_batch=B, max_batch=B, min_len=2, max_len=5, vocab=vocab[1], pad_id=PAD))
    return src, tgt


@st.composite
def tiny_configs(draw) -> TransformerConfig:
    """Models small enough to record: vocabularies of 7, D in {4, 6}, H >= 1, 1 or 2 layers."""
    D, H = draw(st.sampled_from([(4, 2), (6, 3), (4, 1)]))
    F = draw(st.sampled_from([3, 6]))
    layers = draw(st.integers(1, 2))
    return TransformerConfig(src_vocab=7, tgt_vocab=7, d_model=D, num_heads=H, d_ff=F, num_layers=layers)


def loss_tolerance(dtype: Any) -> tuple[float, float]:
    return (1e-9, 1e-10) if np.dtype(dtype) == np.float64 else (1e-4, 1e-5)


@settings(max_examples=10)
@given(S.seeds, configs(), S.float_dtypes, training_batches())
def test_loss_is_the_teacher_forcing_cross_entropy(seed, config, dtype, batch):
    """The loss equals cross_entropy(transformer_forward(src, tgt[:, :-1]), tgt[:, 1:], ignore_id=pad_id).

    Hint: the decoder reads tgt[:, :-1] and is scored against tgt[:, 1:] (the next token), padding ignored.
    """
    src, tgt = batch
    params = S.random_transformer(seed, config, dtype)
    loss, _ = call_loss_and_grads(src, tgt, params)
    expected = reference_loss(src, tgt, astype_params(params, np.float64))
    assert_close(np.array(loss), np.array(expected),
                 message("the loss"), *loss_tolerance(dtype))


@given(S.seeds, tiny_configs(), S.float_dtypes, training_batches(vocab=(7, 7)))
def test_loss_and_grads_matches_reference(seed, config, dtype, batch):
    """Every gradient of loss_and_grads equals the reference (float32 and float64, 1 or 2 layers, padding).

    Hint: teacher forcing: forward on tgt[:, :-1], loss against tgt[:, 1:] ignoring pad_id; then every layer's
    backward from the end, memory's gradient summed over the decoder layers, and the embedding gradients
    (times sqrt(D)) added into the rows read.
    """
    src, tgt = batch
    params = S.random_transformer(seed, config, dtype)
    _, grads = call_loss_and_grads(src, tgt, params)
    _, expected = ref16.loss_and_grads(src, tgt, astype_params(params, np.float64))
    assert_tree_close(grads, expected, "grads", dtype)


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_loss_and_grads_with_other_special_ids(dtype):
    """For a model whose pad_id is 4 (bos 0, eos 3), the loss and every gradient equal the reference:
    the targets ignored and the padding masked are config.pad_id, and id 0 is a real token.

    Hint: use params.config.pad_id for the masks and for cross_entropy's ignore_id, never 0: here 0 is a real
    token whose rows get gradients.
    """
    src, tgt, params = other_ids_model(59, dtype)
    loss, grads = call_loss_and_grads(src, tgt, params, "loss_and_grads(src, tgt, params) with pad_id=4")
    ref_loss, expected = ref16.loss_and_grads(src, tgt, astype_params(params, np.float64))
    assert_close(np.array(loss), np.array(ref_loss),
                 message("the loss with pad_id={pad_id}", pad_id=4), *loss_tolerance(dtype))
    assert_tree_close(grads, expected, "grads", dtype)


def rows(*ids: int, D: int = 4) -> list[int]:
    """The flat indices of whole rows of a [V, D] table."""
    return [r * D + c for r in ids for c in range(D)]


LOSS_SAMPLE = [
    (("src_embed",), rows(0, 3, 4)), (("tgt_embed",), rows(3, 4)), (("W_out",), 3), (("b_out",), 2),
    (("encoder", 0, "self_attn", "W_q"), 3), (("encoder", 0, "norm2", "gamma"), 2),
    (("encoder", 1, "ffn", "W_1"), 2), (("decoder", 0, "self_attn", "W_q"), 2),
    (("decoder", 0, "cross_attn", "W_k"), 3), (("decoder", 1, "cross_attn", "W_v"), 2),
    (("decoder", 1, "norm3", "gamma"), 2), (("decoder", 0, "norm1", "beta"), 2)]


def test_loss_and_grads_matches_finite_differences():
    """Gradients equal finite differences of the loss (2+2 layers: embeddings, W_out, norms, attention).

    Hint: every decoder layer reads the memory: dmemory is the SUM over the decoder layers.
    the embedding's gradient is np.add.at(grad, tokens, dx * sqrt(D)): a token used twice gets both.
    """
    params = S.random_transformer(165, tiny_config(2))
    src, tgt = tiny_batch()
    _, grads = call_loss_and_grads(src, tgt, params)
    loss = lambda q: reference_loss(src, tgt, q)  # noqa: E731
    assert_matches_finite_differences(loss, params, grads, "grads", LOSS_SAMPLE)


def test_loss_and_grads_embedding_rows_of_unused_tokens_are_zero():
    """Embedding rows of tokens never read get zero gradient: absent ids, and the source's pad (masked keys).

    Hint: add dx * sqrt(D) into the rows of the tokens the model READ (src, tgt[:, :-1]), nowhere else.
    """
    params = S.random_transformer(167, tiny_config(2))
    src, tgt = tiny_batch()
    _, grads = call_loss_and_grads(src, tgt, params)
    src_grad = as_array(grads.src_embed, "grads.src_embed", params.src_embed.shape, np.float64)
    tgt_grad = as_array(grads.tgt_embed, "grads.tgt_embed", params.tgt_embed.shape, np.float64)
    unused = [("grads.src_embed", [0, 1, 2, 5, 6], src_grad), ("grads.tgt_embed", [0, 5, 6], tgt_grad)]
    for name, ids, arr in unused:
        assert_close(arr[ids], np.zeros((len(ids), 4)), message("rows {ids} of {name}", ids=ids, name=name),
                     rtol=0, atol=1e-12)
    for name, ids, arr in [("grads.src_embed", [3, 4], src_grad), ("grads.tgt_embed", [1, 3, 4], tgt_grad)]:
        if not (np.abs(arr[ids]).max(axis=1) > 1e-6).all():
            raise AssertionError(message("rows {ids} of {name} (tokens read) got none", ids=ids, name=name))


def test_loss_and_grads_keeps_the_config_and_float32():
    """grads.config equals params.config, the loss is a float, and float32 parameters get float32 gradients.

    Hint: build the gradients as a TransformerParams with params.config itself, every array in the parameters'
    dtype, and return the loss as a Python float.
    """
    params = S.random_transformer(168, tiny_config(1), np.float32)
    src, tgt = tiny_batch()
    _, grads = call_loss_and_grads(src, tgt, params)
    if grads.config != params.config:
        raise AssertionError(message("grads.config should equal params.config"))
    for path, got, e in walk_pairs(grads, params, "grads"):
        as_array(got, path, e.shape, np.float32)


@pytest.mark.parametrize("T_tgt", [0, 1])
def test_loss_and_grads_short_target_raises(T_tgt):
    """A target with fewer than 2 columns (nothing to predict) raises ValueError.

    Hint: check tgt_tokens.shape[1] >= 2 before the forward pass: with one column there is no next token to
    predict; raise ValueError naming tgt_tokens.
    """
    params = S.random_transformer(169, tiny_config(1))
    src, tgt = tiny_batch()
    with raises_value_error("tgt_tokens"):
        ex16.loss_and_grads(src, tgt[:, :T_tgt], params)


# --- adam_init -------------------------------------------------------------------------------------


def assert_zero_tree(tree: Any, like: Any, name: str) -> None:
    """``tree`` has ``like``'s structure, with zeros shaped and typed like each of its arrays."""
    for path, got, e in walk_pairs(tree, like, name):
        arr = as_array(got, path, e.shape, e.dtype)
        assert_close(arr, np.zeros(e.shape), path, rtol=0, atol=0)
        if np.shares_memory(got, e):
            raise AssertionError(message("{path} is the parameter array itself: build new zeros "
                                         "(np.zeros_like)", path=path))


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_adam_init_is_zero_moments_at_step_zero(dtype):
    """adam_init(params) has step 0 and zero m and v shaped (and typed) like every parameter array.

    Hint: m and v are new zero arrays shaped and typed like each parameter array (np.zeros_like), with step 0.
    """
    params = S.random_transformer(170, tiny_config(2), dtype)
    state = ex16.adam_init(params)
    if not isinstance(state, AdamState):
        raise AssertionError(message("adam_init should return an AdamState, got {type}",
                                     type=type(state).__name__))
    step = state.step
    if not (isinstance(step, int | np.integer) and step == 0):
        raise AssertionError(message("state.step is {step}, expected the int 0", step=repr(step)))
    assert_zero_tree(state.m, params, "state.m")
    assert_zero_tree(state.v, params, "state.v")


@pytest.mark.parametrize("tree", ["layer_norm", "array", "list"])
def test_adam_init_works_on_any_tree(tree):
    """adam_init works on any parameter tree: a LayerNormParams, a plain array, a list of arrays.

    Hint: walk the tree the same way for any kind of node: an array, a list, a dataclass of arrays; build m
    and v with the same structure, not only for TransformerParams.
    """
    params = {"layer_norm": S.random_layer_norm(171, 5),
              "array": S.rng(172).standard_normal((3, 2)).astype(np.float32),
              "list": [S.rng(173).standard_normal(4), S.rng(174).standard_normal((2, 3))]}[tree]
    state = ex16.adam_init(params)
    if not isinstance(state, AdamState):
        raise AssertionError(message("adam_init should return an AdamState, got {type}",
                                     type=type(state).__name__))
    if state.step != 0:
        raise AssertionError(message("state.step is {step}, expected 0", step=repr(state.step)))
    assert_zero_tree(state.m, params, "state.m")
    assert_zero_tree(state.v, params, "state.v")


# --- adam_step -------------------------------------------------------------------------------------


def adam_oracle(theta: np.ndarray, m: np.ndarray, v: np.ndarray, step: int, grads: list[np.ndarray],
                lr: float, beta1: float = 0.9, beta2: float = 0.98, eps: float = 1e-9):
    """Adam written out in float64 for one array, from the state ``(m, v, step)``, one step per gradient."""
    theta, m, v = (np.asarray(a, dtype=np.float64) for a in (theta, m, v))
    for g in grads:
        g = np.asarray(g, dtype=np.float64)
        step += 1
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        theta = theta - lr * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)
    return theta, m, v


def small_tree(seed: int, dtype: Any = np.float64) -> FeedForwardParams:
    """A FeedForwardParams (D=2, F=3) of random values."""
    rng = S.rng(seed)
    return FeedForwardParams(*(rng.standard_normal(s).astype(dtype) for s in [(2, 3), (3,), (3, 2), (2,)]))


def gradient_tree(seed: int, dtype: Any = np.float64) -> FeedForwardParams:
    """Gradients of every scale, 1e-10 to 10: eps and the square root show on the tiny ones."""
    rng = S.rng(seed)
    return FeedForwardParams(*(
        (rng.choice([-1.0, 1.0], size=s) * 10.0 ** rng.uniform(-10, 1, size=s)).astype(dtype)
        for s in [(2, 3), (3,), (3, 2), (2,)]))


def moments(seed: int, dtype: Any = np.float64) -> tuple[FeedForwardParams, FeedForwardParams]:
    """Moments ``m`` (any sign) and ``v`` (> 0) of a state after a few steps."""
    g, h = gradient_tree(seed, dtype), gradient_tree(seed + 1, dtype)
    return g, FeedForwardParams(*(np.asarray(a * a + b * b, dtype=dtype) for a, b in
                                  zip(dataclasses.astuple(g), dataclasses.astuple(h), strict=True)))


def call_adam_step(params, grads, state, lr, *betas, what="adam_step(params, grads, state, lr)", **kw):
    new, state2 = returned(ex16.adam_step(params, grads, state, lr, *betas, **kw), 2, what, "params, state")
    if not isinstance(state2, AdamState):
        raise AssertionError(message("the new state should be an AdamState, got {type}",
                                     type=type(state2).__name__))
    return new, state2


def assert_adam(new: Any, state2: AdamState, params: Any, expected_step: int,
                oracle: Callable[[Keys, np.ndarray], tuple], dtype: Any) -> None:
    """``new`` and ``state2``'s leaves equal ``oracle(keys, theta) -> (theta, m, v)`` leaf by leaf."""
    if state2.step != expected_step:
        raise AssertionError(message("the new state's step is {step}, expected {expected_step}",
                                     step=repr(state2.step), expected_step=expected_step))
    rtol, atol = (1e-9, 1e-12) if np.dtype(dtype) == np.float64 else (2e-5, 1e-7)
    for keys, theta in paths(params):
        want_theta, want_m, want_v = oracle(keys, theta)
        for name, tree, want in [("params", new, want_theta), ("state.m", state2.m, want_m),
                                 ("state.v", state2.v, want_v)]:
            where = path_name(message("new {name}", name=name), keys)
            try:
                leaf = get_leaf(tree, keys)
            except (AttributeError, IndexError, TypeError):
                raise AssertionError(message("{where} is missing: keep the parameters' structure",
                                             where=where)) from None
            got = as_array(leaf, where, theta.shape, dtype)
            assert_close(got, want, where, rtol=rtol, atol=atol * max(1.0, float(np.abs(want).max())))


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_adam_first_step_exact_values(dtype):
    """One step from zero moments equals Adam's formula (betas 0.8/0.95, eps 1e-6), m and v included.

    Hint: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; t = step + 1;
    theta - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), eps outside the square root.
    """
    params, grads = small_tree(175, dtype), gradient_tree(176, dtype)
    zeros = dataclasses.replace(params, **{f: np.zeros_like(a) for f, a in vars(params).items()})
    state = AdamState(0, zeros, zeros)
    new, state2 = call_adam_step(params, grads, state, 0.01, beta1=0.8, beta2=0.95, eps=1e-6)
    assert_adam(new, state2, params, 1, lambda keys, theta: adam_oracle(
        theta, 0 * theta, 0 * theta, 0, [get_leaf(grads, keys)], 0.01, 0.8, 0.95, 1e-6), dtype)


def test_adam_first_step_moves_each_parameter_by_lr():
    """With the bias correction, the first step moves every parameter by lr against its gradient's sign.

    Hint: without m / (1 - beta1^t) and v / (1 - beta2^t), the first step is lr * 0.1 / sqrt(0.02), not lr.
    """
    params = small_tree(177)
    grads = FeedForwardParams(*(np.sign(a) * (0.5 + np.abs(a)) for a in vars(gradient_tree(178)).values()))
    zeros = dataclasses.replace(params, **{f: np.zeros_like(a) for f, a in vars(params).items()})
    new, _ = call_adam_step(params, grads, AdamState(0, zeros, zeros), 0.01)
    for (keys, theta), (_, g) in zip(paths(params), paths(grads), strict=True):
        moved = as_array(get_leaf(new, keys), path_name(message("new params"), keys), theta.shape,
                         theta.dtype) - theta
        assert_close(moved, -0.01 * np.sign(g), path_name(message("new params - params"), keys),
                     rtol=1e-6, atol=1e-8)


def test_adam_three_steps_exact_values():
    """Three steps in a row (each from the state the previous one returned) equal Adam's formula, defaults.

    Hint: each step starts from the state the previous one returned: t = state.step + 1 in both bias
    corrections, m and v carried over, not reset.
    """
    params = small_tree(179)
    grads = [gradient_tree(180 + i) for i in range(3)]
    zeros = dataclasses.replace(params, **{f: np.zeros_like(a) for f, a in vars(params).items()})
    new, state = params, AdamState(0, zeros, zeros)
    for g in grads:
        new, state = call_adam_step(new, g, state, 0.003)
    assert_adam(new, state, params, 3, lambda keys, theta: adam_oracle(
        theta, 0 * theta, 0 * theta, 0, [get_leaf(g, keys) for g in grads], 0.003), np.float64)


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
@pytest.mark.parametrize("explicit", [False, True], ids=["defaults", "explicit"])
def test_adam_step_from_a_later_state(dtype, explicit):
    """From a state after 4 steps (moments given), one step equals Adam's formula: defaults 0.9, 0.98, 1e-9.

    Hint: t = state.step + 1 in both bias corrections; beta1 decays m, beta2 decays v.
    """
    params, grads = small_tree(184, dtype), gradient_tree(185, dtype)
    m, v = moments(186, dtype)
    state = AdamState(4, m, v)
    hyper = (0.85, 0.99, 1e-7) if explicit else (0.9, 0.98, 1e-9)
    args = hyper if explicit else ()
    new, state2 = call_adam_step(params, grads, state, 0.02, *args)
    assert_adam(new, state2, params, 5, lambda keys, theta: adam_oracle(
        theta, get_leaf(m, keys), get_leaf(v, keys), 4, [get_leaf(grads, keys)], 0.02, *hyper), dtype)


def test_adam_step_changes_nothing_in_place():
    """adam_step leaves params, grads and the state (step, m, v) as they were and returns new objects.

    Hint: build new arrays (theta - ..., beta1 * m + ...) instead of -=, *= or out=: the caller's params,
    grads and state must stay as they were.
    """
    params, grads = small_tree(187), gradient_tree(188)
    m, v = moments(189)
    state = AdamState(2, m, v)
    saved = [(tree, snapshot(tree, name), name) for tree, name in [(params, "params"), (grads, "grads"),
                                                              (m, "state.m"), (v, "state.v")]]
    _, state2 = call_adam_step(params, grads, state, 0.01)
    if state.step != 2:
        raise AssertionError(message("state.step was changed to {step}: return a new AdamState instead",
                                     step=repr(state.step)))
    if not (state.m is m and state.v is v):
        raise AssertionError(message("state.m or state.v was replaced: return a new AdamState instead"))
    if state2 is state:
        raise AssertionError(message("adam_step returned the state it was given: return a new AdamState"))
    for tree, before, name in saved:
        assert_unchanged(tree, before, name)


def test_adam_step_on_a_whole_model_keeps_its_structure():
    """adam_step on a TransformerParams returns a TransformerParams: same config, shapes and dtypes.

    Hint: return the same kind of tree you were given: a TransformerParams with params.config, every array
    with its shape and dtype.
    """
    params = S.random_transformer(190, tiny_config(1), np.float32)
    grads = init_transformer(S.rng(191), tiny_config(1), np.float32, random_bias=True)
    zeros = astype_params(params, np.float32)
    for _, a in paths(zeros):
        a[...] = 0
    new, _ = call_adam_step(params, grads, AdamState(0, zeros, zeros), 0.01)
    for path, got, e in walk_pairs(new, params, message("new params")):
        moved = as_array(got, path, e.shape, np.float32) - e
        assert_close(np.abs(moved), np.full(e.shape, 0.01),
                     message("|{path} - old value| after one step", path=path), rtol=1e-3)
    if new.config != params.config:
        raise AssertionError(message("the new params should keep params.config"))


@pytest.mark.parametrize("lr", [-1e-3, float("nan")])
def test_adam_step_bad_lr_raises(lr):
    """A negative (or NaN) learning rate raises ValueError, ideally naming `lr`.

    Hint: check lr before updating: a finite number >= 0, else ValueError naming lr; a NaN fails every
    comparison, so test np.isfinite(lr) too.
    """
    params, grads = small_tree(192), gradient_tree(193)
    zeros = dataclasses.replace(params, **{f: np.zeros_like(a) for f, a in vars(params).items()})
    with raises_value_error("lr"):
        ex16.adam_step(params, grads, AdamState(0, zeros, zeros), lr)


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_adam_step_with_lr_zero_only_updates_the_moments(dtype):
    """lr = 0 is allowed: the parameters stay as they are, the moments and the step move on.

    Hint: lr = 0 is valid: the parameters move by lr times the step, so they stay, while m, v and step =
    state.step + 1 are updated as usual.
    """
    params, grads = small_tree(194, dtype), gradient_tree(195, dtype)
    m, v = moments(196, dtype)
    new, state2 = call_adam_step(params, grads, AdamState(2, m, v), 0.0)
    assert_adam(new, state2, params, 3, lambda keys, theta: adam_oracle(
        theta, get_leaf(m, keys), get_leaf(v, keys), 2, [get_leaf(grads, keys)], 0.0, 0.9, 0.98, 1e-9), dtype)


# --- train_step ------------------------------------------------------------------------------------


def later_state(params: TransformerParams, seed: int) -> AdamState:
    """A state after 3 steps: random moments (v > 0) shaped like the parameters."""
    rng = S.rng(seed)
    m = astype_params(params, np.float64)
    v = astype_params(params, np.float64)
    for (_, a), (_, b) in zip(paths(m), paths(v), strict=True):
        a[...] = 0.1 * rng.standard_normal(a.shape)
        b[...] = 0.01 * rng.standard_normal(b.shape) ** 2
    return AdamState(3, m, v)


def call_train_step(params, state, src, tgt, lr, what="train_step(params, state, src, tgt, lr)"):
    new, state2, loss = returned(ex16.train_step(params, state, src, tgt, lr), 3, what, "params, state, loss")
    if not isinstance(state2, AdamState):
        raise AssertionError(message("the new state should be an AdamState, got {type}",
                                     type=type(state2).__name__))
    if not isinstance(loss, float | np.floating) or isinstance(loss, np.ndarray):
        raise AssertionError(message("the loss should be a Python float, got {type}",
                                     type=type(loss).__name__))
    return new, state2, float(loss)


@settings(max_examples=5)
@given(S.seeds, tiny_configs(), training_batches(vocab=(7, 7)))
def test_train_step_is_loss_and_grads_then_adam(seed, config, batch):
    """train_step returns the loss BEFORE the update, and the params and state of one Adam step.

    Hint: loss, grads = loss_and_grads(...); then adam_step(params, grads, state, lr); return that loss.
    """
    src, tgt = batch
    params = S.random_transformer(seed, config)
    state = later_state(params, seed + 1)
    ref_loss, grads = ref16.loss_and_grads(src, tgt, params)
    want, want_state = ref16.adam_step(params, grads, state, 0.01)
    new, state2, loss = call_train_step(params, state, src, tgt, 0.01)
    assert_close(np.array(loss), np.array(ref_loss),
                 message("the loss (before the update)"), 1e-9, 1e-10)
    assert_tree_close(new, want, message("new params"), np.float64)
    if state2.step != 4:
        raise AssertionError(message("the new state's step is {step}, expected state.step + 1 = 4",
                                     step=repr(state2.step)))
    assert_tree_close(state2.m, want_state.m,
                      message("new state.m"), np.float64)
    assert_tree_close(state2.v, want_state.v,
                      message("new state.v"), np.float64)


@pytest.mark.parametrize("dtype", S.FLOAT_DTYPES)
def test_train_step_with_other_special_ids(dtype):
    """train_step (float32 too, pad_id 4, bos 0, eos 3) returns the loss before the update and the
    params and state of one Adam step.

    Hint: train_step only chains loss_and_grads and adam_step: return the loss computed before the update, and
    let both read params.config (pad_id 4 here).
    """
    src, tgt, params = other_ids_model(60, dtype)
    later = later_state(params, 61)
    state = AdamState(later.step, astype_params(later.m, dtype), astype_params(later.v, dtype))
    ref_loss, grads = ref16.loss_and_grads(src, tgt, params)
    want, want_state = ref16.adam_step(params, grads, state, 0.01)
    new, state2, loss = call_train_step(params, state, src, tgt, 0.01)
    assert_close(np.array(loss), np.array(ref_loss), message("the loss (before the update)"),
                 *loss_tolerance(dtype))
    assert_tree_close(new, want, "new params", dtype)
    if state2.step != state.step + 1:
        raise AssertionError(message("the new state's step is {step}, expected state.step + 1",
                                     step=repr(state2.step)))
    assert_tree_close(state2.m, want_state.m, "new state.m", dtype)


LEARN_STEPS = 120  # the reference's loss falls to 0.17 of its start; a slower learner stays above 0.25


@pytest.mark.slow
def test_train_step_learns_to_reverse_three_digits():
    """120 train_steps on reversing 3 digits (D=8, 1+1 layers, lr 0.01) cut the loss to under a quarter.

    Hint: if the loss rises, the update has the wrong sign; if it stalls, a gradient or the state is lost.
    """
    config = TransformerConfig(src_vocab=7, tgt_vocab=7, d_model=8, num_heads=2, d_ff=16, num_layers=1)
    params = init_transformer(S.rng(0), config)
    zeros = astype_params(params, np.float64)
    for _, a in paths(zeros):
        a[...] = 0
    state = AdamState(0, zeros, astype_params(zeros, np.float64))
    rng = S.rng(1)
    losses = []
    for _ in range(LEARN_STEPS):
        digits = rng.integers(3, 7, size=(8, 3))  # ids 3..6, no padding
        tgt = np.concatenate([np.full((8, 1), 1), digits[:, ::-1], np.full((8, 1), 2)], axis=1)  # bos ... eos
        params, state, loss = call_train_step(params, state, digits, tgt, 0.01)
        losses.append(loss)
    first, last = np.mean(losses[:5]), np.mean(losses[-20:])
    if not (math.isfinite(last) and last < 0.25 * first):
        raise AssertionError(message("the mean loss of the last 20 steps is {last}, the first 5 steps' "
                                     "{first}: training should cut it to under a quarter (the reference "
                                     "reaches about 1/6)", last=f"{last:.3f}", first=f"{first:.3f}"))


def diagnostic_cases() -> dict[str, list[tuple]]:
    """Fixed inputs on which every catalogued mistake gives its own output."""
    g, x_q, x_kv, p = mha_inputs(194, 2, 2, 3, 2, 2)
    g_self, x, _, p_self = mha_inputs(195, 2, 3, 3, 2, 2)
    enc_x, enc_p, enc_mask = EncoderCase(2, 3, 2, 2, 5, np.float64, 196, (3, 2)).build()
    dec = DecoderCase(2, 3, 4, 2, 2, 5, np.float64, 197, ((3, 2), (4, 2))).build()
    params = S.random_transformer(198, tiny_config(2))
    params32 = S.random_transformer(199, tiny_config(1), np.float32)
    src, tgt = tiny_batch()
    src2, tgt2 = np.array([[5, 6, 5], [6, 0, 0]]), np.array([[1, 5, 5, 2], [1, 6, 2, 0]])
    m, v = moments(200)
    zeros = FeedForwardParams(*(np.zeros_like(a) for a in dataclasses.astuple(m)))
    return {
        "multi_head_attention_backward": [(g, x_q, x_kv, p, fully_masked_row_mask()),
                                          (g_self, x, x, p_self, causal(3) & key_mask([3, 2], 3))],
        "encoder_layer_backward": [(grad_out_for(enc_x, 196), enc_x, enc_p, enc_mask)],
        "decoder_layer_backward": [(grad_out_for(dec[0], 197), *dec)],
        "loss_and_grads": [(src, tgt, params), (src2, tgt2, params32)],
        "adam_init": [(params32,), (small_tree(203),)],
        "adam_step": [(small_tree(201), gradient_tree(202), AdamState(0, zeros, zeros), 0.01),
                      (small_tree(201), gradient_tree(202), AdamState(4, m, v), 0.02),
                      # the step as a 0-d array: `state.step += 1` then changes an input, which shows
                      (small_tree(201), gradient_tree(202), AdamState(np.array(4), m, v), 0.02)],
        "train_step": [(params, later_state(params, 204), src, tgt, 0.01)],
    }
