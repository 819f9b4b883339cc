"""The course's tests: one file per exercise, written against the contract through ``target``."""
