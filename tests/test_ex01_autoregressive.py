"""Tests of exercise 01: the AR(p) model (lag matrix, least-squares fit, prediction, forecast, simulation).

Each test's docstring says, in one line, the property it checks; the grader shows it to the
learner when the test fails, with the counterexample and the hint below it.

Statistical tests use data simulated by this file from fixed seeds, and tolerances of six
asymptotic standard errors, which shrink like 1/sqrt(n): a correct fit always passes them, a
biased one (no intercept, reversed lags) fails them by far.

The reference is only called on inputs this file builds; what depends on the target's output
(a simulated series, a forecast) is checked with this file's own helpers, because a release
replays recorded reference outputs and has none for inputs it never saw.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.i18n import message
from tests.support import strategies as S
from tests.support import target
from tests.support.checks import as_array, assert_close, assert_equal, assert_finite, raises_value_error

ex01 = target.module("ex01_autoregressive")
ref01 = target.reference("ex01_autoregressive")

# A well-conditioned stationary AR(2) and AR(3) whose coefficients all differ (reversing them shows).
C2, PHI2 = 2.0, np.array([0.5, -0.3])
C3, PHI3 = -1.0, np.array([0.6, -0.3, 0.2])
PHI_EX = np.array([0.5, 0.25])


# ---------------------------------------------------------------- helpers (independent of the target)

def _lags(y: np.ndarray, p: int) -> np.ndarray:
    """The lag matrix by its definition: X[i, k] = y[p + i - 1 - k]."""
    return np.array([[y[t - 1 - k] for k in range(p)] for t in range(p, len(y))], dtype=y.dtype)


def _simulate(c: float, phi: np.ndarray, n: int, seed: int, sigma: float = 1.0, burn_in: int = 200):
    """An AR(p) series of length n from zeros, noise sigma * N(0, 1) from default_rng(seed)."""
    eps = sigma * np.random.default_rng(seed).standard_normal(burn_in + n)
    coef = [float(f) for f in phi]
    y = [0.0] * len(coef)
    for e in eps:
        y.append(c + sum(f * y[-1 - k] for k, f in enumerate(coef)) + e)
    return np.array(y[len(coef) + burn_in:])


def _predict(history: np.ndarray, c: float, phi: np.ndarray) -> float:
    """The one-step prediction by its definition: c + sum_k phi[k] * history[-1 - k]."""
    return c + sum(float(phi[k]) * float(history[-1 - k]) for k in range(len(phi)))


def _ols(y: np.ndarray, p: int) -> tuple[float, np.ndarray]:
    """Least squares of y[p:] on [1, lags]: this file's own fit, for data the target produced."""
    coef, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(y) - p), _lags(y, p)]), y[p:], rcond=None)
    return float(coef[0]), coef[1:]


def _recursion(c: float, phi: np.ndarray, length: int) -> np.ndarray:
    """The noiseless recursion y_t = c + sum_k phi_k y_{t-1-k}, from zeros, ``length`` values."""
    y = [0.0] * len(phi)
    for _ in range(length):
        y.append(c + sum(float(f) * y[-1 - k] for k, f in enumerate(phi)))
    return np.array(y[len(phi):])


def _recursion_from(history: np.ndarray, c: float, phi: np.ndarray, steps: int) -> np.ndarray:
    """The forecast by its definition, in float64: each prediction appended to the history."""
    y = [float(v) for v in history]
    for _ in range(steps):
        y.append(_predict(np.array(y), c, phi))
    return np.array(y[len(history):])


def _companion(phi: np.ndarray) -> np.ndarray:
    p = len(phi)
    A = np.zeros((p, p))
    A[0] = phi
    A[1:, :-1] = np.eye(p - 1)
    return A


def _standard_errors(c: float, phi: np.ndarray, sigma: float, rows: int) -> np.ndarray:
    """Asymptotic standard errors of the OLS estimates (c, phi_1, ..., phi_p) from ``rows`` rows.

    The lag vector has mean mu = c / (1 - sum phi) and covariance S solving S = A S A^T + sigma^2 e1 e1^T
    (A the companion matrix); the estimates have covariance sigma^2 M^-1 / rows with M = E[[1, x][1, x]^T].
    """
    p = len(phi)
    A = _companion(phi)
    Q = np.zeros((p, p))
    Q[0, 0] = sigma**2
    S = np.linalg.solve(np.eye(p * p) - np.kron(A, A), Q.ravel()).reshape(p, p)
    mu = c / (1.0 - phi.sum())
    M = np.empty((p + 1, p + 1))
    M[0, 0] = 1.0
    M[0, 1:] = M[1:, 0] = mu
    M[1:, 1:] = S + mu**2
    return np.sqrt(np.diag(sigma**2 * np.linalg.inv(M)) / rows)


def _scalar(value, name: str) -> float:
    """``value`` as a float, after checking that it is one real number."""
    if np.ndim(value) != 0 or not np.isreal(value):
        raise AssertionError(message("{name} should be one real number, got {value}", name=name,
                                     value=repr(value)))
    return float(value)


# ---------------------------------------------------------------- strategies

@st.composite
def stationary_ar(draw, min_p: int = 2, max_p: int = 3, max_modulus: float = 0.8):
    """``(c, phi)`` of a stationary AR(p): the roots of z^p - phi_1 z^(p-1) - ... - phi_p lie within
    ``max_modulus`` of the origin (real roots or complex pairs), so the series forgets its start."""
    p = draw(st.integers(min_p, max_p))
    roots: list[complex] = []
    while len(roots) < p:
        if p - len(roots) >= 2 and draw(st.booleans()):
            r = draw(st.floats(0.2, max_modulus))
            angle = draw(st.floats(0.3, 2.8))
            roots += [r * np.exp(1j * angle), r * np.exp(-1j * angle)]
        else:
            roots.append(draw(st.floats(-max_modulus, max_modulus)))
    phi = -np.real(np.poly(roots))[1:]
    assert np.abs(np.linalg.eigvals(_companion(phi))).max() < 1.0  # stationary
    c = draw(st.floats(0.5, 3.0)) * draw(st.sampled_from([1.0, -1.0]))
    return c, phi


@st.composite
def series(draw, min_extra: int = 1, max_len: int = 14):
    """``(y, p)``: a seeded random series (float32 or float64) with at least p + min_extra values."""
    p = draw(st.integers(1, 4))
    n = draw(st.integers(p + min_extra, max(max_len, p + min_extra)))
    dtype = draw(S.float_dtypes)
    offset = draw(st.sampled_from([0.0, 3.0, -20.0]))
    y = (offset + 2.0 * S.rng(draw(S.seeds)).standard_normal(n)).astype(dtype)
    return y, p


@st.composite
def histories(draw, dtype=np.float64):
    """``(history, c, phi)``: p in 2..4 and a history longer than p, so the oldest values differ."""
    gen = S.rng(draw(S.seeds))
    p = draw(st.integers(2, 4))
    n = draw(st.integers(p, p + 4))
    history = gen.uniform(-5, 5, n).astype(dtype)
    phi = gen.uniform(-0.6, 0.6, p).astype(dtype)
    return history, float(np.round(gen.uniform(-2, 2), 3)), phi


# ---------------------------------------------------------------- lag_matrix

def test_lag_matrix_example():
    """Row t of the lag matrix is [y[t-1], ..., y[t-p]], most recent first, and target = y[p:].

    Hint: the first column is the value just before the target, the last column the oldest one.
    """
    y = np.array([0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    X, target_ = ex01.lag_matrix(y, 3)
    X = as_array(X, "X", (4, 3), np.float64)
    expected = np.array([[2.0, 1.0, 0.5], [4.0, 2.0, 1.0], [8.0, 4.0, 2.0], [16.0, 8.0, 4.0]])
    assert_equal(X, expected, message("X of lag_matrix(y, 3)"))
    assert_equal(as_array(target_, "target", (4,), np.float64), y[3:],
                 message("target of lag_matrix(y, 3)"))


@given(series())
def test_lag_matrix_definition(case):
    """lag_matrix(y, p) gives X[i, k] = y[p + i - 1 - k] and target = y[p:], in y's dtype.

    Hint: row i holds the p values just before target[i], newest first (y[p + i - 1] down to y[i]); build X
    from y itself so a float32 y gives a float32 X.
    """
    y, p = case
    n = len(y)
    X, target_ = ex01.lag_matrix(y, p)
    X = as_array(X, message("X of lag_matrix(y, p={p}) for n={n}", p=p, n=n), (n - p, p), y.dtype)
    target_ = as_array(target_, message("target of lag_matrix(y, p={p})", p=p), (n - p,), y.dtype)
    assert_equal(X, _lags(y, p), message("X of lag_matrix(y, p={p})", p=p))
    assert_equal(target_, y[p:], message("target of lag_matrix(y, p={p})", p=p))


def test_lag_matrix_with_one_row():
    """With exactly p + 1 values the lag matrix has a single row: the p first values, newest first.

    Hint: with n = p + 1 there is one target, y[p], and one row of lags before it: check that your rows run
    over t = p, ..., n - 1, which gives n - p rows.
    """
    y = np.array([1.0, 2.0, 3.0])
    X, target_ = ex01.lag_matrix(y, 2)
    X = as_array(X, "X", (1, 2), np.float64)
    assert_equal(X, np.array([[2.0, 1.0]]),
                 message("X of lag_matrix([1, 2, 3], 2)"))
    assert_equal(as_array(target_, "target", (1,), np.float64), np.array([3.0]), "target")


@given(series())
def test_lag_matrix_returns_new_arrays(case):
    """lag_matrix returns new arrays: neither X nor target shares memory with y.

    Hint: y[p:] and a sliding window of y are views of y: copy them (.copy()) before returning.
    """
    y, p = case
    X, target_ = ex01.lag_matrix(y, p)
    for name, part in (("X", X), ("target", target_)):
        if np.shares_memory(part, y):
            raise AssertionError(message("{name} of lag_matrix(y, p={p}) is a view of y: return a new array",
                                         name=name, p=p))


@pytest.mark.parametrize(("y", "p", "name"), [
    (np.arange(8.0), 0, "p"),
    (np.arange(8.0), -2, "p"),
    (np.arange(3.0), 3, "y"),
    (np.arange(8.0).reshape(2, 4), 1, "y"),
    (np.arange(8.0), 1.5, "p"),
], ids=["p=0", "p<0", "too-short", "2-D", "p=1.5"])
def test_lag_matrix_bad_arguments_raise(y, p, name):
    """lag_matrix raises ValueError when p < 1, or when y is not 1-D or has <= p values.

    Hint: check the arguments before building anything: p must be an integer >= 1, and y must be 1-D with at
    least p + 1 values; the message names the bad argument.
    """
    with raises_value_error(name):
        ex01.lag_matrix(y, p)


# ---------------------------------------------------------------- fit_ar

@given(st.integers(1, 4), st.integers(0, 8), S.float_dtypes, S.seeds)
def test_fit_ar_shapes_and_dtypes(p, extra, dtype, seed):
    """fit_ar returns a number c and phi of shape [p] in y's dtype (float32 stays float32).

    Hint: return c as a Python float and phi in y's dtype: a design with a column of np.ones is float64, so
    cast phi back after solving.
    """
    y = (1.0 + S.rng(seed).standard_normal(2 * p + 1 + extra)).astype(dtype)
    c, phi = ex01.fit_ar(y, p)
    assert_finite(np.array(_scalar(c, "c")), "c")
    assert_finite(as_array(phi, message("phi of fit_ar(y, p={p})", p=p), (p,), dtype), "phi")


@given(st.integers(1, 4), st.integers(0, 6), S.seeds, st.sampled_from([0.0, 5.0, -40.0]))
def test_fit_ar_solves_the_normal_equations(p, extra, seed, offset):
    """The residuals of fit_ar sum to zero and are orthogonal to every lag column (least squares with
    an intercept), down to the fewest values possible, n = 2p + 1.

    Hint: regress y[p:] on the columns [1, y_{t-1}, ..., y_{t-p}], e.g. with np.linalg.lstsq.
    """
    y = offset + 3.0 * S.rng(seed).standard_normal(2 * p + 1 + extra)
    c, phi = ex01.fit_ar(y, p)
    c = _scalar(c, "c")
    phi = as_array(phi, "phi", (p,), np.float64)
    design = np.column_stack([np.ones(len(y) - p), _lags(y, p)])
    residual = y[p:] - design @ np.concatenate([[c], phi])
    scale = np.linalg.norm(design) * np.linalg.norm(y[p:])
    assert_close(design.T @ residual / scale, np.zeros(p + 1),
                 message("[sum of residuals, residuals . each lag column] / scale"), atol=1e-10)


@given(st.integers(1, 4), st.integers(0, 20), S.seeds)
def test_fit_ar_matches_reference(p, extra, seed):
    """fit_ar gives the reference's c and phi on random series.

    Hint: solve least squares on the design [1, X] with X, target = lag_matrix(y, p): c is the weight of the
    column of ones and phi the rest, phi[0] for the newest lag.
    """
    y = 1.5 + S.rng(seed).standard_normal(2 * p + 1 + extra)
    c, phi = ex01.fit_ar(y, p)
    ref_c, ref_phi = ref01.fit_ar(y, p)
    assert_close(np.array(_scalar(c, "c")), np.array(ref_c), "c", rtol=1e-6, atol=1e-8)
    assert_close(as_array(phi, "phi", (p,), np.float64), ref_phi, "phi", rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(("c_true", "phi_true", "n"), [(C2, PHI2, 500), (C2, PHI2, 8000), (C3, PHI3, 3000)],
                         ids=["AR(2) n=500", "AR(2) n=8000", "AR(3) n=3000"])
def test_fit_ar_recovers_a_known_model(c_true, phi_true, n):
    """fit_ar on a long series simulated from a known AR(p) recovers c and phi within 6/sqrt(n).

    Hint: keep the intercept column of ones, and the lags newest first, so phi[0] weighs y[t-1].
    """
    p = len(phi_true)
    y = _simulate(c_true, phi_true, n, seed=p * 1000 + n)
    c, phi = ex01.fit_ar(y, p)
    c = _scalar(c, "c")
    phi = as_array(phi, "phi", (p,), np.float64)
    tol = 6.0 / np.sqrt(n)
    assert_close(phi, phi_true, message("phi fitted on n={n} values of an AR({p}) with phi={phi_true}", n=n,
                                        p=p, phi_true=phi_true),
                 rtol=0.0, atol=tol)
    se_c = _standard_errors(c_true, phi_true, 1.0, n - p)[0]
    assert_close(np.array(c), np.array(c_true),
                 message("c fitted on n={n} values of an AR({p}) with c={c_true}", n=n, p=p, c_true=c_true),
                 rtol=0.0, atol=6.0 * se_c)


@settings(max_examples=10)
@given(stationary_ar(), st.sampled_from([400, 1500, 5000]), S.seeds)
def test_fit_ar_recovers_random_stationary_models(model, n, seed):
    """fit_ar recovers c and phi of random stationary AR(2) and AR(3) models within six standard
    errors, which shrink like 1/sqrt(n).

    Hint: an estimate off by far usually comes from a missing intercept column of ones or from lags ordered
    oldest first: phi[0] must weigh y[t-1].
    """
    c_true, phi_true = model
    p = len(phi_true)
    y = _simulate(c_true, phi_true, n, seed)
    c, phi = ex01.fit_ar(y, p)
    got = np.concatenate([[_scalar(c, "c")], as_array(phi, "phi", (p,), np.float64)])
    tol = 6.0 * _standard_errors(c_true, phi_true, 1.0, n - p)
    err = np.abs(got - np.concatenate([[c_true], phi_true]))
    if not (err <= tol).all():
        raise AssertionError(message("fit on n={n} values of AR({p}) with c={c_true}, phi={phi_true}: got "
                                     "c={got}, phi={got2}; errors {err} exceed six standard errors {tol}",
                                     n=n, p=p, c_true=f"{c_true:.3f}", phi_true=np.round(phi_true, 3),
                                     got=f"{got[0]:.3f}", got2=np.round(got[1:], 3), err=np.round(err, 3),
                                     tol=np.round(tol, 3)))


@pytest.mark.parametrize(("n", "p", "name"), [(20, 0, "p"), (6, 3, "y"), (2, 1, "y")],
                         ids=["p=0", "n=2p", "n=2,p=1"])
def test_fit_ar_bad_arguments_raise(n, p, name):
    """fit_ar raises ValueError, ideally naming `p` when p < 1 and `y` when n < 2p + 1 (too few rows for p + 1
    unknowns).

    Hint: the fit has p + 1 unknowns and n - p rows, so raise a ValueError naming y when n < 2p + 1, and one
    naming p when p < 1.
    """
    with raises_value_error(name):
        ex01.fit_ar(np.random.default_rng(0).standard_normal(n), p)


# ---------------------------------------------------------------- predict_next

def test_predict_next_example():
    """predict_next is c + phi_1 * history[-1] + ... + phi_p * history[-p], a Python float.

    Hint: phi[0] multiplies the newest value history[-1]; values older than p steps are ignored.
    """
    history = np.array([9.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    got = ex01.predict_next(history, 0.5, np.array([0.5, 0.25, -0.125]))
    if not isinstance(got, float):
        raise AssertionError(message("predict_next should return a Python float, got {type}",
                                     type=type(got).__name__))
    if got != pytest.approx(0.5 + 0.5 * 5 + 0.25 * 4 - 0.125 * 3):
        raise AssertionError(message("predict_next gave {got}", got=got))


@given(histories(), S.float_dtypes)
def test_predict_next_definition(case, dtype):
    """predict_next equals c + sum_k phi[k] * history[-1 - k] and returns a Python float, for float32
    and float64 inputs.

    Hint: wrap the result in float(...): a numpy float32 scalar is not a Python float.
    """
    history, c, phi = case
    got = ex01.predict_next(history.astype(dtype), c, phi.astype(dtype))
    if not isinstance(got, float):
        raise AssertionError(message("predict_next should return a Python float, got {type}",
                                     type=type(got).__name__))
    expected = _predict(history.astype(dtype), c, phi.astype(dtype))
    rtol, atol = (1e-5, 1e-5) if dtype == np.float32 else (1e-12, 1e-12)
    assert_close(np.array(got), np.array(expected),
                 message("predict_next(history, c={c}, phi) with p={p}", c=c, p=len(phi)),
                 rtol=rtol, atol=atol)


@pytest.mark.parametrize(("history", "phi", "expected"), [
    (np.array([1.0, 2.0, 4.0]), np.array([0.5, -0.25, 0.125]), 1.0 + 2.0 - 0.5 + 0.125),
    (np.array([4.0]), np.array([0.5]), 3.0),
], ids=["p=3", "p=1"])
def test_predict_next_needs_p_values(history, phi, expected):
    """predict_next works on a history of exactly p values.

    Hint: a history of exactly p values is enough: use its last p values, newest first, and do not require
    more than p.
    """
    got = ex01.predict_next(history, 1.0, phi)
    if got != pytest.approx(expected):
        raise AssertionError(message("predict_next({history}, 1, phi={phi}) gave {got}",
                                     history=history.tolist(), phi=phi.tolist(), got=got))


@pytest.mark.parametrize(("history", "phi", "name"), [
    (np.array([1.0, 2.0]), np.array([0.5, -0.25, 0.125]), "history"),
    (np.arange(6.0).reshape(3, 2), PHI_EX, "history"),
    (np.arange(4.0), np.array([[0.5, 0.25], [0.1, 0.2]]), "phi"),
    (np.arange(4.0), np.array([]), "phi"),
], ids=["short history", "2-D history", "2-D phi", "empty phi"])
def test_predict_next_short_history_raises(history, phi, name):
    """predict_next raises ValueError, ideally naming `history` when it is not 1-D or has fewer than p
    values, and `phi` when it is not a non-empty 1-D array.

    Hint: check phi (a non-empty 1-D array) and history (1-D, at least p = len(phi) values) before computing,
    and name the bad one in the message.
    """
    with raises_value_error(name):
        ex01.predict_next(history, 1.0, phi)


# ---------------------------------------------------------------- forecast

@given(histories(), st.integers(1, 6))
def test_forecast_first_step_is_predict_next(case, steps):
    """The first forecast step equals predict_next on the same history.

    Hint: the first forecast is the one-step prediction from the history as given: c + phi_1 history[-1] + ...
    + phi_p history[-p].
    """
    history, c, phi = case
    f = as_array(ex01.forecast(history, c, phi, steps), "forecast", (steps,), np.float64)
    assert_close(f[:1], np.array([ex01.predict_next(history, c, phi)]),
                 message("forecast[0] versus predict_next"))


@given(histories(), st.integers(2, 7))
def test_forecast_feeds_its_predictions_back(case, steps):
    """Each forecast step is the one-step prediction from the history extended by the earlier forecasts.

    Hint: after each prediction, append it to the window and drop the oldest value.
    """
    history, c, phi = case
    f = as_array(ex01.forecast(history, c, phi, steps), "forecast", (steps,), np.float64)
    expected = np.array([_predict(np.concatenate([history, f[:s]]), c, phi) for s in range(steps)])
    assert_close(f, expected, message("forecast[s] versus predict_next(history + forecast[:s])"))


@given(histories(), st.integers(0, 7))
def test_forecast_matches_reference(case, steps):
    """forecast equals the reference, including steps = 0 (an empty array).

    Hint: each step predicts from the last p values, the forecasts already made included; steps = 0 returns an
    empty array, not an error.
    """
    history, c, phi = case
    f = as_array(ex01.forecast(history, c, phi, steps), f"forecast(steps={steps})", (steps,), np.float64)
    assert_close(f, ref01.forecast(history, c, phi, steps), f"forecast(steps={steps})")


def test_forecast_of_an_ar1_model():
    """forecast with p = 1 repeats y <- c + phi[0] y from the last value: [4, -2, 3], c = 1, phi = [0.5]
    give [2.5, 2.25, 2.125].

    Hint: with p = 1 only the newest value matters: each forecast is c + phi[0] times the previous forecast,
    starting from history[-1].
    """
    f = as_array(ex01.forecast(np.array([4.0, -2.0, 3.0]), 1.0, np.array([0.5]), 3), "forecast", (3,),
                 np.float64)
    assert_close(f, np.array([2.5, 2.25, 2.125]), "forecast([4, -2, 3], c=1, phi=[0.5], steps=3)")


def test_forecast_example():
    """forecast of 4 steps from [1, 2] with c = 1 and phi = [0.5, 0.25] is [2.25, 2.625, 2.875, 3.09375].

    Hint: append each prediction to the history as the newest value before making the next one, and keep
    phi[0] for the newest value.
    """
    f = as_array(ex01.forecast(np.array([1.0, 2.0]), 1.0, PHI_EX, 4), "forecast", (4,), np.float64)
    assert_close(f, np.array([2.25, 2.625, 2.875, 3.09375]),
                 "forecast([1, 2], c=1, phi=[0.5, 0.25], steps=4)")


@given(stationary_ar(max_modulus=0.7), S.seeds)
def test_forecast_converges_to_the_mean(model, seed):
    """A long forecast of a stationary model settles at its mean c / (1 - sum(phi)).

    Hint: if each prediction is fed back as the newest value, the recursion of a stationary model settles at c
    / (1 - sum(phi)); a forecast that stays put is not feeding back.
    """
    c, phi = model
    history = S.rng(seed).uniform(-5, 5, len(phi) + 2)
    f = as_array(ex01.forecast(history, c, phi, 150), "forecast(steps=150)", (150,), np.float64)
    assert_close(f[-1:], np.array([c / (1 - phi.sum())]), message("forecast[149] versus c / (1 - sum(phi))"),
                 rtol=1e-6, atol=1e-6)


@given(histories(np.float32), st.integers(0, 4))
def test_forecast_keeps_float32(case, steps):
    """forecast of a float32 history with float32 phi is float32.

    Hint: allocate the forecasts in the dtype the docstring gives: float32 when history and phi are both
    float32, float64 otherwise.
    """
    history, c, phi = case
    f = as_array(ex01.forecast(history, c, phi, steps),
                 message("forecast of float32 inputs"), (steps,), np.float32)
    expected = ref01.forecast(history.astype(np.float64), c, phi.astype(np.float64), steps)
    assert_close(f, expected, message("forecast of float32 inputs"), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("hdtype", "phi_dtype"), [
    (np.float32, np.float64), (np.float64, np.float32), (np.int64, np.int64), (np.int32, np.float32),
], ids=["float32 history, float64 phi", "float64 history, float32 phi", "integer history and phi",
        "integer history, float32 phi"])
def test_forecast_is_float64_unless_both_are_float32(hdtype, phi_dtype):
    """forecast is float64 unless history and phi are both float32, whatever the dtype of the other.

    Hint: take the dtype of the forecasts from both inputs: np.result_type(history, phi, np.float32).
    """
    history, phi = np.array([3, 1, 2], dtype=hdtype), np.array([1, -1], dtype=phi_dtype)
    f = as_array(ex01.forecast(history, 0.5, phi, 4),
                 message("forecast of a {dtype} history with {dtype2} phi", dtype=np.dtype(hdtype),
                         dtype2=np.dtype(phi_dtype)), (4,), np.float64)
    assert_close(f, _recursion_from(history, 0.5, phi, 4), "forecast([3, 1, 2], c=0.5, phi=[1, -1], steps=4)")


@pytest.mark.parametrize(("history", "steps", "name"), [
    (np.arange(5.0), -1, "steps"),
    (np.array([1.0]), 3, "history"),
    (np.arange(6.0).reshape(3, 2), 0, "history"),
], ids=["steps<0", "short history", "2-D history, steps=0"])
def test_forecast_bad_arguments_raise(history, steps, name):
    """forecast raises ValueError when steps < 0 and when history is not 1-D or shorter than p.

    Hint: check steps (an integer >= 0) and history (1-D with at least p values) before the loop: with steps =
    0 a 2-D history must still raise.
    """
    with raises_value_error(name):
        ex01.forecast(history, 0.0, PHI_EX, steps)


# ---------------------------------------------------------------- simulate_ar

def test_simulate_ar_noiseless_example():
    """With noise_std=0 and burn_in=0 the series is the recursion from zeros: c, c + phi_1 c, ...

    Hint: the values before the start are 0, so y[0] = c and y[1] = c + phi_1 * c.
    """
    y = ex01.simulate_ar(1.0, PHI_EX, 4, np.random.default_rng(0), noise_std=0.0, burn_in=0)
    y = as_array(y, "simulate_ar(c=1, phi=[0.5, 0.25], n=4, noise_std=0, burn_in=0)", (4,), np.float64)
    assert_close(y, np.array([1.0, 1.5, 2.0, 2.375]),
                 "simulate_ar(c=1, phi=[0.5, 0.25], noise_std=0, burn_in=0)")


def test_simulate_ar_with_n_zero_is_empty():
    """simulate_ar with n = 0 returns an empty float64 array, whatever the burn-in.

    Hint: y[-0:] is the whole array, not an empty one: slice with y[len(y) - n:] or y[burn_in:].
    """
    y = ex01.simulate_ar(C2, PHI2, 0, np.random.default_rng(0), noise_std=1.0, burn_in=10)
    as_array(y, "simulate_ar(n=0, burn_in=10)", (0,), np.float64)


@given(stationary_ar(max_modulus=0.9), st.integers(0, 8), st.integers(0, 12))
def test_simulate_ar_noiseless_is_the_recursion_after_burn_in(model, n, burn_in):
    """With noise_std=0 simulate_ar returns values burn_in ... burn_in + n - 1 of the recursion from zeros,
    as float64 of shape [n] (empty for n = 0).

    Hint: run burn_in + n steps and return only the last n values.
    """
    c, phi = model
    y = ex01.simulate_ar(c, phi, n, np.random.default_rng(0), noise_std=0.0, burn_in=burn_in)
    y = as_array(y, f"simulate_ar(n={n}, noise_std=0, burn_in={burn_in})", (n,), np.float64)
    assert_close(y, _recursion(c, phi, burn_in + n)[burn_in:],
                 f"simulate_ar(c, phi, n={n}, noise_std=0, burn_in={burn_in})", rtol=1e-9, atol=1e-12)


def test_simulate_ar_noiseless_ar1_example():
    """simulate_ar with p = 1, c = 2, phi = [0.5], noise_std=0, burn_in=1 is [3, 3.5, 3.75, 3.875]
    (the recursion 2, 3, 3.5, ... from a zero start, its first value dropped).

    Hint: start from y_t = 0 for t < 0, run burn_in + n steps of the recursion and drop the first burn_in
    values.
    """
    y = ex01.simulate_ar(2.0, np.array([0.5]), 4, np.random.default_rng(0), noise_std=0.0, burn_in=1)
    y = as_array(y, "simulate_ar(c=2, phi=[0.5], n=4, noise_std=0, burn_in=1)", (4,), np.float64)
    assert_close(y, np.array([3.0, 3.5, 3.75, 3.875]),
                 "simulate_ar(c=2, phi=[0.5], n=4, noise_std=0, burn_in=1)")


def test_simulate_ar_default_burn_in_forgets_the_start():
    """With the default burn-in of 100, a noiseless stationary series already sits at c / (1 - sum(phi)).

    Hint: keep the default burn_in = 100 and run those steps before the n returned ones, so the start from
    zeros is forgotten.
    """
    y = ex01.simulate_ar(C3, PHI3, 5, np.random.default_rng(0), noise_std=0.0)
    y = as_array(y, "simulate_ar(noise_std=0)", (5,), np.float64)
    assert_close(y, np.full(5, C3 / (1 - PHI3.sum())),
                 message("simulate_ar(noise_std=0) after 100 burn-in steps"),
                 rtol=1e-6, atol=1e-6)


def test_simulate_ar_defaults():
    """Leaving out noise_std and burn_in gives the series of their defaults, noise_std=1.0 and burn_in=100.

    Hint: keep the signature of the contract: noise_std: float = 1.0, burn_in: int = 100.
    """
    implicit = ex01.simulate_ar(C2, PHI2, 20, np.random.default_rng(3))
    explicit = ex01.simulate_ar(C2, PHI2, 20, np.random.default_rng(3), noise_std=1.0, burn_in=100)
    assert_equal(as_array(implicit, message("simulate_ar without noise_std and burn_in"), (20,), np.float64),
                 as_array(explicit, "simulate_ar(noise_std=1.0, burn_in=100)", (20,), np.float64),
                 message("simulate_ar without noise_std and burn_in, versus with 1.0 and 100 "
                         "(the same seed)"))


def test_simulate_ar_draws_only_from_rng():
    """simulate_ar is reproducible from its generator: the same seed gives the same series, another seed
    another series.

    Hint: draw the noise with rng.standard_normal (or rng.normal), never with np.random.*.
    """
    runs = [ex01.simulate_ar(C2, PHI2, 30, np.random.default_rng(s), noise_std=1.0, burn_in=5)
            for s in (7, 7, 8)]
    a, b, other = (as_array(r, "simulate_ar", (30,), np.float64) for r in runs)
    assert_equal(b, a, message("simulate_ar with default_rng(7), run twice"))
    if not (np.abs(other - a).max() > 0.1):
        raise AssertionError(message("simulate_ar gave the same series for seeds 7 and 8: use `rng`"))


@pytest.mark.parametrize(("c_true", "phi_true", "sigma"), [(C2, PHI2, 0.5), (C3, PHI3, 3.0)],
                         ids=["AR(2) sigma=0.5", "AR(3) sigma=3"])
def test_simulate_ar_has_the_model_statistics(c_true, phi_true, sigma):
    """A long simulated series has the model's statistics: least squares recovers c and phi, and the
    residuals have standard deviation noise_std.

    Hint: the noise enters the recursion (y_t = c + phi . lags + noise_std * z_t) and is fed back.
    """
    n = 6000
    p = len(phi_true)
    y = ex01.simulate_ar(c_true, phi_true, n, np.random.default_rng(11), noise_std=sigma)
    y = as_array(y, f"simulate_ar(n={n})", (n,), np.float64)
    c, phi = _ols(y, p)
    se = _standard_errors(c_true, phi_true, sigma, n - p)
    assert_close(np.concatenate([[c], phi]), np.concatenate([[c_true], phi_true]),
                 message("(c, phi) fitted to simulate_ar(c={c_true}, phi={phi_true}, noise_std={sigma})",
                         c_true=c_true, phi_true=phi_true, sigma=sigma),
                 rtol=0.0, atol=6.0 * se.max())
    residual = y[p:] - c - _lags(y, p) @ phi
    assert_close(np.array(residual.std()), np.array(sigma),
                 message("std of the innovations (noise_std={sigma})", sigma=sigma),
                 rtol=6.0 / np.sqrt(2 * n), atol=0.0)


@settings(max_examples=8)
@given(stationary_ar(), st.sampled_from([0.25, 2.0, 4.0]), S.seeds)
def test_simulate_ar_statistics_of_random_models(model, sigma, seed):
    """simulate_ar of random stationary models: the fitted c and phi lie within six standard errors of
    the true ones and the residual standard deviation within six of noise_std.

    Hint: draw one noise value per step with rng.standard_normal, scale it by noise_std and add it inside the
    recursion, so it is fed back into later values.
    """
    c_true, phi_true = model
    n, p = 3000, len(phi_true)
    y = as_array(ex01.simulate_ar(c_true, phi_true, n, np.random.default_rng(seed), noise_std=sigma),
                 f"simulate_ar(n={n})", (n,), np.float64)
    c, phi = _ols(y, p)
    got = np.concatenate([[c], phi])
    tol = 6.0 * _standard_errors(c_true, phi_true, sigma, n - p)
    err = np.abs(got - np.concatenate([[c_true], phi_true]))
    if not (err <= tol).all():
        raise AssertionError(message("AR({p}) with c={c_true}, phi={phi_true}, noise_std={sigma}: the fit "
                                     "of the simulated series gives c={got}, phi={got2}, off by more than "
                                     "six standard errors {tol}", p=p, c_true=f"{c_true:.3f}",
                                     phi_true=np.round(phi_true, 3), sigma=sigma, got=f"{got[0]:.3f}",
                                     got2=np.round(got[1:], 3), tol=np.round(tol, 3)))
    residual_std = (y[p:] - c - _lags(y, p) @ phi).std()
    if not (abs(residual_std / sigma - 1) < 6.0 / np.sqrt(2 * n)):
        raise AssertionError(message("the innovations of the simulated series have std {residual_std}, "
                                     "expected noise_std={sigma}", residual_std=f"{residual_std:.3f}",
                                     sigma=sigma))


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"n": -1}, "n"), ({"burn_in": -1}, "burn_in"), ({"noise_std": -1.0}, "noise_std"),
], ids=["n<0", "burn_in<0", "noise_std<0"])
def test_simulate_ar_bad_arguments_raise(kwargs, name):
    """simulate_ar raises ValueError, ideally naming `n`, `burn_in` or `noise_std` when it is negative.

    Hint: check n, burn_in and noise_std before simulating: each must be >= 0, and the ValueError's message
    names the one that is not.
    """
    args = {"c": 0.0, "phi": PHI_EX, "n": 5, "rng": np.random.default_rng(0)} | kwargs
    with raises_value_error(name):
        ex01.simulate_ar(**args)


# ---------------------------------------------------------------- diagnostics

def diagnostic_cases() -> dict[str, list[tuple]]:
    """Fixed inputs on which every catalogued mistake of a function gives its own output."""
    g = np.random.default_rng
    return {
        "lag_matrix": [
            (g(0).standard_normal(7), 3),
            (g(1).standard_normal(6).astype(np.float32), 2),
        ],
        "fit_ar": [
            (_simulate(C2, PHI2, 40, seed=2), 2),
            (_simulate(C3, PHI3, 30, seed=3), 3),
        ],
        "predict_next": [
            (g(4).uniform(-5, 5, 6), 0.5, PHI3.copy()),
            (g(5).uniform(-5, 5, 4).astype(np.float32), -1.0, np.array([0.5, -0.25], dtype=np.float32)),
        ],
        "forecast": [
            (g(6).uniform(-5, 5, 6), 0.5, PHI3.copy(), 5),
            (g(7).uniform(-5, 5, 3).astype(np.float32), 1.0, np.array([0.5, -0.25], dtype=np.float32), 4),
        ],
        "simulate_ar": [
            (1.0, PHI2.copy(), 6, g(8), 0.0, 3),
            (0.5, PHI3.copy(), 5, g(9), 0.5, 4),
            (-1.0, PHI2.copy(), 0, g(10), 0.0, 2),
        ],
    }
