"""Naming what a failing function does wrong: a catalogued mistake its fingerprints match, else a
symptom (see ``grading.symptoms``), else nothing.

A fingerprint names a mistake only when it is the only thing the fingerprint can mean: when
catalogued mistakes that say different things share it, and ``catalogue/same_mistakes.toml`` does
not list them as one mistake (``same_as`` in the fingerprints), the learner's output cannot tell
them apart and none is named (a symptom may still be).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course.i18n import Message, message
from grading.fingerprint import same
from grading.model import Diagnosis

SYMPTOM = "symptom:"  # the prefix of a symptom's id in a Diagnosis


def matches(module: str, function: str, prints: list[Any],
            catalogue: dict[str, Any]) -> list[dict[str, Any]]:
    """The catalogued mistakes of ``function`` whose fingerprints ``prints`` reproduce on every case."""
    return [m for m in catalogue["mistakes"]
            if m["module"] == module and m["function"] == function and len(m["prints"]) == len(prints)
            and all(same(p, q) for p, q in zip(prints, m["prints"], strict=True))]


def _output(params: dict[str, str]) -> Message:
    index = params.get("output", "1")
    return message("its output") if index == "1" else message("its output {index}", index=index)


def _part_says(out: Message, p: dict[str, str]) -> Message:
    """The sentence of a ``part`` symptom: positions missing or extra at one end of an axis."""
    said = {"output": out, "count": p.get("count", "?"), "axis": p.get("axis", "?")}
    return {
        ("missing", "end"): lambda: message("{output} lacks the last {count} positions along axis {axis} of "
                                            "the expected one", **said),
        ("missing", "start"): lambda: message("{output} lacks the first {count} positions along axis {axis} "
                                              "of the expected one", **said),
        ("extra", "end"): lambda: message("{output} has {count} positions too many at the end of axis "
                                          "{axis}: the expected one stops before them", **said),
        ("extra", "start"): lambda: message("{output} has {count} positions too many at the start of axis "
                                            "{axis}: the expected one begins after them", **said),
    }.get((p.get("how", ""), p.get("where", "")),
          lambda: message("{output} is only the last position along axis {axis} of the expected one: keep "
                          "every position", **said))()


def symptom_says(kind: str, params: dict[str, str]) -> Message | None:
    """The sentence naming a symptom (None for a kind this grader does not know)."""
    p = {k: str(v) for k, v in params.items()}
    out = _output(p)
    says = {
        "in_place": lambda: message("it changes its input `{argument}` in place: compute on a copy or build "
                                    "a new array", argument=p.get("argument", "?")),
        "upcast": lambda: message("{output} has the right values but is float64 for float32 inputs: keep "
                                  "the input's dtype", output=out),
        "ignored_argument": lambda: message("it ignores its argument `{argument}`: its outputs are what the "
                                            "reference gives with the default {argument}={default}",
                                            argument=p.get("argument", "?"), default=p.get("default", "?")),
        "mask_ignored": lambda: message("it ignores `{argument}`: its outputs are what the reference gives "
                                        "with every key allowed, so masked keys still get weight",
                                        argument=p.get("argument", "mask")),
        "mask_inverted": lambda: message("it uses `{argument}` inverted: its outputs are what the reference "
                                         "gives with it negated (~); True means 'may attend'",
                                         argument=p.get("argument", "mask")),
        "inverted": lambda: message("{output} is the expected mask inverted: True must mean 'may attend'",
                                    output=out),
        "factor": lambda: message("{output} is the expected one times {factor}", output=out,
                                  factor=p.get("factor", "?")),
        "reversed": lambda: message("{output} is the expected one reversed along axis {axis}", output=out,
                                    axis=p.get("axis", "?")),
        "reorder": lambda: message("{output} holds the right numbers in the wrong places: an axis is "
                                   "transposed or the heads are interleaved (check the order of reshape, "
                                   "transpose and indexing)", output=out),
        "shift": lambda: message("{output} is shifted by one position along axis {axis}: position t holds "
                                 "the value that belongs at t{step}", output=out, axis=p.get("axis", "?"),
                                 step=p.get("step", "?")),
        "axis": lambda: message("{output} is normalised over axis {wrong} instead of axis {right}: each "
                                "slice along axis {right} must sum to one", output=out,
                                wrong=p.get("wrong", "?"), right=p.get("right", "?")),
        "future": lambda: message("{output} lets a position see later positions (future tokens leak): "
                                  "position t may use positions up to t only", output=out),
    }
    says.update(_mixups_and_shapes(p, out))
    return says[kind]() if kind in says else None


def _mixups_and_shapes(p: dict[str, str], out: Message) -> dict[str, Callable[[], Message]]:
    """The sentences of the symptoms of mixed-up arguments, of shapes and of dtypes, and of the facts
    an output shows (an input accepted that must be rejected, NaN)."""
    return {
        "accepts": lambda: message("it returns a result for an input it must reject ({input}): the contract "
                                   "raises ValueError there; check the arguments before computing",
                                   input=p.get("input", "?")),
        "swapped": lambda: message("it swaps `{a}` and `{b}`: its outputs are what the reference gives with "
                                   "the two exchanged", a=p.get("a", "?"), b=p.get("b", "?")),
        "reused": lambda: message("it uses `{used}` where `{instead}` belongs: its outputs are what the "
                                  "reference gives with {instead} replaced by {used}",
                                  used=p.get("used", "?"), instead=p.get("instead", "?")),
        "first_item_reused": lambda: message("it uses `{first}` for every item of `{items}`: its outputs "
                                             "are what the reference gives with every item replaced by the "
                                             "first; each item has its own values", first=p.get("first", "?"),
                                             items=p.get("items", "?")),
        "left_out": lambda: message("it leaves out `{names}`: its outputs are what the reference gives with "
                                    "{values}", names=p.get("names", "?"), values=p.get("values", "?")),
        "dtype": lambda: message("{output} has the right values but dtype {dtype} instead of {expected}",
                                 output=out, dtype=p.get("dtype", "?"), expected=p.get("expected", "?")),
        "dropped_axis": lambda: message("{output} is the expected one {how} over axis {axis}: keep that axis",
                                        output=out, how=message("summed") if p.get("how") == "summed"
                                        else message("averaged"), axis=p.get("axis", "?")),
        "kept_axis": lambda: message("{output} keeps axis {axis}, which must be summed over: the expected "
                                     "one is its sum over that axis", output=out, axis=p.get("axis", "?")),
        "part": lambda: _part_says(out, p),
        "nonfinite": lambda: message("{output} has NaN or infinite entries where the expected one is "
                                     "finite: look for an overflow (exp of a large number), a log of 0 or a "
                                     "division by zero", output=out),
    }


def _named(module: str, function: str, prints: list[Any], catalogue: dict[str, Any]) -> Diagnosis | None:
    found = matches(module, function, prints, catalogue)
    meanings = {m.get("same_as", m["id"]) for m in found}
    if not found or (len({m["says"] for m in found}) > 1 and len(meanings) > 1):
        return None  # nothing matched, or the fingerprint cannot tell mistakes of different meanings apart
    return Diagnosis(function=function, mistake=found[0]["id"], says=found[0]["says"])


def diagnose(module: str, observed: dict[str, list[Any]], catalogue: dict[str, Any],
             symptoms: dict[str, Any] | None = None) -> list[Diagnosis]:
    """For each function that disagrees with the reference: the one catalogued mistake its
    fingerprints match, else its symptom, if any."""
    found = []
    for function, prints in observed.items():
        ref = catalogue["reference"].get(f"{module}:{function}")
        if ref and len(ref) == len(prints) and all(same(p, r) for p, r in zip(prints, ref, strict=True)):
            continue  # this function agrees with the reference
        named = _named(module, function, prints, catalogue)
        symptom = (symptoms or {}).get(function)
        if named is None and isinstance(symptom, list) and len(symptom) == 2 and isinstance(symptom[1], dict):
            says = symptom_says(str(symptom[0]), symptom[1])
            named = Diagnosis(function, SYMPTOM + str(symptom[0]), says, known=False) if says else None
        if named is not None:
            found.append(named)
    return found
