"""Exercise 15: gradients by hand (backpropagation through the layers of the course).

Training needs the gradient of a scalar loss with respect to every parameter. The chain rule runs
it backwards through the layers: each backward function takes ``g = dL/d(output)`` of its forward
function and the forward function's inputs, and returns ``dL/d(input)`` and ``dL/d(parameters)``.
A parameter used at every position (``gamma``, ``W_1``, ``b_2``...) sums its gradient over all of
them, because its contributions to the loss add up.

    y = x W + b          dL/dx = g W^T        dL/dW = x^T g        dL/db = sum g
    y = softmax(x)       dL/dx = y * (g - sum(g * y))

``course.gradcheck.numerical_gradient`` checks any of these against finite differences.

Rules of every exercise (inputs never changed in place, the dtype kept, ValueError for a bad
argument, the allowed imports): docs/API.md.
"""

from __future__ import annotations

import math

import numpy as np

from course.params import FeedForwardParams, LayerNormParams

from .ex02_softmax import log_softmax, softmax
from .ex05_qkv_attention import scaled_dot_product_attention


def softmax_backward(grad_out: np.ndarray, probs: np.ndarray, axis: int = -1) -> np.ndarray:
    """The gradient through ``probs = softmax(x, axis)``, from the output ``probs`` alone.

        dy_j/dx_i = y_j (delta_ij - y_i)    so    dL/dx = y * (g - sum(g * y, axis))

    Args:
        grad_out: ``g = dL/dprobs``, shaped like ``probs``, float32 or float64.
        probs: the softmax's output (each slice along ``axis`` sums to 1, or is all zero for a
            fully masked row, whose gradient is then zero).
        axis: the axis the softmax normalised.

    Returns:
        ``dL/dx``, shaped like ``probs``, in its dtype.

    Raises:
        ValueError: if ``grad_out`` is not shaped like ``probs`` (names ``grad_out``).
    """
    raise NotImplementedError("ex15: implement softmax_backward")


def scaled_dot_product_attention_backward(
    grad_out: np.ndarray, Q: np.ndarray, K: np.ndarray, V: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``Q``, ``K``, ``V`` through ``out = softmax(Q K^T / sqrt(d_k)) V``.

        P = softmax(Q K^T / sqrt(d_k)) (masked)      out = P V
        dV = P^T g          dP = g V^T          dS = softmax_backward(dP, P)
        dQ = dS K / sqrt(d_k)                   dK = dS^T Q / sqrt(d_k)

    A masked key has ``P = 0``, so no gradient flows through its score; a fully masked query row
    gets zero gradients.

    Args:
        grad_out: ``g = dL/dout`` [..., T_q, d_v], float32 or float64.
        Q: queries [..., T_q, d_k]. K: keys [..., T_k, d_k]. V: values [..., T_k, d_v].
        mask: optional boolean mask broadcastable to [..., T_q, T_k], as in the forward pass.

    Returns:
        ``(dQ, dK, dV)`` shaped like ``Q``, ``K``, ``V``, in their dtype.

    Raises:
        ValueError: if ``grad_out`` is not [..., T_q, d_v] (names ``grad_out``), or as
            ``scaled_dot_product_attention`` does for ``Q``, ``K``, ``V``, ``mask``.
    """
    raise NotImplementedError("ex15: implement scaled_dot_product_attention_backward")


def layer_norm_backward(
    grad_out: np.ndarray, x: np.ndarray, p: LayerNormParams, eps: float = 1e-5
) -> tuple[np.ndarray, LayerNormParams]:
    """Gradients of ``x``, ``gamma`` and ``beta`` through ``y = gamma * x_hat + beta``.

        x_hat = (x - mean) / sigma,   sigma = sqrt(var + eps)   (over the last axis, biased var)
        dbeta = sum g                 dgamma = sum g * x_hat    (over every leading axis)
        dx_hat = g * gamma
        dx = (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)) / sigma

    Args:
        grad_out: ``g = dL/dy`` [..., D], float32 or float64.
        x: the layer norm's input [..., D].
        p: ``gamma``, ``beta`` [D].
        eps: the ``eps`` of the forward pass.

    Returns:
        ``(dx, LayerNormParams(gamma=dgamma, beta=dbeta))``: dx [..., D], dgamma and dbeta [D],
        in ``x``'s dtype.

    Raises:
        ValueError: if ``grad_out`` is not shaped like ``x`` (names ``grad_out``).
    """
    raise NotImplementedError("ex15: implement layer_norm_backward")


def feed_forward_backward(
    grad_out: np.ndarray, x: np.ndarray, p: FeedForwardParams
) -> tuple[np.ndarray, FeedForwardParams]:
    """Gradients of ``x`` and of ``W_1, b_1, W_2, b_2`` through ``relu(x W_1 + b_1) W_2 + b_2``.

        a = x W_1 + b_1       h = relu(a)        y = h W_2 + b_2
        dW_2 = h^T g          db_2 = sum g       dh = g W_2^T
        da = dh * [a > 0]     dW_1 = x^T da      db_1 = sum da       dx = da W_1^T

    Args:
        grad_out: ``g = dL/dy`` [..., D], float32 or float64.
        x: the input [..., D].
        p: ``W_1`` [D, F], ``b_1`` [F], ``W_2`` [F, D], ``b_2`` [D].

    Returns:
        ``(dx, FeedForwardParams(W_1=dW_1, b_1=db_1, W_2=dW_2, b_2=db_2))``, shaped like ``x``
        and the parameters (summed over every position), in ``x``'s dtype. The ReLU's gradient at
        exactly 0 is 0.

    Raises:
        ValueError: if ``grad_out`` is not shaped like ``x`` (names ``grad_out``).
    """
    raise NotImplementedError("ex15: implement feed_forward_backward")


def cross_entropy(
    logits: np.ndarray, targets: np.ndarray, ignore_id: int | None = None
) -> tuple[float, np.ndarray]:
    """The mean negative log-likelihood of the targets, and its gradient with respect to the logits.

        loss = -(1/N) sum_{n counted} log softmax(logits_n)[targets_n]
        dL/dlogits_n = (softmax(logits_n) - onehot(targets_n)) / N     at counted positions, else 0

    A position is counted unless its target is ``ignore_id`` (the padding); ``N`` is how many are.

    Args:
        logits: scores [..., V], float32 or float64.
        targets: integer ids [...] (``logits``' shape without its last axis); counted ones in
            ``0..V-1``.
        ignore_id: the target id whose positions are left out (``None``: count every position).

    Returns:
        ``(loss, dlogits)``: the loss as a Python float (0.0 when no position is counted) and the
        gradient shaped like ``logits``, in its dtype.

    Raises:
        ValueError: if ``targets`` is not an integer array of ``logits``' leading shape with counted
            ids in ``0..V-1`` (names ``targets``).
    """
    raise NotImplementedError("ex15: implement cross_entropy")
