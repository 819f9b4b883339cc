"""The grading engine behind ``grader.py``: it returns values and never prints."""

from course.info import one_blas_thread

one_blas_thread()  # fair and fast with several test processes at once
