"""The class dashboard (``index.html`` of a batch) in a real browser, and a batch shared by shards.

The browser is headless Chromium from the distribution's packages (``apt-get install chromium``;
``.ci/run`` installs it): its ``--dump-dom`` gives the page as scripts left it, and its log on
stderr holds every console message. Without a browser those tests skip, saying so.
"""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from catalogue.entries import alternatives, copy_solutions, mistakes
from course.info import ROOT, load_course
from grading import dashboard
from grading.batch import DASHBOARD, FEEDBACK, Row, batch, own_code
from grading.runner import Limits
from grading.shards import MergeError, Shard, merge

COURSE = load_course()
QUICK = [e for e in COURSE if e.id in ("ex02", "ex06")]  # cheap exercises, to keep the batch short
HOSTILE = "x\"'<img src=x onerror=alert(1)>&amp; #?%20"  # a folder name is the student's to choose
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
pytestmark = pytest.mark.xdist_group("dashboard")  # one pytest-xdist worker grades the class once


class Dom(HTMLParser):
    """The parts of the page the tests read: every link, every bar, and each table's cells."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.bars: dict[str, list[dict[str, str]]] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self.figure = self.table = ""
        self.cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a":
            self.links.append(a["href"])
        elif tag == "figure":
            self.figure = a.get("id", "")
        elif tag == "rect" and "data-count" in a:
            self.bars.setdefault(self.figure, []).append(a)
        elif tag == "table":
            self.table = a.get("id", "")
        elif tag == "tr" and self.table:
            self.tables.setdefault(self.table, []).append([])
        elif tag in ("td", "th") and self.table:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.tables[self.table][-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.table = ""

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def make_class(subs: Path) -> None:
    """Right and identical (the same correct alternative), stubs (zipped, nested), a catalogued
    mistake, a hostile name, a broken zip."""
    own = next(a for a in alternatives() if a.module == "ex02_softmax")
    own.materialise(subs / "alice")
    own.materialise(subs / "bob")
    with zipfile.ZipFile(subs / "carol.zip", "w") as z:
        for f in (ROOT / "exercises").glob("ex*.py"):
            z.write(f, f"carol-work/{f.name}")
    next(m for m in mistakes() if m.id == "global_max").materialise(subs / "dan")
    next(m for m in mistakes() if m.module == "ex06_masking").materialise(subs / HOSTILE)
    (subs / "fay.zip").write_bytes(b"not a zip")


@pytest.fixture(scope="module")
def submissions(tmp_path_factory) -> Path:
    subs = tmp_path_factory.mktemp("class") / "submissions"
    subs.mkdir()
    make_class(subs)
    return subs


def run_batch(subs: Path, out: Path, shard: Shard | None = None) -> list[Row]:
    return batch(subs, out, jobs=2, limits=Limits(exercise_seconds=60), exercises=QUICK, shard=shard)


@pytest.fixture(scope="module")
def graded(submissions, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("results")
    run_batch(submissions, out)
    return out


def grades(out: Path) -> list[dict[str, str]]:
    with (out / "grades.csv").open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def browser() -> str:
    found = next((b for b in map(shutil.which, BROWSERS) if b), None)
    if not found:
        pytest.skip("no headless Chromium: apt-get install chromium (.ci/run does)")
    return found


def dump_dom(browser: str, page: Path) -> tuple[str, list[str]]:
    """The page's DOM after its scripts ran, and the console messages it logged."""
    profile = page.parent / ".chromium-profile"
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                           "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    shutil.rmtree(profile, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]


# Without grading: the page's escaping, clusters, sharding's arithmetic and merge's refusals.


def test_the_page_escapes_student_names_and_keeps_links_in_the_feedback_folder():
    rows = [Row(HOSTILE, 6.0, {"ex02": 6.0}, code={"ex02": "h"}, diagnoses=[["ex02", "f", "m", "says <b>"]]),
            Row("bob", 6.0, {"ex02": 6.0}, code={"ex02": "h"}), Row("../up", reason="<script>x</script>")]
    page = dashboard.render(rows, QUICK)
    assert "<img" not in page and "<b>" not in page and "<script>x" not in page
    hrefs = Dom(page).links
    assert len(hrefs) == 6  # one for the misconception, two for the cluster, three in the table
    for href in hrefs:
        assert urlparse(href).scheme == "" and href.startswith(f"{FEEDBACK}/")
        assert "/" not in href.removeprefix(f"{FEEDBACK}/") and unquote(href).endswith(".txt")
    assert dashboard.clusters(rows) == [(["bob", HOSTILE], ["ex02"])]
    assert "반 대시보드" in dashboard.render(rows, QUICK, lang="ko")


def test_copies_of_the_stub_or_the_reference_are_not_identical_code(tmp_path):
    copy_solutions(tmp_path)
    stub = (ROOT / "exercises" / "ex02_softmax.py").read_text()
    (tmp_path / "ex02_softmax.py").write_text(stub)  # released stub, untouched
    ex06 = (ROOT / "solutions" / "ex06_masking.py").read_text()
    (tmp_path / "ex06_masking.py").write_text("# mine\n" + ex06.replace('"""', '"""Mine. ', 1))  # reference
    own = next(a for a in alternatives() if a.module == "ex03_seq2seq_attention").materialise(tmp_path / "x")
    shutil.copy(own / "ex03_seq2seq_attention.py", tmp_path)
    assert list(own_code(tmp_path, COURSE)) == ["ex03"]


def test_shards_split_the_class_by_sorted_name_into_disjoint_slices():
    entries = [Path(f"s{i:02}") for i in range(7)]
    parts = [Shard(k, 3).take(entries) for k in (1, 2, 3)]
    assert sorted(p for part in parts for p in part) == entries
    assert Shard.parse("2/3") == Shard(2, 3)
    for bad in ("0/2", "3/2", "1", "a/b"):
        with pytest.raises(ValueError, match="K/N"):
            Shard.parse(bad)


def test_merge_refuses_missing_or_repeated_shards(tmp_path):
    for k in (1, 1):
        part = tmp_path / f"part{k}"
        part.mkdir(exist_ok=True)
        (part / "part.json").write_text(json.dumps({"shard": [k, 2], "count": 2, "rows": []}))
    with pytest.raises(MergeError, match="1/2, 1/2"):
        merge(tmp_path / "out", [tmp_path / "part1", tmp_path / "part1"], exercises=QUICK)
    with pytest.raises(MergeError, match="no partial result"):
        merge(tmp_path / "out", [tmp_path / "nowhere"], exercises=QUICK)


def test_the_command_line_says_what_to_do_with_a_bad_shard_or_part(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(ROOT / "grader.py"), "batch", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)

    bad_shard = run(str(tmp_path), "--out", str(tmp_path / "out"), "--shard", "3/2")
    assert bad_shard.returncode == 2 and "--shard takes K/N" in bad_shard.stderr
    no_part = run("merge", str(tmp_path / "out"), str(tmp_path))
    assert no_part.returncode == 2 and "run batch --shard K/N --out" in no_part.stderr


# With a small class graded once (about 20 s on 2 cores).


@pytest.mark.ci_only
def test_the_dashboard_loads_in_a_browser_shows_grades_csv_and_links_only_existing_files(browser, graded):
    dom_text, console = dump_dom(browser, graded / DASHBOARD)
    assert console == []
    dom, table = Dom(dom_text), grades(graded)
    shown = dom.tables["students"]
    assert shown[0] == ["Student", "Total", "ex02", "ex06", "Flags", "Not graded because"]
    assert shown[1:] == [list(r.values()) for r in table]
    graded_rows = [r for r in table if not r["not graded because"]]
    for figure, column in [("total-histogram", "total"), *((f"histogram-{e.id}", e.id) for e in QUICK)]:
        values, bars = [float(r[column]) for r in graded_rows], dom.bars[figure]
        for i, bar in enumerate(bars):
            lo, hi, last = float(bar["data-lo"]), float(bar["data-hi"]), i == len(bars) - 1
            assert int(bar["data-count"]) == sum(lo <= v < hi or (last and v == hi) for v in values), figure
        assert sum(int(bar["data-count"]) for bar in bars) == len(values)
    assert ["1", "ex02 · softmax"] in [row[:2] for row in dom.tables["misconceptions"][1:] if row[3] == "dan"]
    assert {row[0] for row in dom.tables["failing"][1:]} == {"ex02", "ex06"}
    clusters = re.sub(r"<[^>]+>", "", re.search(r'<ul id="clusters">(.*?)</ul>', dom_text, re.S)[1])
    assert html.unescape(clusters).strip().startswith("alice, bob: ")  # not dan: only the reference alike
    for href in dom.links:
        target = (graded / unquote(href)).resolve()
        assert target.is_relative_to(graded.resolve()) and target.is_file(), href
    assert {unquote(h) for h in dom.links} >= {f"{FEEDBACK}/{r['student']}.txt" for r in table}


@pytest.mark.ci_only
def test_clicking_a_heading_sorts_the_students_in_the_browser(browser, graded):
    page = graded / "sorted.html"
    clicks = "<script>const th = document.querySelectorAll('#students th')[1]; " \
        "th.click(); th.click()</script>"
    page.write_text((graded / DASHBOARD).read_text().replace("</body>", clicks + "</body>"))
    dom_text, console = dump_dom(browser, page)
    assert console == []
    totals = [float(row[1]) for row in Dom(dom_text).tables["students"][1:]]
    assert totals == sorted(totals, reverse=True) and len(totals) == len(grades(graded))


@pytest.mark.ci_only
def test_two_shards_merged_equal_one_batch(submissions, graded, tmp_path):
    parts = [tmp_path / "part1", tmp_path / "part2"]
    for k, part in enumerate(parts, start=1):
        run_batch(submissions, part, Shard(k, 2))
    merge(tmp_path / "merged", list(reversed(parts)), exercises=QUICK)
    for name in ("grades.csv", DASHBOARD):
        assert (tmp_path / "merged" / name).read_text() == (graded / name).read_text(), name
    feedback = sorted(p.name for p in (graded / FEEDBACK).iterdir())
    assert sorted(p.name for p in (tmp_path / "merged" / FEEDBACK).iterdir()) == feedback
