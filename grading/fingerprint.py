"""Fingerprints of a function's output, to recognise a catalogued mistake without shipping its code.

A fingerprint is the output's structure (shapes and dtypes, or the exception it raised) and a
random projection of all its numbers onto 16 directions. Two outputs that are equal within a
float32 tolerance have matching fingerprints; different outputs almost surely do not. The
projection keeps a mistake's output from being read back out of a student release.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import numpy as np

DIRECTIONS = 16


def leaves(value: Any) -> list[Any]:
    """The arrays and numbers inside a result: its items, fields, and theirs."""
    if isinstance(value, tuple | list):
        return [leaf for item in value for leaf in leaves(item)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # parameters, caches, states
        return [leaf for f in dataclasses.fields(value) for leaf in leaves(getattr(value, f.name))]
    return [value]


def fingerprint(value: Any) -> list[Any]:
    """``[structure, projection]`` of a function's result (or of the exception it raised)."""
    if isinstance(value, BaseException):
        return [f"raises {type(value).__name__}", []]
    parts, numbers = [], []
    for leaf in leaves(value):
        if not issubclass(type(leaf), np.ndarray | float | int | np.generic):
            parts.append(type(leaf).__name__)
            continue
        arr = np.array(leaf, subok=False)
        parts.append(f"{arr.dtype.name}{list(arr.shape)}")
        if arr.dtype.kind in "fiub":
            numbers.append(arr.astype(np.float64).ravel())
    flat = np.concatenate(numbers) if numbers else np.zeros(0)
    flat = np.where(np.isnan(flat), 1e6, np.clip(flat, -1e6, 1e6))
    basis = np.random.default_rng(flat.size).standard_normal((DIRECTIONS, flat.size))
    return [" ".join(parts), [float(v) for v in basis @ flat]]


def same(a: list[Any], b: list[Any], rtol: float = 1e-3) -> bool:
    """Whether two fingerprints come from the same output, within float32 noise."""
    if a[0] != b[0]:
        return False
    x, y = np.asarray(a[1], dtype=float), np.asarray(b[1], dtype=float)
    if x.shape != y.shape:
        return False
    scale = max(float(np.abs(y).max(initial=0.0)), 1e-6)
    return bool(np.all(np.abs(x - y) <= rtol * scale + 1e-6))


def fingerprints_of(fn: Any, cases: list[tuple]) -> list[list[Any]]:
    """The fingerprint of ``fn`` on each of ``cases`` (argument tuples), or of what it raised.

    Each call gets a fresh copy of its arguments (a generator among them must not carry state
    over), and numpy's global generator is seeded, so code that (wrongly) draws from it repeats.
    """
    return [fingerprint(_call_fresh(fn, args)) for args in cases]


def _call_fresh(fn: Any, args: tuple) -> Any:
    np.random.seed(0)
    try:
        with np.errstate(all="ignore"):
            return fn(*copy.deepcopy(args))
    except BaseException as e:
        return e
