"""Pictures of matrices: the learner's mask, attention weights or positional encoding beside the
expected one, as a small heatmap of plain characters (or a PNG, with matplotlib).

:func:`pictures_of` runs in the grading child: it turns the drawings a failed check attached
(``tests/support/pictures.py``) into :class:`~grading.model.Picture` values within the limits of
:mod:`grading.protocol`. :func:`heatmap`, :func:`picture_html` (in a notebook) and :func:`save_png`
draw them in the parent.
"""

from __future__ import annotations

import math
import unicodedata
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from course.i18n import ENGLISH, message
from grading.model import Picture
from grading.protocol import MAX_PICTURE_COLUMNS, MAX_PICTURE_NAME, MAX_PICTURE_ROWS, MAX_PICTURES

SHADES = "·░▒▓█"  # from the lowest value to the highest; a mask is · (False) and █ (True)
NOT_A_NUMBER = "?"
SIDE_BY_SIDE = 80  # characters of a line, at most, for the two matrices beside each other
AXES = {"queries": message("queries"), "keys": message("keys"), "positions": message("positions"),
        "dimensions": message("dimensions"), "sequences": message("sequences")}


def _cells(matrix: np.ndarray, kind: str) -> list[list[Any]]:
    if kind == "mask":
        return [[bool(v) for v in row] for row in matrix]
    return [[float(f"{v:.6g}") if math.isfinite(v) else None for v in row]
            for row in matrix.astype(np.float64)]


def picture(drawing: Any) -> Picture | None:
    """The picture of one :class:`tests.support.pictures.Drawing`, or None when it is too large or
    cannot be drawn."""
    found = drawing.matrices(MAX_PICTURE_ROWS, MAX_PICTURE_COLUMNS)
    if found is None:
        return None
    name, learner, expected, differs = found
    kind = "mask" if learner.dtype == np.bool_ and expected.dtype == np.bool_ else "values"
    if kind == "values" and not (learner.dtype.kind in "biuf" and expected.dtype.kind in "biuf"):
        return None
    return Picture(name=name[:MAX_PICTURE_NAME], kind=kind, learner=_cells(learner, kind),
                   expected=_cells(expected, kind), differing=np.argwhere(differs).tolist(),
                   rows=drawing.rows, columns=drawing.columns)


def pictures_of(error: BaseException | None) -> list[Picture]:
    """The pictures of the matrices a failed assertion carries (never raises)."""
    from tests.support.pictures import drawings  # the child's side: the parent never needs the tests

    found: list[Picture] = []
    for drawing in drawings(error) if error is not None else []:
        try:
            drawn = picture(drawing)
        except Exception:  # the learner's matrix may be anything: no picture, same outcome
            continue
        if drawn is not None and len(found) < MAX_PICTURES:
            found.append(drawn)
    return found


# -- drawing in the terminal ----------------------------------------------------------------------

def _scale(p: Picture) -> tuple[float, float]:
    """The values the lightest and the darkest shade stand for: 0 to 1 for weights, else the range."""
    values = [v for m in (p.learner, p.expected) for row in m for v in row if v is not None]
    lo, hi = min(values, default=0.0), max(values, default=1.0)
    return (0.0, 1.0) if lo >= 0.0 and hi <= 1.0 else (lo, hi)


def _shade(value: Any, kind: str, scale: tuple[float, float]) -> str:
    if kind == "mask":
        return SHADES[-1] if value else SHADES[0]
    if value is None:
        return NOT_A_NUMBER
    lo, hi = scale
    share = (value - lo) / (hi - lo) if hi > lo else 0.0
    return SHADES[0] if share <= 0 else SHADES[min(len(SHADES) - 1, math.ceil(share * (len(SHADES) - 1)))]


def _grid(matrix: list[list[Any]], p: Picture, scale: tuple[float, float],
          marked: set[tuple[int, int]]) -> list[str]:
    """Column numbers, then one line per row: its number and a cell of three characters each,
    ``[x]`` where the cell differs."""
    lines = ["    " + "".join(f"{j:^3}" for j in range(len(matrix[0])))]
    for i, row in enumerate(matrix):
        cells = (f"[{_shade(v, p.kind, scale)}]" if (i, j) in marked else f" {_shade(v, p.kind, scale)} "
                 for j, v in enumerate(row))
        lines.append(f"{i:>3} " + "".join(cells))
    return lines


def _legend(p: Picture, scale: tuple[float, float], lang: str, *, shaded: bool = False) -> str:
    """What the picture's rows, columns and shades mean; ``shaded``: of :func:`picture_html`'s cells
    (grey as dark as the value is high, framed in red where they differ) instead of the characters."""
    parts = []
    if p.rows and p.columns:
        parts.append(message("rows: {rows}, columns: {columns}", lang,
                             rows=AXES.get(p.rows, p.rows), columns=AXES.get(p.columns, p.columns)))
    if p.kind == "mask":
        true, false = ("T", "F") if shaded else (SHADES[-1], SHADES[0])
        parts.append(message("{true} True (may attend), {false} False", lang, true=true, false=false))
    else:
        lo, hi = scale
        steps = len(SHADES) - 1
        bounds = ", ".join(f"{lo + (hi - lo) * k / steps:.3g}" for k in range(1, steps + 1))
        parts.append(message("the darker, the higher: from {low} to {high}", lang, low=f"{lo:.3g}",
                             high=f"{hi:.3g}") if shaded else
                     message("{lowest} = {low}, {shades} up to {bounds}", lang, lowest=SHADES[0],
                             low=f"{lo:.3g}", shades=" ".join(SHADES[1:]), bounds=bounds))
        if any(v is None for m in (p.learner, p.expected) for row in m for v in row):
            parts.append(message("{nan} NaN or infinite", lang, nan=NOT_A_NUMBER))
    if p.differing:
        parts.append(message("framed in red: differs from the expected", lang) if shaded else
                     message("[ ] differs from the expected", lang))
    elif p.expected:
        parts.append(message("every cell is as expected", lang))
    return "; ".join(parts)


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: two for a wide character (Hangul), one for the others."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def heatmap(p: Picture, lang: str = ENGLISH) -> str:
    """``p`` as text: its name, the learner's matrix and the expected one side by side when they fit
    (else one above the other), the differing cells in brackets, and a one-line legend."""
    scale = _scale(p)
    marked = {(i, j) for i, j in p.differing}
    mine = [message("yours", lang), *_grid(p.learner, p, scale, marked)]
    if not p.expected:
        return "\n".join([p.name, *mine, _legend(p, scale, lang)])
    theirs = [message("expected", lang), *_grid(p.expected, p, scale, set())]
    width = max(map(_width, mine)) + 4
    if width + max(map(_width, theirs)) <= SIDE_BY_SIDE:
        lines = [a + " " * (width - _width(a)) + b for a, b in zip(mine, theirs, strict=True)]
    else:
        lines = [*mine, *theirs]
    return "\n".join(line.rstrip() for line in [p.name, *lines, _legend(p, scale, lang)])


# -- drawing in HTML (a notebook) ------------------------------------------------------------------

def _html_cell(value: Any, kind: str, scale: tuple[float, float], differs: bool) -> str:
    """One cell: its value, on a grey as dark as the value is high, framed in red where it differs."""
    if kind == "mask":
        share, text = (1.0 if value else 0.0), ("T" if value else "F")
    elif value is None:
        share, text = 0.0, NOT_A_NUMBER
    else:
        lo, hi = scale
        share, text = ((value - lo) / (hi - lo) if hi > lo else 0.0), f"{value:.2g}"
    grey = round(255 * (1 - 0.8 * min(max(share, 0.0), 1.0)))
    ink = "#fff" if grey < 140 else "#000"
    frame = "2px solid #cf222e" if differs else "1px solid #ccc"
    return (f'<td style="background: rgb({grey},{grey},{grey}); color: {ink}; border: {frame}; '
            f'padding: 1px 4px; text-align: right; font-size: 80%">{escape(text)}</td>')


def _html_matrix(matrix: list[list[Any]], p: Picture, scale: tuple[float, float], label: str,
                 marked: set[tuple[int, int]]) -> str:
    rows = "".join("<tr>" + "".join(_html_cell(v, p.kind, scale, (i, j) in marked) for j, v in enumerate(row))
                   + "</tr>" for i, row in enumerate(matrix))
    return (f'<table style="border-collapse: collapse; display: inline-table; margin-right: 16px">'
            f"<caption>{escape(label)}</caption>{rows}</table>")


def picture_html(p: Picture, lang: str = ENGLISH) -> str:
    """``p`` as HTML: the learner's matrix beside the expected one, each cell shaded by its value,
    the cells that differ framed in red; the legend of the terminal's heatmap under them."""
    scale = _scale(p)
    tables = [_html_matrix(p.learner, p, scale, message("yours", lang), {(i, j) for i, j in p.differing})]
    if p.expected:
        tables.append(_html_matrix(p.expected, p, scale, message("expected", lang), set()))
    legend = _legend(p, scale, lang, shaded=True)
    return (f'<figure style="margin: 4px 0"><figcaption><code>{escape(p.name)}</code></figcaption>'
            f'{"".join(tables)}<div><small>{escape(legend)}</small></div></figure>')


# -- drawing in a PNG -----------------------------------------------------------------------------

def save_png(drawn: list[Picture], path: Path, title: str) -> Path:
    """Every picture as a row of panels (the learner's, the expected), the differing cells framed in
    red; needs matplotlib (ImportError without it). Labels are code and numbers: no font lacks them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    columns = 2 if any(p.expected for p in drawn) else 1
    fig, axes = plt.subplots(len(drawn), columns, figsize=(4 * columns, 3.6 * len(drawn)), squeeze=False)
    for p, row in zip(drawn, axes, strict=True):
        scale = (0.0, 1.0) if p.kind == "mask" else _scale(p)
        for ax, matrix, label in zip(row, (p.learner, p.expected), (p.name, "expected"), strict=False):
            if not matrix:
                ax.axis("off")
                continue
            values = np.array([[np.nan if v is None else float(v) for v in r] for r in matrix])
            ax.imshow(values, cmap="gray_r" if p.kind == "mask" else "viridis", vmin=scale[0], vmax=scale[1])
            ax.set_title(label, fontsize=9)
            ax.set_xlabel(p.columns)
            ax.set_ylabel(p.rows)
            for i, j in p.differing if matrix is p.learner else []:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
