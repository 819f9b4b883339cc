"""The course's tests: one file per exercise, written against the contract through
``tests.support.target``; what the files share lives in :mod:`tests.support`."""

from course.info import one_blas_thread

# Before numpy is imported: the tests' matrices are small, and pytest-xdist runs a process per core.
# Two BLAS threads per process on a busy machine spin and cost several times the CPU (the grader's
# children, forked from this process, inherit it too).
one_blas_thread()
