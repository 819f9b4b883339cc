"""Realistic mistakes in exercise 09 (layer norm, feed-forward, add & norm). Each replaces the reference."""

import numpy as np

from catalogue import base, mistake, variant


# The correct function that the variants below change.
@base("layer_norm")
def layer_norm(x, p, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return p.gamma * (x - mean) / np.sqrt(var + eps) + p.beta


variant("layer_norm", "axis_0",
        "you normalise over axis 0 (across the batch or the tokens): each token's vector is "
        "normalised on its own, over the last axis: mean and var with axis=-1, keepdims=True",
        {"mean = x.mean(axis=-1, keepdims=True)\n"
         "var = x.var(axis=-1, keepdims=True)":
         "mean = x.mean(axis=0, keepdims=True)  # mistake: axis_0\n"
         "var = x.var(axis=0, keepdims=True)"})


variant("layer_norm", "axis_minus_2",
        "you normalise over axis -2 (across the tokens of a sequence): layer norm works on each token "
        "alone, over the last axis (axis=-1)",
        {"mean = x.mean(axis=-1, keepdims=True)\n"
         "var = x.var(axis=-1, keepdims=True)":
         "mean = x.mean(axis=-2, keepdims=True)  # mistake: axis_minus_2\n"
         "var = x.var(axis=-2, keepdims=True)"})


variant("layer_norm", "unbiased_variance",
        "you use the unbiased variance (ddof=1, divide by D - 1): layer norm divides by D, np.var's "
        "default",
        {"var = x.var(axis=-1, keepdims=True)":
         "var = x.var(axis=-1, keepdims=True, ddof=1)  # mistake: unbiased_variance"})


variant("layer_norm", "eps_outside_sqrt",
        "you add eps to the standard deviation: eps goes inside the square root, np.sqrt(var + eps); "
        "it matters for rows whose variance is near eps",
        {"var = x.var(axis=-1, keepdims=True)\n"
         "return p.gamma * (x - mean) / np.sqrt(var + eps) + p.beta":
         "std = x.std(axis=-1, keepdims=True)  # mistake: eps_outside_sqrt\n"
         "return p.gamma * (x - mean) / (std + eps) + p.beta"})


variant("layer_norm", "no_eps",
        "you divide by sqrt(var) without eps: a constant row gives 0 / 0 = NaN and a tiny-variance "
        "row blows up; divide by np.sqrt(var + eps)",
        {"return p.gamma * (x - mean) / np.sqrt(var + eps) + p.beta":
         "with np.errstate(divide=\"ignore\", invalid=\"ignore\"):  # mistake: no_eps\n"
         "    return p.gamma * (x - mean) / np.sqrt(var) + p.beta"})


variant("layer_norm", "gamma_beta_forgotten",
        "you return the normalised x without the learned gain and shift: multiply by p.gamma, add "
        "p.beta",
        {"return p.gamma * (x - mean) / np.sqrt(var + eps) + p.beta":
         "return (x - mean) / np.sqrt(var + eps)  # mistake: gamma_beta_forgotten"})


variant("layer_norm", "gamma_beta_swapped",
        "gamma and beta are swapped: the normalised x is multiplied by gamma and shifted by beta",
        {"return p.gamma * (x - mean) / np.sqrt(var + eps) + p.beta":
         "return p.beta * (x - mean) / np.sqrt(var + eps) + p.gamma  # mistake: gamma_beta_swapped"})


variant("layer_norm", "one_pass_variance",
        "you compute the variance as mean(x^2) - mean(x)^2, which cancels catastrophically for rows "
        "with a large mean and a small spread: use np.var (mean of (x - mean)^2)",
        {"var = x.var(axis=-1, keepdims=True)\n"
         "return p.gamma * (x - mean) / np.sqrt(var + eps) + p.beta":
         "var = (x**2).mean(axis=-1, keepdims=True) - mean**2  # mistake: one_pass_variance\n"
         "return p.gamma * (x - mean) / np.sqrt(np.maximum(var, 0) + eps) + p.beta"})


variant("layer_norm", "float64_eps_array",
        "a float32 input gives a float64 result: np.array(eps) (or np.float64(eps)) is a float64 "
        "array that upcasts; add the plain Python float eps",
        {"return p.gamma * (x - mean) / np.sqrt(var + eps) + p.beta":
         "return p.gamma * (x - mean) / np.sqrt(var + np.array(eps)) + p.beta  # mistake: "
         "float64_eps_array"})


@mistake("feed_forward", "no_relu",
         "there is no ReLU: without it the two layers collapse into one linear map; "
         "np.maximum(x @ W_1 + b_1, 0) before W_2")
def feed_forward(x, p):
    return (x @ p.W_1 + p.b_1) @ p.W_2 + p.b_2  # mistake: no_relu


@mistake("feed_forward", "relu_after_W_2",
         "you apply ReLU to the output: it belongs to the hidden layer, relu(x W_1 + b_1), before W_2")
def feed_forward(x, p):
    return np.maximum((x @ p.W_1 + p.b_1) @ p.W_2 + p.b_2, 0)  # mistake: relu_after_W_2


@mistake("feed_forward", "b_1_forgotten",
         "the first bias b_1 is missing: the hidden layer is relu(x @ W_1 + b_1)")
def feed_forward(x, p):
    return np.maximum(x @ p.W_1, 0) @ p.W_2 + p.b_2  # mistake: b_1_forgotten


@mistake("feed_forward", "b_1_after_relu",
         "you add b_1 after the ReLU: the bias goes inside, relu(x @ W_1 + b_1)")
def feed_forward(x, p):
    return (np.maximum(x @ p.W_1, 0) + p.b_1) @ p.W_2 + p.b_2  # mistake: b_1_after_relu


@mistake("feed_forward", "b_2_forgotten",
         "the output bias b_2 is missing: add p.b_2 after multiplying by W_2")
def feed_forward(x, p):
    return np.maximum(x @ p.W_1 + p.b_1, 0) @ p.W_2  # mistake: b_2_forgotten


@mistake("add_and_norm", "residual_forgotten",
         "you normalise the sublayer's output alone: the residual x must be added first, "
         "layer_norm(x + sublayer_out, p)")
def add_and_norm(x, sublayer_out, p):
    if sublayer_out.shape != x.shape:
        raise ValueError("sublayer_out must have the shape of x")
    return layer_norm(sublayer_out, p)  # mistake: residual_forgotten


@mistake("add_and_norm", "residual_after_norm",
         "you add x after the norm (x + layer_norm(sublayer_out)): post-norm adds first and normalises "
         "the sum, layer_norm(x + sublayer_out, p)")
def add_and_norm(x, sublayer_out, p):
    if sublayer_out.shape != x.shape:
        raise ValueError("sublayer_out must have the shape of x")
    return x + layer_norm(sublayer_out, p)  # mistake: residual_after_norm


@mistake("add_and_norm", "norm_of_x_plus_sublayer",
         "you normalise x and then add the sublayer's output: normalise the sum, "
         "layer_norm(x + sublayer_out, p)")
def add_and_norm(x, sublayer_out, p):
    if sublayer_out.shape != x.shape:
        raise ValueError("sublayer_out must have the shape of x")
    return layer_norm(x, p) + sublayer_out  # mistake: norm_of_x_plus_sublayer


@mistake("add_and_norm", "no_shape_check",
         "x and sublayer_out of different shapes are added by broadcasting: check that the shapes are equal "
         "and raise ValueError naming sublayer_out")
def add_and_norm(x, sublayer_out, p):
    return layer_norm(x + sublayer_out, p)  # mistake: no_shape_check

# Written blind, from the docstrings alone, by a helper who never read the tests (issue 17);
# the entries that repeated a mistake above exactly were left out.


@mistake("layer_norm", "blind_ln_eps_outside_sqrt",
         "you add eps outside the square root: (x - mean) / sqrt(var + eps), not / (sqrt(var) + eps)")
def layer_norm(x, p, eps=1e-5):
    if x.ndim < 1:
        raise ValueError("x must have a last axis of size D")
    D = x.shape[-1]
    if p.gamma.shape != (D,) or p.beta.shape != (D,):
        raise ValueError(f"p.gamma and p.beta must have shape ({D},)")
    mean = x.mean(axis=-1, keepdims=True)
    std = x.std(axis=-1, keepdims=True)
    return p.gamma * (x - mean) / (std + eps) + p.beta  # mistake: blind_ln_eps_outside_sqrt


@mistake("layer_norm", "blind_ln_unbiased_variance",
         "you use the sample variance (divide by D - 1): layer norm divides by D, np.var's default ddof=0")
def layer_norm(x, p, eps=1e-5):
    if x.ndim < 1:
        raise ValueError("x must have a last axis of size D")
    D = x.shape[-1]
    if p.gamma.shape != (D,) or p.beta.shape != (D,):
        raise ValueError(f"p.gamma and p.beta must have shape ({D},)")
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True, ddof=1)  # mistake: blind_ln_unbiased_variance
    return p.gamma * (x - mean) / np.sqrt(var + eps) + p.beta


@mistake("layer_norm", "blind_ln_statistics_over_batch",
         "you take the mean and the variance over the batch axis 0: normalise each token on its own, over "
         "the LAST axis")
def layer_norm(x, p, eps=1e-5):
    if x.ndim < 1:
        raise ValueError("x must have a last axis of size D")
    D = x.shape[-1]
    if p.gamma.shape != (D,) or p.beta.shape != (D,):
        raise ValueError(f"p.gamma and p.beta must have shape ({D},)")
    mean = x.mean(axis=0, keepdims=True)  # mistake: blind_ln_statistics_over_batch
    var = x.var(axis=0, keepdims=True)  # mistake: blind_ln_statistics_over_batch
    return p.gamma * (x - mean) / np.sqrt(var + eps) + p.beta


@mistake("layer_norm", "blind_ln_divides_by_variance",
         "you divide by the variance: divide by the standard deviation sqrt(var + eps)")
def layer_norm(x, p, eps=1e-5):
    if x.ndim < 1:
        raise ValueError("x must have a last axis of size D")
    D = x.shape[-1]
    if p.gamma.shape != (D,) or p.beta.shape != (D,):
        raise ValueError(f"p.gamma and p.beta must have shape ({D},)")
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return p.gamma * (x - mean) / (var + eps) + p.beta  # mistake: blind_ln_divides_by_variance


@mistake("layer_norm", "blind_ln_beta_scaled_by_gamma",
         "you scale beta by gamma, gamma * (x_hat + beta): beta is added after the scaling, gamma * x_hat + "
         "beta")
def layer_norm(x, p, eps=1e-5):
    if x.ndim < 1:
        raise ValueError("x must have a last axis of size D")
    D = x.shape[-1]
    if p.gamma.shape != (D,) or p.beta.shape != (D,):
        raise ValueError(f"p.gamma and p.beta must have shape ({D},)")
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return p.gamma * ((x - mean) / np.sqrt(var + eps) + p.beta)  # mistake: blind_ln_beta_scaled_by_gamma


@mistake("layer_norm", "blind_ln_eps_argument_ignored",
         "you hard-code 1e-5: use the eps argument")
def layer_norm(x, p, eps=1e-5):
    if x.ndim < 1:
        raise ValueError("x must have a last axis of size D")
    D = x.shape[-1]
    if p.gamma.shape != (D,) or p.beta.shape != (D,):
        raise ValueError(f"p.gamma and p.beta must have shape ({D},)")
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return p.gamma * (x - mean) / np.sqrt(var + 1e-5) + p.beta  # mistake: blind_ln_eps_argument_ignored


@mistake("layer_norm", "blind_ln_params_not_checked",
         "you broadcast gamma and beta whatever their shape: they must be [D], raise ValueError naming p "
         "otherwise")
def layer_norm(x, p, eps=1e-5):
    if x.ndim < 1:
        raise ValueError("x must have a last axis of size D")
    # mistake: blind_ln_params_not_checked
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return p.gamma * (x - mean) / np.sqrt(var + eps) + p.beta


@mistake("feed_forward", "blind_ffn_no_relu",
         "your hidden layer has no ReLU: relu(x W_1 + b_1) W_2 + b_2")
def feed_forward(x, p):
    if p.W_1.ndim != 2:
        raise ValueError(f"p.W_1 must have shape [D, F], got {p.W_1.shape}")
    D, F = p.W_1.shape
    if p.b_1.shape != (F,) or p.W_2.shape != (F, D) or p.b_2.shape != (D,):
        raise ValueError("p does not fit together")
    if x.ndim < 1 or x.shape[-1] != D:
        raise ValueError(f"x must have shape [..., {D}]")
    h = x @ p.W_1 + p.b_1  # mistake: blind_ffn_no_relu
    return h @ p.W_2 + p.b_2


@mistake("feed_forward", "blind_ffn_relu_on_output",
         "you apply the ReLU to the output, not the hidden layer: relu(x W_1 + b_1) W_2 + b_2")
def feed_forward(x, p):
    if p.W_1.ndim != 2:
        raise ValueError(f"p.W_1 must have shape [D, F], got {p.W_1.shape}")
    D, F = p.W_1.shape
    if p.b_1.shape != (F,) or p.W_2.shape != (F, D) or p.b_2.shape != (D,):
        raise ValueError("p does not fit together")
    if x.ndim < 1 or x.shape[-1] != D:
        raise ValueError(f"x must have shape [..., {D}]")
    h = x @ p.W_1 + p.b_1
    return np.maximum(h @ p.W_2 + p.b_2, 0)  # mistake: blind_ffn_relu_on_output


@mistake("feed_forward", "blind_ffn_bias_after_relu",
         "you add b_1 after the ReLU: relu(x W_1 + b_1), not relu(x W_1) + b_1")
def feed_forward(x, p):
    if p.W_1.ndim != 2:
        raise ValueError(f"p.W_1 must have shape [D, F], got {p.W_1.shape}")
    D, F = p.W_1.shape
    if p.b_1.shape != (F,) or p.W_2.shape != (F, D) or p.b_2.shape != (D,):
        raise ValueError("p does not fit together")
    if x.ndim < 1 or x.shape[-1] != D:
        raise ValueError(f"x must have shape [..., {D}]")
    h = np.maximum(x @ p.W_1, 0) + p.b_1  # mistake: blind_ffn_bias_after_relu
    return h @ p.W_2 + p.b_2


@mistake("feed_forward", "blind_ffn_missing_b2",
         "your second layer has no bias: ... W_2 + b_2")
def feed_forward(x, p):
    if p.W_1.ndim != 2:
        raise ValueError(f"p.W_1 must have shape [D, F], got {p.W_1.shape}")
    D, F = p.W_1.shape
    if p.b_1.shape != (F,) or p.W_2.shape != (F, D) or p.b_2.shape != (D,):
        raise ValueError("p does not fit together")
    if x.ndim < 1 or x.shape[-1] != D:
        raise ValueError(f"x must have shape [..., {D}]")
    h = np.maximum(x @ p.W_1 + p.b_1, 0)
    return h @ p.W_2  # mistake: blind_ffn_missing_b2


@mistake("add_and_norm", "blind_addnorm_in_place",
         "x += sublayer_out changes the caller's x: compute x + sublayer_out into a new array")
def add_and_norm(x, sublayer_out, p):
    if sublayer_out.shape != x.shape:
        raise ValueError(f"sublayer_out must have the shape of x {x.shape}")
    x += sublayer_out  # mistake: blind_addnorm_in_place
    return layer_norm(x, p)


@mistake("add_and_norm", "blind_addnorm_prenorm",
         "you normalise only the sublayer's output and add x afterwards: post-norm is LayerNorm(x + "
         "Sublayer(x))")
def add_and_norm(x, sublayer_out, p):
    if sublayer_out.shape != x.shape:
        raise ValueError(f"sublayer_out must have the shape of x {x.shape}")
    return x + layer_norm(sublayer_out, p)  # mistake: blind_addnorm_prenorm


@mistake("add_and_norm", "blind_addnorm_no_residual",
         "you normalise the sublayer's output without the residual: LayerNorm(x + sublayer_out)")
def add_and_norm(x, sublayer_out, p):
    if sublayer_out.shape != x.shape:
        raise ValueError(f"sublayer_out must have the shape of x {x.shape}")
    return layer_norm(sublayer_out, p)  # mistake: blind_addnorm_no_residual
