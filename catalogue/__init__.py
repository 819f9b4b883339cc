"""The mistake catalogue and the correct alternatives: the suite's proof of its own power.

``catalogue/mistakes/<module>.py`` holds realistic learner mistakes, each a whole wrong function
decorated with :func:`mistake`; ``catalogue/alternatives/<module>.py`` holds correct
implementations written differently from the reference (einsum, loops, ``np.where``...), each
decorated with :func:`alternative`. To judge one entry, it is appended to a copy of the
reference module (so it replaces the reference function, and sees the module's imports) and the
exercise's tests run against that copy: every mistake must fail, every alternative must pass.

A mistake marks the line or lines where it goes wrong with a ``# mistake: <id>`` comment
(``python dev.py check`` proves every entry has one). Where several mistakes differ from one
correct function by a line or two, that function is written once, decorated with :func:`base`,
and each mistake is a :func:`variant` call that names the lines it changes.

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


def base(function: str):
    """Mark a correct version of ``function`` that the :func:`variant` calls below it change."""

    def mark(fn):
        return fn

    return mark


def variant(function: str, id: str, says: str, changes: dict[str, str]) -> None:
    """A mistake in ``function``: its :func:`base` with ``changes`` made.

    Each key is a line of the base, or several consecutive ones joined by newlines, as written but
    without their indentation; its value replaces them, indented like the first, one line per
    newline (the empty string removes them). The new lines carry the ``# mistake:`` mark.
    """
