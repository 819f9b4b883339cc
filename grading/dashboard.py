"""The class dashboard: one self-contained HTML page of a batch's results, ``index.html``.

It opens from the file system with nothing else: no server, no network (its Content-Security-Policy
forbids any), inline SVG for the plots and a few lines of inline JavaScript to sort the students'
table. It shows the distribution of the totals and of each exercise's points, how many students
fail each property, the misconceptions diagnosed most often, the clusters of identical code, and
every student with a link to their feedback. Student names come from folder names and are never
trusted: every text is HTML-escaped and every link percent-encoded below the feedback folder.
"""

from __future__ import annotations

import statistics
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import quote

from course.i18n import ENGLISH, message, translate
from course.info import Exercise

if TYPE_CHECKING:
    from grading.batch import Row

TOTAL_BINS, EXERCISE_BINS = 10, 5  # the bars of the histograms
TOP_MISCONCEPTIONS = 20  # the misconceptions listed, most frequent first
FOLD_AFTER = 12  # longer lists of students are folded (<details>)
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ddd; padding: .2em .5em; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
#students th { cursor: pointer; background: #f4f4f4; } #students th:hover { background: #e8e8e8; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; } figure { margin: 0; }
figcaption { font-size: .9em; color: #444; max-width: 22em; }
#misconceptions p { margin: 0 0 .3em; }
svg text { font: 10px sans-serif; fill: #333; } rect.bar { fill: #4a78b5; }
.flagged { background: #fff4e0; } .ungraded { color: #999; }
"""

SORT_SCRIPT = """
for (const th of document.querySelectorAll("#students thead th")) {
  th.addEventListener("click", () => {
    const body = th.closest("table").tBodies[0], i = th.cellIndex;
    const up = th.dataset.order !== "ascending";
    for (const other of th.parentNode.cells) delete other.dataset.order;
    th.dataset.order = up ? "ascending" : "descending";
    const key = (row) => row.cells[i].dataset.value ?? row.cells[i].textContent;
    const rows = Array.from(body.rows).sort((a, b) => {
      const x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
      const c = isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny;
      return up ? c : -c;
    });
    for (const row of rows) body.appendChild(row);
  });
}
"""


@dataclass(frozen=True)
class Page:
    """What every section needs: the rows, the course, the language and the feedback folder."""

    rows: list[Row]
    course: list[Exercise]
    lang: str
    feedback: str  # the folder of the feedback files, relative to the page

    def message(self, template: str, **named: object) -> str:
        """A label in the page's language, HTML-escaped."""
        return escape(message(template, self.lang, **named))

    def link(self, student: str) -> str:
        """A link to ``student``'s feedback: the name percent-encoded, so it stays in the folder."""
        href = f"{self.feedback}/{quote(student + '.txt', safe='')}"
        return f'<a href="{escape(href)}">{escape(student)}</a>'

    @property
    def graded(self) -> list[Row]:
        return [r for r in self.rows if not r.reason]


def _number(x: float) -> str:
    return f"{x:g}"


def histogram(values: list[float], maximum: float, bins: int, label: str) -> str:
    """An SVG bar chart of ``values`` over [0, ``maximum``] in ``bins`` equal bins (the last one
    includes ``maximum``). Each bar carries its range and count as data attributes."""
    width, height, bar = 24 * bins + 40, 130, 24
    edges = [float(f"{b * (maximum or bins) / bins:g}") for b in range(bins + 1)]  # as the page shows them
    counts = Counter(min(max(bisect_right(edges, v) - 1, 0), bins - 1) for v in values)
    top = max(counts.values(), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{escape(label)}">']
    for b in range(bins):
        n, lo, hi = counts.get(b, 0), edges[b], edges[b + 1]
        h = round(90 * n / top)
        x, y = 20 + b * bar, 105 - h
        parts.append(f'<rect class="bar" x="{x}" y="{y}" width="{bar - 2}" height="{h}" '
                     f'data-lo="{lo:g}" data-hi="{hi:g}" data-count="{n}">'
                     f'<title>{lo:g}–{hi:g}: {n}</title></rect>')
        parts.append(f'<text x="{x + (bar - 2) / 2}" y="{y - 3}" text-anchor="middle">{n}</text>')
        parts.append(f'<text x="{x}" y="120" text-anchor="middle">{lo:.3g}</text>')
    parts.append(f'<text x="{20 + bins * bar}" y="120" text-anchor="middle">{maximum:g}</text>')
    parts.append(f'<line x1="18" y1="105" x2="{20 + bins * bar}" y2="105" stroke="#333"/></svg>')
    return "".join(parts)


def _distributions(page: Page) -> list[str]:
    graded = page.graded
    maximum = sum(e.points for e in page.course)
    plot = histogram([r.total for r in graded], maximum, TOTAL_BINS, "total")
    caption = page.message("points out of {maximum}", maximum=_number(maximum))
    out = [f"<h2>{page.message('Distribution of total scores')}</h2>",
           f'<figure id="total-histogram">{plot}<figcaption>{caption}</figcaption></figure>',
           f"<h2>{page.message('Scores per exercise')}</h2>", '<div class="plots">']
    for e in page.course:
        plot = histogram([r.points.get(e.id, 0.0) for r in graded], e.points, EXERCISE_BINS, e.id)
        untouched = page.message("not started: {count}", count=sum(e.id in r.not_started for r in graded))
        out.append(f'<figure id="histogram-{escape(e.id)}">{plot}<figcaption>{escape(e.id)} · '
                   f"{escape(translate(e.title, page.lang))} ({untouched})</figcaption></figure>")
    return [*out, "</div>"]


def _failing_properties(page: Page) -> list[str]:
    out = [f"<h2>{page.message('Failing properties')}</h2>",
           f"<p>{page.message('How many students fail each property of an exercise they started.')}</p>",
           f'<table id="failing"><thead><tr><th>{page.message("Exercise")}</th>'
           f'<th>{page.message("Property")}</th><th class=num>{page.message("Students failing")}</th>'
           "</tr></thead><tbody>"]
    for e in page.course:
        failing = Counter(p for r in page.graded for p in set(r.failed.get(e.id, [])))
        out += [f"<tr><td>{escape(e.id)}</td><td>{escape(translate(p, page.lang))}</td>"
                f"<td class=num>{n}</td></tr>"
                for p, n in sorted(failing.items(), key=lambda kv: (-kv[1], kv[0]))]
    return [*out, "</tbody></table>"]


def _folded(page: Page, students: list[str]) -> str:
    """Links to ``students``' feedback, folded away when there are many."""
    links = ", ".join(page.link(s) for s in students)
    if len(students) <= FOLD_AFTER:
        return links
    summary = page.message("{count} students", count=len(students))
    return f"<details><summary>{summary}</summary>{links}</details>"


def misconceptions(rows: Iterable[Row]) -> list[tuple[str, str, list[str], list[str]]]:
    """The diagnosed misconceptions, most frequent first: (exercise, function, what they say,
    students). Catalogued mistakes of one function diagnosed in exactly the same students are one
    misconception said in several ways (their fingerprints agree), so they share an entry."""
    students: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for r in rows:
        for exercise, function, _, says in r.diagnoses:
            students[(exercise, function, says)].add(r.student)
    said: dict[tuple[str, str, frozenset[str]], list[str]] = defaultdict(list)
    for (exercise, function, says), who in sorted(students.items()):
        said[(exercise, function, frozenset(who))].append(says)
    found = [(exercise, function, says, sorted(who)) for (exercise, function, who), says in said.items()]
    return sorted(found, key=lambda m: (-len(m[3]), m[0], m[1], m[3]))


def _misconceptions(page: Page) -> list[str]:
    ranked = misconceptions(page.graded)[:TOP_MISCONCEPTIONS]
    out = [f"<h2>{page.message('Most common misconceptions')}</h2>"]
    if not ranked:
        return [*out, f"<p>{page.message('No misconception was diagnosed.')}</p>"]
    out.append(f'<table id="misconceptions"><thead><tr><th class=num>{page.message("Students")}</th>'
               f"<th>{page.message('Exercise')}</th><th>{page.message('Misconception')}</th>"
               f"<th>{page.message('Who')}</th></tr></thead><tbody>")
    for exercise, function, says, who in ranked:
        words = "".join(f"<p>{escape(translate(s, page.lang))}</p>" for s in says)
        where = f"{escape(exercise)} · <code>{escape(function)}</code>"
        out.append(f"<tr><td class=num>{len(who)}</td><td>{where}</td><td>{words}</td>"
                   f"<td>{_folded(page, who)}</td></tr>")
    return [*out, "</tbody></table>"]


def clusters(rows: Iterable[Row]) -> list[tuple[list[str], list[str]]]:
    """Students who handed in identical code, grouped: each cluster's students (those linked by a
    chain of identical modules) and the exercises in which at least two of them are identical."""
    owners: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in rows:
        for exercise, digest in r.code.items():
            owners[(exercise, digest)].append(r.student)
    parent: dict[str, str] = {}

    def root(s: str) -> str:
        while parent.setdefault(s, s) != s:
            s = parent[s]
        return s

    shared = [(exercise, names) for (exercise, _), names in owners.items() if len(names) > 1]
    for _, names in shared:
        for other in names[1:]:
            parent[root(other)] = root(names[0])
    groups: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for exercise, names in shared:
        students, exercises = groups[root(names[0])]
        students.update(names)
        exercises.add(exercise)
    return sorted((sorted(s), sorted(x)) for s, x in groups.values())


def _identical(page: Page) -> list[str]:
    found = clusters(page.rows)
    out = [f"<h2>{page.message('Identical code')}</h2>"]
    if not found:
        return [*out, f"<p>{page.message('No two submissions share identical code.')}</p>"]
    out.append('<ul id="clusters">')
    out += [f"<li>{_folded(page, students)}: "
            f"{page.message('identical in {exercises}', exercises=', '.join(exercises))}</li>"
            for students, exercises in found]
    return [*out, "</ul>"]


def _students(page: Page) -> list[str]:
    heads = [page.message("Student"), page.message("Total"), *(escape(e.id) for e in page.course),
             page.message("Flags"), page.message("Not graded because")]
    numeric = [False, True, *(True for _ in page.course), False, False]
    out = [f"<h2>{page.message('Students')}</h2>",
           f"<p>{page.message('Click a column heading to sort by it.')}</p>",
           '<table id="students"><thead><tr>'
           + "".join(f"<th{' class=num' if n else ''}>{h}</th>" for h, n in zip(heads, numeric, strict=True))
           + "</tr></thead><tbody>"]
    for r in page.rows:
        kind = "ungraded" if r.reason else "flagged" if r.flags else ""
        cells = [f'<td data-value="{escape(r.student)}">{page.link(r.student)}</td>',
                 f"<td class=num>{_number(r.total)}</td>",
                 *(f"<td class=num>{_number(r.points.get(e.id, 0))}</td>" for e in page.course),
                 f"<td>{escape('; '.join(r.flags))}</td>", f"<td>{escape(r.reason)}</td>"]
        out.append(f'<tr class="{kind}">{"".join(cells)}</tr>')
    return [*out, "</tbody></table>"]


def _summary(page: Page) -> str:
    totals = [r.total for r in page.graded]
    text = page.message("{count} submissions: {graded} graded, {flagged} flagged.", count=len(page.rows),
                    graded=len(totals), flagged=sum(bool(r.flags) for r in page.rows))
    if totals:
        text += " " + page.message("Mean total {mean}, median {median}, of {maximum} points.",
                               mean=f"{statistics.mean(totals):.1f}",
                               median=_number(statistics.median(totals)),
                               maximum=_number(sum(e.points for e in page.course)))
    return f'<p id="summary">{text}</p>'


def render(rows: list[Row], course: list[Exercise], lang: str = ENGLISH, feedback: str = "feedback") -> str:
    """The dashboard of a batch's ``rows`` as one HTML page, its labels in ``lang``; each student's
    feedback is linked as ``<feedback>/<student>.txt``."""
    page = Page(rows, course, lang, feedback)
    title = page.message("Class dashboard")
    body = [f"<h1>{title}</h1>", _summary(page), *_misconceptions(page), *_distributions(page),
            *_failing_properties(page), *_identical(page), *_students(page)]
    return (f'<!DOCTYPE html>\n<html lang="{escape(lang)}"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title}</title><style>{STYLE}</style></head>\n<body>\n" + "\n".join(body)
            + f"\n<script>{SORT_SCRIPT}</script>\n</body></html>\n")
