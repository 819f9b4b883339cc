"""The course's tests: one file per exercise, written against the contract through
``tests.support.target``; what the files share lives in :mod:`tests.support`."""
