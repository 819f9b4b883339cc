"""Selftests marked ``ci_only`` cost minutes of grading: CI runs them (``.ci/run`` sets
``COURSE_CI=1``); a contributor's run of the README's test command skips them, saying so.

Tests that share an expensive session fixture carry ``xdist_group``: with ``--dist loadgroup`` one
pytest-xdist worker runs them all, so the fixture is built once."""

from __future__ import annotations

import os

import pytest

from course.info import ROOT
from grading import runner
from grading.engine import Options, grade
from grading.model import Report

if os.environ.get("PYTEST_XDIST_WORKER"):  # the other workers have the other cores: one child at a time
    os.environ.setdefault(runner.JOBS_VARIABLE, "1")

STUBS = pytest.mark.xdist_group("stubs")  # the tests of the untouched stubs' report share a worker


@pytest.fixture(scope="session")
def stubs() -> Report:
    """The untouched stubs, every exercise graded once (with no prerequisite passing, there is no
    integrated pass)."""
    return grade(Options(target=ROOT / "exercises"))


@pytest.hookimpl(trylast=True)  # after pytest-xdist's own
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if getattr(config.option, "loadgroup", False):  # set in pytest-xdist's workers by --dist loadgroup
        for item in items:
            _keep_group(item)
    if os.environ.get("COURSE_CI") == "1":
        return
    skip = pytest.mark.skip(reason="minutes of grading: CI runs it (COURSE_CI=1, see .ci/run)")
    for item in items:
        if item.get_closest_marker("ci_only"):
            item.add_marker(skip)


def _keep_group(item: pytest.Item) -> None:
    """Give ``item`` the node id ``...@group`` that ``--dist loadgroup`` schedules by.

    pytest-xdist (3.8) writes it into ``item._nodeid``, which pytest 9.2 no longer reads (the id is
    ``item._id``, a parsed ``NodeId``): there, every worker would build each group's fixture again.
    """
    groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                     for m in item.iter_markers("xdist_group")})
    node_id = getattr(item, "_id", None)
    if groups and "@" not in item.nodeid and hasattr(type(node_id), "parse"):
        item._id = type(node_id).parse(f"{item.nodeid}@{'_'.join(groups)}")
