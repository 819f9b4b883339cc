"""The project's own tests: the course is consistent, the suite has power, the grader holds."""

from course.info import one_blas_thread

one_blas_thread()  # before numpy is imported, as in tests/__init__.py
