"""Support code shared by the exercises, the reference and the grader: parameters and metadata."""
