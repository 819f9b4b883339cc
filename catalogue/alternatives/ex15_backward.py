"""Correct implementations of exercise 15 written differently from the reference."""

import numpy as np

from catalogue import alternative
from solutions.ex15_backward import FeedForwardParams, LayerNormParams


@alternative("softmax_backward", "jacobian_einsum")
def softmax_backward(grad_out, probs, axis=-1):
    if np.shape(grad_out) != probs.shape:
        raise ValueError(f"grad_out must have the shape of probs {probs.shape}")
    y = np.moveaxis(probs, axis, -1)  # (..., n)
    g = np.moveaxis(grad_out, axis, -1)  # (..., n)
    J = y[..., :, None] * np.eye(y.shape[-1], dtype=y.dtype) - y[..., :, None] * y[..., None, :]  # dy_j/dx_i
    return np.moveaxis(np.einsum("...ij,...j->...i", J, g), -1, axis)


@alternative("scaled_dot_product_attention_backward", "einsum_recomputed_weights")
def scaled_dot_product_attention_backward(grad_out, Q, K, V, mask=None):
    d_k = Q.shape[-1]
    if K.shape[-1] != d_k or V.shape[-2] != K.shape[-2]:
        raise ValueError("Q, K, V do not fit together")
    S = np.einsum("...qd,...kd->...qk", Q, K) / np.sqrt(d_k).astype(Q.dtype)
    if mask is not None:
        S = np.broadcast_to(S, np.broadcast_shapes(S.shape, np.shape(mask)))  # (..., T_q, T_k)
    allowed = np.ones(S.shape, dtype=bool) if mask is None else np.broadcast_to(mask, S.shape)
    lead = S.shape[:-2]
    if np.shape(grad_out) != (*lead, Q.shape[-2], V.shape[-1]):
        raise ValueError(f"grad_out must have shape {(*lead, Q.shape[-2], V.shape[-1])}")
    S = np.where(allowed, S, -np.inf)
    m = np.where(allowed.any(axis=-1, keepdims=True), S.max(axis=-1, keepdims=True), 0)
    z = np.where(allowed, np.exp(S - m), 0)
    total = z.sum(axis=-1, keepdims=True)
    P = z / np.where(total > 0, total, 1)
    dV = np.einsum("...qk,...qv->...kv", P, grad_out)
    dP = np.einsum("...qv,...kv->...qk", grad_out, V)
    dS = P * (dP - np.einsum("...qk,...qk->...q", dP, P)[..., None])
    dQ = np.einsum("...qk,...kd->...qd", dS, K) / np.sqrt(d_k).astype(Q.dtype)
    dK = np.einsum("...qk,...qd->...kd", dS, Q) / np.sqrt(d_k).astype(Q.dtype)
    return dQ, dK, dV


@alternative("layer_norm_backward", "three_terms_with_variance_gradient")
def layer_norm_backward(grad_out, x, p, eps=1e-5):
    if np.shape(grad_out) != x.shape:
        raise ValueError(f"grad_out must have the shape of x {x.shape}")
    D = x.shape[-1]
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=-1, keepdims=True)
    inv = 1 / np.sqrt(var + eps)
    dx_hat = grad_out * p.gamma
    dvar = (dx_hat * xc).sum(axis=-1, keepdims=True) * -0.5 * inv**3
    dmu = -(dx_hat * inv).sum(axis=-1, keepdims=True) + dvar * (-2 * xc).mean(axis=-1, keepdims=True)
    dx = dx_hat * inv + dvar * 2 * xc / D + dmu / D
    g2 = grad_out.reshape(-1, D)
    return dx, LayerNormParams(gamma=(g2 * (xc * inv).reshape(-1, D)).sum(axis=0), beta=g2.sum(axis=0))


@alternative("feed_forward_backward", "einsum_over_leading_axes")
def feed_forward_backward(grad_out, x, p):
    if np.shape(grad_out) != x.shape:
        raise ValueError(f"grad_out must have the shape of x {x.shape}")
    a = x @ p.W_1 + p.b_1
    h = np.where(a > 0, a, 0)
    da = np.where(a > 0, grad_out @ p.W_2.T, 0)
    lead = tuple(range(x.ndim - 1))
    return da @ p.W_1.T, FeedForwardParams(
        W_1=np.tensordot(x, da, axes=(lead, lead)), b_1=da.sum(axis=lead),
        W_2=np.tensordot(h, grad_out, axes=(lead, lead)), b_2=grad_out.sum(axis=lead))


@alternative("cross_entropy", "eye_onehot_flattened")
def cross_entropy(logits, targets, ignore_id=None):
    V = logits.shape[-1]
    if not isinstance(targets, np.ndarray) or not np.issubdtype(targets.dtype, np.integer) \
            or targets.shape != logits.shape[:-1]:
        raise ValueError("targets must be integers shaped like logits without its last axis")
    z = logits.reshape(-1, V)  # (N_all, V)
    t = targets.reshape(-1)
    keep = t != ignore_id if ignore_id is not None else np.ones(t.shape, dtype=bool)
    if ((t[keep] < 0) | (t[keep] >= V)).any():
        raise ValueError("targets out of range")
    n = int(keep.sum())
    if n == 0:
        return 0.0, np.zeros_like(logits)
    onehot = np.eye(V, dtype=logits.dtype)[np.where(keep, t, 0)]  # (N_all, V)
    shifted = z - z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=1))
    nll = lse - (shifted * onehot).sum(axis=1)
    loss = float(nll[keep].sum() / n)
    probs = np.exp(shifted - lse[:, None])
    d = (probs - onehot) * keep[:, None].astype(logits.dtype) / logits.dtype.type(n)
    return loss, d.reshape(logits.shape)
