"""The contract's parameters copied into PyTorch's modules, for the parity selftests.

Weights go in transposed (torch stores ``(out, in)``); the three input projections of
``nn.MultiheadAttention`` are packed in ``in_proj_weight``. Import it only after torch is known
to be installed (the parity selftests skip without it).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


def T(a: np.ndarray) -> torch.Tensor:
    """A torch copy of a numpy array (never a view: torch must not share the reference's memory)."""
    return torch.from_numpy(np.array(a, copy=True))


def N(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().copy()


def _copy(param: torch.Tensor, value: np.ndarray) -> None:
    assert param.shape == value.shape, (param.shape, value.shape)
    param.copy_(T(value))


def load_attention(mha: nn.MultiheadAttention, p) -> nn.MultiheadAttention:
    """Copy MultiHeadParams into torch: in_proj = [W_q; W_k; W_v] transposed, out_proj = W_o.T."""
    _copy(mha.in_proj_weight, np.concatenate([p.W_q.T, p.W_k.T, p.W_v.T]))  # (3D, D)
    _copy(mha.in_proj_bias, np.concatenate([p.b_q, p.b_k, p.b_v]))  # (3D,)
    _copy(mha.out_proj.weight, p.W_o.T)  # (D, D) as (out, in)
    _copy(mha.out_proj.bias, p.b_o)
    return mha


def load_norm(norm: nn.LayerNorm, p) -> None:
    _copy(norm.weight, p.gamma)
    _copy(norm.bias, p.beta)


def load_ffn(layer, p) -> None:
    _copy(layer.linear1.weight, p.W_1.T)  # (F, D)
    _copy(layer.linear1.bias, p.b_1)
    _copy(layer.linear2.weight, p.W_2.T)  # (D, F)
    _copy(layer.linear2.bias, p.b_2)


def _post_norm_layer(cls: type, p, dtype):
    """A torch layer of ``cls`` with ``p``'s sizes: post-norm, relu, no dropout (weights not yet copied)."""
    D, F_ = p.ffn.W_1.shape
    return cls(D, p.self_attn.num_heads, F_, dropout=0.0, activation="relu", layer_norm_eps=1e-5,
               batch_first=True, norm_first=False, dtype=TORCH_DTYPE[dtype])


def torch_encoder_layer(p, dtype) -> nn.TransformerEncoderLayer:
    layer = _post_norm_layer(nn.TransformerEncoderLayer, p, dtype)
    load_encoder_layer(layer, p)
    return layer.eval()


def load_encoder_layer(layer: nn.TransformerEncoderLayer, p) -> None:
    load_attention(layer.self_attn, p.self_attn)
    load_norm(layer.norm1, p.norm1)
    load_ffn(layer, p.ffn)
    load_norm(layer.norm2, p.norm2)


def torch_decoder_layer(p, dtype) -> nn.TransformerDecoderLayer:
    layer = _post_norm_layer(nn.TransformerDecoderLayer, p, dtype)
    load_decoder_layer(layer, p)
    return layer.eval()


def load_decoder_layer(layer: nn.TransformerDecoderLayer, p) -> None:
    load_attention(layer.self_attn, p.self_attn)
    load_norm(layer.norm1, p.norm1)
    load_attention(layer.multihead_attn, p.cross_attn)
    load_norm(layer.norm2, p.norm2)
    load_ffn(layer, p.ffn)
    load_norm(layer.norm3, p.norm3)


def torch_transformer(params, dtype) -> nn.Transformer:
    """nn.Transformer without the final norms (the contract has none), weights copied per layer."""
    c = params.config
    enc = nn.TransformerEncoder(torch_encoder_layer(params.encoder[0], dtype), c.num_layers, norm=None,
                                enable_nested_tensor=False)
    dec = nn.TransformerDecoder(torch_decoder_layer(params.decoder[0], dtype), c.num_layers, norm=None)
    model = nn.Transformer(c.d_model, c.num_heads, custom_encoder=enc, custom_decoder=dec,
                           dropout=0.0, batch_first=True, dtype=TORCH_DTYPE[dtype])
    # nn.Transformer re-initialises every parameter when built: copy the weights in afterwards
    for layer, p in zip(model.encoder.layers, params.encoder, strict=True):
        load_encoder_layer(layer, p)
    for layer, p in zip(model.decoder.layers, params.decoder, strict=True):
        load_decoder_layer(layer, p)
    return model.eval()


def torch_mha(p, dtype) -> nn.MultiheadAttention:
    D = p.W_q.shape[0]
    mha = nn.MultiheadAttention(D, p.num_heads, dropout=0.0, bias=True, batch_first=True,
                                dtype=TORCH_DTYPE[dtype])
    return load_attention(mha, p).eval()
