"""Parity with statsmodels: the reference AR(p) model agrees with ``AutoReg``, which we did not write.

``statsmodels.tsa.ar_model.AutoReg(y, lags=p, trend="c")`` fits the same model by conditional least
squares on the same ``n - p`` rows (it holds back the first ``p`` values, as ``lag_matrix`` does), so
its ``params`` (the constant, then the weights of lags 1..p) must equal ``fit_ar``'s ``(c, phi)`` to
float64 precision, and its out-of-sample dynamic prediction must equal ``forecast``. ``lagmat`` and
``ArmaProcess`` check the lag matrix and the deterministic recursion of ``simulate_ar``.

Needs the ``parity`` extra; skipped without it.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("statsmodels", reason="statsmodels not installed (pip install -e '.[parity]')")

from statsmodels.tsa.ar_model import AutoReg
from statsmodels.tsa.arima_process import ArmaProcess
from statsmodels.tsa.tsatools import lagmat

from tests.support import target
from tests.support.checks import as_array, assert_close

ref01 = target.reference("ex01_autoregressive")

RTOL, ATOL = 1e-10, 1e-12

# (name, c, phi, n): stationary AR(p) processes of several orders, short and long samples.
PROCESSES = [
    ("ar1", 0.5, [0.7], 40),
    ("ar2", -1.0, [0.5, -0.3], 200),
    ("ar3", 2.0, [0.4, 0.2, -0.25], 500),
    ("ar5", 0.1, [0.3, -0.2, 0.15, 0.1, -0.05], 1000),
]


def _series(c: float, phi: list[float], n: int, seed: int) -> np.ndarray:
    return ref01.simulate_ar(c, np.array(phi), n, np.random.default_rng(seed))


def _autoreg(y: np.ndarray, p: int):
    return AutoReg(np.asarray(y, dtype=np.float64), lags=p, trend="c").fit()


@pytest.mark.parametrize(("name", "c", "phi", "n"), PROCESSES, ids=[x[0] for x in PROCESSES])
def test_fit_ar_equals_autoreg(name, c, phi, n):
    """fit_ar's (c, phi) equal statsmodels AutoReg(trend="c") params (const, lag 1, ..., lag p)."""
    y = _series(c, phi, n, seed=len(phi))
    p = len(phi)
    c_hat, phi_hat = ref01.fit_ar(y, p)
    params = _autoreg(y, p).params
    assert isinstance(c_hat, float)
    phi_hat = as_array(phi_hat, "phi", (p,), np.float64)
    assert_close(np.array([c_hat]), params[:1], "c", rtol=RTOL, atol=ATOL)
    assert_close(phi_hat, params[1:], "phi", rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("p", [1, 2, 4])
def test_fit_ar_equals_autoreg_on_a_non_stationary_series(p):
    """On a random walk (no AR model behind it) fit_ar is still exactly AutoReg's least squares."""
    y = np.random.default_rng(10 + p).standard_normal(60).cumsum()
    c_hat, phi_hat = ref01.fit_ar(y, p)
    params = _autoreg(y, p).params
    assert_close(np.r_[c_hat, phi_hat], params, "(c, phi)", rtol=1e-9, atol=1e-11)


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore:The adjusted number of observations")
def test_fit_ar_of_the_smallest_sample_equals_autoreg():
    """With n = 2p + 1 values (p + 1 rows, p + 1 unknowns) both fits interpolate the same rows."""
    p = 3
    y = np.random.default_rng(3).standard_normal(2 * p + 1)
    c_hat, phi_hat = ref01.fit_ar(y, p)
    params = _autoreg(y, p).params
    assert_close(np.r_[c_hat, phi_hat], params, "(c, phi)", rtol=1e-8, atol=1e-10)


def test_fit_ar_on_float32_equals_autoreg_on_the_same_values():
    """A float32 series is fitted in float64: phi (float32) is AutoReg's params rounded to float32."""
    y = _series(1.0, [0.6, -0.2], 300, seed=7).astype(np.float32)
    c_hat, phi_hat = ref01.fit_ar(y, 2)
    params = _autoreg(y, 2).params
    phi_hat = as_array(phi_hat, "phi", (2,), np.float32)
    assert_close(np.array([c_hat]), params[:1], "c", rtol=RTOL, atol=ATOL)
    assert_close(phi_hat, params[1:].astype(np.float32), "phi", rtol=0, atol=0)


@pytest.mark.parametrize(("name", "c", "phi", "n"), PROCESSES, ids=[x[0] for x in PROCESSES])
def test_forecast_equals_autoreg_dynamic_prediction(name, c, phi, n):
    """forecast(y, c, phi, steps) equals AutoReg's out-of-sample dynamic prediction and forecast()."""
    y = _series(c, phi, n, seed=20 + len(phi))
    p, steps = len(phi), 12
    res = _autoreg(y, p)
    c_hat, phi_hat = ref01.fit_ar(y, p)
    ours = as_array(ref01.forecast(y, c_hat, phi_hat, steps), "forecast", (steps,), np.float64)
    assert_close(ours, res.predict(start=n, end=n + steps - 1, dynamic=True), "forecast",
                 rtol=RTOL, atol=ATOL)
    assert_close(ours, res.forecast(steps), "forecast", rtol=RTOL, atol=ATOL)
    # the same model's coefficients fed in from statsmodels give the same path
    theirs = ref01.forecast(y, float(res.params[0]), res.params[1:], steps)
    assert_close(theirs, res.forecast(steps), "forecast with AutoReg's params", rtol=RTOL, atol=ATOL)


def test_predict_next_equals_autoreg_one_step_forecast():
    """predict_next(y, c, phi) equals AutoReg's first out-of-sample prediction."""
    y = _series(0.3, [0.5, 0.25, -0.1], 150, seed=5)
    res = _autoreg(y, 3)
    ours = ref01.predict_next(y, float(res.params[0]), res.params[1:])
    assert isinstance(ours, float)
    assert_close(np.array([ours]), res.forecast(1), "predict_next", rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("p", [1, 3])
def test_lag_matrix_equals_statsmodels_lagmat(p):
    """lag_matrix's X and target equal lagmat(y, p, trim="both", original="sep") (lag 1 first)."""
    y = np.random.default_rng(p).standard_normal(12)
    X, target_ = ref01.lag_matrix(y, p)
    lags, leads = lagmat(y, p, trim="both", original="sep")
    X = as_array(X, "X", (12 - p, p), np.float64)
    target_ = as_array(target_, "target", (12 - p,), np.float64)
    assert_close(X, lags, "X", rtol=0, atol=0)
    assert_close(target_, leads[:, 0], "target", rtol=0, atol=0)


@pytest.mark.parametrize(("c", "phi", "burn_in"), [(2.0, [0.5], 0), (1.0, [0.5, -0.3], 5),
                                                   (-0.5, [0.2, 0.1, -0.4], 30)])
def test_noiseless_simulate_ar_equals_armaprocess_recursion(c, phi, burn_in):
    """simulate_ar with noise_std=0 is the recursion from zeros: ArmaProcess fed a constant c."""
    n = 25
    ours = ref01.simulate_ar(c, np.array(phi), n, np.random.default_rng(0), noise_std=0.0, burn_in=burn_in)
    ours = as_array(ours, "simulate_ar", (n,), np.float64)
    process = ArmaProcess(np.r_[1.0, -np.array(phi)], [1.0])
    theirs = process.generate_sample(burn_in + n, distrvs=lambda size: np.full(size, c), burnin=0)
    assert_close(ours, theirs[burn_in:], "simulate_ar", rtol=RTOL, atol=ATOL)
