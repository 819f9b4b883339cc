"""Parity of the gradients and of Adam with PyTorch's autograd and ``torch.optim.Adam``.

The reference's backward functions (exercises 15 and 16) are derived by hand; torch's are derived
by its autograd from forward code that other people wrote. Where they agree in float64 to
round-off, the hand derivations are right, on every parameter of a whole encoder-decoder. Weights
are copied into torch as in ``selftest/torch_models.py`` (transposed; the three input projections of
``nn.MultiheadAttention`` packed in ``in_proj_weight``) and the gradients are read back the same way.

Needs the ``parity`` extra (torch, CPU build); skipped without it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch not installed (pip install -e '.[parity]')")

import torch.nn.functional as F  # noqa: E402

from course.params import (  # noqa: E402
    MultiHeadParams,
    TransformerConfig,
    init_feed_forward,
    init_layer_norm,
    init_multi_head,
    init_transformer,
    tree_map,
)
from selftest.torch_models import N, T, torch_mha, torch_transformer  # noqa: E402
from tests.support import target  # noqa: E402
from tests.support.checks import assert_close  # noqa: E402

ref02 = target.reference("ex02_softmax")
ref05 = target.reference("ex05_qkv_attention")
ref06 = target.reference("ex06_masking")
ref08 = target.reference("ex08_positional_encoding")
ref15 = target.reference("ex15_backward")
ref16 = target.reference("ex16_training")

TOL = {"rtol": 1e-9, "atol": 1e-11}  # float64 throughout: the gradients agree to round-off
PAD = 0


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def leaf(a: np.ndarray) -> torch.Tensor:
    """A float64 torch copy of ``a`` that collects its gradient."""
    return T(a).requires_grad_(requires_grad=True)


def grad_of(t: torch.Tensor) -> np.ndarray:
    return N(t.grad)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_backward_equals_autograd(axis):
    rng = np.random.default_rng(1)
    x, g = rng.standard_normal((3, 4, 5)) * 3, rng.standard_normal((3, 4, 5))
    tx = leaf(x)
    torch.softmax(tx, dim=axis).backward(T(g))
    got = ref15.softmax_backward(g, ref02.softmax(x, axis=axis), axis=axis)
    assert_close(got, grad_of(tx), "softmax_backward", **TOL)


@pytest.mark.parametrize("masked", [False, True])
def test_attention_backward_equals_autograd_of_torch_sdpa(masked):
    rng = np.random.default_rng(2)
    Q, K = rng.standard_normal((2, 3, 4, 6)), rng.standard_normal((2, 3, 5, 6))  # (B, H, T, d_k)
    V = rng.standard_normal((2, 3, 5, 7))  # (B, H, T_k, d_v)
    g = rng.standard_normal((2, 3, 4, 7))
    mask = None
    if masked:  # every query keeps at least one key: torch gives NaN for a fully masked row
        mask = rng.random((2, 1, 4, 5)) < 0.6
        mask[..., 0] = True
    tq, tk, tv = leaf(Q), leaf(K), leaf(V)
    F.scaled_dot_product_attention(tq, tk, tv, attn_mask=None if mask is None else T(mask)).backward(T(g))
    dQ, dK, dV = ref15.scaled_dot_product_attention_backward(g, Q, K, V, mask)
    for name, got, t in (("dQ", dQ, tq), ("dK", dK, tk), ("dV", dV, tv)):
        assert_close(got, grad_of(t), name, **TOL)


def test_layer_norm_backward_equals_autograd():
    rng = np.random.default_rng(3)
    p = init_layer_norm(rng, 6, random_bias=True)
    x, g = rng.standard_normal((2, 3, 6)) * 4 + 1, rng.standard_normal((2, 3, 6))
    tx, tg, tb = leaf(x), leaf(p.gamma), leaf(p.beta)
    F.layer_norm(tx, (6,), tg, tb, eps=1e-5).backward(T(g))
    dx, dp = ref15.layer_norm_backward(g, x, p)
    assert_close(dx, grad_of(tx), "dx", **TOL)
    assert_close(dp.gamma, grad_of(tg), "dgamma", **TOL)
    assert_close(dp.beta, grad_of(tb), "dbeta", **TOL)


def test_feed_forward_backward_equals_autograd():
    rng = np.random.default_rng(4)
    p = init_feed_forward(rng, 5, 9, random_bias=True)
    x, g = rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 3, 5))
    tx, tW1, tb1, tW2, tb2 = (leaf(a) for a in (x, p.W_1, p.b_1, p.W_2, p.b_2))
    (torch.relu(tx @ tW1 + tb1) @ tW2 + tb2).backward(T(g))
    dx, dp = ref15.feed_forward_backward(g, x, p)
    assert_close(dx, grad_of(tx), "dx", **TOL)
    for name, t in (("W_1", tW1), ("b_1", tb1), ("W_2", tW2), ("b_2", tb2)):
        assert_close(getattr(dp, name), grad_of(t), f"d{name}", **TOL)


@pytest.mark.parametrize("ignore", [None, PAD])
def test_cross_entropy_equals_torch(ignore):
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((3, 4, 7)) * 5
    targets = rng.integers(0, 7, size=(3, 4))
    targets[0, 1:] = PAD
    tl = leaf(logits)
    loss = F.cross_entropy(tl.reshape(-1, 7), T(targets).reshape(-1),
                           ignore_index=-100 if ignore is None else ignore)
    loss.backward()
    got_loss, dlogits = ref15.cross_entropy(logits, targets, ignore)
    assert math.isclose(got_loss, loss.item(), rel_tol=1e-12)
    assert_close(dlogits, grad_of(tl), "dlogits", **TOL)


def _mha_grads(module) -> MultiHeadParams:
    """The gradients of an nn.MultiheadAttention, in the contract's layout."""
    dW_q, dW_k, dW_v = (N(w).T for w in module.in_proj_weight.grad.chunk(3))
    db_q, db_k, db_v = N(module.in_proj_bias.grad).reshape(3, -1)
    return MultiHeadParams(dW_q, dW_k, dW_v, N(module.out_proj.weight.grad).T, db_q, db_k, db_v,
                           N(module.out_proj.bias.grad), module.num_heads)


def test_multi_head_attention_backward_equals_autograd_of_torch_mha():
    rng = np.random.default_rng(6)
    p = init_multi_head(rng, 8, 2, random_bias=True)
    x_q, x_kv = rng.standard_normal((2, 3, 8)), rng.standard_normal((2, 5, 8))
    g = rng.standard_normal((2, 3, 8))
    key_ok = np.arange(5) < np.array([[5], [2]])  # (B, T_k): the second row has 2 real keys
    with torch.no_grad():  # copying the weights in is not part of the graph
        module = torch_mha(p, np.float64)
    tq, tkv = leaf(x_q), leaf(x_kv)
    module(tq, tkv, tkv, key_padding_mask=T(~key_ok), need_weights=False)[0].backward(T(g))
    dx_q, dx_kv, dp = ref16.multi_head_attention_backward(g, x_q, x_kv, p, key_ok[:, None, :])
    assert_close(dx_q, grad_of(tq), "dx_q", **TOL)
    assert_close(dx_kv, grad_of(tkv), "dx_kv", **TOL)
    expected = _mha_grads(module)
    for name in ("W_q", "W_k", "W_v", "W_o", "b_q", "b_k", "b_v", "b_o"):
        assert_close(getattr(dp, name), getattr(expected, name), f"d{name}", **TOL)


def test_loss_and_grads_equal_autograd_of_nn_transformer():
    """Every gradient of the whole model equals torch's, through nn.Transformer and F.cross_entropy."""
    config = TransformerConfig(src_vocab=11, tgt_vocab=9, d_model=8, num_heads=2, d_ff=12, num_layers=2)
    params = init_transformer(np.random.default_rng(7), config, random_bias=True)
    src = np.array([[5, 6, 7, 8, 3], [4, 9, 10, 0, 0]])
    tgt = np.array([[1, 4, 5, 6, 2, 0], [1, 7, 3, 8, 8, 2]])
    loss, grads = ref16.loss_and_grads(src, tgt, params)

    with torch.no_grad():  # copying the weights in is not part of the graph
        model = torch_transformer(params, np.float64)
    src_embed, tgt_embed, W_out, b_out = (leaf(a) for a in (params.src_embed, params.tgt_embed, params.W_out,
                                                             params.b_out))
    tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]
    scale = math.sqrt(config.d_model)
    x = src_embed[T(src)] * scale + T(ref08.sinusoidal_encoding(src.shape[1], config.d_model))
    y = tgt_embed[T(tgt_in)] * scale + T(ref08.sinusoidal_encoding(tgt_in.shape[1], config.d_model))
    out = model(x, y, tgt_mask=T(~ref06.causal_mask(tgt_in.shape[1])), src_key_padding_mask=T(src == PAD),
                tgt_key_padding_mask=T(tgt_in == PAD), memory_key_padding_mask=T(src == PAD))
    logits = out @ W_out + b_out
    expected_loss = F.cross_entropy(logits.reshape(-1, config.tgt_vocab), T(tgt_out).reshape(-1),
                                    ignore_index=PAD)
    expected_loss.backward()

    assert math.isclose(loss, expected_loss.item(), rel_tol=1e-12)
    for name, got, t in (("src_embed", grads.src_embed, src_embed), ("tgt_embed", grads.tgt_embed, tgt_embed),
                         ("W_out", grads.W_out, W_out), ("b_out", grads.b_out, b_out)):
        assert_close(got, grad_of(t), f"grads.{name}", **TOL)
    for i, (g, layer) in enumerate(zip(grads.encoder, model.encoder.layers, strict=True)):
        _assert_mha(g.self_attn, layer.self_attn, f"grads.encoder[{i}].self_attn")
        _assert_layer_rest(g, layer, ("norm1", "norm2"), f"grads.encoder[{i}]")
    for i, (g, layer) in enumerate(zip(grads.decoder, model.decoder.layers, strict=True)):
        _assert_mha(g.self_attn, layer.self_attn, f"grads.decoder[{i}].self_attn")
        _assert_mha(g.cross_attn, layer.multihead_attn, f"grads.decoder[{i}].cross_attn")
        _assert_layer_rest(g, layer, ("norm1", "norm2", "norm3"), f"grads.decoder[{i}]")


def _assert_mha(got: MultiHeadParams, module, where: str) -> None:
    expected = _mha_grads(module)
    for name in ("W_q", "W_k", "W_v", "W_o", "b_q", "b_k", "b_v", "b_o"):
        assert_close(getattr(got, name), getattr(expected, name), f"{where}.{name}", **TOL)


def _assert_layer_rest(got, layer, norms: tuple[str, ...], where: str) -> None:
    for norm in norms:
        module = getattr(layer, norm)
        assert_close(getattr(got, norm).gamma, N(module.weight.grad), f"{where}.{norm}.gamma", **TOL)
        assert_close(getattr(got, norm).beta, N(module.bias.grad), f"{where}.{norm}.beta", **TOL)
    assert_close(got.ffn.W_1, N(layer.linear1.weight.grad).T, f"{where}.ffn.W_1", **TOL)
    assert_close(got.ffn.b_1, N(layer.linear1.bias.grad), f"{where}.ffn.b_1", **TOL)
    assert_close(got.ffn.W_2, N(layer.linear2.weight.grad).T, f"{where}.ffn.W_2", **TOL)
    assert_close(got.ffn.b_2, N(layer.linear2.bias.grad), f"{where}.ffn.b_2", **TOL)


def test_adam_equals_torch_optim_adam():
    """Three steps of adam_step equal torch.optim.Adam(betas=(0.9, 0.98), eps=1e-9) on the same gradients."""
    rng = np.random.default_rng(8)
    params = init_layer_norm(rng, 5, random_bias=True)
    tensors = [leaf(params.gamma), leaf(params.beta)]
    optimiser = torch.optim.Adam(tensors, lr=0.01, betas=(0.9, 0.98), eps=1e-9)
    state = ref16.adam_init(params)
    for _ in range(3):
        grads = tree_map(lambda a: rng.standard_normal(a.shape) * 10 ** rng.uniform(-3, 1), params)
        params, state = ref16.adam_step(params, grads, state, 0.01)
        for t, g in zip(tensors, (grads.gamma, grads.beta), strict=True):
            t.grad = T(g)
        optimiser.step()
    assert state.step == 3
    assert_close(params.gamma, N(tensors[0]), "gamma after 3 steps", **TOL)
    assert_close(params.beta, N(tensors[1]), "beta after 3 steps", **TOL)
