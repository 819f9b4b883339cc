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


# Found by a helper's sweep of new mistakes (2026-12-03): the huge-score tests began at 1e3.


@mistake("softmax", "shift_only_large_scores",
         "you subtract the maximum only when the scores are large, but float32's exp overflows above 88 "
         "and rows far below 0 underflow to 0/0: always subtract the max along the axis")
def softmax(x, axis=-1):
    large = np.abs(x).max() > 700  # mistake: shift_only_large_scores
    z = np.exp(x - x.max(axis=axis, keepdims=True)) if large else np.exp(x)
    return z / z.sum(axis=axis, keepdims=True)


@mistake("log_softmax", "shift_only_large_scores",
         "you shift by the maximum only when the scores are large, but float32's exp overflows above 88: "
         "always compute (x - m) - log(sum(exp(x - m)))")
def log_softmax(x, axis=-1):
    if np.abs(x).max() <= 700:  # mistake: shift_only_large_scores
        return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

# Written blind, from the docstrings alone, by a helper who never read the tests (issue 17);
# the entries that repeated a mistake above exactly were left out.


@mistake("softmax", "blind_no_max_shift",
         "exp overflows for large scores (inf / inf = NaN): subtract the maximum along the axis before "
         "np.exp")
def softmax(x, axis=-1):
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis={axis} is out of range for x with {x.ndim} dimensions")
    z = np.exp(x)  # mistake: blind_no_max_shift
    return z / z.sum(axis=axis, keepdims=True)


@mistake("softmax", "blind_global_max_shift",
         "you shift by the maximum of the whole array, so a row far below it underflows: subtract each "
         "slice's own maximum, x.max(axis=axis, keepdims=True)")
def softmax(x, axis=-1):
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis={axis} is out of range for x with {x.ndim} dimensions")
    z = np.exp(x - x.max())  # mistake: blind_global_max_shift
    return z / z.sum(axis=axis, keepdims=True)


@mistake("softmax", "blind_sum_without_keepdims",
         "your sum drops the axis, so it broadcasts against the wrong one: sum with keepdims=True")
def softmax(x, axis=-1):
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis={axis} is out of range for x with {x.ndim} dimensions")
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis)  # mistake: blind_sum_without_keepdims


@mistake("softmax", "blind_axis_ignored",
         "your softmax always normalises the last axis: normalise along the `axis` argument")
def softmax(x, axis=-1):
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis={axis} is out of range for x with {x.ndim} dimensions")
    z = np.exp(x - x.max(axis=-1, keepdims=True))  # mistake: blind_axis_ignored
    return z / z.sum(axis=-1, keepdims=True)


@mistake("softmax", "blind_softmax_float64",
         "you cast to float64, so float32 in gives float64 out: keep the input's dtype")
def softmax(x, axis=-1):
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis={axis} is out of range for x with {x.ndim} dimensions")
    x = x.astype(np.float64)  # mistake: blind_softmax_float64
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


@mistake("log_softmax", "blind_log_of_softmax",
         "log(softmax(x)) is -inf where the softmax underflows: compute (x - m) - log(sum(exp(x - m))) "
         "directly")
def log_softmax(x, axis=-1):
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis={axis} is out of range for x with {x.ndim} dimensions")
    return np.log(softmax(x, axis=axis))  # mistake: blind_log_of_softmax


@mistake("log_softmax", "blind_log_softmax_unshifted_x",
         "you subtract the log-sum-exp of the shifted scores from the unshifted ones, which is off by m: "
         "use (x - m) - log(sum(exp(x - m)))")
def log_softmax(x, axis=-1):
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis={axis} is out of range for x with {x.ndim} dimensions")
    m = x.max(axis=axis, keepdims=True)
    return x - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))  # mistake: blind_log_softmax_unshifted_x


@mistake("log_softmax", "blind_log_softmax_axis_ignored",
         "your log_softmax always normalises the last axis: normalise along the `axis` argument")
def log_softmax(x, axis=-1):
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis={axis} is out of range for x with {x.ndim} dimensions")
    shifted = x - x.max(axis=-1, keepdims=True)  # mistake: blind_log_softmax_axis_ignored
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@mistake("softmax", "blind_softmax_shifts_input_in_place",
         "you subtract the max in place (x -= ...), which changes the caller's array: compute x - "
         "x.max(axis=axis, keepdims=True) into a new array")
def softmax(x, axis=-1):
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis={axis} is out of range for x with {x.ndim} dimensions")
    x -= x.max(axis=axis, keepdims=True)  # mistake: blind_softmax_shifts_input_in_place
    z = np.exp(x)
    return z / z.sum(axis=axis, keepdims=True)
