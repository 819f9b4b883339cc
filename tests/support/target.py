"""The one seam between the tests and the code they judge.

Tests never import ``exercises`` or ``solutions`` directly. They ask this module::

    ex05 = target.module("ex05_qkv_attention")      # the code under test
    ref05 = target.reference("ex05_qkv_attention")  # the reference solution

and call functions on those proxies at test time. The target is chosen at run time (``--target``
or the ``COURSE_TARGET`` variable): ``exercises`` (the default), ``solutions``, or any directory
laid out like ``exercises/``. Its files are loaded as one package, so their relative imports
(``from .ex05_qkv_attention import ...``) work wherever the directory is.

Every call through a proxy also checks the contract's "never change an input in place" rule, and
stops a call that runs for more than :data:`CALL_SECONDS` of CPU time: a function that never
returns fails its test in seconds, and every later call to it fails at once.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import gzip
import hashlib
import importlib
import inspect
import os
import signal
import sys
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from course.i18n import message
from course.info import REFERENCE_PACKAGE, ROOT, TARGET_PACKAGE

REFERENCE_DATA = ROOT / "tests" / "reference_data.pkl.gz"
RECORD_VAR = "COURSE_RECORD_REFERENCE"

ENV_VAR = "COURSE_TARGET"
# CPU seconds one call of a learner's function may take. The reference's slowest call in the tests
# takes under 0.1 s; a loop-based correct solution stays far below this too.
CALL_SECONDS = 2.0

_dirs: dict[str, Path] = {}


class TargetError(Exception):
    """The target cannot provide what a test asks for (missing file or function)."""


class DoesNotReturn(BaseException):
    """A call ran past :data:`CALL_SECONDS` of CPU time (or an earlier call of the same function did).

    A ``BaseException``, like :class:`NotStarted`: hypothesis must not retry or shrink an input
    on a function that does not return.
    """


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
        raise TargetError(message("target {target} is not a directory: pass exercises, solutions or a path",
                                  target=repr(text)))
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
        raise TargetError(message("{path}.py does not exist: the target must keep the file names",
                                  path=str(directory / name)))
    return importlib.import_module(f"{package}.{name}")


def load_reference() -> None:
    """Import every reference module now (the grader does so before any learner code runs)."""
    solutions = ROOT / "solutions"
    for f in sorted(solutions.glob("ex*.py")):
        _import(REFERENCE_PACKAGE, f.stem)


def load(name: str) -> types.ModuleType:
    """Import the target's module ``name`` now, running its top-level code."""
    return _import(TARGET_PACKAGE, name)


_FIELDS: dict[type, tuple[str, ...] | None] = {}  # a dataclass type's field names; None: not one


def _field_names(value: Any) -> tuple[str, ...] | None:
    """The field names of a dataclass instance, None for anything else (found once per type)."""
    kind = type(value)
    if kind not in _FIELDS:
        _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(kind)) if dataclasses.is_dataclass(kind) \
            and not issubclass(kind, type) else None
    return _FIELDS[kind]


def _parts(value: Any, path: str | None, out: list[tuple[str | None, Any]]) -> list[tuple[str | None, Any]]:
    """Every array and container inside ``value`` (dataclasses, lists, tuples, dicts), in a fixed
    order, with where it sits (None everywhere when ``path`` is: a path is only needed to name a change)."""
    if isinstance(value, np.ndarray):
        out.append((path, value))
    elif (names := _field_names(value)) is not None:
        out.append((path, value))
        for name in names:
            _parts(getattr(value, name), None if path is None else f"{path}.{name}", out)
    elif isinstance(value, list | tuple):
        out.append((path, value))
        for i, item in enumerate(value):
            _parts(item, None if path is None else f"{path}[{i}]", out)
    elif isinstance(value, dict):
        out.append((path, value))
        for k, item in value.items():
            _parts(item, None if path is None else f"{path}[{k!r}]", out)
    return out


def _frozen(part: Any) -> Any:
    """What must not change in a part: an array's bytes (shape and dtype too), or which objects a
    container holds (the objects themselves, compared with ``is``: once the grader's sandbox is
    installed, each call of ``id()`` would raise an audit event)."""
    if isinstance(part, np.ndarray):
        if part.dtype.hasobject:
            return copy.deepcopy(part)
        return part.shape, part.dtype.str, part.tobytes()
    if isinstance(part, dict):
        return list(part), list(part.values())
    if isinstance(part, list | tuple):
        return list(part)
    return [getattr(part, name) for name in _field_names(part) or ()]


def _same_objects(now: list[Any], saved: list[Any]) -> bool:
    return len(now) == len(saved) and all(a is b for a, b in zip(now, saved, strict=True))


def _changed(part: Any, saved: Any) -> bool:
    if isinstance(part, np.ndarray):
        if part.dtype.hasobject:
            return part.shape != saved.shape or not np.array_equal(part, saved)
        return _frozen(part) != saved
    now = _frozen(part)
    if isinstance(part, dict):
        return now[0] != saved[0] or not _same_objects(now[1], saved[1])
    return not _same_objects(now, saved)


_SIGNATURES: dict[Callable[..., Any], inspect.Signature] = {}
# Called after every call of the code under test as (module, function, args, kwargs, error or None):
# tests/support/freedoms.py records there which degrees of freedom of the contract the tests vary.
observers: list[Callable[[str, Callable[..., Any], tuple, dict, BaseException | None], None]] = []
# Called before every call of the code under test as (function, its arguments by name): the grader
# keeps the last call to show a failed test's input when hypothesis found none (grading/calls.py).
callers: list[Callable[[str, dict[str, Any]], None]] = []
_did_not_return: set[str] = set()  # functions stopped by the CPU budget in this process
_budget_armed = False


def _out_of_cpu_time(signum: int, frame: Any) -> None:
    raise DoesNotReturn


def _can_time_calls() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


if _can_time_calls():
    signal.signal(signal.SIGPROF, _out_of_cpu_time)


def _within_budget(fn: Callable[..., Any], name: str, args: tuple, kwargs: dict) -> Any:
    """``fn(*args, **kwargs)``, stopped with :class:`DoesNotReturn` past :data:`CALL_SECONDS` of CPU."""
    global _budget_armed
    if name in _did_not_return:
        raise DoesNotReturn(message("{name} did not return on an earlier call (stopped after {seconds} s of "
                                    "CPU time): find the loop that never ends first", name=name,
                                    seconds=f"{CALL_SECONDS:g}"))
    if _budget_armed or not _can_time_calls():  # a nested call: the outer budget governs
        return fn(*args, **kwargs)
    _budget_armed = True
    signal.setitimer(signal.ITIMER_PROF, CALL_SECONDS)
    try:
        return fn(*args, **kwargs)
    except DoesNotReturn:
        _did_not_return.add(name)
        raise DoesNotReturn(message("{name} did not return within {seconds} s of CPU time (an endless loop, "
                                    "or far too slow for these small inputs)", name=name,
                                    seconds=f"{CALL_SECONDS:g}")) from None
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        _budget_armed = False


def _argument_names(fn: Callable[..., Any], args: tuple, kwargs: dict) -> dict[str, Any]:
    try:
        if fn not in _SIGNATURES:
            _SIGNATURES[fn] = inspect.signature(fn)
        return dict(_SIGNATURES[fn].bind(*args, **kwargs).arguments)
    except (TypeError, ValueError):
        return {f"argument {i + 1}": a for i, a in enumerate(args)} | kwargs


def checked(fn: Callable[..., Any], name: str, module: str = "") -> Callable[..., Any]:
    """``fn``, failing the test if a call changes anything it was given: an array's values, or what
    a list, dict or parameter dataclass holds (an item or a field replaced, a list grown)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        named = _argument_names(fn, args, kwargs)
        for note in callers:
            note(name, named)
        before = [(part, _frozen(part)) for value in named.values() for _, part in _parts(value, None, [])]
        try:
            result = _within_budget(fn, name, args, kwargs)
        except NotImplementedError as e:
            raise NotStarted(message("{name} is not implemented yet: {detail}", name=name,
                                     detail=str(e))) from None
        except Exception as e:
            for observe in observers:
                observe(module, fn, args, kwargs, e)
            raise
        for observe in observers:
            observe(module, fn, args, kwargs, None)
        for i, (part, saved) in enumerate(before):
            if _changed(part, saved):  # the parts before it are unchanged: the same walk finds where it is
                where = [where for arg, value in named.items() for where, _ in _parts(value, arg, [])][i]
                raise AssertionError(message(
                    "{name} changed its input `{where}` in place; the contract forbids it: compute on a copy "
                    "or build a new array", name=name, where=where))
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
        value = self._lookup(attr)
        return checked(value, f"{attr}", self._name) if callable(value) else value

    def _lookup(self, attr: str) -> Any:
        if attr.startswith("_"):  # no function of the contract is private; tools probe such names
            raise AttributeError(attr)
        module = _import(self._package, self._name)
        try:
            return getattr(module, attr)
        except AttributeError:
            raise TargetError(message("{module}.py defines no `{name}`: keep the contract's names",
                                      module=self._name, name=attr)) from None


def _encode(value: Any, out: Any) -> None:
    """Feed a canonical byte encoding of ``value`` to the hash ``out``."""
    if isinstance(value, np.ndarray | np.generic):
        arr = np.asarray(value)
        out.update(f"A{arr.dtype.str}{arr.shape}".encode())
        out.update(np.ascontiguousarray(arr).tobytes())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        out.update(type(value).__name__.encode())
        for f in dataclasses.fields(value):
            _encode(getattr(value, f.name), out)
    elif isinstance(value, list | tuple):
        out.update(f"L{len(value)}".encode())
        for item in value:
            _encode(item, out)
    elif isinstance(value, dict):
        for k in sorted(value):
            out.update(repr(k).encode())
            _encode(value[k], out)
    else:
        out.update(f"{type(value).__name__}:{value!r}".encode())


def call_key(name: str, args: tuple, kwargs: dict) -> str:
    """A stable key for a call: the function and every byte of its arguments."""
    digest = hashlib.sha256(name.encode())
    _encode(args, digest)
    _encode(kwargs, digest)
    return digest.hexdigest()[:32]


class ReferenceData:
    """Recorded reference outputs, for a copy of the course that ships no reference code.

    At release time the suite runs against ``solutions/`` with the derandomised ``grading``
    profile and records every reference call; in the release, the same (derandomised) examples
    are drawn, so each reference call finds its recorded output. An input that was never recorded
    (hypothesis shrinking a failure towards new inputs) is rejected as an example.
    """

    def __init__(self) -> None:
        self.store: dict[str, Any] = {}
        self.recording = bool(os.environ.get(RECORD_VAR))
        if not self.recording and REFERENCE_DATA.is_file():
            import pickle

            with gzip.open(REFERENCE_DATA, "rb") as f:
                self.store = pickle.load(f)

    def save(self, path: Path) -> None:
        import pickle

        with gzip.open(path, "wb", compresslevel=9) as f:
            pickle.dump(self.store, f, protocol=pickle.HIGHEST_PROTOCOL)

    def wrap(self, fn: Callable[..., Any], name: str) -> Callable[..., Any]:
        def record(*args: Any, **kwargs: Any) -> Any:
            key = call_key(name, args, kwargs)
            result = fn(*args, **kwargs)
            self.store[key] = copy.deepcopy(result)
            return result

        return record

    def replay(self, name: str) -> Callable[..., Any]:
        def replay(*args: Any, **kwargs: Any) -> Any:
            key = call_key(name, args, kwargs)
            if key in self.store:
                return copy.deepcopy(self.store[key])
            from hypothesis import reject
            from hypothesis.control import currently_in_test_context

            if currently_in_test_context():
                reject()
            raise TargetError(message("no recorded reference output for this call of {name}: regenerate the "
                                      "release (python grader.py release)", name=name))

        return replay


_reference_data: ReferenceData | None = None


def reference_data() -> ReferenceData:
    global _reference_data
    if _reference_data is None:
        _reference_data = ReferenceData()
    return _reference_data


@functools.cache
def replaying() -> bool:
    """True in a release: no reference code, only recorded reference outputs (a checkout's layout,
    read once per process)."""
    return not any((ROOT / "solutions").glob("ex*.py")) and REFERENCE_DATA.is_file()


class ReferenceProxy(ModuleProxy):
    """The reference: its code when present, else its recorded outputs."""

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        name = f"{self._name}.{attr}"
        if replaying():
            return reference_data().replay(name)
        value = self._lookup(attr)  # trusted code: no check for inputs changed in place
        if callable(value) and reference_data().recording:
            return reference_data().wrap(value, name)
        return value


def module(name: str) -> ModuleProxy:
    """The module ``name`` of the code under test."""
    return ModuleProxy(TARGET_PACKAGE, name)


def reference(name: str) -> ModuleProxy:
    """The module ``name`` of the reference solutions (or its recorded outputs, in a release)."""
    return ReferenceProxy(REFERENCE_PACKAGE, name)
