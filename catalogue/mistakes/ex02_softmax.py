"""Realistic mistakes in exercise 02 (softmax). Each replaces the reference function of its name."""

import numpy as np

from catalogue import mistake


@mistake("softmax", "no_max_subtraction",
         "exp overflows for large scores (inf / inf = NaN): subtract the max along the axis before np.exp")
def softmax(x, axis=-1):
    z = np.exp(x)  # mistake: no_max_subtraction
    return z / z.sum(axis=axis, keepdims=True)


@mistake("softmax", "global_max",
         "you subtract one maximum for the whole array: a row far below it underflows to 0/0; "
         "take the max along `axis` with keepdims=True")
def softmax(x, axis=-1):
    z = np.exp(x - x.max())  # mistake: global_max
    return z / z.sum(axis=axis, keepdims=True)


@mistake("softmax", "ignores_axis",
         "your softmax always normalises the last axis: pass `axis` to max and sum")
def softmax(x, axis=-1):
    z = np.exp(x - x.max(axis=-1, keepdims=True))  # mistake: ignores_axis
    return z / z.sum(axis=-1, keepdims=True)


@mistake("softmax", "sum_over_all",
         "your weights sum to one over the whole array, not along `axis`: sum with axis=axis, keepdims=True")
def softmax(x, axis=-1):
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum()  # mistake: sum_over_all


@mistake("softmax", "float64_result",
         "your softmax returns float64 for float32 input: avoid astype(np.float64) and float64 constants")
def softmax(x, axis=-1):
    x = x.astype(np.float64)  # mistake: float64_result
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


@mistake("softmax", "in_place_shift",
         "you subtract the max in place (x -= ...), which changes the caller's array: write x - m instead")
def softmax(x, axis=-1):
    x -= x.max(axis=axis, keepdims=True)  # mistake: in_place_shift
    z = np.exp(x)
    return z / z.sum(axis=axis, keepdims=True)


@mistake("log_softmax", "log_of_softmax",
         "log(softmax(x)) is -inf where softmax underflows: compute (x - m) - log(sum(exp(x - m)))")
def log_softmax(x, axis=-1):
    z = np.exp(x - x.max(axis=axis, keepdims=True))  # mistake: log_of_softmax
    return np.log(z / z.sum(axis=axis, keepdims=True))


@mistake("log_softmax", "unshifted_logsumexp",
         "log(sum(exp(x))) overflows for large scores: shift by the max inside the log-sum-exp")
def log_softmax(x, axis=-1):
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))  # mistake: unshifted_logsumexp
