"""Realistic mistakes in exercise 15 (gradients by hand). Each replaces the reference function of its name.

An entry runs inside a copy of ``solutions/ex15_backward.py``: it uses that module's names, imported here
from it only so that the file reads (and lints) like the module it is appended to.
"""

import math

import numpy as np

from catalogue import base, mistake, variant
from solutions.ex15_backward import (
    FeedForwardParams,
    LayerNormParams,
    _check_like,
    log_softmax,
    scaled_dot_product_attention,
    softmax,
    softmax_backward,
)

# --- softmax_backward ------------------------------------------------------------------------------


@mistake("softmax_backward", "diagonal_only",
         "you used only the diagonal of the softmax Jacobian, g * y * (1 - y): every score also moves the "
         "other outputs (dy_j/dx_i = -y_i y_j); use dx = y * (g - sum(g * y, axis, keepdims=True))")
def softmax_backward(grad_out, probs, axis=-1):
    _check_like(grad_out, probs, "grad_out", "probs")
    return grad_out * probs * (1 - probs)  # mistake: diagonal_only


@mistake("softmax_backward", "no_subtraction",
         "your gradient is y * g: the term -y * sum(g * y) (the outputs sum to one, so raising one lowers "
         "the others) is missing; use dx = y * (g - sum(g * y, axis, keepdims=True))")
def softmax_backward(grad_out, probs, axis=-1):
    _check_like(grad_out, probs, "grad_out", "probs")
    return probs * grad_out  # mistake: no_subtraction


@mistake("softmax_backward", "sum_of_g_unweighted",
         "you subtract sum(g) instead of sum(g * y): the sum is weighted by the probabilities, "
         "dx = y * (g - sum(g * y, axis, keepdims=True))")
def softmax_backward(grad_out, probs, axis=-1):
    _check_like(grad_out, probs, "grad_out", "probs")
    return probs * (grad_out - grad_out.sum(axis=axis, keepdims=True))  # mistake: sum_of_g_unweighted


@mistake("softmax_backward", "ignores_axis",
         "your sum always runs over the last axis: pass `axis` to the sum (axis=axis, keepdims=True)")
def softmax_backward(grad_out, probs, axis=-1):
    _check_like(grad_out, probs, "grad_out", "probs")
    return probs * (grad_out - (grad_out * probs).sum(axis=-1, keepdims=True))  # mistake: ignores_axis


@mistake("softmax_backward", "no_keepdims",
         "your sum drops the reduced axis, so it broadcasts against the wrong axis: sum with keepdims=True")
def softmax_backward(grad_out, probs, axis=-1):
    _check_like(grad_out, probs, "grad_out", "probs")
    return probs * (grad_out - (grad_out * probs).sum(axis=axis))  # mistake: no_keepdims


@mistake("softmax_backward", "sum_over_everything",
         "you sum g * y over the whole array: the sum runs along `axis` only, one per softmax "
         "(axis=axis, keepdims=True)")
def softmax_backward(grad_out, probs, axis=-1):
    _check_like(grad_out, probs, "grad_out", "probs")
    return probs * (grad_out - (grad_out * probs).sum())  # mistake: sum_over_everything


@mistake("softmax_backward", "plus_sign",
         "the sum term has the wrong sign: dx = y * (g - sum(g * y)), minus")
def softmax_backward(grad_out, probs, axis=-1):
    _check_like(grad_out, probs, "grad_out", "probs")
    return probs * (grad_out + (grad_out * probs).sum(axis=axis, keepdims=True))  # mistake: plus_sign


# --- scaled_dot_product_attention_backward ---------------------------------------------------------


# The correct function that the variants below change.
@base("scaled_dot_product_attention_backward")
def scaled_dot_product_attention_backward(grad_out, Q, K, V, mask=None):
    out, P = scaled_dot_product_attention(Q, K, V, mask)
    _check_like(grad_out, out, "grad_out", "the attention output")
    d_k = Q.shape[-1]
    dV = np.swapaxes(P, -1, -2) @ grad_out
    dS = softmax_backward(grad_out @ np.swapaxes(V, -1, -2), P) / math.sqrt(d_k)
    return dS @ K, np.swapaxes(dS, -1, -2) @ Q, dV


variant("scaled_dot_product_attention_backward", "no_scale",
        "dQ and dK miss the factor 1/sqrt(d_k): the scores are Q K^T / sqrt(d_k), so the chain rule "
        "divides their gradient by sqrt(d_k) too",
        {"d_k = Q.shape[-1]": "",
         "dS = softmax_backward(grad_out @ np.swapaxes(V, -1, -2), P) / math.sqrt(d_k)":
         "dS = softmax_backward(grad_out @ np.swapaxes(V, -1, -2), P)  # mistake: no_scale"})


variant("scaled_dot_product_attention_backward", "scale_by_d_k",
        "you divide the score gradient by d_k (or by sqrt(d_k) twice): the scores are divided by "
        "sqrt(d_k) once, so is their gradient",
        {"dS = softmax_backward(grad_out @ np.swapaxes(V, -1, -2), P) / math.sqrt(d_k)":
         "dS = softmax_backward(grad_out @ np.swapaxes(V, -1, -2), P) / d_k  # mistake: scale_by_d_k"})


variant("scaled_dot_product_attention_backward", "dK_no_transpose",
        "dK = dS Q is missing a transpose: dK = dS^T Q / sqrt(d_k) (np.swapaxes(dS, -1, -2)), one row "
        "per key",
        {"return dS @ K, np.swapaxes(dS, -1, -2) @ Q, dV":
         "return dS @ K, dS @ Q, dV  # mistake: dK_no_transpose"})


variant("scaled_dot_product_attention_backward", "dV_no_transpose",
        "dV = P g is missing a transpose: dV = P^T g (np.swapaxes(P, -1, -2) @ grad_out), one row per "
        "key",
        {"dV = np.swapaxes(P, -1, -2) @ grad_out": "dV = P @ grad_out  # mistake: dV_no_transpose"})


variant("scaled_dot_product_attention_backward", "no_softmax_backward",
        "you pass dP = g V^T straight to dQ and dK: the gradient must go back through the softmax "
        "first, dS = softmax_backward(dP, P)",
        {"dS = softmax_backward(grad_out @ np.swapaxes(V, -1, -2), P) / math.sqrt(d_k)":
         "dS = grad_out @ np.swapaxes(V, -1, -2) / math.sqrt(d_k)  # mistake: no_softmax_backward"})


variant("scaled_dot_product_attention_backward", "weights_as_dS",
        "you use the attention weights P where the score gradient dS belongs: dS = softmax_backward(g "
        "V^T, P), then dQ = dS K / sqrt(d_k) and dK = dS^T Q / sqrt(d_k)",
        {"dS = softmax_backward(grad_out @ np.swapaxes(V, -1, -2), P) / math.sqrt(d_k)":
         "dS = P * (grad_out @ np.swapaxes(V, -1, -2)) / math.sqrt(d_k)  # mistake: weights_as_dS"})


variant("scaled_dot_product_attention_backward", "ignores_mask",
        "your backward recomputes the weights without the mask: use the masked weights of the forward "
        "pass (scaled_dot_product_attention(Q, K, V, mask)), which are zero at masked keys",
        {"out, P = scaled_dot_product_attention(Q, K, V, mask)":
         "out, _ = scaled_dot_product_attention(Q, K, V, mask)",
         "d_k = Q.shape[-1]":
         "d_k = Q.shape[-1]\n"
         "P = softmax(Q @ np.swapaxes(K, -1, -2) / math.sqrt(d_k))  # mistake: ignores_mask"})


@mistake("scaled_dot_product_attention_backward", "nan_on_fully_masked_rows",
         "you recompute the weights as softmax of scores set to -inf at masked keys: a fully masked query "
         "gives exp(-inf) / 0 = NaN; take the weights from scaled_dot_product_attention (zero rows there)")
def scaled_dot_product_attention_backward(grad_out, Q, K, V, mask=None):
    out, _ = scaled_dot_product_attention(Q, K, V, mask)
    _check_like(grad_out, out, "grad_out", "the attention output")
    d_k = Q.shape[-1]
    S = Q @ np.swapaxes(K, -1, -2) / math.sqrt(d_k)
    if mask is not None:
        S = np.where(mask, S, -np.inf)  # mistake: nan_on_fully_masked_rows
    z = np.exp(S - S.max(axis=-1, keepdims=True))
    P = z / z.sum(axis=-1, keepdims=True)
    dV = np.swapaxes(P, -1, -2) @ grad_out
    dS = softmax_backward(grad_out @ np.swapaxes(V, -1, -2), P) / math.sqrt(d_k)
    return dS @ K, np.swapaxes(dS, -1, -2) @ Q, dV


variant("scaled_dot_product_attention_backward", "softmax_backward_over_queries",
        "you take the softmax backward over the query axis (axis=-2): the weights are normalised over "
        "the keys, so softmax_backward(dP, P) runs over the last axis",
        {"dS = softmax_backward(grad_out @ np.swapaxes(V, -1, -2), P) / math.sqrt(d_k)":
         "# mistake: softmax_backward_over_queries\n"
         "dS = softmax_backward(grad_out @ np.swapaxes(V, -1, -2), P, axis=-2) / math.sqrt(d_k)"})


# --- layer_norm_backward ---------------------------------------------------------------------------


# The correct function that the variants below change.
@base("layer_norm_backward")
def layer_norm_backward(grad_out, x, p, eps=1e-5):
    _check_like(grad_out, x, "grad_out", "x")
    mean = x.mean(axis=-1, keepdims=True)
    sigma = np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    x_hat = (x - mean) / sigma
    dx_hat = grad_out * p.gamma
    dx = (dx_hat - dx_hat.mean(axis=-1, keepdims=True)
          - x_hat * (dx_hat * x_hat).mean(axis=-1, keepdims=True)) / sigma
    leading = tuple(range(x.ndim - 1))
    return dx, LayerNormParams(gamma=(grad_out * x_hat).sum(axis=leading), beta=grad_out.sum(axis=leading))


@mistake("layer_norm_backward", "no_mean_terms",
         "dx = g * gamma / sigma treats the mean and the variance as constants, but both depend on x: "
         "dx = (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)) / sigma")
def layer_norm_backward(grad_out, x, p, eps=1e-5):
    _check_like(grad_out, x, "grad_out", "x")
    mean = x.mean(axis=-1, keepdims=True)
    sigma = np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    x_hat = (x - mean) / sigma
    leading = tuple(range(x.ndim - 1))
    # mistake: no_mean_terms
    return grad_out * p.gamma / sigma, LayerNormParams(gamma=(grad_out * x_hat).sum(axis=leading),
                                                       beta=grad_out.sum(axis=leading))


@mistake("layer_norm_backward", "no_variance_term",
         "you subtract mean(dx_hat) but forget the variance's dependence on x: "
         "dx = (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)) / sigma")
def layer_norm_backward(grad_out, x, p, eps=1e-5):
    _check_like(grad_out, x, "grad_out", "x")
    mean = x.mean(axis=-1, keepdims=True)
    sigma = np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    x_hat = (x - mean) / sigma
    dx_hat = grad_out * p.gamma
    leading = tuple(range(x.ndim - 1))
    # mistake: no_variance_term
    return (dx_hat - dx_hat.mean(axis=-1, keepdims=True)) / sigma, LayerNormParams(
        gamma=(grad_out * x_hat).sum(axis=leading), beta=grad_out.sum(axis=leading))


variant("layer_norm_backward", "no_gamma_in_dx",
        "dx forgets gamma: the gradient reaching x_hat is dx_hat = g * gamma",
        {"dx_hat = grad_out * p.gamma": "dx_hat = grad_out  # mistake: no_gamma_in_dx"})


variant("layer_norm_backward", "unbiased_variance",
        "you use the unbiased variance (ddof=1): layer norm divides by D (np.var's default), the "
        "backward must use the same sigma as the forward pass",
        {"sigma = np.sqrt(x.var(axis=-1, keepdims=True) + eps)":
         "sigma = np.sqrt(x.var(axis=-1, keepdims=True, ddof=1) + eps)  # mistake: unbiased_variance"})


variant("layer_norm_backward", "eps_outside_sqrt",
        "sigma = sqrt(var) + eps is not the forward pass's sigma: eps goes inside, sqrt(var + eps)",
        {"sigma = np.sqrt(x.var(axis=-1, keepdims=True) + eps)":
         "sigma = np.sqrt(x.var(axis=-1, keepdims=True)) + eps  # mistake: eps_outside_sqrt"})


variant("layer_norm_backward", "dgamma_without_x_hat",
        "dgamma = sum(g) is dbeta's formula: gamma multiplies x_hat, so dgamma = sum(g * x_hat)",
        {"return dx, LayerNormParams(gamma=(grad_out * x_hat).sum(axis=leading), "
         "beta=grad_out.sum(axis=leading))":
         "# mistake: dgamma_without_x_hat\n"
         "return dx, LayerNormParams(gamma=grad_out.sum(axis=leading), beta=grad_out.sum(axis=leading))"})


variant("layer_norm_backward", "sums_axis_0_only",
        "dgamma and dbeta are summed over axis 0 only: for a [B, T, D] input gamma serves every "
        "position, sum over every leading axis (axis=tuple(range(x.ndim - 1)))",
        {"leading = tuple(range(x.ndim - 1))\n"
         "return dx, LayerNormParams(gamma=(grad_out * x_hat).sum(axis=leading), "
         "beta=grad_out.sum(axis=leading))":
         "# mistake: sums_axis_0_only\n"
         "return dx, LayerNormParams(gamma=(grad_out * x_hat).sum(axis=0), beta=grad_out.sum(axis=0))"})


variant("layer_norm_backward", "dbeta_mean",
        "dgamma and dbeta are averaged over the positions: every position adds its contribution to "
        "the loss, so sum them",
        {"return dx, LayerNormParams(gamma=(grad_out * x_hat).sum(axis=leading), "
         "beta=grad_out.sum(axis=leading))":
         "# mistake: dbeta_mean\n"
         "return dx, LayerNormParams(gamma=(grad_out * x_hat).mean(axis=leading), "
         "beta=grad_out.mean(axis=leading))"})


variant("layer_norm_backward", "ignores_eps",
        "your backward uses eps = 1e-5 whatever the eps argument: use the eps passed in, as the "
        "forward pass does",
        {"sigma = np.sqrt(x.var(axis=-1, keepdims=True) + eps)":
         "sigma = np.sqrt(x.var(axis=-1, keepdims=True) + 1e-5)  # mistake: ignores_eps"})


# --- feed_forward_backward -------------------------------------------------------------------------


@mistake("feed_forward_backward", "no_relu_gate",
         "the gradient goes through the ReLU as if it were the identity: multiply by (a > 0), "
         "a = x W_1 + b_1, before dW_1, db_1 and dx")
def feed_forward_backward(grad_out, x, p):
    _check_like(grad_out, x, "grad_out", "x")
    D = p.W_1.shape[0]
    x2, g2 = x.reshape(-1, D), grad_out.reshape(-1, D)
    h = np.maximum(x2 @ p.W_1 + p.b_1, 0)
    da = g2 @ p.W_2.T  # mistake: no_relu_gate
    grads = FeedForwardParams(W_1=x2.T @ da, b_1=da.sum(axis=0), W_2=h.T @ g2, b_2=g2.sum(axis=0))
    return (da @ p.W_1.T).reshape(x.shape), grads


@mistake("feed_forward_backward", "gate_at_zero_passes",
         "your ReLU gate is (a >= 0): the contract sets the ReLU's gradient at exactly 0 to 0, use (a > 0)")
def feed_forward_backward(grad_out, x, p):
    _check_like(grad_out, x, "grad_out", "x")
    D = p.W_1.shape[0]
    x2, g2 = x.reshape(-1, D), grad_out.reshape(-1, D)
    a = x2 @ p.W_1 + p.b_1
    h = np.maximum(a, 0)
    da = (g2 @ p.W_2.T) * (a >= 0)  # mistake: gate_at_zero_passes
    grads = FeedForwardParams(W_1=x2.T @ da, b_1=da.sum(axis=0), W_2=h.T @ g2, b_2=g2.sum(axis=0))
    return (da @ p.W_1.T).reshape(x.shape), grads


@mistake("feed_forward_backward", "gate_without_bias",
         "your ReLU gate tests x W_1 > 0 without b_1: the pre-activation is a = x W_1 + b_1")
def feed_forward_backward(grad_out, x, p):
    _check_like(grad_out, x, "grad_out", "x")
    D = p.W_1.shape[0]
    x2, g2 = x.reshape(-1, D), grad_out.reshape(-1, D)
    h = np.maximum(x2 @ p.W_1 + p.b_1, 0)
    da = (g2 @ p.W_2.T) * (x2 @ p.W_1 > 0)  # mistake: gate_without_bias
    grads = FeedForwardParams(W_1=x2.T @ da, b_1=da.sum(axis=0), W_2=h.T @ g2, b_2=g2.sum(axis=0))
    return (da @ p.W_1.T).reshape(x.shape), grads


@mistake("feed_forward_backward", "db1_ungated",
         "db_1 is summed from the gradient before the ReLU gate: db_1 = sum of da, da = (g W_2^T) * (a > 0)")
def feed_forward_backward(grad_out, x, p):
    _check_like(grad_out, x, "grad_out", "x")
    D = p.W_1.shape[0]
    x2, g2 = x.reshape(-1, D), grad_out.reshape(-1, D)
    a = x2 @ p.W_1 + p.b_1
    h = np.maximum(a, 0)
    dh = g2 @ p.W_2.T  # mistake: db1_ungated
    da = dh * (a > 0)
    grads = FeedForwardParams(W_1=x2.T @ da, b_1=dh.sum(axis=0), W_2=h.T @ g2, b_2=g2.sum(axis=0))
    return (da @ p.W_1.T).reshape(x.shape), grads


@mistake("feed_forward_backward", "dW2_from_pre_activation",
         "dW_2 = a^T g uses the pre-activation: W_2 multiplies h = relu(a), so dW_2 = h^T g")
def feed_forward_backward(grad_out, x, p):
    _check_like(grad_out, x, "grad_out", "x")
    D = p.W_1.shape[0]
    x2, g2 = x.reshape(-1, D), grad_out.reshape(-1, D)
    a = x2 @ p.W_1 + p.b_1
    da = (g2 @ p.W_2.T) * (a > 0)
    # mistake: dW2_from_pre_activation
    grads = FeedForwardParams(W_1=x2.T @ da, b_1=da.sum(axis=0), W_2=a.T @ g2, b_2=g2.sum(axis=0))
    return (da @ p.W_1.T).reshape(x.shape), grads


@mistake("feed_forward_backward", "dW1_transposed",
         "dW_1 = da^T x has shape [F, D]: the gradient of W_1 [D, F] is x^T da")
def feed_forward_backward(grad_out, x, p):
    _check_like(grad_out, x, "grad_out", "x")
    D = p.W_1.shape[0]
    x2, g2 = x.reshape(-1, D), grad_out.reshape(-1, D)
    a = x2 @ p.W_1 + p.b_1
    h = np.maximum(a, 0)
    da = (g2 @ p.W_2.T) * (a > 0)
    # mistake: dW1_transposed
    grads = FeedForwardParams(W_1=da.T @ x2, b_1=da.sum(axis=0), W_2=h.T @ g2, b_2=g2.sum(axis=0))
    return (da @ p.W_1.T).reshape(x.shape), grads


@mistake("feed_forward_backward", "not_summed_over_batch",
         "for a [B, T, D] input your weight gradients keep the batch axis ([B, D, F]): flatten the positions "
         "to [N, D] (x.reshape(-1, D)) so that x^T da sums over all of them")
def feed_forward_backward(grad_out, x, p):
    _check_like(grad_out, x, "grad_out", "x")
    a = x @ p.W_1 + p.b_1
    h = np.maximum(a, 0)
    da = (grad_out @ p.W_2.T) * (a > 0)
    # mistake: not_summed_over_batch
    grads = FeedForwardParams(W_1=np.swapaxes(x, -1, -2) @ da, b_1=da.sum(axis=-2),
                              W_2=np.swapaxes(h, -1, -2) @ grad_out, b_2=grad_out.sum(axis=-2))
    return da @ p.W_1.T, grads


@mistake("feed_forward_backward", "bias_gradients_averaged",
         "db_1 and db_2 are averaged over the positions: each position adds its own contribution, sum them")
def feed_forward_backward(grad_out, x, p):
    _check_like(grad_out, x, "grad_out", "x")
    D = p.W_1.shape[0]
    x2, g2 = x.reshape(-1, D), grad_out.reshape(-1, D)
    a = x2 @ p.W_1 + p.b_1
    h = np.maximum(a, 0)
    da = (g2 @ p.W_2.T) * (a > 0)
    # mistake: bias_gradients_averaged
    grads = FeedForwardParams(W_1=x2.T @ da, b_1=da.mean(axis=0), W_2=h.T @ g2, b_2=g2.mean(axis=0))
    return (da @ p.W_1.T).reshape(x.shape), grads


# --- cross_entropy ---------------------------------------------------------------------------------


# The correct function that the variants below change.
@base("cross_entropy")
def cross_entropy(logits, targets, ignore_id=None):
    V = logits.shape[-1]
    if not isinstance(targets, np.ndarray) or targets.dtype.kind not in "iu" \
            or targets.shape != logits.shape[:-1]:
        raise ValueError("targets has the wrong shape")
    counted = np.ones(targets.shape, dtype=bool) if ignore_id is None else targets != ignore_id
    ids = targets[counted]
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise ValueError("targets out of range")
    N = max(int(counted.sum()), 1)
    safe = np.where(counted, targets, 0)[..., None]
    log_p = np.take_along_axis(log_softmax(logits), safe, axis=-1)[..., 0]
    loss = -float(np.where(counted, log_p, 0).sum()) / N
    dlogits = (softmax(logits) - (np.arange(V) == safe)) * counted[..., None] / N
    return loss, dlogits


variant("cross_entropy", "mean_over_all_positions",
        "you divide by every position, ignored ones included: N is the number of positions whose "
        "target is not ignore_id, for the loss and for the gradient",
        {"N = max(int(counted.sum()), 1)": "N = targets.size  # mistake: mean_over_all_positions"})


variant("cross_entropy", "sum_not_mean",
        "you return the sum over positions: the loss is the mean, divide the loss and the gradient by "
        "N (the number of counted positions)",
        {"N = max(int(counted.sum()), 1)": "",
         "loss = -float(np.where(counted, log_p, 0).sum()) / N\n"
         "dlogits = (softmax(logits) - (np.arange(V) == safe)) * counted[..., None] / N":
         "loss = -float(np.where(counted, log_p, 0).sum())  # mistake: sum_not_mean\n"
         "dlogits = (softmax(logits) - (np.arange(V) == safe)) * counted[..., None]"})


variant("cross_entropy", "gradient_not_divided",
        "the loss is a mean but your gradient is not divided by N: dlogits = (softmax - onehot) / N",
        {"dlogits = (softmax(logits) - (np.arange(V) == safe)) * counted[..., None] / N":
         "dlogits = (softmax(logits) - (np.arange(V) == safe)) * counted[..., None]  # mistake: "
         "gradient_not_divided"})


variant("cross_entropy", "ignored_gradient_not_zeroed",
        "ignored positions are left out of the loss but still get a gradient: multiply dlogits by the "
        "counted mask (targets != ignore_id)",
        {"dlogits = (softmax(logits) - (np.arange(V) == safe)) * counted[..., None] / N":
         "dlogits = (softmax(logits) - (np.arange(V) == safe)) / N  # mistake: ignored_gradient_not_zeroed"})


variant("cross_entropy", "no_onehot",
        "dlogits = softmax / N forgets the one-hot: the gradient is (softmax(logits) - "
        "onehot(target)) / N",
        {"dlogits = (softmax(logits) - (np.arange(V) == safe)) * counted[..., None] / N":
         "dlogits = softmax(logits) * counted[..., None] / N  # mistake: no_onehot"})


variant("cross_entropy", "gradient_sign_flipped",
        "your gradient has the wrong sign: the loss is -log p, so dlogits = (softmax - onehot) / N, "
        "not (onehot - softmax) / N",
        {"dlogits = (softmax(logits) - (np.arange(V) == safe)) * counted[..., None] / N":
         "# mistake: gradient_sign_flipped\n"
         "dlogits = ((np.arange(V) == safe) - softmax(logits)) * counted[..., None] / N"})


variant("cross_entropy", "log_of_softmax",
        "np.log(softmax(logits)) is -inf where the softmax underflows (logits of 1e4): use "
        "log_softmax, (x - max) - log(sum(exp(x - max)))",
        {"log_p = np.take_along_axis(log_softmax(logits), safe, axis=-1)[..., 0]":
         "probs = softmax(logits)  # mistake: log_of_softmax\n"
         "log_p = np.log(np.take_along_axis(probs, safe, axis=-1)[..., 0])",
         "dlogits = (softmax(logits) - (np.arange(V) == safe)) * counted[..., None] / N":
         "dlogits = (probs - (np.arange(V) == safe)) * counted[..., None] / N  # mistake: log_of_softmax"})


@mistake("cross_entropy", "mean_per_row_then_batch",
         "you average each row over its counted positions, then average the rows: rows with more padding "
         "weigh more; divide the sum over every counted position by their total number N")
def cross_entropy(logits, targets, ignore_id=None):
    V = logits.shape[-1]
    if not isinstance(targets, np.ndarray) or targets.dtype.kind not in "iu" \
            or targets.shape != logits.shape[:-1]:
        raise ValueError("targets has the wrong shape")
    counted = np.ones(targets.shape, dtype=bool) if ignore_id is None else targets != ignore_id
    ids = targets[counted]
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise ValueError("targets out of range")
    # mistake: mean_per_row_then_batch
    per_row = np.maximum(counted.sum(axis=-1, keepdims=True), 1)  # (..., 1)
    rows = per_row.size
    safe = np.where(counted, targets, 0)[..., None]
    log_p = np.take_along_axis(log_softmax(logits), safe, axis=-1)[..., 0]
    loss = -float((np.where(counted, log_p, 0) / per_row).sum()) / rows  # mistake: mean_per_row_then_batch
    weight = (counted / per_row).astype(logits.dtype)  # (...): 1 / (counted positions of the row)
    dlogits = (softmax(logits) - (np.arange(V) == safe)) * weight[..., None] / rows
    return loss, dlogits


variant("cross_entropy", "nan_when_all_ignored",
        "with every position ignored you divide 0 by 0 (NaN): when N = 0 return a loss of 0 and a "
        "zero gradient, e.g. divide by max(N, 1)",
        {"N = max(int(counted.sum()), 1)": "N = int(counted.sum())  # mistake: nan_when_all_ignored",
         "loss = -float(np.where(counted, log_p, 0).sum()) / N":
         "loss = -float(np.where(counted, log_p, 0).sum() / N)  # mistake: nan_when_all_ignored"})


variant("cross_entropy", "gathers_ignored_targets",
        "you index the log-probabilities with the raw targets: an ignore_id outside the vocabulary "
        "(-100) is not a valid index; replace ignored targets by any valid id first "
        "(np.where(counted, targets, 0))",
        {"safe = np.where(counted, targets, 0)[..., None]\n"
         "log_p = np.take_along_axis(log_softmax(logits), safe, axis=-1)[..., 0]":
         "# mistake: gathers_ignored_targets\n"
         "log_p = np.take_along_axis(log_softmax(logits), targets[..., None], axis=-1)[..., 0]",
         "dlogits = (softmax(logits) - (np.arange(V) == safe)) * counted[..., None] / N":
         "onehot = np.arange(V) == targets[..., None]  # mistake: gathers_ignored_targets\n"
         "dlogits = (softmax(logits) - onehot) * counted[..., None] / N"})


@mistake("cross_entropy", "no_range_check",
         "a counted target outside 0..V-1 must raise ValueError naming `targets`; yours is silently used "
         "(a negative id wraps around)")
def cross_entropy(logits, targets, ignore_id=None):
    V = logits.shape[-1]
    if targets.shape != logits.shape[:-1]:  # mistake: no_range_check
        raise ValueError("targets has the wrong shape")
    counted = np.ones(targets.shape, dtype=bool) if ignore_id is None else targets != ignore_id
    N = max(int(counted.sum()), 1)
    safe = np.where(counted, targets, 0)[..., None]
    log_p = np.take_along_axis(log_softmax(logits), safe, axis=-1)[..., 0]
    loss = -float(np.where(counted, log_p, 0).sum()) / N
    dlogits = (softmax(logits) - (np.arange(V) == safe)) * counted[..., None] / N
    return loss, dlogits

# Written blind, from the docstrings alone, by a helper who never read the tests (issue 17);
# the entries that repeated a mistake above exactly were left out.


@mistake("softmax_backward", "blind_smb_missing_probs_factor",
         "you leave out the factor y: the Jacobian is y_j (delta_ij - y_i), so multiply (g - sum(g * y)) by "
         "the probabilities y")
def softmax_backward(grad_out, probs, axis=-1):
    _check_like(grad_out, probs, "grad_out", "probs")
    # mistake: blind_smb_missing_probs_factor
    return grad_out - (grad_out * probs).sum(axis=axis, keepdims=True)


@mistake("softmax_backward", "blind_smb_shape_not_checked",
         "you broadcast a grad_out shaped unlike probs: raise ValueError naming grad_out")
def softmax_backward(grad_out, probs, axis=-1):
    # mistake: blind_smb_shape_not_checked
    return probs * (grad_out - (grad_out * probs).sum(axis=axis, keepdims=True))


@mistake("scaled_dot_product_attention_backward", "blind_attn_bwd_no_scale",
         "dQ and dK miss the factor 1/sqrt(d_k): the scores were divided by sqrt(d_k), so dS = "
         "softmax_backward(dP, P) / sqrt(d_k)")
def scaled_dot_product_attention_backward(grad_out, Q, K, V, mask=None):
    out, P = scaled_dot_product_attention(Q, K, V, mask)
    _check_like(grad_out, out, "grad_out", "the attention output")
    dV = np.swapaxes(P, -1, -2) @ grad_out
    dP = grad_out @ np.swapaxes(V, -1, -2)
    dS = softmax_backward(dP, P)  # mistake: blind_attn_bwd_no_scale
    return dS @ K, np.swapaxes(dS, -1, -2) @ Q, dV


@mistake("scaled_dot_product_attention_backward", "blind_attn_bwd_dV_not_transposed",
         "you compute dV = P @ g: it is P^T g, transpose the weights (one row per key)")
def scaled_dot_product_attention_backward(grad_out, Q, K, V, mask=None):
    out, P = scaled_dot_product_attention(Q, K, V, mask)
    _check_like(grad_out, out, "grad_out", "the attention output")
    d_k = Q.shape[-1]
    dV = P @ grad_out  # mistake: blind_attn_bwd_dV_not_transposed
    dP = grad_out @ np.swapaxes(V, -1, -2)
    dS = softmax_backward(dP, P) / math.sqrt(d_k)
    return dS @ K, np.swapaxes(dS, -1, -2) @ Q, dV


@mistake("scaled_dot_product_attention_backward", "blind_attn_bwd_mask_ignored",
         "you recompute the forward weights without the mask: the backward must use the same masked P")
def scaled_dot_product_attention_backward(grad_out, Q, K, V, mask=None):
    out, P = scaled_dot_product_attention(Q, K, V)  # mistake: blind_attn_bwd_mask_ignored
    _check_like(grad_out, out, "grad_out", "the attention output")
    d_k = Q.shape[-1]
    dV = np.swapaxes(P, -1, -2) @ grad_out
    dP = grad_out @ np.swapaxes(V, -1, -2)
    dS = softmax_backward(dP, P) / math.sqrt(d_k)
    return dS @ K, np.swapaxes(dS, -1, -2) @ Q, dV


@mistake("scaled_dot_product_attention_backward", "blind_attn_bwd_dK_not_transposed",
         "you compute dK from dS without transposing it: dK = dS^T Q, one row per key")
def scaled_dot_product_attention_backward(grad_out, Q, K, V, mask=None):
    out, P = scaled_dot_product_attention(Q, K, V, mask)
    _check_like(grad_out, out, "grad_out", "the attention output")
    d_k = Q.shape[-1]
    dV = np.swapaxes(P, -1, -2) @ grad_out
    dP = grad_out @ np.swapaxes(V, -1, -2)
    dS = softmax_backward(dP, P) / math.sqrt(d_k)
    return dS @ K, dS @ Q, dV  # mistake: blind_attn_bwd_dK_not_transposed


@mistake("scaled_dot_product_attention_backward", "blind_attn_bwd_scaled_twice",
         "you divide by sqrt(d_k) twice, in dS and again in dQ and dK: divide once")
def scaled_dot_product_attention_backward(grad_out, Q, K, V, mask=None):
    out, P = scaled_dot_product_attention(Q, K, V, mask)
    _check_like(grad_out, out, "grad_out", "the attention output")
    d_k = Q.shape[-1]
    dV = np.swapaxes(P, -1, -2) @ grad_out
    dP = grad_out @ np.swapaxes(V, -1, -2)
    dS = softmax_backward(dP, P) / math.sqrt(d_k)
    s = math.sqrt(d_k)
    return dS @ K / s, np.swapaxes(dS, -1, -2) @ Q / s, dV  # mistake: blind_attn_bwd_scaled_twice


@mistake("layer_norm_backward", "blind_lnb_missing_xhat_term",
         "your dx leaves out that x_hat depends on x through sigma: dx = (dx_hat - mean(dx_hat) - x_hat * "
         "mean(dx_hat * x_hat)) / sigma")
def layer_norm_backward(grad_out, x, p, eps=1e-5):
    _check_like(grad_out, x, "grad_out", "x")
    mean = x.mean(axis=-1, keepdims=True)
    sigma = np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    x_hat = (x - mean) / sigma
    dx_hat = grad_out * p.gamma
    dx = (dx_hat - dx_hat.mean(axis=-1, keepdims=True)) / sigma  # mistake: blind_lnb_missing_xhat_term
    leading = tuple(range(x.ndim - 1))
    return dx, LayerNormParams(gamma=(grad_out * x_hat).sum(axis=leading), beta=grad_out.sum(axis=leading))


@mistake("layer_norm_backward", "blind_lnb_dgamma_uses_x",
         "your dgamma sums g * x: it is the sum of g * x_hat, the NORMALISED input")
def layer_norm_backward(grad_out, x, p, eps=1e-5):
    _check_like(grad_out, x, "grad_out", "x")
    mean = x.mean(axis=-1, keepdims=True)
    sigma = np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    x_hat = (x - mean) / sigma
    dx_hat = grad_out * p.gamma
    dx = (dx_hat - dx_hat.mean(axis=-1, keepdims=True)
          - x_hat * (dx_hat * x_hat).mean(axis=-1, keepdims=True)) / sigma
    leading = tuple(range(x.ndim - 1))
    # mistake: blind_lnb_dgamma_uses_x
    return dx, LayerNormParams(gamma=(grad_out * x).sum(axis=leading), beta=grad_out.sum(axis=leading))


@mistake("feed_forward_backward", "blind_ffb_mean_over_positions",
         "you average the parameters' gradients over the positions: a parameter used at every position SUMS "
         "them")
def feed_forward_backward(grad_out, x, p):
    _check_like(grad_out, x, "grad_out", "x")
    D = p.W_1.shape[0]
    x2, g2 = x.reshape(-1, D), grad_out.reshape(-1, D)
    N = x2.shape[0]
    a = x2 @ p.W_1 + p.b_1
    h = np.maximum(a, 0)
    da = (g2 @ p.W_2.T) * (a > 0)
    grads = FeedForwardParams(W_1=x2.T @ da / N, b_1=da.mean(axis=0), W_2=h.T @ g2 / N,
                              b_2=g2.mean(axis=0))  # mistake: blind_ffb_mean_over_positions
    return (da @ p.W_1.T).reshape(x.shape), grads


@mistake("feed_forward_backward", "blind_ffb_dx_uses_W2",
         "you send dx back through W_2: dx = da W_1^T, through the layer that read x")
def feed_forward_backward(grad_out, x, p):
    _check_like(grad_out, x, "grad_out", "x")
    D = p.W_1.shape[0]
    x2, g2 = x.reshape(-1, D), grad_out.reshape(-1, D)
    a = x2 @ p.W_1 + p.b_1
    h = np.maximum(a, 0)
    da = (g2 @ p.W_2.T) * (a > 0)
    grads = FeedForwardParams(W_1=x2.T @ da, b_1=da.sum(axis=0), W_2=h.T @ g2, b_2=g2.sum(axis=0))
    return (da @ p.W_2).reshape(x.shape), grads  # mistake: blind_ffb_dx_uses_W2


@mistake("cross_entropy", "blind_ce_N_counts_ignored_positions",
         "your N counts the ignored positions too: N is the number of COUNTED positions, targets != "
         "ignore_id")
def cross_entropy(logits, targets, ignore_id=None):
    V = logits.shape[-1]
    if not isinstance(targets, np.ndarray) or targets.dtype.kind not in "iu" \
            or targets.shape != logits.shape[:-1]:
        raise ValueError("targets must be an integer array of logits' leading shape")
    counted = np.ones(targets.shape, dtype=bool) if ignore_id is None else targets != ignore_id
    ids = targets[counted]
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise ValueError(f"targets must be ids in 0..{V - 1}")
    N = max(targets.size, 1)  # mistake: blind_ce_N_counts_ignored_positions
    safe = np.where(counted, targets, 0)[..., None]
    log_p = np.take_along_axis(log_softmax(logits), safe, axis=-1)[..., 0]
    loss = -float(np.where(counted, log_p, 0).sum()) / N
    onehot = np.arange(V) == safe
    dlogits = (softmax(logits) - onehot) * counted[..., None] / N
    return loss, dlogits


@mistake("cross_entropy", "blind_ce_log_of_softmax",
         "log(softmax) is -inf where the softmax underflows: use log_softmax for the loss")
def cross_entropy(logits, targets, ignore_id=None):
    V = logits.shape[-1]
    if not isinstance(targets, np.ndarray) or targets.dtype.kind not in "iu" \
            or targets.shape != logits.shape[:-1]:
        raise ValueError("targets must be an integer array of logits' leading shape")
    counted = np.ones(targets.shape, dtype=bool) if ignore_id is None else targets != ignore_id
    ids = targets[counted]
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise ValueError(f"targets must be ids in 0..{V - 1}")
    N = max(int(counted.sum()), 1)
    safe = np.where(counted, targets, 0)[..., None]
    probs = softmax(logits)
    log_p = np.log(np.take_along_axis(probs, safe, axis=-1)[..., 0])  # mistake: blind_ce_log_of_softmax
    loss = -float(np.where(counted, log_p, 0).sum()) / N
    onehot = np.arange(V) == safe
    dlogits = (probs - onehot) * counted[..., None] / N
    return loss, dlogits


@mistake("cross_entropy", "blind_ce_gradient_at_ignored_positions",
         "your gradient is not zero at the ignored positions: zero their rows of the gradient as well as "
         "their loss")
def cross_entropy(logits, targets, ignore_id=None):
    V = logits.shape[-1]
    if not isinstance(targets, np.ndarray) or targets.dtype.kind not in "iu" \
            or targets.shape != logits.shape[:-1]:
        raise ValueError("targets must be an integer array of logits' leading shape")
    counted = np.ones(targets.shape, dtype=bool) if ignore_id is None else targets != ignore_id
    ids = targets[counted]
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise ValueError(f"targets must be ids in 0..{V - 1}")
    N = max(int(counted.sum()), 1)
    safe = np.where(counted, targets, 0)[..., None]
    log_p = np.take_along_axis(log_softmax(logits), safe, axis=-1)[..., 0]
    loss = -float(np.where(counted, log_p, 0).sum()) / N
    onehot = np.arange(V) == safe
    dlogits = (softmax(logits) - onehot) / N  # mistake: blind_ce_gradient_at_ignored_positions
    return loss, dlogits


@mistake("cross_entropy", "blind_ce_sum_not_mean",
         "you return the sum over the counted positions: the loss is the mean, divide the loss and its "
         "gradient by N")
def cross_entropy(logits, targets, ignore_id=None):
    V = logits.shape[-1]
    if not isinstance(targets, np.ndarray) or targets.dtype.kind not in "iu" \
            or targets.shape != logits.shape[:-1]:
        raise ValueError("targets must be an integer array of logits' leading shape")
    counted = np.ones(targets.shape, dtype=bool) if ignore_id is None else targets != ignore_id
    ids = targets[counted]
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise ValueError(f"targets must be ids in 0..{V - 1}")
    safe = np.where(counted, targets, 0)[..., None]
    log_p = np.take_along_axis(log_softmax(logits), safe, axis=-1)[..., 0]
    loss = -float(np.where(counted, log_p, 0).sum())  # mistake: blind_ce_sum_not_mean
    onehot = np.arange(V) == safe
    dlogits = (softmax(logits) - onehot) * counted[..., None]  # mistake: blind_ce_sum_not_mean
    return loss, dlogits


@mistake("cross_entropy", "blind_ce_all_ignored_divides_by_zero",
         "you divide by N = 0 when every position is ignored: then the loss is 0.0 and the gradient 0")
def cross_entropy(logits, targets, ignore_id=None):
    V = logits.shape[-1]
    if not isinstance(targets, np.ndarray) or targets.dtype.kind not in "iu" \
            or targets.shape != logits.shape[:-1]:
        raise ValueError("targets must be an integer array of logits' leading shape")
    counted = np.ones(targets.shape, dtype=bool) if ignore_id is None else targets != ignore_id
    ids = targets[counted]
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise ValueError(f"targets must be ids in 0..{V - 1}")
    N = int(counted.sum())  # mistake: blind_ce_all_ignored_divides_by_zero
    safe = np.where(counted, targets, 0)[..., None]
    log_p = np.take_along_axis(log_softmax(logits), safe, axis=-1)[..., 0]
    loss = -float(np.where(counted, log_p, 0).sum()) / N
    onehot = np.arange(V) == safe
    dlogits = (softmax(logits) - onehot) * counted[..., None] / N
    return loss, dlogits


@mistake("cross_entropy", "blind_ce_range_not_checked",
         "a counted target outside 0..V-1 must raise ValueError naming `targets`; numpy raises IndexError "
         "or wraps a negative id around")
def cross_entropy(logits, targets, ignore_id=None):
    V = logits.shape[-1]
    if not isinstance(targets, np.ndarray) or targets.dtype.kind not in "iu" \
            or targets.shape != logits.shape[:-1]:
        raise ValueError("targets must be an integer array of logits' leading shape")
    counted = np.ones(targets.shape, dtype=bool) if ignore_id is None else targets != ignore_id
    # mistake: blind_ce_range_not_checked
    N = max(int(counted.sum()), 1)
    safe = np.where(counted, targets, 0)[..., None]
    log_p = np.take_along_axis(log_softmax(logits), safe, axis=-1)[..., 0]
    loss = -float(np.where(counted, log_p, 0).sum()) / N
    onehot = np.arange(V) == safe
    dlogits = (softmax(logits) - onehot) * counted[..., None] / N
    return loss, dlogits
