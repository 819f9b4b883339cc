"""Exercise 01: the autoregressive AR(p) model.

An autoregressive model predicts the next value of a series from its own last p values, a
weighted sum of the past plus a constant. It is fitted by ordinary least squares and forecasts
several steps ahead by feeding each prediction back in as if it had been observed: the same
"generate one step, append it, go on" loop that a Transformer decoder runs on tokens.

    y_t = c + phi_1 y_{t-1} + phi_2 y_{t-2} + ... + phi_p y_{t-p} + eps_t

``phi_1`` weighs the most recent value, ``phi_p`` the oldest one. Every vector of lags in this
module is therefore ordered most recent first: ``[y_{t-1}, ..., y_{t-p}]``.

Rules of every exercise (inputs never changed in place, the dtype kept, ValueError for a bad
argument, the allowed imports): docs/API.md.
"""

from __future__ import annotations

import numpy as np


def _check_p(p: int) -> None:
    if isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 1:
        raise ValueError(f"p must be an integer >= 1, got {p!r}")


def _check_phi(phi: np.ndarray) -> np.ndarray:
    phi = np.asarray(phi)
    if phi.ndim != 1 or phi.shape[0] < 1:
        raise ValueError(f"phi must be a 1-D array of p >= 1 coefficients, got shape {phi.shape}")
    return phi


def lag_matrix(y: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """The regression problem of an AR(p) model: lagged values and the values they predict.

        X[t - p] = [y_{t-1}, y_{t-2}, ..., y_{t-p}]   (most recent first),   target[t - p] = y_t

    for t = p, ..., n - 1.

    Args:
        y: the series, shape [n], 1-D; float32 or float64 (the dtype is kept).
        p: the order, an integer >= 1.

    Returns:
        ``(X, target)``: ``X`` of shape [n - p, p] and ``target = y[p:]`` of shape [n - p], both of
        ``y``'s dtype and both new arrays (not views of ``y``).

    Raises:
        ValueError: naming ``p`` if p < 1 (or not an integer); naming ``y`` if ``y`` is not 1-D or
            has fewer than p + 1 values (no row at all).
    """
    _check_p(p)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D series, got shape {y.shape}")
    n = y.shape[0]
    if n < p + 1:
        raise ValueError(f"y has {n} values: an AR({p}) lag matrix needs at least p + 1 = {p + 1}")
    # Window w holds y[w], ..., y[w + p - 1], the p values before y[w + p]; reversed, newest first.
    windows = np.lib.stride_tricks.sliding_window_view(y[:-1], p)  # (n - p, p), oldest first
    X = windows[:, ::-1].copy()  # (n - p, p): [y_{t-1}, ..., y_{t-p}]
    target = y[p:].copy()  # (n - p,)
    return X, target


def fit_ar(y: np.ndarray, p: int) -> tuple[float, np.ndarray]:
    """Fit an AR(p) model with an intercept by ordinary least squares.

        minimise over (c, phi):  sum_t (y_t - c - phi_1 y_{t-1} - ... - phi_p y_{t-p})^2

    i.e. least squares on the design matrix ``[1, X]`` with ``X, target = lag_matrix(y, p)``.

    Args:
        y: the series, shape [n], 1-D, float32 or float64.
        p: the order, an integer >= 1.

    Returns:
        ``(c, phi)``: the intercept ``c`` as a Python float and ``phi`` of shape [p] in ``y``'s
        dtype, ``phi[0]`` the weight of the most recent value.

    Raises:
        ValueError: naming ``p`` if p < 1; naming ``y`` if ``y`` is not 1-D or too short. The fit
            has p + 1 unknowns, so it needs n - p >= p + 1 rows, i.e. n >= 2p + 1 values.
    """
    X, target = lag_matrix(y, p)
    if X.shape[0] < p + 1:
        raise ValueError(
            f"y has {len(y)} values: fitting AR({p}) with an intercept needs at least 2p + 1 = {2 * p + 1}"
        )
    # target ~ [1, X] @ [c, phi_1, ..., phi_p], solved in float64 for accuracy
    design = np.column_stack([np.ones(X.shape[0]), X.astype(np.float64)])  # (n - p, p + 1)
    coef, *_ = np.linalg.lstsq(design, target.astype(np.float64), rcond=None)  # (p + 1,)
    c, phi = float(coef[0]), coef[1:].astype(np.result_type(X.dtype, np.float32))
    return c, phi


def predict_next(history: np.ndarray, c: float, phi: np.ndarray) -> float:
    """One-step prediction from the last p values of ``history``.

        y_hat = c + phi_1 y_{n-1} + phi_2 y_{n-2} + ... + phi_p y_{n-p}

    where y_{n-1} = history[-1] is the newest value.

    Args:
        history: the observed series, shape [n] with n >= p, oldest first.
        c: the intercept.
        phi: the coefficients, shape [p], ``phi[0]`` for the most recent value.

    Returns:
        The prediction as a Python float.

    Raises:
        ValueError: naming ``phi`` if it is not a non-empty 1-D array; naming ``history`` if it is
            not 1-D or holds fewer than p values.
    """
    phi = _check_phi(phi)
    history = np.asarray(history)
    p = phi.shape[0]
    if history.ndim != 1 or history.shape[0] < p:
        raise ValueError(f"history must be 1-D with at least p = {p} values, got shape {history.shape}")
    recent = history[::-1][:p]  # (p,): [y_{n-1}, ..., y_{n-p}]
    return float(c + phi @ recent)


def forecast(history: np.ndarray, c: float, phi: np.ndarray, steps: int) -> np.ndarray:
    """Recursive multi-step forecast: each prediction is appended to the history as the newest value.

        y_hat_{n+s} = c + phi_1 y_{n+s-1} + ... + phi_p y_{n+s-p}

    where any y on the right that lies in the future is the forecast already made for it.

    Args:
        history: the observed series, shape [n] with n >= p, oldest first.
        c: the intercept.
        phi: the coefficients, shape [p].
        steps: how many values to forecast, >= 0.

    Returns:
        The forecasts, shape [steps] (empty for steps = 0). The dtype is float32 when ``history``
        and ``phi`` are float32 and float64 otherwise (``np.result_type`` of the two, at least float).

    Raises:
        ValueError: naming ``steps`` if it is negative; naming ``phi`` or ``history`` as
            :func:`predict_next` does.
    """
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    phi = _check_phi(phi)
    history = np.asarray(history)
    p = phi.shape[0]
    if history.ndim != 1 or history.shape[0] < p:
        raise ValueError(f"history must be 1-D with at least p = {p} values, got shape {history.shape}")
    dtype = np.result_type(history.dtype, phi.dtype, np.float32)
    window = history[-p:].astype(dtype)  # (p,): the last p values, oldest first (a copy)
    out = np.empty(steps, dtype=dtype)  # (steps,)
    for s in range(steps):
        out[s] = predict_next(window, c, phi)
        window = np.append(window[1:], out[s])  # (p,): drop the oldest, the forecast is the newest
    return out


def simulate_ar(
    c: float,
    phi: np.ndarray,
    n: int,
    rng: np.random.Generator,
    noise_std: float = 1.0,
    burn_in: int = 100,
) -> np.ndarray:
    """Simulate an AR(p) series, discarding a burn-in so that the start from zeros is forgotten.

        y_t = c + phi_1 y_{t-1} + ... + phi_p y_{t-p} + eps_t,   eps_t = noise_std * z_t,  z_t ~ N(0, 1)

    with y_t = 0 for t < 0. It runs burn_in + n steps and returns the last n.

    Args:
        c: the intercept.
        phi: the coefficients, shape [p], ``phi[0]`` for the most recent value.
        n: the number of values returned, >= 0.
        rng: the generator the noise is drawn from (``rng.standard_normal``); the only randomness.
        noise_std: the standard deviation of eps_t, >= 0; with 0 the series is the deterministic
            recursion.
        burn_in: the number of first values dropped, >= 0.

    Returns:
        The series, shape [n], float64.

    Raises:
        ValueError: naming ``phi``, ``n``, ``noise_std`` or ``burn_in`` when it is out of range.
    """
    phi = _check_phi(phi).astype(np.float64)
    for name, value in (("n", n), ("burn_in", burn_in)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    if not noise_std >= 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std!r}")
    p = phi.shape[0]
    eps = noise_std * rng.standard_normal(burn_in + n)  # (burn_in + n,)
    y = np.zeros(p + burn_in + n)  # (p + burn_in + n,): p zeros before the start
    for t in range(p, p + burn_in + n):
        # y_t = c + phi . [y_{t-1}, ..., y_{t-p}] + eps_t
        y[t] = c + phi @ y[t - p : t][::-1] + eps[t - p]
    return y[p + burn_in :]  # (n,)
