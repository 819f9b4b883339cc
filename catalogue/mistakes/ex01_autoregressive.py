"""Realistic mistakes in exercise 01 (the AR(p) model). Each replaces the reference function of its name."""

import numpy as np

from catalogue import base, mistake, variant


@mistake("lag_matrix", "reversed_lags",
         "your lag rows are oldest first [y[t-p], ..., y[t-1]]: the contract orders them newest first, "
         "so phi[0] weighs y[t-1]; reverse each window")
def lag_matrix(y, p):
    if p < 1:
        raise ValueError("p must be >= 1")
    y = np.asarray(y)
    if y.ndim != 1 or len(y) < p + 1:
        raise ValueError("y is too short")
    X = np.lib.stride_tricks.sliding_window_view(y[:-1], p).copy()  # mistake: reversed_lags
    return X, y[p:].copy()


@mistake("lag_matrix", "off_by_one_target",
         "your target is shifted one step back (y[p-1:-1]), so it repeats the newest lag: "
         "the value predicted from y[t-1], ..., y[t-p] is y[t], i.e. target = y[p:]")
def lag_matrix(y, p):
    if p < 1:
        raise ValueError("p must be >= 1")
    y = np.asarray(y)
    if y.ndim != 1 or len(y) < p + 1:
        raise ValueError("y is too short")
    X = np.column_stack([y[p - k: len(y) - k] for k in range(1, p + 1)])  # mistake: off_by_one_target
    return X, y[p - 1: -1].copy()


@mistake("lag_matrix", "includes_current_value",
         "your lag row for y[t] starts with y[t] itself: the lags are the p values BEFORE it, "
         "[y[t-1], ..., y[t-p]]")
def lag_matrix(y, p):
    if p < 1:
        raise ValueError("p must be >= 1")
    y = np.asarray(y)
    if y.ndim != 1 or len(y) < p + 1:
        raise ValueError("y is too short")
    X = np.column_stack([y[p - k: len(y) - k] for k in range(0, p)])  # mistake: includes_current_value
    return X, y[p:].copy()


@mistake("lag_matrix", "float64_matrix",
         "your lag matrix is float64 for a float32 series (np.zeros defaults to float64): "
         "create it with dtype=y.dtype")
def lag_matrix(y, p):
    if p < 1:
        raise ValueError("p must be >= 1")
    y = np.asarray(y)
    if y.ndim != 1 or len(y) < p + 1:
        raise ValueError("y is too short")
    n = len(y)  # mistake: float64_matrix
    X = np.zeros((n - p, p))
    for k in range(1, p + 1):
        X[:, k - 1] = y[p - k: n - k]
    return X, y[p:].copy()


@mistake("fit_ar", "no_intercept",
         "you fit phi without an intercept column: a series with a non-zero mean then biases phi; "
         "regress on np.column_stack([ones, X]) and return its first coefficient as c")
def fit_ar(y, p):
    X, target = lag_matrix(y, p)
    if X.shape[0] < p + 1:
        raise ValueError("y is too short")
    phi, *_ = np.linalg.lstsq(X, target, rcond=None)  # mistake: no_intercept
    return 0.0, phi


@mistake("fit_ar", "intercept_column_last",
         "you put the column of ones last but read c from the first coefficient: c and phi come out "
         "shifted; keep the order of the design matrix and of the coefficients the same")
def fit_ar(y, p):
    X, target = lag_matrix(y, p)
    if X.shape[0] < p + 1:
        raise ValueError("y is too short")
    design = np.column_stack([X, np.ones(X.shape[0])])  # mistake: intercept_column_last
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    return float(coef[0]), coef[1:].astype(X.dtype)


@mistake("fit_ar", "oldest_first_design",
         "you build your own design with the lags oldest first, so phi comes out reversed: "
         "phi[0] must weigh y[t-1] (use lag_matrix)")
def fit_ar(y, p):
    y = np.asarray(y)
    if p < 1:
        raise ValueError("p must be >= 1")
    if y.ndim != 1 or len(y) < 2 * p + 1:
        raise ValueError("y is too short")
    X = np.lib.stride_tricks.sliding_window_view(y[:-1], p)  # mistake: oldest_first_design
    design = np.column_stack([np.ones(len(y) - p), X])
    coef, *_ = np.linalg.lstsq(design, y[p:], rcond=None)
    return float(coef[0]), coef[1:]


@mistake("predict_next", "oldest_values",
         "you predict from the first p values of the history: the next value depends on the LAST p "
         "values, history[-1] (weighted by phi[0]) back to history[-p]")
def predict_next(history, c, phi):
    p = len(phi)
    if len(history) < p:
        raise ValueError("history is too short")
    return float(c + phi @ history[:p][::-1])  # mistake: oldest_values


@mistake("predict_next", "reversed_lags",
         "you multiply phi with history[-p:] as it is (oldest first): phi[0] must weigh the newest "
         "value history[-1]; reverse the window")
def predict_next(history, c, phi):
    p = len(phi)
    if len(history) < p:
        raise ValueError("history is too short")
    return float(c + phi @ history[-p:])  # mistake: reversed_lags


@mistake("predict_next", "no_intercept",
         "you leave out the intercept c: the prediction is c + phi . [y[n-1], ..., y[n-p]]")
def predict_next(history, c, phi):
    p = len(phi)
    if len(history) < p:
        raise ValueError("history is too short")
    return float(phi @ history[::-1][:p])  # mistake: no_intercept


@mistake("forecast", "no_feedback",
         "every step of your forecast predicts from the observed history only, so all steps are equal: "
         "append each prediction to the window before predicting the next")
def forecast(history, c, phi, steps):
    if steps < 0:
        raise ValueError("steps must be >= 0")
    dtype = np.result_type(history.dtype, phi.dtype, np.float32)
    return np.full(steps, predict_next(history, c, phi), dtype=dtype)  # mistake: no_feedback


@mistake("forecast", "prediction_as_oldest",
         "you put each prediction at the front of the window, as the OLDEST value: it is the newest "
         "one, append it at the end and drop window[0]")
def forecast(history, c, phi, steps):
    if steps < 0:
        raise ValueError("steps must be >= 0")
    p = len(phi)  # mistake: prediction_as_oldest
    dtype = np.result_type(history.dtype, phi.dtype, np.float32)
    window = history[-p:].astype(dtype)  # mistake: prediction_as_oldest
    out = np.empty(steps, dtype=dtype)
    for s in range(steps):
        out[s] = predict_next(window, c, phi)
        window = np.append(out[s], window[:-1])  # mistake: prediction_as_oldest
    return out


@mistake("forecast", "off_by_one_slice",
         "your forecast starts with the last observed value and misses the last prediction: "
         "return only the `steps` new values")
def forecast(history, c, phi, steps):
    if steps < 0:
        raise ValueError("steps must be >= 0")
    dtype = np.result_type(history.dtype, phi.dtype, np.float32)
    values = list(history)
    for _ in range(steps):
        values.append(predict_next(np.array(values), c, phi))
    return np.array(values[len(history) - 1: -1], dtype=dtype)  # mistake: off_by_one_slice


@mistake("forecast", "float64_result",
         "your forecast is float64 for float32 inputs (np.array of Python floats): "
         "create the result with the inputs' float dtype")
def forecast(history, c, phi, steps):
    if steps < 0:
        raise ValueError("steps must be >= 0")
    values = list(history)
    for _ in range(steps):
        values.append(predict_next(np.array(values), c, phi))
    return np.array(values[len(history):], dtype=np.float64)  # mistake: float64_result


# The correct function that the variants below change.
@base("simulate_ar")
def simulate_ar(c, phi, n, rng, noise_std=1.0, burn_in=100):
    if n < 0 or burn_in < 0 or noise_std < 0:
        raise ValueError("n, burn_in and noise_std must be >= 0")
    p = len(phi)
    eps = noise_std * rng.standard_normal(burn_in + n)
    y = np.zeros(p + burn_in + n)
    for t in range(p, p + burn_in + n):
        y[t] = c + phi @ y[t - p: t][::-1] + eps[t - p]
    return y[p + burn_in:]


variant("simulate_ar", "keeps_burn_in",
        "you return the FIRST n values, which still remember the start from zeros: drop the first "
        "burn_in values and return the last n",
        {"return y[p + burn_in:]": "return y[p: p + n]  # mistake: keeps_burn_in"})


variant("simulate_ar", "ignores_noise_std",
        "your noise always has standard deviation 1: multiply the standard normal draws by noise_std",
        {"eps = noise_std * rng.standard_normal(burn_in + n)":
         "eps = rng.standard_normal(burn_in + n)  # mistake: ignores_noise_std"})


@mistake("simulate_ar", "noise_outside_recursion",
         "you add the noise after running the noiseless recursion, so it is never fed back: "
         "eps_t enters y_t, and y_t feeds the next values")
def simulate_ar(c, phi, n, rng, noise_std=1.0, burn_in=100):
    if n < 0 or burn_in < 0 or noise_std < 0:
        raise ValueError("n, burn_in and noise_std must be >= 0")
    p = len(phi)
    eps = noise_std * rng.standard_normal(burn_in + n)
    y = np.zeros(p + burn_in + n)
    for t in range(p, p + burn_in + n):
        y[t] = c + phi @ y[t - p: t][::-1]  # mistake: noise_outside_recursion
    return y[p + burn_in:] + eps[burn_in:]


@mistake("simulate_ar", "c_added_at_the_end",
         "you add c to the finished series instead of inside the recursion, so its mean is c instead of "
         "c / (1 - sum(phi)): y_t = c + phi . lags + eps_t")
def simulate_ar(c, phi, n, rng, noise_std=1.0, burn_in=100):
    if n < 0 or burn_in < 0 or noise_std < 0:
        raise ValueError("n, burn_in and noise_std must be >= 0")
    p = len(phi)
    eps = noise_std * rng.standard_normal(burn_in + n)
    y = np.zeros(p + burn_in + n)
    for t in range(p, p + burn_in + n):
        y[t] = phi @ y[t - p: t][::-1] + eps[t - p]  # mistake: c_added_at_the_end
    return c + y[p + burn_in:]


variant("simulate_ar", "reversed_lags",
        "your recursion multiplies phi with the window oldest first: phi[0] must weigh y[t-1]",
        {"y[t] = c + phi @ y[t - p: t][::-1] + eps[t - p]":
         "y[t] = c + phi @ y[t - p: t] + eps[t - p]  # mistake: reversed_lags"})


variant("simulate_ar", "negative_slice_at_n_0",
        "you return y[-n:], which is the WHOLE array when n = 0: slice from the start, y[len(y) - n:]",
        {"return y[p + burn_in:]": "return y[-n:]  # mistake: negative_slice_at_n_0"})


variant("simulate_ar", "global_random_state",
        "you draw the noise from np.random instead of the generator `rng` you were given: the series "
        "cannot be reproduced from its seed; use rng.standard_normal",
        {"eps = noise_std * rng.standard_normal(burn_in + n)":
         "eps = noise_std * np.random.standard_normal(burn_in + n)  # mistake: global_random_state"})
