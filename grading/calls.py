"""The last call a test made to the learner's function, to show a failure that has no smallest input.

Hypothesis reports the smallest input of a failing property; a test on fixed examples reports
none. The grading child records every call through the seam (``tests.support.target.callers``)
and, when such a test fails, the report shows the last call it made: the one that raised, or the
last before the check that failed.

Recording is cheap: an argument is kept, not printed. A small array is copied (the test may
change it afterwards), a large one keeps only its dtype, shape and first values; the text is made
only for a failed test.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

SMALL_ARRAY = 24  # numbers of an array shown in full; a larger one shows its dtype, shape and first values
FIRST_VALUES = 4  # values shown of a larger array
MAX_ITEMS = 4  # items shown of a list, tuple or dict
MAX_ARGUMENT = 240  # characters of one argument
LINE = 100  # a call longer than this shows one argument a line, as hypothesis shows its inputs


@dataclasses.dataclass(frozen=True)
class Summary:
    """A large array: its dtype, shape and first values."""

    dtype: str
    shape: tuple[int, ...]
    first: np.ndarray


@dataclasses.dataclass(frozen=True)
class Fields:
    """A dataclass argument (the parameters of a layer): its type name and its fields, kept."""

    name: str
    fields: tuple[tuple[str, Any], ...]


@dataclasses.dataclass(frozen=True)
class Items:
    """A list, tuple or dict argument: its first items, kept, and how many there are."""

    kind: type
    items: tuple[tuple[Any, Any], ...]
    count: int


def kept(value: Any, depth: int = 0) -> Any:
    """What of ``value`` to keep for printing later, safe from changes made to it afterwards."""
    if isinstance(value, np.ndarray):
        if value.size <= SMALL_ARRAY:
            return value.copy()
        return Summary(value.dtype.name, value.shape, value.reshape(-1)[:FIRST_VALUES].copy())
    if value is None or isinstance(value, bool | int | float | complex | str | np.generic):
        return value
    if depth >= 2:
        return type(value).__name__
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return Fields(type(value).__name__, tuple((f.name, _shape_of(getattr(value, f.name), depth))
                                                  for f in dataclasses.fields(value)))
    if isinstance(value, list | tuple | dict):
        pairs = list(value.items() if isinstance(value, dict) else enumerate(value))[:MAX_ITEMS]
        return Items(type(value) if isinstance(value, dict | list) else tuple,
                     tuple((k, kept(v, depth + 1)) for k, v in pairs), len(value))
    return type(value).__name__


def _shape_of(value: Any, depth: int) -> Any:
    """A field of a dataclass: an array as its dtype and shape only, anything else kept."""
    if isinstance(value, np.ndarray):
        return Summary(value.dtype.name, value.shape, value.reshape(-1)[:0].copy())
    return kept(value, depth + 1)


def _number(x: Any) -> str:
    if isinstance(x, np.bool_ | bool):
        return str(bool(x))
    if isinstance(x, np.integer | int):
        return str(int(x))
    return np.format_float_positional(float(x), precision=4, trim="-") if np.isfinite(x) else str(float(x))


def shown(value: Any) -> str:
    """A kept value as a short text, close to how hypothesis prints an input."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, precision=4, suppress_small=True, separator=", ",
                               threshold=SMALL_ARRAY + 1, prefix="array(", max_line_width=LINE)
        dtype = "" if value.dtype in (np.float64, np.int64, np.bool_) else f", dtype={value.dtype.name}"
        return f"array({text}{dtype})"
    if isinstance(value, Summary):
        first = ", ".join(_number(x) for x in value.first)
        return f"<{value.dtype} array of shape {value.shape}" + (f": {first}, ...>" if first else ">")
    if isinstance(value, Fields):
        return f"{value.name}(" + ", ".join(f"{k}={shown(v)}" for k, v in value.fields) + ")"
    if isinstance(value, Items):
        more = [", ..."] if value.count > len(value.items) else []
        if value.kind is dict:
            return "{" + ", ".join([*(f"{k!r}: {shown(v)}" for k, v in value.items), *more]) + "}"
        inner = ", ".join([*(shown(v) for _, v in value.items), *more])
        return f"[{inner}]" if value.kind is list else f"({inner}{',' if value.count == 1 else ''})"
    if isinstance(value, np.generic):
        return _number(value) if value.shape == () and value.dtype.kind in "biuf" else repr(value)
    return repr(value)


class LastCall:
    """Records the last call through the seam (add it to ``target.callers``); says it on demand."""

    def __init__(self) -> None:
        self.function = ""
        self.arguments: dict[str, Any] = {}

    def __call__(self, function: str, arguments: dict[str, Any]) -> None:
        self.function = function
        self.arguments = {name: kept(value) for name, value in arguments.items()}

    def clear(self) -> None:
        self.function, self.arguments = "", {}

    def said(self) -> str:
        """The call as code, each argument within MAX_ARGUMENT characters; "" when none was made."""
        if not self.function:
            return ""
        parts = []
        for name, value in self.arguments.items():
            text = shown(value)
            text = text if len(text) <= MAX_ARGUMENT else text[:MAX_ARGUMENT - 4] + " ..."
            parts.append(f"{name}=" + text.replace("\n", "\n" + " " * (len(name) + 5)))
        one_line = f"{self.function}({', '.join(parts)})"
        if len(one_line) <= LINE and "\n" not in one_line:
            return one_line
        return f"{self.function}(\n" + "".join(f"    {part},\n" for part in parts) + ")"
