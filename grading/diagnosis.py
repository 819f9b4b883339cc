"""Naming what a failing function does wrong: a catalogued mistake its fingerprints match, else a
symptom (see ``grading.symptoms``), else nothing.

A fingerprint names a mistake only when it is the only thing the fingerprint can mean: when
catalogued mistakes that say different things share it, and ``catalogue/same_mistakes.toml`` does
not list them as one mistake (``same_as`` in the fingerprints), the learner's output cannot tell
them apart and none is named (a symptom may still be).
"""

from __future__ import annotations

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
    return says[kind]() if kind in says else None


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
