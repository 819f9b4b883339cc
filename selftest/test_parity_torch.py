"""Parity with PyTorch: the reference computes what torch computes, given the same weights.

PyTorch's attention, layer norm and Transformer layers were written by other people, for other
reasons; where the reference agrees with them to float64 precision, the contract and the reference
mean what the paper means. The conventions are translated on the way in:

- torch applies ``x @ W.T + b`` with ``W`` stored (out, in); the contract ``x @ W + b`` with ``W``
  (in, out): every weight is copied transposed. ``nn.MultiheadAttention`` packs the three input
  projections into ``in_proj_weight = [W_q.T; W_k.T; W_v.T]`` (3D, D).
- Boolean masks: ``F.scaled_dot_product_attention`` takes True = may attend (the contract's sense);
  ``nn.MultiheadAttention`` and the Transformer layers take True = NOT allowed, the opposite.
- A query whose keys are all masked: the contract gives zero weights and a zero head output (so
  ``out = b_o``); ``nn.MultiheadAttention`` gives NaN. Such rows are compared with the contract's
  values, not with torch's.
- torch runs in the dtype of the numpy inputs: float64 (tolerances near round-off) and float32.

Needs the ``parity`` extra (torch, CPU build); skipped without it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch not installed (pip install -e '.[parity]')")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from course.params import (  # noqa: E402
    GPTConfig,
    TransformerConfig,
    init_decoder_layer,
    init_encoder_layer,
    init_gpt,
    init_layer_norm,
    init_multi_head,
    init_transformer,
)
from selftest.torch_models import (  # noqa: E402
    TORCH_DTYPE,
    N,
    T,
    load_encoder_layer,
    load_norm,
    torch_decoder_layer,
    torch_encoder_layer,
    torch_mha,
    torch_transformer,
)
from tests.support import target  # noqa: E402
from tests.support.checks import as_array, assert_close, assert_equal  # noqa: E402

ref05 = target.reference("ex05_qkv_attention")
ref06 = target.reference("ex06_masking")
ref07 = target.reference("ex07_multi_head")
ref08 = target.reference("ex08_positional_encoding")
ref09 = target.reference("ex09_layers")
ref10 = target.reference("ex10_encoder")
ref11 = target.reference("ex11_decoder")
ref12 = target.reference("ex12_transformer")
ref13 = target.reference("ex13_kv_cache")
ref14 = target.reference("ex14_gpt")

# (rtol, atol) per dtype: float64 is compared near its round-off, float32 near its own.
TOL = {np.float64: (1e-10, 1e-12), np.float32: (1e-4, 1e-5)}
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
PAD, BOS, EOS = 0, 1, 2


@pytest.fixture(autouse=True)
def _torch_quiet_and_deterministic():
    """No autograd, the same small thread count every run."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with torch.no_grad():
        yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------------------
# Token batches
# ---------------------------------------------------------------------------------------------


def tokens_with_lengths(rng: np.random.Generator, lengths: list[int], T_: int, vocab: int) -> np.ndarray:
    """[B, T] ids in 3..vocab-1 (no pad, bos or eos), padded with PAD after each row's length."""
    tokens = rng.integers(3, vocab, size=(len(lengths), T_))
    tokens[np.arange(T_)[None, :] >= np.array(lengths)[:, None]] = PAD
    return tokens


# ---------------------------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("T_", [1, 2, 5, 9])
def test_causal_mask_equals_torch_square_subsequent_mask(T_):
    """causal_mask(T) allows exactly the entries that generate_square_subsequent_mask leaves at 0."""
    m = N(nn.Transformer.generate_square_subsequent_mask(T_, dtype=torch.float64))
    assert np.isneginf(m[m != 0]).all()
    assert_equal(as_array(ref06.causal_mask(T_), "causal_mask", (T_, T_), np.bool_), m == 0, "causal_mask")


# ---------------------------------------------------------------------------------------------
# Scaled dot-product attention vs F.scaled_dot_product_attention
# ---------------------------------------------------------------------------------------------

# name: (leading dims, T_q, T_k, d_k, d_v, input scale)
SDPA_SIZES = {
    "single": ((), 3, 5, 4, 6, 1.0),
    "batch": ((2,), 4, 3, 2, 5, 1.0),
    "batch_heads": ((2, 3), 4, 6, 8, 5, 1.0),
    "one_token": ((2, 1), 1, 1, 2, 3, 1.0),
    "large_logits": ((2, 2), 5, 5, 4, 3, 30.0),
}
MASKS = ["none", "random", "key_padding", "causal"]


def _sdpa_case(size: str, dtype):
    lead, T_q, T_k, d_k, d_v, scale = SDPA_SIZES[size]
    rng = np.random.default_rng(sorted(SDPA_SIZES).index(size))
    Q = (scale * rng.standard_normal((*lead, T_q, d_k))).astype(dtype)
    K = (scale * rng.standard_normal((*lead, T_k, d_k))).astype(dtype)
    V = rng.standard_normal((*lead, T_k, d_v)).astype(dtype)
    return rng, Q, K, V


@DTYPES
@pytest.mark.parametrize("mask_kind", MASKS)
@pytest.mark.parametrize("size", list(SDPA_SIZES))
def test_scaled_dot_product_attention_equals_torch(size, mask_kind, dtype):
    """out and weights equal torch's SDPA (boolean attn_mask: True = attend; is_causal top-left)."""
    rng, Q, K, V = _sdpa_case(size, dtype)
    *lead, T_q, T_k = Q.shape[:-1] + K.shape[-2:-1]
    kwargs = {}
    mask = None
    if mask_kind == "random":  # full [..., T_q, T_k] with a fully masked first query row
        mask = rng.random((*lead, T_q, T_k)) < 0.6
        mask[..., 0, :] = False
        kwargs["attn_mask"] = T(mask)
    elif mask_kind == "key_padding":  # broadcast over queries (and heads): [B, 1, ..., 1, T_k]
        mask = np.ones((*lead[:1], *[1] * (len(lead) - 1), 1, T_k), dtype=bool)
        if lead:
            mask[-1, ..., max(T_k // 2, 1):] = False
        kwargs["attn_mask"] = T(mask)
    elif mask_kind == "causal":  # torch's is_causal is top-left aligned: query i sees keys 0..i
        mask = ref06.causal_mask(max(T_q, T_k))[:T_q, :T_k]
        kwargs["is_causal"] = True

    out, weights = ref05.scaled_dot_product_attention(Q, K, V, mask)
    out = as_array(out, "out", (*V.shape[:-2], T_q, V.shape[-1]), dtype)
    weights = as_array(weights, "weights", (*lead, T_q, T_k), dtype)

    expected_out = N(F.scaled_dot_product_attention(T(Q), T(K), T(V), **kwargs))
    # The weights are what attention does to the identity: SDPA(Q, K, I) = weights @ I.
    eye = np.broadcast_to(np.eye(T_k, dtype=dtype), (*lead, T_k, T_k))
    expected_weights = N(F.scaled_dot_product_attention(T(Q), T(K), T(eye), **kwargs))
    if mask is not None:  # rows with no allowed key: the contract's zeros, whatever torch says
        empty = ~np.broadcast_to(mask, (*lead, T_q, T_k)).any(axis=-1)
        expected_out[empty] = 0
        expected_weights[empty] = 0
    rtol, atol = TOL[dtype]
    assert_close(weights, expected_weights, "weights", rtol=rtol, atol=atol)
    assert_close(out, expected_out, "out", rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------------
# Multi-head attention vs nn.MultiheadAttention
# ---------------------------------------------------------------------------------------------

B_, H_, D_ = 3, 3, 12  # d_k = 4
LENGTHS = [5, 2, 4]  # different padding per row


MHA_CASES = ["self_no_mask", "cross_no_mask", "cross_key_padding", "cross_empty_row_padding",
             "cross_per_batch_mask", "self_causal_and_padding"]


def mha_masks(case: str, rng: np.random.Generator, T_q: int, T_k: int) -> tuple[np.ndarray | None, dict]:
    """The contract's mask for an MHA case (True = may attend, [B or 1, T_q or 1, T_k]) and torch's
    keyword masks (True = NOT allowed)."""
    mask, kwargs = None, {}
    real = np.arange(T_k)[None, :] < np.array(LENGTHS)[:, None]  # (B, T_k)
    if case == "cross_key_padding":
        mask = real[:, None, :]
        kwargs["key_padding_mask"] = T(~real)
    elif case == "cross_empty_row_padding":  # batch row 1 has no real key at all
        real[1] = False
        mask = real[:, None, :]
        kwargs["key_padding_mask"] = T(~real)
    elif case == "cross_per_batch_mask":  # [B, T_q, T_k]: torch wants one copy per head, b-major
        mask = rng.random((B_, T_q, T_k)) < 0.6
        mask[0, 1] = False  # one fully masked query row
        kwargs["attn_mask"] = T(~np.repeat(mask, H_, axis=0))  # (B * H, T_q, T_k)
    elif case == "self_causal_and_padding":
        causal = ref06.causal_mask(T_q)
        mask = causal[None] & real[:, None, :]
        kwargs["attn_mask"] = T(~causal)
        kwargs["key_padding_mask"] = T(~real)
    return mask, kwargs


@DTYPES
@pytest.mark.parametrize("case", MHA_CASES)
def test_multi_head_attention_equals_torch(case, dtype):
    """out and per-head weights equal nn.MultiheadAttention's with the same weights and masks."""
    rng = np.random.default_rng(100 + MHA_CASES.index(case))
    p = init_multi_head(rng, D_, H_, dtype, random_bias=True)
    self_attention = case.startswith("self")
    T_q, T_k = (5, 5) if self_attention else (3, 5)
    x_q = rng.standard_normal((B_, T_q, D_)).astype(dtype)
    x_kv = x_q if self_attention else rng.standard_normal((B_, T_k, D_)).astype(dtype)
    mask, kwargs = mha_masks(case, rng, T_q, T_k)

    out, weights = ref07.multi_head_attention(x_q, x_kv, p, mask)
    out = as_array(out, "out", (B_, T_q, D_), dtype)
    weights = as_array(weights, "weights", (B_, H_, T_q, T_k), dtype)

    # need_weights=True keeps torch off its fused fast path, and returns every head's weights
    t_out, t_weights = torch_mha(p, dtype)(T(x_q), T(x_kv), T(x_kv), need_weights=True,
                                           average_attn_weights=False, **kwargs)
    expected_out, expected_weights = N(t_out), N(t_weights)
    if mask is not None:  # fully masked rows: torch gives NaN, the contract zero weights, out = b_o
        empty = ~np.broadcast_to(mask, (B_, T_q, T_k)).any(axis=-1)  # (B, T_q)
        expected_weights[np.broadcast_to(empty[:, None], (B_, H_, T_q))] = 0
        expected_out[empty] = p.b_o
    rtol, atol = TOL[dtype]
    assert_close(weights, expected_weights, "weights", rtol=rtol, atol=atol)
    assert_close(out, expected_out, "out", rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------------
# Layer norm, feed-forward
# ---------------------------------------------------------------------------------------------

@DTYPES
def test_layer_norm_equals_torch(dtype):
    """layer_norm equals nn.LayerNorm(D, eps=1e-5) with gamma, beta copied, rows of any size."""
    D = 6
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 4, D))
    x[0, 1] *= 1e-3  # tiny variance: eps matters
    x[0, 2] = 5.0 + 3.0 * x[0, 2]  # shifted and scaled
    x[1, 0] *= 1e3  # large values
    x[1, 1] = 0.25  # constant row: variance 0, output beta
    x = x.astype(dtype)
    p = init_layer_norm(rng, D, dtype, random_bias=True)
    ln = nn.LayerNorm(D, eps=1e-5, dtype=TORCH_DTYPE[dtype])
    load_norm(ln, p)
    got = as_array(ref09.layer_norm(x, p), "layer_norm", x.shape, dtype)
    rtol, atol = TOL[dtype]
    assert_close(got, N(ln(T(x))), "layer_norm", rtol=rtol, atol=atol)


@DTYPES
def test_feed_forward_equals_torch(dtype):
    """feed_forward equals linear2(relu(linear1(x))) with W_1.T, W_2.T copied."""
    rng = np.random.default_rng(8)
    p = init_encoder_layer(rng, 8, 2, 20, dtype, random_bias=True).ffn
    x = rng.standard_normal((2, 3, 8)).astype(dtype)
    expected = F.linear(F.relu(F.linear(T(x), T(p.W_1.T), T(p.b_1))), T(p.W_2.T), T(p.b_2))
    got = as_array(ref09.feed_forward(x, p), "feed_forward", x.shape, dtype)
    rtol, atol = TOL[dtype]
    assert_close(got, N(expected), "feed_forward", rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------------
# Encoder and decoder layers vs nn.TransformerEncoderLayer / nn.TransformerDecoderLayer
# ---------------------------------------------------------------------------------------------

@DTYPES
@pytest.mark.parametrize("path", ["fused", "python"])
@pytest.mark.parametrize("padded", [False, True], ids=["no_mask", "padding"])
def test_encoder_layer_equals_torch(padded, path, dtype):
    """encoder_layer equals a post-norm TransformerEncoderLayer (relu, no dropout) on every position."""
    rng = np.random.default_rng(11)
    D, H, F_, T_ = 12, 3, 20, 5
    p = init_encoder_layer(rng, D, H, F_, dtype, random_bias=True)
    x = rng.standard_normal((B_, T_, D)).astype(dtype)
    real = np.arange(T_)[None, :] < np.array(LENGTHS)[:, None]  # (B, T)
    mask = real[:, None, :] if padded else None
    got = as_array(ref10.encoder_layer(x, p, mask), "encoder_layer", x.shape, dtype)
    layer = torch_encoder_layer(p, dtype)
    # In eval mode without autograd torch takes its fused inference kernel; with autograd on (the
    # parameters require grad) it runs the layer op by op: both must agree with the reference.
    with torch.set_grad_enabled(path == "python"):
        expected = N(layer(T(x), src_key_padding_mask=T(~real) if padded else None))
    rtol, atol = TOL[dtype]
    assert_close(got, expected, "encoder_layer", rtol=rtol, atol=atol)


@DTYPES
@pytest.mark.parametrize("padded", [False, True], ids=["causal_only", "causal_and_padding"])
def test_decoder_layer_equals_torch(padded, dtype):
    """decoder_layer equals a post-norm TransformerDecoderLayer with tgt_mask and padding masks."""
    rng = np.random.default_rng(12)
    D, H, F_, T_t, T_s = 12, 3, 20, 4, 6
    p = init_decoder_layer(rng, D, H, F_, dtype, random_bias=True)
    y = rng.standard_normal((B_, T_t, D)).astype(dtype)
    memory = rng.standard_normal((B_, T_s, D)).astype(dtype)
    tgt = tokens_with_lengths(rng, [4, 1, 3] if padded else [T_t] * B_, T_t, 50)
    src = tokens_with_lengths(rng, [6, 2, 5] if padded else [T_s] * B_, T_s, 50)
    self_mask = ref06.decoder_self_mask(tgt, PAD)  # (B, T_t, T_t)
    memory_mask = ref06.padding_mask(src, PAD)  # (B, 1, T_s)
    got = ref11.decoder_layer(y, memory, p, self_mask, memory_mask)
    got = as_array(got, "decoder_layer", y.shape, dtype)

    causal = N(nn.Transformer.generate_square_subsequent_mask(T_t, dtype=torch.float64)) == 0
    layer = torch_decoder_layer(p, dtype)
    expected = N(layer(T(y), T(memory), tgt_mask=T(~causal), tgt_key_padding_mask=T(tgt == PAD),
                       memory_key_padding_mask=T(src == PAD)))
    rtol, atol = TOL[dtype]
    assert_close(got, expected, "decoder_layer", rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------------
# Whole stacks
# ---------------------------------------------------------------------------------------------

CONFIG = TransformerConfig(src_vocab=23, tgt_vocab=19, d_model=12, num_heads=3, d_ff=24, num_layers=2,
                           pad_id=PAD, bos_id=BOS, eos_id=EOS)


def _model(dtype, seed=21):
    return init_transformer(np.random.default_rng(seed), CONFIG, dtype, random_bias=True)


@DTYPES
def test_encode_equals_torch_transformer_encoder(dtype):
    """encode equals TransformerEncoder(num_layers, norm=None) fed with the reference's embed()."""
    params = _model(dtype)
    rng = np.random.default_rng(22)
    src = tokens_with_lengths(rng, [7, 3, 5], 7, CONFIG.src_vocab)
    got = as_array(ref10.encode(src, params), "encode", (3, 7, CONFIG.d_model), dtype)
    x0 = ref08.embed(src, params.src_embed)
    expected = N(torch_transformer(params, dtype).encoder(T(x0), src_key_padding_mask=T(src == PAD)))
    rtol, atol = TOL[dtype]
    assert_close(got, expected, "encode", rtol=rtol, atol=atol)


@DTYPES
def test_transformer_forward_equals_torch_transformer(dtype):
    """transformer_forward equals nn.Transformer (no final norms) + the output projection."""
    params = _model(dtype)
    rng = np.random.default_rng(23)
    src = tokens_with_lengths(rng, [6, 2, 4], 6, CONFIG.src_vocab)
    tgt = tokens_with_lengths(rng, [4, 5, 1], 5, CONFIG.tgt_vocab)
    tgt[:, 0] = BOS
    got = ref12.transformer_forward(src, tgt, params)
    got = as_array(got, "logits", (3, 5, CONFIG.tgt_vocab), dtype)
    model = torch_transformer(params, dtype)
    causal = ref06.causal_mask(5)
    out = model(T(ref08.embed(src, params.src_embed)), T(ref08.embed(tgt, params.tgt_embed)),
                tgt_mask=T(~causal), src_key_padding_mask=T(src == PAD),
                tgt_key_padding_mask=T(tgt == PAD), memory_key_padding_mask=T(src == PAD))
    expected = N(out @ T(params.W_out) + T(params.b_out))
    rtol, atol = TOL[dtype]
    assert_close(got, expected, "logits", rtol=rtol, atol=atol)


def _torch_greedy(params, src: np.ndarray, max_len: int) -> np.ndarray:
    """Greedy decoding written again, on torch's model: bos, arg-max, pad after eos, stop when done."""
    model = torch_transformer(params, np.float64)
    memory = model.encoder(T(ref08.embed(src, params.src_embed)), src_key_padding_mask=T(src == PAD))
    tokens = np.full((src.shape[0], 1), BOS)
    finished = np.zeros(src.shape[0], dtype=bool)
    for _ in range(max_len):
        L = tokens.shape[1]
        y = model.decoder(T(ref08.embed(tokens, params.tgt_embed)), memory,
                          tgt_mask=T(~ref06.causal_mask(L)), tgt_key_padding_mask=T(tokens == PAD),
                          memory_key_padding_mask=T(src == PAD))
        nxt = N(y[:, -1] @ T(params.W_out) + T(params.b_out)).argmax(axis=-1)
        nxt = np.where(finished, PAD, nxt)
        tokens = np.concatenate([tokens, nxt[:, None]], axis=1)
        finished |= nxt == EOS
        if finished.all():
            break
    return tokens


# A larger eos logit makes rows stop sooner: at 0.0 one row stops and the loop runs max_len steps,
# at 0.4 three rows stop at different steps, at 0.8 all stop early, at 50 all stop at once.
@pytest.mark.parametrize("eos_bias", [0.0, 0.4, 0.8, 50.0],
                         ids=["one_row_stops", "rows_stop_apart", "all_stop_early", "all_stop_at_once"])
def test_greedy_decode_equals_greedy_decoding_on_torch(eos_bias):
    """greedy_decode's tokens equal a greedy loop run on the torch model (same stops and padding)."""
    params = _model(np.float64, seed=31)
    params.b_out = params.b_out.copy()
    params.b_out[EOS] += eos_bias
    src = tokens_with_lengths(np.random.default_rng(32), [6, 3, 5, 1], 6, CONFIG.src_vocab)
    got = ref12.greedy_decode(src, params, 8)
    expected = _torch_greedy(params, src, 8)
    got = as_array(got, "tokens", expected.shape)
    assert_equal(got, expected, "tokens")


@DTYPES
def test_gpt_forward_equals_torch_causal_encoder(dtype):
    """gpt_forward equals nn.TransformerEncoder (no final norm) under is_causal, then the output layer."""
    config = GPTConfig(vocab=17, d_model=12, num_heads=3, d_ff=24, num_layers=2)
    params = init_gpt(np.random.default_rng(41), config, dtype, random_bias=True)
    tokens = np.random.default_rng(42).integers(0, config.vocab, size=(3, 6))
    got = as_array(ref14.gpt_forward(tokens, params), "logits", (3, 6, config.vocab), dtype)
    stack = nn.TransformerEncoder(torch_encoder_layer(params.layers[0], dtype), config.num_layers, norm=None,
                                  enable_nested_tensor=False)
    for layer, p in zip(stack.layers, params.layers, strict=True):
        load_encoder_layer(layer, p)
    x = stack.eval()(T(ref08.embed(tokens, params.embed)), mask=T(~ref06.causal_mask(6)), is_causal=True)
    rtol, atol = TOL[dtype]
    assert_close(got, N(x @ T(params.W_out) + T(params.b_out)), "logits", rtol=rtol, atol=atol)


def test_cached_greedy_decode_equals_greedy_decoding_on_torch():
    """The key/value-cached decoder writes the same tokens as the greedy loop on the torch model."""
    params = _model(np.float64, seed=31)
    params.b_out = params.b_out.copy()
    params.b_out[EOS] += 0.4
    params.b_out[PAD] -= 100  # the contract's condition: no row writes pad before it has finished
    src = tokens_with_lengths(np.random.default_rng(32), [6, 3, 5, 1], 6, CONFIG.src_vocab)
    expected = _torch_greedy(params, src, 8)
    got = as_array(ref13.cached_greedy_decode(src, params, 8), "tokens", expected.shape)
    assert_equal(got, expected, "tokens")


def test_scaling_constant_is_the_papers():
    """Sanity of the translation: torch's default SDPA scale is 1/sqrt(d_k), as the contract's."""
    rng = np.random.default_rng(0)
    Q, K, V = (rng.standard_normal((1, 2, 9)) for _ in range(3))
    plain = F.scaled_dot_product_attention(T(Q), T(K), T(V))
    scaled = F.scaled_dot_product_attention(T(Q), T(K), T(V), scale=1 / math.sqrt(9))
    assert torch.equal(plain, scaled)
