"""The mistake catalogue and the correct alternatives: the suite's proof of its own power.

``catalogue/mistakes/<module>.py`` holds realistic learner mistakes, each a whole wrong function
decorated with :func:`mistake`; ``catalogue/alternatives/<module>.py`` holds correct
implementations written differently from the reference (einsum, loops, ``np.where``...), each
decorated with :func:`alternative`. To judge one entry, it is appended to a copy of the
reference module (so it replaces the reference function, and sees the module's imports) and the
exercise's tests run against that copy: every mistake must fail, every alternative must pass.

Author-only: a student release ships none of this code, only the fingerprints of the mistakes'
outputs (see ``grading.diagnose``).
"""


def mistake(function: str, id: str, says: str):
    """Mark a wrong version of ``function``; ``says`` is what the grader tells a learner who made it."""

    def mark(fn):
        return fn

    return mark


def alternative(function: str, id: str):
    """Mark a correct version of ``function`` written differently from the reference."""

    def mark(fn):
        return fn

    return mark
