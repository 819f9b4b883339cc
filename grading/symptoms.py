"""Symptoms: what is wrong with a function's output, named without any catalogued mistake.

The grading child calls the learner's function and the reference on the diagnostic inputs and
compares them, output array by output array (an input both reject says nothing and is left out).
A symptom is named only when it is certain:

* a *transform* symptom (a constant factor, a reversal, the right numbers in the wrong places, a
  shift by one, positions missing or extra at one end of an axis, an axis summed away or kept, a
  mask ignored or inverted, an argument ignored for its default, the right values in another
  dtype) holds when the reference's output, so transformed (or the reference called with the
  mask or the argument so changed), equals the learner's within a tight tolerance on EVERY
  diagnostic input, every other output array agreeing with the reference;
* a *mix-up* symptom (two like arguments or parameters swapped, one used where another belongs,
  every layer given the first one's parameters, a bias or a gain left out) holds when the
  reference, called with its arguments so mixed up, gives the learner's outputs (or raises where
  the learner's raises) on EVERY diagnostic input;
* a *fact* symptom (an input changed in place, an input the contract rejects with ValueError
  accepted, weights that sum to one over another axis than the reference's, a position that sees
  a later one where the reference's does not, NaN or infinity where the reference's output is
  finite) holds when the learner's output shows it on some input: it is a mistake by itself.

Only the first symptom found, in :data:`KINDS` order, is reported (as ``[kind, {name: value}]``;
the parent words it, see ``grading.diagnosis``). Without reference code (a student release) only
an input changed in place is named. Fingerprints keep priority: a symptom is shown only when no
catalogued mistake matched.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import inspect
import itertools
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from grading.fingerprint import leaves

KINDS = ("in_place", "accepts", "mask_ignored", "mask_inverted", "ignored_argument", "swapped", "reused",
         "first_item_reused", "left_out", "upcast", "dtype", "inverted", "future", "factor", "reversed",
         "reorder", "shift", "dropped_axis", "kept_axis", "part", "axis", "nonfinite")
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
    with np.errstate(invalid="ignore"):  # inf - inf
        return same_nan and bool(np.all(np.abs(np.nan_to_num(x - y)) <= rtol * scale))


class Raised:
    """What a call that raised returned instead of a value."""

    def __init__(self, error: Exception):
        self.error = error


def _call(fn: Callable[..., Any], args: tuple) -> Any:
    try:
        with np.errstate(all="ignore"):
            return fn(*copy.deepcopy(args))
    except Exception as e:
        return Raised(e)


def _numbers(value: Any) -> list[Any]:
    """The numbers and arrays inside an argument (its items, fields and values, in order), as
    comparable values; a container's length counts too (a list appended to in place)."""
    if isinstance(value, np.ndarray):
        return [(value.shape, value.dtype.str, value.tobytes())] if value.dtype.kind in "fiub" else []
    if isinstance(value, int | float | np.generic) and not isinstance(value, str):
        return [("number", value)]
    if isinstance(value, dict):
        value = list(value.values())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = [getattr(value, f.name) for f in dataclasses.fields(value)]
    if isinstance(value, list | tuple):
        return [("length", len(value)), *(n for item in value for n in _numbers(item))]
    return []  # a generator, a string, a function: not judged


def _changes(fn: Callable[..., Any], names: list[str], args: tuple) -> list[str] | None:
    """The names of the arguments a call of ``fn`` changes in place (None when it raises)."""
    given, saved = copy.deepcopy(args), copy.deepcopy(args)
    try:
        with np.errstate(all="ignore"):
            fn(*given)
    except Exception:
        return None
    return [name for name, a, b in zip(names, given, saved, strict=False) if _numbers(a) != _numbers(b)]


def _changed_argument(fn: Callable[..., Any], ref: Callable[..., Any], names: list[str],
                      args: tuple) -> str | None:
    """An argument ``fn`` changes in place and the reference leaves as it was."""
    mine = _changes(fn, names, args)
    theirs = _changes(ref, names, args) or []
    return next((name for name in mine or [] if name not in theirs), None)


class Case:
    """One diagnostic input: the learner's and the reference's outputs, as lists of arrays."""

    def __init__(self, fn: Callable[..., Any], ref: Callable[..., Any], names: list[str], args: tuple):
        self.fn, self.ref, self.names, self.args = fn, ref, names, args
        self.mine_raw, self.theirs_raw = _call(fn, args), _call(ref, args)
        self.mine, self.theirs = _arrays(self.mine_raw), _arrays(self.theirs_raw)

    @property
    def usable(self) -> bool:
        return (self.mine is not None and self.theirs is not None
                and len(self.mine) == len(self.theirs))

    @property
    def both_raise(self) -> bool:
        """Both raise the same error: the input says nothing about the outputs (an input the contract
        rejects)."""
        return raise_alike(self.mine_raw, self.theirs_raw)

    def equal(self, i: int) -> bool:
        return self.mine[i].dtype == self.theirs[i].dtype and close(self.mine[i], self.theirs[i])

    def widths(self) -> Iterator[tuple[str, int]]:
        """(name, size) of each array argument's last axis."""
        for name, a in zip(self.names, self.args, strict=False):
            if isinstance(a, np.ndarray) and a.ndim and a.dtype.kind == "f":
                yield WIDTHS.get(name, f"{name}.shape[-1]"), a.shape[-1]

    def positions(self) -> Iterator[tuple[str, int]]:
        """(name, count) of each array argument's positions: the product of its axes but the last."""
        for name, a in zip(self.names, self.args, strict=False):
            if isinstance(a, np.ndarray) and a.ndim >= 2 and a.dtype.kind == "f":
                yield f"prod({name}.shape[:-1])", math.prod(a.shape[:-1])


def raise_alike(mine: Any, expected: Any) -> bool:
    """Both calls raised an error of the same type (a reference with no recorded output for an input,
    in a student release, raises one no learner's code raises)."""
    return isinstance(mine, Raised) and isinstance(expected, Raised) \
        and type(mine.error) is type(expected.error)


def agrees(mine: Any, expected: Any) -> bool:
    """Both calls raised the same error, or both returned the same arrays (dtypes included)."""
    if isinstance(mine, Raised) or isinstance(expected, Raised):
        return raise_alike(mine, expected)
    a, b = _arrays(mine), _arrays(expected)
    return a is not None and b is not None and len(a) == len(b) and all(
        x.dtype == y.dtype and close(x, y) for x, y in zip(a, b, strict=True))


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
    for name, n in case.positions():
        if n > 1:
            named += [(name, float(n)), (f"1/{name}", 1 / n)]
    return [*named, ("2", 2.0), ("1/2", 0.5), ("-1", -1.0)]


def _factor(cases: list[Case], i: int) -> dict[str, str] | None:
    """The factor (named when recognisable) by which output ``i`` differs on every input (an input
    whose expected output is all zero, and the learner's too, fits every factor)."""
    cases = [c for c in cases if np.any(c.theirs[i]) or not close(c.mine[i], c.theirs[i])]
    factors = [_factor_of(c.mine[i], c.theirs[i]) for c in cases]
    if not cases:
        return None
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


def _dtype(cases: list[Case], i: int) -> dict[str, str] | None:
    """Output ``i`` has the reference's values in another dtype (float32 made float64 is ``upcast``)."""
    if not all(close(c.mine[i], c.theirs[i]) for c in cases):
        return None
    other = next((c for c in cases if c.mine[i].dtype != c.theirs[i].dtype), None)
    if other is None:
        return None
    return {"dtype": other.mine[i].dtype.name, "expected": other.theirs[i].dtype.name}


REDUCTIONS = {"summed": np.sum, "averaged": np.mean}


def _dropped_axis(cases: list[Case], i: int) -> dict[str, str] | None:
    """Output ``i`` is the reference's summed or averaged over one axis, on every input."""
    ndim = cases[0].theirs[i].ndim
    for how, reduce in REDUCTIONS.items():
        for axis in range(ndim):
            if all(c.theirs[i].ndim == ndim == c.mine[i].ndim + 1 and c.theirs[i].dtype.kind == "f"
                   and close(c.mine[i], reduce(c.theirs[i], axis=axis)) for c in cases):
                return {"how": how, "axis": str(axis)}
    return None


def _kept_axis(cases: list[Case], i: int) -> dict[str, str] | None:
    """The reference's output ``i`` is the learner's summed over one axis, on every input."""
    ndim = cases[0].mine[i].ndim
    for axis in range(ndim):
        if all(c.mine[i].ndim == ndim == c.theirs[i].ndim + 1 and c.mine[i].dtype.kind == "f"
               and close(np.sum(c.mine[i], axis=axis), c.theirs[i]) for c in cases):
            return {"axis": str(axis)}
    return None


def _part_of(a: np.ndarray, b: np.ndarray) -> tuple[str, int, int] | None:
    """(where, count, axis): ``a`` is ``b`` without its first or last ``count`` positions along
    ``axis`` (where "start" or "end"), or (where "last", 1, axis): ``b``'s last position alone."""
    if a.ndim == b.ndim - 1:
        axis = next((k for k in range(b.ndim) if b.shape[:k] + b.shape[k + 1:] == a.shape), None)
        if axis is not None and b.shape[axis] > 1 and close(a, np.take(b, -1, axis=axis)):
            return "last", 1, axis
        return None
    differ = [k for k in range(a.ndim) if a.ndim == b.ndim and a.shape[k] != b.shape[k]]
    if len(differ) != 1 or not 0 < a.shape[differ[0]] < b.shape[differ[0]]:
        return None
    axis, n, m = differ[0], b.shape[differ[0]], a.shape[differ[0]]
    for where, kept in (("end", range(m)), ("start", range(n - m, n))):
        if close(a, np.take(b, kept, axis=axis)):
            return where, n - m, axis
    return None


def _part(cases: list[Case], i: int) -> dict[str, str] | None:
    """Output ``i`` is part of the reference's (``missing``), or the reference's is part of it
    (``extra``): the same positions cut at the same end of the same axis, on every input."""
    for how, pair in (("missing", lambda c: (c.mine[i], c.theirs[i])),
                      ("extra", lambda c: (c.theirs[i], c.mine[i]))):
        found = {_part_of(*pair(c)) for c in cases}
        if len(found) != 1 or None in found:
            continue
        where, count, axis = found.pop()
        if where == "last" and how == "extra":
            return None  # an axis too many, not positions
        return {"how": "only_last" if where == "last" else how, "where": where, "count": str(count),
                "axis": str(axis)}
    return None


OUTPUT_TRANSFORMS = {"upcast": _upcast, "dtype": _dtype, "inverted": _inverted, "factor": _factor,
                     "reversed": _reversed, "reorder": _reorder, "shift": _shift,
                     "dropped_axis": _dropped_axis, "kept_axis": _kept_axis, "part": _part}


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


# -- substitution symptoms: the reference, given arguments or parameters mixed up, == learner ------
MAX_SUBSTITUTIONS = 300  # reference calls tried on the first input, at most: a failing run stays quick
Change = Callable[[tuple], tuple]


def _fields(value: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(value)] if dataclasses.is_dataclass(value) \
        and not isinstance(value, type) else []


def _like(a: Any, b: Any) -> bool:
    """Two values a learner could mix up: arrays of one shape and dtype, or parameters of one type."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and a.dtype.kind == "f"
    return type(a) is type(b) and (bool(_fields(a)) or isinstance(a, float))


def _at(path: tuple, value: Any) -> Any:
    for step in path:
        value = value[step] if isinstance(step, int) else getattr(value, step)
    return value


def _put(args: tuple, path: tuple, value: Any) -> tuple:
    """``args`` (copied where changed) with the value at ``path`` replaced."""
    def put(holder: Any, rest: tuple) -> Any:
        if not rest:
            return value
        step, inner = rest[0], rest[1:]
        if isinstance(step, int):
            items = list(holder)
            items[step] = put(holder[step], inner)
            return type(holder)(items) if isinstance(holder, tuple) else items
        return dataclasses.replace(holder, **{step: put(getattr(holder, step), inner)})
    return put(args, path)


def _name(names: list[str], path: tuple) -> str:
    text = names[path[0]] if path[0] < len(names) else f"argument {path[0] + 1}"
    return text + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in path[1:])


def _holders(args: tuple) -> Iterator[tuple]:
    """The paths of the argument tuple, of each parameters argument (a dataclass) and of the
    parameters within it."""
    yield ()
    for k, a in enumerate(args):
        if _fields(a):
            yield (k,)
            yield from ((k, f) for f in _fields(a) if _fields(getattr(a, f)))


def _mixups(args: tuple, names: list[str]) -> Iterator[tuple[str, dict[str, str], Change]]:
    """Each way to mix up two like values of one holder: swap them, or use one for the other."""
    for holder in _holders(args):
        value = _at(holder, args)
        keys = list(range(len(value))) if holder == () else _fields(value)
        for a_key, b_key in ((a, b) for a in keys for b in keys if a != b):
            a, b = (*holder, a_key), (*holder, b_key)
            if not _like(_at(a, args), _at(b, args)):
                continue
            names_ab = {"a": _name(names, a), "b": _name(names, b)}
            if str(a_key) < str(b_key):
                yield "swapped", names_ab, lambda x, a=a, b=b: _put(_put(x, a, _at(b, x)), b, _at(a, x))
            yield "reused", {"used": names_ab["a"], "instead": names_ab["b"]}, \
                lambda x, a=a, b=b: _put(x, b, _at(a, x))


def _repeated_items(args: tuple, names: list[str]) -> Iterator[tuple[str, dict[str, str], Change]]:
    """A list of parameters whose every item is replaced by its first."""
    for k, a in enumerate(args):
        for f in _fields(a):
            items = getattr(a, f)
            if isinstance(items, list) and len(items) > 1 and all(_like(items[0], it) for it in items):
                path = (k, f)
                yield "first_item_reused", {"items": _name(names, path), "first": _name(names, (*path, 0))}, \
                    lambda x, path=path: _put(x, path, [_at(path, x)[0]] * len(_at(path, x)))


def _left_out(args: tuple, names: list[str]) -> Iterator[tuple[str, dict[str, str], Change]]:
    """One or two vectors of a parameter (a bias, a gain) set to 0 or 1, or three set to 0."""
    for holder in (h for h in _holders(args) if h):
        value = _at(holder, args)
        vectors = [(*holder, f) for f in _fields(value) if isinstance(getattr(value, f), np.ndarray)
                   and getattr(value, f).ndim == 1 and getattr(value, f).dtype.kind == "f"]
        choices = [[(v, 0.0)] for v in vectors] + [[(v, 1.0)] for v in vectors]
        choices += [[(v, x), (w, y)] for i, v in enumerate(vectors) for w in vectors[i + 1:]
                    for x in (0.0, 1.0) for y in (0.0, 1.0)]
        choices += [[(u, 0.0), (v, 0.0), (w, 0.0)] for i, u in enumerate(vectors)
                    for j, v in enumerate(vectors[i + 1:], i + 1) for w in vectors[j + 1:]]
        for choice in choices:
            said = ", ".join(f"{_name(names, v)} = {x:g}" for v, x in choice)
            yield "left_out", {"names": ", ".join(_name(names, v) for v, _ in choice), "values": said}, \
                lambda x, choice=choice: _set_all(x, choice)


def _set_all(args: tuple, choice: list[tuple[tuple, float]]) -> tuple:
    for path, x in choice:
        args = _put(args, path, np.full_like(_at(path, args), x))
    return args


def _substituted(cases: list[Case]) -> Symptom | None:
    """The reference given its arguments or parameters mixed up (two swapped, one used for another,
    every layer given the first's, a bias or gain left out) gives the learner's outputs on every input."""
    differ = [c for c in cases if not agrees(c.mine_raw, c.theirs_raw)]
    if not differ:
        return None
    first, names = differ[0], cases[0].names
    tried = itertools.chain(_mixups(first.args, names), _repeated_items(first.args, names),
                            _left_out(first.args, names))
    for kind, params, change in itertools.islice(tried, MAX_SUBSTITUTIONS):
        try:
            if all(agrees(c.mine_raw, _call(c.ref, change(c.args))) for c in [first, *cases]):
                return [kind, params]
        except (AttributeError, IndexError, TypeError, ValueError):
            continue  # an input of another structure: this change does not apply to it
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


def _nonfinite(cases: list[Case]) -> dict[str, str] | None:
    """An output has NaN or infinite entries where the reference's is finite."""
    for c in cases:
        for i, (a, b) in enumerate(zip(c.mine, c.theirs, strict=True)):
            if a.shape == b.shape and a.dtype.kind == "f" and b.dtype.kind in "fiub" \
                    and np.any(~np.isfinite(a) & np.isfinite(b.astype(np.float64))):
                return {"output": str(i + 1)}
    return None


FACTS = {"future": _future, "axis": _axis, "nonfinite": _nonfinite}


def _described(names: list[str], args: tuple) -> str:
    """A short account of an input: each array's shape, each number's value."""
    parts = [f"{name} of shape {a.shape}" if isinstance(a, np.ndarray) else f"{name}={a!r}"
             for name, a in zip(names, args, strict=False)
             if isinstance(a, np.ndarray) or (isinstance(a, int | float) and not isinstance(a, bool))]
    return ", ".join(parts)


def _accepts(cases: list[Case]) -> Symptom | None:
    """The reference rejects an input with ValueError (the contract's error) and the learner's returns."""
    for c in cases:
        if isinstance(c.theirs_raw, Raised) and isinstance(c.theirs_raw.error, ValueError) \
                and not isinstance(c.mine_raw, Raised):
            return ["accepts", {"input": _described(c.names, c.args)}]
    return None


def parameter_names(fn: Callable[..., Any]) -> list[str]:
    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return []


def symptom(fn: Callable[..., Any], ref: Callable[..., Any], cases: list[tuple]) -> Symptom | None:
    """The first symptom (see the module's docstring) of ``fn`` against ``ref`` on ``cases``."""
    names = parameter_names(fn) or parameter_names(ref)  # the contract's names
    for args in cases:
        if (changed := _changed_argument(fn, ref, names, args)) is not None:
            return ["in_place", {"argument": changed}]
    every = [Case(fn, ref, names, args) for args in cases]
    judged = [c for c in every if not c.both_raise]  # an input both reject says nothing more
    if not judged or (found := _accepts(judged)) is not None:
        return found if judged else None
    usable = [c for c in judged if c.usable]
    if len(usable) == len(judged) and (found := _mask_symptom(judged) or _ignored_argument(judged)):
        return found
    if (found := _substituted(judged)) is not None:
        return found
    for kind in KINDS[KINDS.index("upcast"):]:  # after the changed arguments
        if kind in OUTPUT_TRANSFORMS and len(usable) == len(judged):
            params = _transformed(judged, kind)
        elif kind in FACTS and usable:
            params = FACTS[kind](usable)
        else:
            params = None
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
