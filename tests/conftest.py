"""Chooses the target under test and the hypothesis profile.

    pytest                         # judges exercises/ (what the learner edits)
    pytest --target solutions      # judges the reference
    pytest --target path/to/dir    # judges a copy laid out like exercises/
    COURSE_TARGET=solutions pytest # the same, for tools that set the environment

Profiles (``--hypothesis-profile NAME`` or ``HYPOTHESIS_PROFILE=NAME``), all derandomised, so the
same code always gets the same verdict: ``quick`` (default, while you work: the grader's 20
examples), ``grading`` (the grader's), ``thorough`` (CI: 150 examples).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings

from tests.support import target


def _draw_from_strategies_only() -> None:
    """Stop hypothesis drawing literals found in "local" modules, the code under test included.

    Otherwise the examples would depend on the learner's code (and a release could not replay the
    recorded ones). Hypothesis does this since 6.131.1 and no public setting turns it off, so this
    replaces the one function that collects those literals and checks that the replacement took.
    Where it cannot, the run stops here, loudly, instead of grading with examples that vary.
    """
    import hypothesis

    if hypothesis.__version_info__ < (6, 131, 1):
        return  # draws from the strategies alone already
    try:
        from hypothesis.internal.conjecture import providers

        none = type(providers._local_constants)()
        providers._get_local_constants = lambda: none
        took = providers.HypothesisProvider(None)._local_constants is none
    except (ImportError, AttributeError, TypeError):
        took = False
    if not took:
        raise RuntimeError(
            f"hypothesis {hypothesis.__version__} draws constants from the code under test in a way this "
            f"course cannot switch off: python -m pip install 'hypothesis<{hypothesis.__version__}', and "
            "tell the course's maintainers")


_draw_from_strategies_only()
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
# The explain phase costs tens of seconds per failing test and writes patch files: leave it out.
_PHASES = [p for p in Phase if p is not Phase.explain]
# Every profile draws the same examples on every run, on every machine: a green run stays green,
# and a learner's local run meets the very inputs the grader will.
_SAME_EVERY_RUN = {"derandomize": True, "database": None, "deadline": None, "phases": _PHASES,
                   "suppress_health_check": _QUIET}
# The grader's: 20 examples per property.
settings.register_profile("grading", max_examples=20, print_blob=False, **_SAME_EVERY_RUN)
# While you work (the default): the grader's examples, so `pytest` and the grade agree.
settings.register_profile("quick", parent=settings.get_profile("grading"))
# CI: many more examples.
settings.register_profile("thorough", max_examples=150, **_SAME_EVERY_RUN)
# A release ships recorded reference outputs instead of the reference: only the derandomised
# examples they were recorded on can be judged, so every profile becomes the grading one.
settings.load_profile("grading" if target.replaying() else os.environ.get("HYPOTHESIS_PROFILE", "quick"))

# Counterexamples are printed with numpy's repr: keep them short and readable.
np.set_printoptions(precision=4, threshold=40, edgeitems=3, linewidth=100, suppress=True)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--target",
        default=None,
        help="code to judge: exercises (default), solutions, or a directory laid out like exercises/",
    )


def pytest_configure(config: pytest.Config) -> None:
    spec = config.getoption("--target") or os.environ.get(target.ENV_VAR, "exercises")
    try:
        target.set_target(spec)
    except target.TargetError as e:
        raise pytest.UsageError(str(e)) from None


def pytest_report_header(config: pytest.Config) -> str:
    mode = " (reference: recorded outputs)" if target.replaying() else ""
    return f"target: {target.target_dir()}{mode}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get(target.RECORD_VAR)
    if path:
        target.reference_data().save(Path(path))
