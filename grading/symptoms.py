"""Symptoms: what is wrong with a function's output, named without any catalogued mistake.

The grading child calls the learner's function and the reference on the diagnostic inputs and
compares them, output array by output array. A symptom is named only when it is certain:

* a *transform* symptom (a constant factor, a reversal, the right numbers in the wrong places, a
  shift by one, a mask ignored or inverted, an argument ignored for its default, the right values
  in float64 for float32 inputs) holds when the reference's output, so transformed (or the
  reference called with the mask or the argument so changed), equals the learner's within a
  tight tolerance on EVERY diagnostic input, every other output array agreeing with the reference;
* a *fact* symptom (an input changed in place, weights that sum to one over another axis than the
  reference's, a position that sees a later one where the reference's does not) holds when the
  learner's output shows it on some input: it is a mistake by itself.

Only the first symptom found, in :data:`KINDS` order, is reported (as ``[kind, {name: value}]``;
the parent words it, see ``grading.diagnosis``). Without reference code (a student release) only
an input changed in place is named. Fingerprints keep priority: a symptom is shown only when no
catalogued mistake matched.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from grading.fingerprint import leaves

KINDS = ("in_place", "mask_ignored", "mask_inverted", "ignored_argument", "upcast", "inverted", "future",
         "factor", "reversed", "reorder", "shift", "axis")
RTOL = 1e-6  # float64; float32 outputs get FLOAT32_RTOL
FLOAT32_RTOL = 2e-5
# the width names the contract gives each argument's last axis (else "<arg>.shape[-1]")
WIDTHS = {"Q": "d_k", "K": "d_k", "V": "d_v", "X": "D", "x": "D", "x_q": "D", "x_kv": "D", "Y": "d_k"}
Symptom = list[Any]  # [kind, {name: text}]


def _arrays(value: Any) -> list[np.ndarray] | None:
    """The output's numeric arrays, or None when some leaf is not a number or an array."""
    out = []
    for leaf in leaves(value):
        if not isinstance(leaf, np.ndarray | float | int | np.generic) or isinstance(leaf, str):
            return None
        out.append(np.asarray(leaf))
    return out


def close(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal shapes and values within the tight tolerance of the less precise dtype."""
    if a.shape != b.shape or a.dtype.kind not in "fiub" or b.dtype.kind not in "fiub":
        return False
    x, y = a.astype(np.float64), b.astype(np.float64)
    rtol = FLOAT32_RTOL if np.float32 in (a.dtype, b.dtype) else RTOL
    scale = max(float(np.nanmax(np.abs(y), initial=0.0)), 1e-12)
    same_nan = np.array_equal(np.isnan(x), np.isnan(y))
    return same_nan and bool(np.all(np.abs(np.nan_to_num(x - y)) <= rtol * scale))


def _call(fn: Callable[..., Any], args: tuple) -> Any:
    try:
        with np.errstate(all="ignore"):
            return fn(*copy.deepcopy(args))
    except Exception:
        return None


def _changed_argument(fn: Callable[..., Any], names: list[str], args: tuple) -> str | None:
    given, saved = copy.deepcopy(args), copy.deepcopy(args)
    try:
        with np.errstate(all="ignore"):
            fn(*given)
    except Exception:
        return None
    for name, a, b in zip(names, given, saved, strict=False):
        if isinstance(b, np.ndarray) and not (a.shape == b.shape and np.array_equal(a, b, equal_nan=True)):
            return name
    return None


class Case:
    """One diagnostic input: the learner's and the reference's outputs, as lists of arrays."""

    def __init__(self, fn: Callable[..., Any], ref: Callable[..., Any], names: list[str], args: tuple):
        self.fn, self.ref, self.names, self.args = fn, ref, names, args
        self.mine, self.theirs = _arrays(_call(fn, args)), _arrays(_call(ref, args))

    @property
    def usable(self) -> bool:
        return (self.mine is not None and self.theirs is not None
                and len(self.mine) == len(self.theirs))

    def equal(self, i: int) -> bool:
        return self.mine[i].dtype == self.theirs[i].dtype and close(self.mine[i], self.theirs[i])

    def widths(self) -> Iterator[tuple[str, int]]:
        """(name, size) of each array argument's last axis."""
        for name, a in zip(self.names, self.args, strict=False):
            if isinstance(a, np.ndarray) and a.ndim and a.dtype.kind == "f":
                yield WIDTHS.get(name, f"{name}.shape[-1]"), a.shape[-1]


# -- transform symptoms: T(reference) == learner on every input -------------------------------------
def _factor_of(mine: np.ndarray, theirs: np.ndarray) -> float | None:
    if mine.shape != theirs.shape or theirs.dtype.kind != "f" or not np.all(np.isfinite(theirs)):
        return None
    denominator = float(np.sum(theirs.astype(np.float64) ** 2))
    if denominator < 1e-12:
        return None
    c = float(np.sum(mine.astype(np.float64) * theirs) / denominator)
    return c if close(mine, c * theirs) else None


def _factor_names(case: Case) -> list[tuple[str, float]]:
    """The factors a learner's slip can make, by name: the widths first, then small constants."""
    named = []
    for name, n in case.widths():
        if n > 1:
            named += [(f"sqrt({name})", math.sqrt(n)), (f"1/sqrt({name})", 1 / math.sqrt(n)),
                      (name, float(n)), (f"1/{name}", 1 / n)]
    return [*named, ("2", 2.0), ("1/2", 0.5), ("-1", -1.0)]


def _factor(cases: list[Case], i: int) -> dict[str, str] | None:
    """The factor (named when recognisable) by which output ``i`` differs on every input."""
    factors = [_factor_of(c.mine[i], c.theirs[i]) for c in cases]
    if None in factors or all(abs(f - 1) < 1e-9 for f in factors):
        return None
    candidates = [dict(_factor_names(c)) for c in cases]
    for name in candidates[0]:
        if all(name in cs and math.isclose(cs[name], f, rel_tol=1e-5)
               for cs, f in zip(candidates, factors, strict=True)):
            return {"factor": name}
    return None  # a factor with no name says nothing a learner can act on


def _reorder(cases: list[Case], i: int) -> dict[str, str] | None:
    """Output ``i`` holds the reference's numbers, in other places (distinct numbers only)."""
    for c in cases:
        a, b = c.mine[i], c.theirs[i]
        if a.size != b.size or b.dtype.kind != "f" or sorted(a.shape) != sorted(b.shape):
            return None
        if np.unique(np.round(b, 9)).size < max(4, b.size // 2):
            return None
        if not close(np.sort(a.ravel()), np.sort(b.ravel())):
            return None
    return {} if any(not close(c.mine[i], c.theirs[i]) for c in cases) else None


def _reversed(cases: list[Case], i: int) -> dict[str, str] | None:
    """Output ``i`` is the reference's reversed along one axis, on every input."""
    ndims = {c.theirs[i].ndim for c in cases}
    if len(ndims) != 1:
        return None
    for axis in range(-ndims.pop(), 0):
        if all(c.mine[i].shape == c.theirs[i].shape and close(c.mine[i], np.flip(c.theirs[i], axis))
               for c in cases) and any(not close(c.mine[i], c.theirs[i]) for c in cases):
            return {"axis": str(axis)}
    return None


def _shift(cases: list[Case], i: int) -> dict[str, str] | None:
    """Output ``i`` is the reference's shifted by one position along one axis, on every input."""
    ndims = {c.theirs[i].ndim for c in cases}
    if len(ndims) != 1:
        return None
    for axis in range(-ndims.pop(), 0):
        for step in (1, -1):
            if all(_shifted(c.mine[i], c.theirs[i], axis, step) for c in cases) \
                    and any(not _shifted(c.theirs[i], c.theirs[i], axis, step) for c in cases):
                return {"axis": str(axis), "step": "+1" if step < 0 else "-1"}
    return None


def _shifted(a: np.ndarray, b: np.ndarray, axis: int, step: int) -> bool:
    """``a[t] == b[t - step]`` wherever both exist (and the axis is long enough to show it)."""
    if a.shape != b.shape or b.shape[axis] < 3:
        return False
    n = b.shape[axis]
    later, earlier = (slice(1, n), slice(0, n - 1)) if step == 1 else (slice(0, n - 1), slice(1, n))
    return close(np.take(a, range(n)[later], axis=axis), np.take(b, range(n)[earlier], axis=axis))


def _inverted(cases: list[Case], i: int) -> dict[str, str] | None:
    if all(c.theirs[i].dtype == bool and c.mine[i].shape == c.theirs[i].shape
           and np.array_equal(c.mine[i], ~c.theirs[i]) for c in cases):
        return {}
    return None


def _upcast(cases: list[Case], i: int) -> dict[str, str] | None:
    """Output ``i`` has the reference's values, in float64 where the reference's is float32."""
    if all(close(c.mine[i], c.theirs[i]) for c in cases) and any(
            c.theirs[i].dtype == np.float32 and c.mine[i].dtype == np.float64 for c in cases):
        return {}
    return None


OUTPUT_TRANSFORMS = {"upcast": _upcast, "inverted": _inverted, "factor": _factor, "reversed": _reversed,
                     "reorder": _reorder, "shift": _shift}


def _transformed(cases: list[Case], kind: str) -> dict[str, str] | None:
    """The transform ``kind`` explains every output array that differs from the reference's."""
    found: dict[str, str] | None = None
    for i in range(len(cases[0].theirs)):
        if all(c.equal(i) for c in cases):
            continue
        params = OUTPUT_TRANSFORMS[kind](cases, i)
        if params is None:
            return None
        found = found or {**params, "output": str(i + 1)}
    return found


def _masks(c: Case) -> list[str]:
    """The names of the boolean mask arguments this input gives."""
    return [name for name, a in zip(c.names, c.args, strict=False)
            if "mask" in name.lower() and isinstance(a, np.ndarray) and a.dtype == bool]


def _with_masks(c: Case, names: list[str], change: Callable[[np.ndarray], Any]) -> list[np.ndarray] | None:
    """The reference's output with the mask arguments ``names`` changed."""
    args = [change(a) if name in names else a for name, a in zip(c.names, c.args, strict=False)]
    return _arrays(_call(c.ref, (*args, *c.args[len(args):])))


def _mask_changed(cases: list[Case], names: list[str], change: Callable[[np.ndarray], Any]) -> bool:
    """The learner's whole output is the reference's given the masks ``names`` changed, on every
    input that has them, and differs from the reference's on one of them."""
    with_mask = [c for c in cases if set(names) <= set(_masks(c))]
    if not with_mask or all(all(c.equal(i) for i in range(len(c.theirs))) for c in with_mask):
        return False
    for c in with_mask:
        expected = _with_masks(c, names, change)
        if expected is None or len(expected) != len(c.mine) or not all(
                a.dtype == b.dtype and close(a, b) for a, b in zip(c.mine, expected, strict=True)):
            return False
    return True


def _mask_symptom(cases: list[Case]) -> Symptom | None:
    """A mask argument (or all of them) ignored, or one inverted."""
    masks = list(dict.fromkeys(name for c in cases for name in _masks(c)))
    choices = [[m] for m in masks] + ([masks] if len(masks) > 1 else [])
    for kind, change in (("mask_ignored", np.ones_like), ("mask_inverted", np.logical_not)):
        for names in choices:
            if _mask_changed(cases, names, change):
                return [kind, {"argument": ", ".join(names)}]
    return None


def _defaults(fn: Callable[..., Any]) -> dict[int, tuple[str, Any]]:
    """Position -> (name, default) of each parameter with a default other than None."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return {}
    return {k: (p.name, p.default) for k, p in enumerate(params)
            if p.default is not inspect.Parameter.empty and p.default is not None}


def _ignored_argument(cases: list[Case]) -> Symptom | None:
    """The learner's whole output is the reference's given an argument's default instead of the
    value passed, on every input that passes another value, and differs from the reference's."""
    for k, (name, default) in _defaults(cases[0].ref).items():
        given = [c for c in cases if len(c.args) > k and not np.array_equal(c.args[k], default)]
        if not given or all(all(c.equal(i) for i in range(len(c.theirs))) for c in given):
            continue
        if all((expected := _arrays(_call(c.ref, (*c.args[:k], default, *c.args[k + 1:])))) is not None
               and len(expected) == len(c.mine)
               and all(a.dtype == b.dtype and close(a, b) for a, b in zip(c.mine, expected, strict=True))
               for c in given):
            return ["ignored_argument", {"argument": name, "default": repr(default)}]
    return None


# -- fact symptoms: the learner's output shows a mistake on some input -------------------------------
def _sums_to_one(a: np.ndarray, axis: int) -> bool:
    """Every slice along ``axis`` that is not all zero sums to one (and none is negative)."""
    if a.dtype.kind != "f" or a.ndim < 2 or a.shape[axis] < 2 or not np.all(np.isfinite(a)) or np.any(a < 0):
        return False
    sums = a.astype(np.float64).sum(axis=axis)
    used = np.abs(a).sum(axis=axis) > 0
    return bool(used.any() and np.allclose(sums[used], 1.0, rtol=0, atol=1e-5))


def _axis(cases: list[Case]) -> dict[str, str] | None:
    for c in cases:
        for i, (a, b) in enumerate(zip(c.mine, c.theirs, strict=True)):
            if a.shape != b.shape or a.ndim < 2:
                continue
            right = next((ax for ax in (-1, -2) if _sums_to_one(b, ax)), None)
            wrong = next((ax for ax in (-1, -2) if ax != right and _sums_to_one(a, ax)), None)
            if right is not None and wrong is not None and not _sums_to_one(a, right):
                return {"output": str(i + 1), "wrong": str(wrong), "right": str(right)}
    return None


def _future(cases: list[Case]) -> dict[str, str] | None:
    """A query sees a later key where the reference is causal (zero above the diagonal)."""
    for c in cases:
        for i, (a, b) in enumerate(zip(c.mine, c.theirs, strict=True)):
            if a.shape != b.shape or a.ndim < 2 or a.shape[-1] != a.shape[-2] or a.shape[-1] < 2:
                continue
            above = np.triu(np.ones(a.shape[-2:], dtype=bool), k=1)
            if not np.any(b[..., ~above]) or np.any(b[..., above]):
                continue
            if np.any(np.nan_to_num(a[..., above].astype(np.float64)) != 0):
                return {"output": str(i + 1)}
    return None


FACTS = {"future": _future, "axis": _axis}


def parameter_names(fn: Callable[..., Any]) -> list[str]:
    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return []


def symptom(fn: Callable[..., Any], ref: Callable[..., Any], cases: list[tuple]) -> Symptom | None:
    """The first symptom (see the module's docstring) of ``fn`` against ``ref`` on ``cases``."""
    names = parameter_names(fn) or parameter_names(ref)  # the contract's names
    for args in cases:
        if (changed := _changed_argument(fn, names, args)) is not None:
            return ["in_place", {"argument": changed}]
    judged = [Case(fn, ref, names, args) for args in cases]
    if not judged or not all(c.usable for c in judged):
        return None
    if (found := _mask_symptom(judged) or _ignored_argument(judged)) is not None:
        return found
    for kind in KINDS[KINDS.index("upcast"):]:  # after the mask changes
        params = _transformed(judged, kind) if kind in OUTPUT_TRANSFORMS else FACTS[kind](judged)
        if params is not None:
            return [kind, params]
    return None


UNRUNNABLE = ("raises DoesNotReturn", "raises NotStarted")


def observe(fn: Callable[..., Any], ref: Callable[..., Any],
            cases: list[tuple]) -> tuple[list[Any], Symptom | None]:
    """``fn``'s fingerprints on ``cases`` and its symptom (``fn``: a checked function of the target,
    whose ``__wrapped__`` is the learner's own; no symptom for a function that does not return)."""
    from grading.fingerprint import fingerprints_of

    prints = fingerprints_of(fn, cases)
    if any(p[0] in UNRUNNABLE for p in prints):
        return prints, None
    try:
        return prints, symptom(getattr(fn, "__wrapped__", fn), ref, cases)
    except Exception:
        return prints, None


@contextlib.contextmanager
def alone(module: Any, reference: Any, others: list[str]) -> Iterator[None]:
    """Within: ``module``'s functions ``others`` are the reference's, so that a function's
    fingerprints and symptom show its own code, not a broken function it calls (a learner whose
    ``lag_matrix`` is wrong must not be told ``fit_ar`` is). Nothing changes without reference code."""
    from tests.support import target

    saved = {name: module.__dict__[name] for name in others if name in module.__dict__}
    try:
        if not target.replaying():
            for name in saved:
                setattr(module, name, getattr(reference, name))
        yield
    finally:
        for name, value in saved.items():
            setattr(module, name, value)
