"""The grading engine behind ``grader.py``: it returns values and never prints."""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread per test process: fair and fast with several jobs
