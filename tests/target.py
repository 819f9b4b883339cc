"""The one seam between the tests and the code they judge.

Tests never import ``exercises`` or ``solutions`` directly. They ask this module::

    ex05 = target.module("ex05_qkv_attention")      # the code under test
    ref05 = target.reference("ex05_qkv_attention")  # the reference solution

and call functions on those proxies at test time. The target is chosen at run time (``--target``
or the ``COURSE_TARGET`` variable): ``exercises`` (the default), ``solutions``, or any directory
laid out like ``exercises/``. Its files are loaded as one package, so their relative imports
(``from .ex05_qkv_attention import ...``) work wherever the directory is.

Every call through a proxy also checks the contract's "never change an input in place" rule.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import os
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from course.info import ROOT

TARGET_PACKAGE = "_target"
REFERENCE_PACKAGE = "_reference"
ENV_VAR = "COURSE_TARGET"

_dirs: dict[str, Path] = {}


class TargetError(Exception):
    """The target cannot provide what a test asks for (missing file or function)."""


class NotStarted(BaseException):
    """The function still raises ``NotImplementedError``.

    A ``BaseException``, so that hypothesis stops at once instead of shrinking an example that
    cannot matter: a stub fails every test in a few milliseconds.
    """


def resolve(spec: str | os.PathLike[str]) -> Path:
    """``exercises``, ``solutions`` or a path, as an existing directory."""
    text = os.fspath(spec)
    path = ROOT / text if text in ("exercises", "solutions") else Path(text).expanduser()
    path = path.resolve()
    if not path.is_dir():
        raise TargetError(f"target {text!r} is not a directory: pass exercises, solutions or a path")
    return path


def _mount(package: str, directory: Path) -> None:
    """Make ``directory`` importable as ``package`` without running any ``__init__.py`` in it."""
    if _dirs.get(package) == directory and package in sys.modules:
        return
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]
    pkg = types.ModuleType(package, f"Modules under test, loaded from {directory}")
    pkg.__path__ = [str(directory)]
    pkg.__package__ = package
    sys.modules[package] = pkg
    _dirs[package] = directory
    importlib.invalidate_caches()


def set_target(spec: str | os.PathLike[str]) -> Path:
    """Judge the code in ``spec`` from now on; returns its directory."""
    directory = resolve(spec)
    _mount(TARGET_PACKAGE, directory)
    return directory


def target_dir() -> Path:
    if TARGET_PACKAGE not in _dirs:
        set_target(os.environ.get(ENV_VAR, "exercises"))
    return _dirs[TARGET_PACKAGE]


def _import(package: str, name: str) -> types.ModuleType:
    if package == TARGET_PACKAGE:
        target_dir()
    elif package not in _dirs:
        _mount(REFERENCE_PACKAGE, ROOT / "solutions")
    directory = _dirs[package]
    if not (directory / f"{name}.py").is_file():
        raise TargetError(f"{directory / name}.py does not exist: the target must keep the file names")
    return importlib.import_module(f"{package}.{name}")


def _arrays(value: Any, path: str) -> Iterator[tuple[str, np.ndarray]]:
    """Every ndarray inside ``value`` (dataclasses, lists, tuples, dicts), with where it sits."""
    if isinstance(value, np.ndarray):
        yield path, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _arrays(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _arrays(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, item in value.items():
            yield from _arrays(item, f"{path}[{k!r}]")


def _argument_names(fn: Callable[..., Any], args: tuple, kwargs: dict) -> dict[str, Any]:
    try:
        return dict(inspect.signature(fn).bind(*args, **kwargs).arguments)
    except (TypeError, ValueError):
        return {f"argument {i + 1}": a for i, a in enumerate(args)} | kwargs


def checked(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``fn``, failing the test if a call changes any array it was given."""

    def call(*args: Any, **kwargs: Any) -> Any:
        named = _argument_names(fn, args, kwargs)
        before = [(where, arr, copy.deepcopy(arr)) for arg, value in named.items()
                  for where, arr in _arrays(value, arg)]
        try:
            result = fn(*args, **kwargs)
        except NotImplementedError as e:
            raise NotStarted(f"{name} is not implemented yet: {e}") from None
        for where, arr, saved in before:
            if arr.shape != saved.shape or not np.array_equal(arr, saved, equal_nan=True):
                raise AssertionError(
                    f"{name} changed its input `{where}` in place; "
                    "the contract forbids it: compute on a copy or build a new array"
                )
        return result

    call.__name__ = call.__qualname__ = name
    call.__wrapped__ = fn
    return call


class ModuleProxy:
    """Looks functions up in the current target (or the reference) at call time."""

    def __init__(self, package: str, name: str) -> None:
        self._package = package
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        module = _import(self._package, self._name)
        try:
            value = getattr(module, attr)
        except AttributeError:
            raise TargetError(f"{self._name}.py defines no `{attr}`: keep the contract's names") from None
        return checked(value, f"{attr}") if callable(value) else value


def module(name: str) -> ModuleProxy:
    """The module ``name`` of the code under test."""
    return ModuleProxy(TARGET_PACKAGE, name)


def reference(name: str) -> ModuleProxy:
    """The module ``name`` of the reference solutions."""
    return ModuleProxy(REFERENCE_PACKAGE, name)
