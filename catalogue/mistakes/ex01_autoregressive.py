"""Realistic mistakes in exercise 01 (the AR(p) model). Each replaces the reference function of its name."""

import numpy as np

from catalogue import base, mistake, variant
from solutions.ex01_autoregressive import _check_p, _check_phi  # in scope in the reference module too


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


# The outputs show only that phi is reversed, not how: the two mistakes below say the same.
@mistake("fit_ar", "oldest_first_design",
         "phi comes out reversed, oldest lag first: phi[0] must weigh y[t-1], the most recent value "
         "(lag_matrix's column 0 is lag 1: keep its order)")
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


@mistake("fit_ar", "phi_reversed",
         "phi comes out reversed, oldest lag first: phi[0] must weigh y[t-1], the most recent value "
         "(lag_matrix's column 0 is lag 1: keep its order)")
def fit_ar(y, p):
    X, target = lag_matrix(y, p)  # uses lag_matrix, yet phi comes out reversed
    n_rows = len(target)
    if n_rows <= p:
        raise ValueError(f"y is too short for AR({p})")
    ones = np.ones((n_rows, 1))
    c, *phi = np.linalg.lstsq(np.hstack([ones, X]), target, rcond=None)[0]
    return float(c), np.array(phi[::-1], dtype=X.dtype)  # mistake: phi_reversed


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

# Written blind, from the docstrings alone, by a helper who never read the tests (issue 17);
# the entries that repeated a mistake above exactly were left out.


@mistake("lag_matrix", "blind_lag_oldest_first",
         "your lag rows are oldest first: each row of X is newest first, [y[t-1], ..., y[t-p]]; reverse the "
         "window with [:, ::-1]")
def lag_matrix(y, p):
    _check_p(p)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D series, got shape {y.shape}")
    n = y.shape[0]
    if n < p + 1:
        raise ValueError(f"y has {n} values: an AR({p}) lag matrix needs at least p + 1 = {p + 1}")
    windows = np.lib.stride_tricks.sliding_window_view(y[:-1], p)
    X = windows.copy()  # mistake: blind_lag_oldest_first
    target = y[p:].copy()
    return X, target


@mistake("lag_matrix", "blind_lag_includes_current_value",
         "your window is shifted by one and holds y[t] itself: the row for y[t] holds the p values BEFORE "
         "it, y[t-1], ..., y[t-p]")
def lag_matrix(y, p):
    _check_p(p)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D series, got shape {y.shape}")
    n = y.shape[0]
    if n < p + 1:
        raise ValueError(f"y has {n} values: an AR({p}) lag matrix needs at least p + 1 = {p + 1}")
    windows = np.lib.stride_tricks.sliding_window_view(y[1:], p)  # mistake: blind_lag_includes_current_value
    X = windows[:, ::-1].copy()
    target = y[p:].copy()
    return X, target


@mistake("lag_matrix", "blind_lag_returns_views",
         "you return views of y (y[p:] and a sliding window): X and target must be new arrays, so copy them")
def lag_matrix(y, p):
    _check_p(p)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D series, got shape {y.shape}")
    n = y.shape[0]
    if n < p + 1:
        raise ValueError(f"y has {n} values: an AR({p}) lag matrix needs at least p + 1 = {p + 1}")
    windows = np.lib.stride_tricks.sliding_window_view(y[:-1], p)
    X = windows[:, ::-1]  # mistake: blind_lag_returns_views
    target = y[p:]  # mistake: blind_lag_returns_views
    return X, target


@mistake("lag_matrix", "blind_lag_accepts_p_values",
         "you accept a series of only p values, which gives no row at all: raise ValueError unless y has at "
         "least p + 1 values")
def lag_matrix(y, p):
    _check_p(p)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D series, got shape {y.shape}")
    n = y.shape[0]
    if n < p:  # mistake: blind_lag_accepts_p_values
        raise ValueError(f"y has {n} values: an AR({p}) lag matrix needs at least p values")
    X = np.empty((n - p, p), dtype=y.dtype)
    for t in range(p, n):
        X[t - p] = y[t - p:t][::-1]
    target = y[p:].copy()
    return X, target


@mistake("fit_ar", "blind_fit_no_intercept",
         "you solve least squares on X alone and leave out the intercept c: solve it on [1, X]")
def fit_ar(y, p):
    X, target = lag_matrix(y, p)
    if X.shape[0] < p + 1:
        raise ValueError(f"y has {len(y)} values: fitting AR({p}) needs at least 2p + 1")
    # mistake: blind_fit_no_intercept
    coef, *_ = np.linalg.lstsq(X.astype(np.float64), target.astype(np.float64), rcond=None)
    c, phi = 0.0, coef.astype(np.result_type(X.dtype, np.float32))
    return c, phi


@mistake("fit_ar", "blind_fit_phi_float64",
         "your phi is float64 for a float32 series: cast the least-squares solution back to y's dtype")
def fit_ar(y, p):
    X, target = lag_matrix(y, p)
    if X.shape[0] < p + 1:
        raise ValueError(f"y has {len(y)} values: fitting AR({p}) needs at least 2p + 1")
    design = np.column_stack([np.ones(X.shape[0]), X.astype(np.float64)])
    coef, *_ = np.linalg.lstsq(design, target.astype(np.float64), rcond=None)
    c, phi = float(coef[0]), coef[1:]  # mistake: blind_fit_phi_float64
    return c, phi


@mistake("fit_ar", "blind_fit_too_short_not_rejected",
         "you only check that there are p rows: the fit has p + 1 unknowns, so it needs n - p >= p + 1 rows "
         "(n >= 2p + 1)")
def fit_ar(y, p):
    X, target = lag_matrix(y, p)
    if X.shape[0] < p:  # mistake: blind_fit_too_short_not_rejected
        raise ValueError(f"y has {len(y)} values: too short")
    design = np.column_stack([np.ones(X.shape[0]), X.astype(np.float64)])
    coef, *_ = np.linalg.lstsq(design, target.astype(np.float64), rcond=None)
    c, phi = float(coef[0]), coef[1:].astype(np.result_type(X.dtype, np.float32))
    return c, phi


@mistake("predict_next", "blind_predict_oldest_first",
         "you weigh the window oldest first: phi[0] weighs the newest value history[-1], so take the last p "
         "values newest first, history[::-1][:p]")
def predict_next(history, c, phi):
    phi = _check_phi(phi)
    history = np.asarray(history)
    p = phi.shape[0]
    if history.ndim != 1 or history.shape[0] < p:
        raise ValueError(f"history must be 1-D with at least p = {p} values, got shape {history.shape}")
    recent = history[-p:]  # mistake: blind_predict_oldest_first
    return float(c + phi @ recent)


@mistake("predict_next", "blind_predict_first_values",
         "you predict from the first p values of the history: the prediction uses the LAST p values")
def predict_next(history, c, phi):
    phi = _check_phi(phi)
    history = np.asarray(history)
    p = phi.shape[0]
    if history.ndim != 1 or history.shape[0] < p:
        raise ValueError(f"history must be 1-D with at least p = {p} values, got shape {history.shape}")
    recent = history[:p][::-1]  # mistake: blind_predict_first_values
    return float(c + phi @ recent)


@mistake("forecast", "blind_forecast_no_feedback",
         "you predict every step from the same window: append each forecast to the history before "
         "predicting the next")
def forecast(history, c, phi, steps):
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    phi = _check_phi(phi)
    history = np.asarray(history)
    p = phi.shape[0]
    if history.ndim != 1 or history.shape[0] < p:
        raise ValueError(f"history must be 1-D with at least p = {p} values, got shape {history.shape}")
    dtype = np.result_type(history.dtype, phi.dtype, np.float32)
    window = history[-p:].astype(dtype)
    out = np.empty(steps, dtype=dtype)
    for s in range(steps):
        out[s] = predict_next(window, c, phi)  # mistake: blind_forecast_no_feedback
    return out


@mistake("forecast", "blind_forecast_prepends_prediction",
         "you put each forecast at the front of the window: it is the NEWEST value, append it at the end "
         "(the window is oldest first)")
def forecast(history, c, phi, steps):
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    phi = _check_phi(phi)
    history = np.asarray(history)
    p = phi.shape[0]
    if history.ndim != 1 or history.shape[0] < p:
        raise ValueError(f"history must be 1-D with at least p = {p} values, got shape {history.shape}")
    dtype = np.result_type(history.dtype, phi.dtype, np.float32)
    window = history[-p:].astype(dtype)
    out = np.empty(steps, dtype=dtype)
    for s in range(steps):
        out[s] = predict_next(window, c, phi)
        window = np.append(out[s], window[:-1])  # mistake: blind_forecast_prepends_prediction
    return out


@mistake("forecast", "blind_forecast_always_float64",
         "your forecasts are float64 for a float32 history and phi: keep their dtype with np.result_type, "
         "not float64")
def forecast(history, c, phi, steps):
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    phi = _check_phi(phi)
    history = np.asarray(history)
    p = phi.shape[0]
    if history.ndim != 1 or history.shape[0] < p:
        raise ValueError(f"history must be 1-D with at least p = {p} values, got shape {history.shape}")
    window = list(history[-p:].astype(np.float64))
    out = np.zeros(steps)  # mistake: blind_forecast_always_float64
    for s in range(steps):
        out[s] = predict_next(np.array(window), c, phi)
        window = [*window[1:], out[s]]
    return out


@mistake("forecast", "blind_forecast_shifts_history_in_place",
         "you shift history[-p:] in place, a view that overwrites the caller's series: copy the window "
         "(.copy() or astype) before updating it")
def forecast(history, c, phi, steps):
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    phi = _check_phi(phi)
    history = np.asarray(history)
    p = phi.shape[0]
    if history.ndim != 1 or history.shape[0] < p:
        raise ValueError(f"history must be 1-D with at least p = {p} values, got shape {history.shape}")
    dtype = np.result_type(history.dtype, phi.dtype, np.float32)
    window = history[-p:]  # mistake: blind_forecast_shifts_history_in_place
    out = np.empty(steps, dtype=dtype)
    for s in range(steps):
        out[s] = predict_next(window, c, phi)
        window[:-1] = window[1:]  # mistake: blind_forecast_shifts_history_in_place
        window[-1] = out[s]
    return out


@mistake("simulate_ar", "blind_simulate_ignores_burn_in",
         "you return the first n values, still marked by the start from zeros: run burn_in + n steps and "
         "drop the first burn_in values")
def simulate_ar(c, phi, n, rng, noise_std=1.0, burn_in=100):
    phi = _check_phi(phi).astype(np.float64)
    for name, value in (("n", n), ("burn_in", burn_in)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    if not noise_std >= 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std!r}")
    p = phi.shape[0]
    eps = noise_std * rng.standard_normal(n)
    y = np.zeros(p + n)
    for t in range(p, p + n):  # mistake: blind_simulate_ignores_burn_in
        y[t] = c + phi @ y[t - p:t][::-1] + eps[t - p]
    return y[p:]


@mistake("simulate_ar", "blind_simulate_n_zero_returns_everything",
         "you return y[-n:], which is the WHOLE array when n = 0: slice from the start, y[p + burn_in:], so "
         "n = 0 gives an empty series")
def simulate_ar(c, phi, n, rng, noise_std=1.0, burn_in=100):
    phi = _check_phi(phi).astype(np.float64)
    for name, value in (("n", n), ("burn_in", burn_in)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    if not noise_std >= 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std!r}")
    p = phi.shape[0]
    eps = noise_std * rng.standard_normal(burn_in + n)
    y = np.zeros(p + burn_in + n)
    for t in range(p, p + burn_in + n):
        y[t] = c + phi @ y[t - p:t][::-1] + eps[t - p]
    return y[-n:]  # mistake: blind_simulate_n_zero_returns_everything


@mistake("simulate_ar", "blind_simulate_noise_variance",
         "you scale the noise by the square of noise_std: noise_std is a standard deviation, multiply the "
         "standard normal draws by noise_std itself")
def simulate_ar(c, phi, n, rng, noise_std=1.0, burn_in=100):
    phi = _check_phi(phi).astype(np.float64)
    for name, value in (("n", n), ("burn_in", burn_in)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    if not noise_std >= 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std!r}")
    p = phi.shape[0]
    eps = noise_std**2 * rng.standard_normal(burn_in + n)  # mistake: blind_simulate_noise_variance
    y = np.zeros(p + burn_in + n)
    for t in range(p, p + burn_in + n):
        y[t] = c + phi @ y[t - p:t][::-1] + eps[t - p]
    return y[p + burn_in:]


@mistake("simulate_ar", "blind_simulate_negative_noise_accepted",
         "you accept a negative noise_std, which is no standard deviation: raise ValueError naming "
         "noise_std")
def simulate_ar(c, phi, n, rng, noise_std=1.0, burn_in=100):
    phi = _check_phi(phi).astype(np.float64)
    for name, value in (("n", n), ("burn_in", burn_in)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    # mistake: blind_simulate_negative_noise_accepted
    p = phi.shape[0]
    eps = noise_std * rng.standard_normal(burn_in + n)
    y = np.zeros(p + burn_in + n)
    for t in range(p, p + burn_in + n):
        y[t] = c + phi @ y[t - p:t][::-1] + eps[t - p]
    return y[p + burn_in:]
